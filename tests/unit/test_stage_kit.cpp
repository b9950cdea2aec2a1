// The stage kit's own tests (tests/support/stage_kit.h): it passes a good
// stage, it fails a stage that is not deterministic and a not_perturbed list
// that is not exact; and every real stage type calls it from its tests.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/artifacts.h"
#include "graph/registry.h"
#include "stage_kit.h"
#include "test_stages.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

// A stage whose output differs on every computation (a run counter).
class Drifting final : public Stage {
 public:
  std::string type() const override { return "drifting"; }
  Artifact run(const Params& params, const StageInputs&, RunContext&) const override {
    static std::atomic<int> runs{0};
    Artifact a;
    a.kind = "Numbers";
    a.arrays["values"] =
        Array::from_vector(std::vector<double>{params.f("value"), static_cast<double>(runs++)});
    return a;
  }
};

constexpr const char* kDriftingSchema = R"([stage]
type = "drifting"
version = 1
output = "Numbers"
items = "values"
doc = "A counter: never the same output twice (kit tests only)."

[param.value]
type = "float"
default = 1.0
doc = "The first value."
)";

// Typed stages for the settings check, each with parameters a (float) and
// b (int): "weighed" reads both into fields; "forgetful" never reads b;
// "dropping" reads b and keeps nothing of it.
struct Both {
  double a{};
  std::int64_t b{};
  static Both from_params(const Params& p) { return {p.f("a"), p.i("b")}; }
  bool operator==(const Both&) const = default;
};
struct OnlyA {
  double a{};
  static OnlyA from_params(const Params& p) { return {p.f("a")}; }
  bool operator==(const OnlyA&) const = default;
};
struct DropsB {
  double a{};
  static DropsB from_params(const Params& p) {
    (void)p.i("b");
    return {p.f("a")};
  }
  bool operator==(const DropsB&) const = default;
};

template <typename S>
class Weighed final : public StageWith<S> {
 public:
  explicit Weighed(std::string type) : type_(std::move(type)) {}
  std::string type() const override { return type_; }
  Artifact compute(const S& s, const StageInputs&, RunContext&) const override {
    Artifact a;
    a.kind = "Numbers";
    a.arrays["values"] = Array::from_vector(std::vector<double>{s.a});
    return a;
  }

 private:
  std::string type_;
};

std::string weighed_schema(const std::string& type) {
  return "[stage]\ntype = \"" + type +
         "\"\nversion = 1\noutput = \"Numbers\"\nitems = \"values\"\n"
         "doc = \"Typed settings (kit tests only).\"\n\n"
         "[param.a]\ntype = \"float\"\ndefault = 1.0\ndoc = \"A value.\"\n\n"
         "[param.b]\ntype = \"int\"\ndefault = 2\ndoc = \"Another.\"\n";
}

const StageRegistry& kit_registry() {
  static const StageRegistry* registry = [] {
    auto* r = new StageRegistry();
    register_test_stages(*r);
    r->add(std::make_unique<Drifting>(), kDriftingSchema, "drifting.toml");
    r->add(std::make_unique<Weighed<Both>>("weighed"), weighed_schema("weighed"), "weighed.toml");
    r->add(std::make_unique<Weighed<OnlyA>>("forgetful"), weighed_schema("forgetful"),
           "forgetful.toml");
    r->add(std::make_unique<Weighed<DropsB>>("dropping"), weighed_schema("dropping"),
           "dropping.toml");
    return r;
  }();
  return *registry;
}

constexpr const char* kTyped = R"([pipeline]
name = "typed"

[stage.full]
type = "weighed"

[stage.forgets]
type = "forgetful"

[stage.drops]
type = "dropping"
)";

constexpr const char* kPipeline = R"([pipeline]
name = "kit"
seed = 5

[stage.numbers]
type = "source"
n = 6

[stage.scaled]
type = "scale"
x = "numbers"
factor = 3.0

