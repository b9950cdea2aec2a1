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
    a.arrays["values"] = Array::from_vector(std::vector<double>{params.f("value"), static_cast<double>(runs++)});
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

const StageRegistry& kit_registry() {
  static const StageRegistry* registry = [] {
    auto* r = new StageRegistry();
    register_test_stages(*r);
    r->add(std::make_unique<Drifting>(), kDriftingSchema, "drifting.toml");
    return r;
  }();
  return *registry;
}

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

TEST(StageKit, PassesADeterministicStage) {
  expect_stage_kit({kPipeline, "scaled", kInstrumentation, {}, &kit_registry()});
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
  EXPECT_NONFATAL_FAILURE(expect_keys_follow_schema({kPipeline, "scaled", missing, {}, &kit_registry()}),
                          "scale.counter is not checked");
  auto extra = kInstrumentation;
  extra.emplace("factor", "pretend");
  EXPECT_NONFATAL_FAILURE(expect_keys_follow_schema({kPipeline, "scaled", extra, {}, &kit_registry()}),
                          "scale.factor is in not_perturbed but the kit checks it");
  auto unknown = kInstrumentation;
  unknown.emplace("no_such", "typo");
  EXPECT_NONFATAL_FAILURE(expect_keys_follow_schema({kPipeline, "scaled", unknown, {}, &kit_registry()}),
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
    EXPECT_TRUE(calls) << "no test in stages/" << type << " calls expect_stage_kit (tests/support/stage_kit.h)";
  }
}

}  // namespace
}  // namespace wmgeom::testing
