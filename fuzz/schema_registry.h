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

// Built once per process.
inline const StageRegistry& schema_registry() {
  static const StageRegistry* registry = [] {
    auto* r = new StageRegistry;
    const std::string prefix = "stages/", suffix = "/schema.toml";
    for (const auto& f : embedded_files()) {
      const std::string path(f.path);
      if (path.rfind(prefix, 0) != 0 || path.size() <= prefix.size() + suffix.size() ||
          path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0) {
        continue;
      }
      const std::string type = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
      r->add(std::make_unique<SchemaOnlyStage>(type), without_content_hashing(std::string(f.text)), path);
    }
    WMGEOM_FUZZ_CHECK(r->types().size() >= 5);
    return r;
  }();
  return *registry;
}

}  // namespace wmgeom::fuzz
