// Finding 5 (the causal test, SCIENCE.md 4.5): the decoded memory is used
// (kDeclared[4] states the test).
#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "analyze/findings_rules.h"

namespace wmgeom::analyze::findings_detail {

nlohmann::json finding5(const std::map<std::string, Table>& tables,
                        const std::vector<ModelData>& models, const Settings& s) {
  auto f = finding(kDeclared[4], s);
  f["test"] = f["test"].get<std::string>() + ". Declared: dose " + fmt(s.causal_dose) +
              " SD, stimulus frame " + std::to_string(s.causal_frame);
  f["dose"] = s.causal_dose;
  f["stim_frame"] = s.causal_frame;
  Reader r(tables, "causal_test");
  if (r.rows() == 0) {
    return not_testable(f,
                        "the causal analysis was not run, or no task has its probe inside the "
                        "trial at causal_frame",
                        "add \"causal\" to analyses with the trained models (models = [...]) and a "
                        "causal_frame s with s + N "
                        "inside the trial");
  }
  std::map<const ModelData*, double> value;
  std::vector<const ModelData*> used;
  for (const auto& m : models) {
    std::vector<double> z, effect, rms;
    for (std::size_t i = 0; i < r.rows(); ++i) {
      if (r.txt("model", i) != m.name || !std::isfinite(r.num("z", i))) continue;
      z.push_back(r.num("z", i));
      effect.push_back(r.num("effect", i));
      rms.push_back(r.num("null_rms", i));
    }
    if (z.empty()) continue;
    value[&m] = mean(z);  // finite: every z read is
    used.push_back(&m);
    f["numbers"][m.name + ": standardised response (effect / null RMS), mean over tasks"] =
        value[&m];
    f["numbers"][m.name + ": p(+shift) - p(-shift), mean over tasks"] = mean(effect);
    f["numbers"][m.name + ": null RMS (directions from the states' covariance), mean over tasks"] =
        mean(rms);
    f["numbers"][m.name + ": tasks"] = z.size();
    if (!m.network.empty()) f["numbers"][m.name + ": network"] = m.network;
  }
  if (used.empty())
    return not_testable(f, "no model has a finite causal response at the declared dose",
                        "check the causal_test table");
  const auto groups = groups_of(with_multi_task(used, models), models);
  const std::vector<Group> deciding = multi_task_groups(groups);
  if (deciding.empty()) return no_multi_task_groups(f, "causal results");
  if (auto gap = replicate_gap(deciding, s.min_seeds); !gap.empty())
    return not_testable(f, gap, kSeeds);
  // A multi-task model without a finite response (no network matched, or
  // every task's z NaN) leaves its group short, never out of the rule.
  if (auto gap = usable_gap(deciding, value, s.min_seeds, "causal response at the declared dose");
      !gap.empty())
    return not_testable(f, gap,
                        "give the causal analysis every multi-task model's network (models = "
                        "[...]) and a causal_frame whose probe is inside every task's trial");
  IntersectionUnion iut;
  std::ostringstream detail;
  detail << "Standardised causal response at " << fmt(s.causal_dose) << " SD, stimulus frame "
         << s.causal_frame << ", one test per multi-task replicate group across its seeds: ";
  for (const auto& g : groups) {
    const auto added =
        add_test(f, g.name + (g.multi ? "" : " (supporting, not part of the verdict)"),
                 stats::one_sample_t(values_of(g, value), 0.0, Alternative::kGreater, level_of(s)),
                 Alternative::kGreater, s, g.multi ? Role::kDeciding : Role::kSupporting);
    if (!g.multi) continue;
    iut.add(added);
    detail << g.name << ": " << effect_text(added.r, s, "mean")
           << (added.passes ? " (passes); " : " (does not pass); ");
  }
  detail << "held only if every multi-task group passes (intersection-union; the largest p is "
            "reported). Single-task "
            "groups are supporting. The dose-response (table causal) is description: its per-row "
            "p-values are not tests.";
  return decide_all(f, iut, detail.str());
}

}  // namespace wmgeom::analyze::findings_detail