[stage.drift]
type = "drifting"
)";

// The instrumentation parameters of the test stages that are paths.
const std::map<std::string, std::string> kInstrumentation = {
    {"counter", "a path"}, {"events", "a path"}, {"barrier_dir", "a path"}};

// The test stages (test_stages.h) read Params directly, so the kit's keys
// and determinism halves are what they can pass; the real stages pass all
// of expect_stage_kit, typed settings included.
TEST(StageKit, PassesADeterministicStage) {
  expect_keys_follow_schema({kPipeline, "scaled", kInstrumentation, {}, &kit_registry()});
  expect_deterministic({kPipeline, "scaled", kInstrumentation, {}, &kit_registry()});
}

TEST(StageKit, PassesTypedSettingsWithEveryParameterAField) {
  expect_stage_kit({kTyped, "full", {}, {}, &kit_registry()});
}

TEST(StageKit, FailsSettingsThatSkipOrDropAParameter) {
  EXPECT_NONFATAL_FAILURE(
      expect_settings_follow_schema({kTyped, "forgets", {}, {}, &kit_registry()}),
      "forgetful.b is declared in the schema but its settings parser never reads it");
  EXPECT_NONFATAL_FAILURE(expect_settings_follow_schema({kTyped, "drops", {}, {}, &kit_registry()}),
                          "stage.drops.b=3: the parsed settings did not change");
  EXPECT_FATAL_FAILURE(
      expect_settings_follow_schema({kPipeline, "scaled", {}, {}, &kit_registry()}),
      "scale reads its parameters without typed settings");
}

TEST(StageKit, FailsAStageThatDiffersWhenComputedAgain) {
  EXPECT_NONFATAL_FAILURE(expect_deterministic({kPipeline, "drift", {}, {}, &kit_registry()}),
                          "drift computed again at 1 thread(s) differs: array values");
  // Its keys are fine: the schema's one parameter is hashed.
  expect_keys_follow_schema({kPipeline, "drift", {}, {}, &kit_registry()});
}

TEST(StageKit, NotPerturbedMustBeExact) {
  auto missing = kInstrumentation;
  missing.erase("counter");
  EXPECT_NONFATAL_FAILURE(
      expect_keys_follow_schema({kPipeline, "scaled", missing, {}, &kit_registry()}),
      "scale.counter is not checked");
  auto extra = kInstrumentation;
  extra.emplace("factor", "pretend");
  EXPECT_NONFATAL_FAILURE(
      expect_keys_follow_schema({kPipeline, "scaled", extra, {}, &kit_registry()}),
      "scale.factor is in not_perturbed but the kit checks it");
  auto unknown = kInstrumentation;
  unknown.emplace("no_such", "typo");
  EXPECT_NONFATAL_FAILURE(
      expect_keys_follow_schema({kPipeline, "scaled", unknown, {}, &kit_registry()}),
      "not_perturbed names no_such, which scale does not have");
}

// Every stage type of the real registry has a folder whose tests call the kit.
TEST(StageKit, EveryRealStageCallsIt) {
  namespace fs = std::filesystem;
  for (const auto& type : real_registry().types()) {
    const fs::path dir = fs::path(WMGEOM_SOURCE_DIR) / "stages" / type;
    ASSERT_TRUE(fs::is_directory(dir)) << "stage type " << type << " has no folder stages/" << type;
    bool calls = false;
    for (const auto& f : fs::directory_iterator(dir)) {
      const std::string name = f.path().filename().string();
      if (name.rfind("test_", 0) == 0 && f.path().extension() == ".cpp") {
        calls = calls || read_file(f.path()).find("expect_stage_kit(") != std::string::npos;
      }
    }
    EXPECT_TRUE(calls) << "no test in stages/" << type
                       << " calls expect_stage_kit (tests/support/stage_kit.h)";
  }
}

}  // namespace
}  // namespace wmgeom::testing
