// A stage registry for the pipeline fuzzers without the real stages (which
// would link LibTorch): for every embedded schema stages/<type>/schema.toml,
// a stage of that type whose run() is never called. Plans therefore validate
// against the real schemas; what they do not run is each stage's own
// validate() (relations between parameters, folders on disk).
//
// One change to the schemas: `hash_content = true` becomes false, so that
// planning never hashes the content of a path the fuzzer made up ("/" would
// hash the whole file system). Everything else is the shipped text.
#pragma once

#include <memory>
#include <string>

#include "core/embedded.h"
#include "fuzz_util.h"
#include "graph/registry.h"

namespace wmgeom::fuzz {

class SchemaOnlyStage : public Stage {
 public:
  explicit SchemaOnlyStage(std::string type) : type_(std::move(type)) {}
  std::string type() const override { return type_; }
  Artifact run(const Params&, const StageInputs&, RunContext&) const override {
    invariant_failed("a fuzzer's schema-only stage was run");
  }

 private:
  std::string type_;
};

inline std::string without_content_hashing(std::string text) {
  const std::string from = "hash_content = true";
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
    text.replace(at, from.size(), "hash_content = false");
  }
  return text;
}

// The engine's device handling (core/device.h) without LibTorch: the grammar
// of nets::valid_device_spec ("auto", "cpu", "cuda", "cuda:N"), a fixed key
// line and no resource, so that device stages plan as they do in wmgeom.
inline DeviceSupport schema_only_devices() {
  DeviceSupport d;
  d.expectation = "expected \"auto\", \"cpu\", \"cuda\" or \"cuda:N\"";
  d.valid = [](const std::string& s) {
    if (s == "auto" || s == "cpu" || s == "cuda") return true;
    if (s.rfind("cuda:", 0) != 0 || s.size() == 5) return false;
    for (std::size_t i = 5; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
    }
    return true;
  };
  d.key_extras = [](const std::string&) { return std::string("device schema-only"); };
  d.resource = [](const std::string&) { return std::string(); };
  return d;
}

// Built once per process.
inline const StageRegistry& schema_registry() {
  static const StageRegistry* registry = [] {
    auto* r = new StageRegistry;
    r->set_device_support(schema_only_devices());
    const std::string prefix = "stages/", suffix = "/schema.toml";
    for (const auto& f : embedded_files()) {
      const std::string path(f.path);
      if (path.rfind(prefix, 0) != 0 || path.size() <= prefix.size() + suffix.size() ||
          path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0) {
        continue;
      }
      const std::string type =
          path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
      r->add(std::make_unique<SchemaOnlyStage>(type), without_content_hashing(std::string(f.text)),
             path);
    }
    WMGEOM_FUZZ_CHECK(r->types().size() >= 5);
    return r;
  }();
  return *registry;
}

}  // namespace wmgeom::fuzz
