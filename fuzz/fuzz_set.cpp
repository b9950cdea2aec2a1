// fuzz_set: `--set KEY=VALUE` overrides, as `wmgeom run|validate --set ...`
// passes them: the input is up to 8 override arguments, one per line, applied
// to one of the shipped pipelines (pipelines/*.toml; the first byte picks
// which) and planned with the real schemas (make_plan_from_text). Contract:
// a bad override is a diagnostic naming `--set[N]`, never a throw or crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"
#include "fuzz_util.h"
#include "graph/plan.h"
#include "schema_registry.h"

using namespace wmgeom;

namespace {
struct Base {
  std::string file, text;
};
const std::vector<Base>& bases() {
  static const std::vector<Base> all = [] {
    std::vector<Base> out;
    for (const char* name : {"quickstart.toml", "paper.toml", "regimes.toml", "study.toml"}) {
      const auto path = fuzz::fs::path(WMGEOM_SOURCE_DIR) / "pipelines" / name;
      out.push_back({path.string(), fuzz::read_text(path)});
      WMGEOM_FUZZ_CHECK(!out.back().text.empty());
    }
    return out;
  }();
  return all;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::schema_registry();
  bases();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Base& base = bases()[data[0] % bases().size()];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string> sets;
  while (!rest.empty() && sets.size() < 8) {
    auto nl = rest.find('\n');
    sets.emplace_back(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  }
  Diagnostics diags;
  auto plan = make_plan_from_text(base.file, base.text, sets, fuzz::schema_registry(), diags);
  const std::string report = diags.format_all();
  WMGEOM_FUZZ_CHECK(plan.has_value() == diags.ok());
  WMGEOM_FUZZ_CHECK(plan.has_value() || !report.empty());
  if (plan) {
    for (const auto& inst : plan->instances) WMGEOM_FUZZ_CHECK(inst.key.size() == 32);
  }
  return 0;
}
