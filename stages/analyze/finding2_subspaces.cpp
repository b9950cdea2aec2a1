// Finding 2: vanilla RNNs share subspaces across tasks, GRUs and LSTMs use
// task-specific ones (kDeclared[1] states the test).
#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "analyze/findings_rules.h"

namespace wmgeom::analyze::findings_detail {

nlohmann::json finding2(const std::map<std::string, Table>& tables,
                        const std::vector<ModelData>& models, const Settings& s) {
  auto f = finding(kDeclared[1], s);
  Reader r(tables, "cross_task");
  if (r.rows() == 0)
    return not_testable(f, "the cross_task analysis was not run", "add \"cross_task\" to analyses");
  double first = INFINITY;
  for (std::size_t i = 0; i < r.rows(); ++i) first = std::min(first, r.num("stim_frame", i));
  // The 95th percentile of each decoder's validation null, from its
  // validation row: (model, feature, train task, stimulus frame).
  std::map<std::tuple<std::string, std::string, std::string, double>, double> validation_p95;
  for (std::size_t i = 0; i < r.rows(); ++i) {
    if (r.txt("kind", i) != "validation") continue;
    validation_p95[{r.txt("model", i), r.txt("feature", i), r.txt("train_task", i),
                    r.num("stim_frame", i)}] = r.num("chance_p95", i);
  }
  std::map<const ModelData*, double> value;
  std::vector<const ModelData*> used;
  int excluded_all = 0, cells_all = 0, unscored_all = 0;
  for (const auto& m : models) {
    if (m.tasks.size() < 2) continue;  // cross-task generalisation needs several tasks
    double gen = 0, gen_chance = 0, val = 0, val_chance = 0, gen_c = 0, gen_c_chance = 0;
    int count = 0, excluded = 0, unscored = 0;
    for (std::size_t i = 0; i < r.rows(); ++i) {
      if (r.txt("model", i) != m.name || r.txt("kind", i) != "generalisation" ||
          r.num("stim_frame", i) != first)
        continue;
      // Declared rule: a cell counts only when its decoder beats the 95th
      // percentile of its own empirical chance on its own task.
      auto p95 = validation_p95.find(
          {m.name, r.txt("feature", i), r.txt("train_task", i), r.num("stim_frame", i)});
      if (p95 == validation_p95.end() || !(r.num("validation", i) > p95->second)) {
        ++excluded;
        continue;
      }
      // A cell scored by no trial (no image of B unseen by any fold): no
      // accuracy, skipped and counted.
      const double cell[] = {r.num("accuracy", i),         r.num("chance_empirical", i),
                             r.num("validation", i),       r.num("validation_chance", i),
                             r.num("accuracy_centred", i), r.num("chance_empirical_centred", i)};
      if (!std::all_of(std::begin(cell), std::end(cell),
                       [](double v) { return std::isfinite(v); })) {
        ++unscored;
        continue;
      }
      gen += cell[0];
      gen_chance += cell[1];
      val += cell[2];
      val_chance += cell[3];
      gen_c += cell[4];
      gen_c_chance += cell[5];
      ++count;
    }
    if (count + excluded + unscored == 0) continue;
    excluded_all += excluded;
    unscored_all += unscored;
    cells_all += count + excluded + unscored;
    if (unscored > 0) f["numbers"][m.name + ": cells without a score (skipped)"] = unscored;
    f["numbers"][m.name + ": cells used"] = count;
    f["numbers"]
     [m.name + ": cells excluded (validation not above its empirical chance's 95th percentile)"] =
         excluded;
    const double score = count > 0 ? (gen - gen_chance) / (val - val_chance) : NAN;
    const double centred = count > 0 ? (gen_c - gen_c_chance) / (val - val_chance) : NAN;
    f["numbers"][m.name + ": normalised generalisation"] = number_or_null(score);
    f["numbers"][m.name + ": normalised generalisation, task-centred states"] =
        number_or_null(centred);
    // In scope with its generalisation rows; NaN when no cell was usable
    // (its group then lacks a value: usable_gap below).
    value[&m] = score;
    used.push_back(&m);
  }
  f["numbers"]["cells excluded, all models"] = excluded_all;
  f["numbers"]["cells without a score (skipped), all models"] = unscored_all;
  f["numbers"]["cells, all models"] = cells_all;
  const auto groups = groups_of(with_multi_task(used, models), models);
  std::map<std::string, std::vector<const Group*>> per_rnn;
  for (const auto& g : groups) per_rnn[g.rnn].push_back(&g);
  if (per_rnn.count("rnn") == 0 || per_rnn.size() < 2) {
    const std::string why =
        excluded_all == 0
            ? ""
            : " with cells whose validation beats its empirical chance's 95th percentile (" +
                  std::to_string(excluded_all) + " of " + std::to_string(cells_all) +
                  " cells excluded)";
    return not_testable(
        f, "needs multi-task vanilla RNN and GRU or LSTM models" + why,
        "train multi-task models of both kinds (rnn = \"rnn\" and rnn = \"gru\" or \"lstm\")");
  }
  for (const auto& [rnn, list] : per_rnn) {
    if (list.size() < 2) continue;
    std::string names;
    for (const auto* g : list) names += (names.empty() ? "" : "; ") + g->name;
    return not_testable(
        f,
        "the multi-task " + rnn_label(rnn) + " models form " + std::to_string(list.size()) +
            " replicate groups that differ in other settings (" + names +
            "): the test compares one group per architecture, and groups are never pooled",
        "analyse the models of each setting in an analyze stage of their own (states = the "
        "captures of "
        "one setting), so that every architecture has one multi-task replicate group");
  }
  if (auto gap = replicate_gap(groups, s.min_seeds); !gap.empty())
    return not_testable(f, gap, kSeeds);
  if (auto gap = usable_gap(groups, value, s.min_seeds,
                            "normalised generalisation (a cell whose validation beats its "
                            "empirical chance's 95th percentile)");
      !gap.empty())
    return not_testable(f, gap,
                        "every replicate group needs min_seeds models with usable cells: more "
                        "trials per task (eval_trials_per_task), or models trained further");
  const Group& vanilla = *per_rnn.at("rnn").front();
  const auto v = values_of(vanilla, value);
  IntersectionUnion iut;
  std::ostringstream detail;
  detail << "Normalised generalisation at stimulus frame " << fmt(first) << ": vanilla "
         << fmt(mean(v));
  for (const auto& g : groups) {
    if (g.rnn == "rnn") continue;
    const auto w = values_of(g, value);
    const auto added = add_test(
        f, "vanilla RNN > " + rnn_label(g.rnn) + " (" + vanilla.name + " vs " + g.name + ")",
        stats::welch_t(v, w, Alternative::kGreater, level_of(s)), Alternative::kGreater, s,
        Role::kDeciding);
    iut.add(added);
    detail << "; " << rnn_label(g.rnn) << " " << fmt(mean(w)) << " (" << effect_text(added.r, s)
           << (added.passes ? ", passes" : ", does not pass") << ")";
  }
  detail << ". Held only if vanilla beats every gated architecture (intersection-union; the "
            "largest p is reported). "
         << excluded_all << " of " << cells_all
         << " cells excluded: validation not above its empirical chance's 95th percentile. The "
            "task-centred variant "
            "(numbers) removes translations between tasks' state clouds.";
  return decide_all(f, iut, detail.str());
}

}  // namespace wmgeom::analyze::findings_detail
