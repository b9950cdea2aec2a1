// fuzz_pipeline: a pipeline file's text, planned as `wmgeom validate` plans it
// (make_plan_from_text: TOML parse, [pipeline] and every [stage.NAME] checked
// against the real stages' embedded schemas, the graph checks, sweep
// expansion, cache keys), then the diagnostics formatted as the CLI prints
// them. Contract under test: bad input never throws or crashes; it yields
// diagnostics, and a plan comes back exactly when there are none. Keys are
// deterministic (planning the same text twice gives the same keys).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/diagnostics.h"
#include "fuzz_util.h"
#include "graph/plan.h"
#include "schema_registry.h"

using namespace wmgeom;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::schema_registry();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // A folder that does not exist: relative paths resolve against it, so no
  // input names a real file by accident (absolute ones are only stat'ed).
  const std::string file = "/nonexistent-wmgeom-fuzz/pipeline.toml";
  Diagnostics diags;
  auto plan = make_plan_from_text(file, text, {}, fuzz::schema_registry(), diags);
  const std::string report = diags.format_all();
  WMGEOM_FUZZ_CHECK(plan.has_value() == diags.ok());
  WMGEOM_FUZZ_CHECK(plan.has_value() || !report.empty());
  if (!plan) return 0;

  for (const auto& inst : plan->instances) {
    WMGEOM_FUZZ_CHECK(inst.key.size() == 32);
    WMGEOM_FUZZ_CHECK(!plan->select(inst.name).empty());
    (void)instance_folder_name(inst.name);
  }
  if (!plan->instances.empty()) {
    auto down = plan->downstream_closure({0});
    auto up = plan->upstream_closure({plan->instances.size() - 1});
    WMGEOM_FUZZ_CHECK(!down.empty() && !up.empty());
  }
  Diagnostics again;
  auto plan2 = make_plan_from_text(file, text, {}, fuzz::schema_registry(), again);
  WMGEOM_FUZZ_CHECK(plan2 && plan2->instances.size() == plan->instances.size());
  for (std::size_t i = 0; i < plan->instances.size(); ++i) {
    WMGEOM_FUZZ_CHECK(plan2->instances[i].key == plan->instances[i].key);
  }
  return 0;
}
