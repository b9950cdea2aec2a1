#include "import/import.h"

#include "core/artifacts.h"
#include "core/error.h"
#include "import/states.h"

namespace wmgeom {

void ImportStage::check(const imports::Settings& s, ParamIssues& issues) const {
  try {
    const imports::Inventory inv = imports::inventory(s.path, s.format);
    imports::check_inventory(inv,
                             [&](const std::string& problem) { issues.error("path", problem); });
  } catch (const InputError& e) {
    issues.error("path", e.what());
  }
}

SizeEstimate ImportStage::estimate_of(const imports::Settings& s, const EstimateInputs&) const {
  SizeEstimate e;
  try {
    const imports::Inventory inv = imports::inventory(s.path, s.format);
    for (const auto& [name, entry] : inv.arrays) {
      std::int64_t n = 1;
      for (auto d : entry.shape) n *= d;
      e.bytes += 4 * n;  // float32 or int32
    }
    const auto& hidden = inv.arrays.at("hidden").shape;
    e.bytes += static_cast<std::int64_t>(inv.document.dump().size());
    e.working = e.bytes;  // a source array may be converted beside its copy
    e.dims = {{"trials", hidden.at(0)},
              {"frames", hidden.at(1)},
              {"hidden", hidden.at(2)},
              {"tasks", static_cast<std::int64_t>(inv.document["meta"]["model"]["tasks"].size())}};
    e.known = true;
  } catch (const std::exception&) {
    return {};  // check() has said why
  }
  return e;
}

Artifact ImportStage::compute(const imports::Settings& s, const StageInputs&,
                              RunContext& ctx) const {
  const imports::Inventory inv = imports::inventory(s.path, s.format);
  std::string problems;
  imports::check_inventory(inv, [&](const std::string& p) { problems += "\n  " + p; });
  if (!problems.empty()) throw InputError("import: " + s.path.string() + ":" + problems);
  StateSet states = imports::read_states(inv);
  imports::check_contents(states, inv);
  ctx.set_items(states.hidden.dim(0));
  ctx.info("imported " + std::to_string(states.hidden.dim(0)) + " trials of " +
           states.model.value("rnn", std::string("?")) + " from " + s.path.string());
  return states.to_artifact();
}

}  // namespace wmgeom
