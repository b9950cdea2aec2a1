// Finding 1: multi-task models retain task-irrelevant features in memory,
// single-task models retain less (kDeclared[0] states the test).
#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "analyze/findings_rules.h"

namespace wmgeom::analyze::findings_detail {

nlohmann::json finding1(const std::map<std::string, Table>& tables,
                        const std::vector<ModelData>& models, const Settings& s) {
  auto f = finding(kDeclared[0], s);
  Reader r(tables, "decoding");
  if (r.rows() == 0)
    return not_testable(f, "the decoding analysis was not run", "add \"decoding\" to analyses");
  // Per model in scope (a row in the compared cells): its retention, NaN
  // when every one of its rows was unscored.
  std::map<const ModelData*, double> value;
  std::vector<const ModelData*> in_scope;
  // Like with like (SCIENCE.md section 6): both sides on the same cells
  // (task, feature, stimulus frame s, frame t > s), those of the single-task
  // models: their own tasks and the features irrelevant there. Multi-task
  // rows of other tasks are left out (features differ in classes and
  // difficulty from task to task).
  using Cell = std::tuple<std::string, std::string, double, double>;
  auto later_irrelevant = [&](std::size_t i) {
    return r.txt("relevance", i) == "irrelevant" &&
           r.num("train_frame", i) > r.num("stim_frame", i);
  };
  std::set<std::string> single_names;
  for (const auto& m : models) {
    if (m.tasks.size() == 1) single_names.insert(m.name);
  }
  std::set<Cell> cells;
  for (std::size_t i = 0; i < r.rows(); ++i) {
    if (single_names.count(r.txt("model", i)) && later_irrelevant(i)) {
      cells.insert(
          {r.txt("task", i), r.txt("feature", i), r.num("stim_frame", i), r.num("train_frame", i)});
    }
  }
  int unscored_all = 0;
  for (const auto& m : models) {
    std::vector<double> margin;
    int unscored = 0, rows = 0;
    for (std::size_t i = 0; i < r.rows(); ++i) {
      if (r.txt("model", i) != m.name || !later_irrelevant(i)) continue;
      if (!cells.count({r.txt("task", i), r.txt("feature", i), r.num("stim_frame", i),
                        r.num("train_frame", i)}))
        continue;
      ++rows;
      // A row scored by no trial (the lag rule's "none", or no trial left)
      // has no accuracy: skipped and counted.
      const double v = r.num("accuracy", i) - r.num("chance_empirical", i);
      if (!std::isfinite(v)) {
        ++unscored;
        continue;
      }
      margin.push_back(v);
    }
    unscored_all += unscored;
    if (unscored > 0) f["numbers"][m.name + ": cells without a score (skipped)"] = unscored;
    if (rows == 0) continue;
    value[&m] = margin.empty() ? NAN : mean(margin);
    in_scope.push_back(&m);
    f["numbers"][m.name + ": retention above chance"] = number_or_null(value[&m]);
  }
  // Whether each side has a model in scope at all decides which reason a
  // "not testable" gives.
  bool multi_in_scope = false, single_in_scope = false;
  for (const auto* m : in_scope) (m->tasks.size() > 1 ? multi_in_scope : single_in_scope) = true;
  if (single_names.empty()) {
    return not_testable(
        f, "no single-task (STSF) model in this run",
        "add single-task control models: a tasks stage with one task (e.g. tasks = [\"loc-2\"]) "
        "and a train "
        "stage on it with at least 3 seeds (sweep = { seed = [1, 2, 3] }), captured and analysed; "
        "pipelines/study.toml does");
  }
  if (!multi_in_scope && !single_in_scope) {
    return not_testable(
        f, "no task-irrelevant feature was decoded at a later frame",
        "decode several features (features = [\"loc\", \"cat\", \"id\"]) over several frames");
  }
  if (!single_in_scope) {
    return not_testable(
        f, "the single-task models have no task-irrelevant feature decoded at a later frame",
        "decode a feature their task does not need over several frames (features = [\"loc\", "
        "\"cat\", "
        "\"id\"])");
  }
  if (!multi_in_scope) {
    return not_testable(
        f,
        "no multi-task model has a task-irrelevant cell (task, feature, stimulus frame, frame) of "
        "the "
        "single-task models: retention is compared on the same cells",
        "add a multi-task (MTMF or STMF) model whose tasks include the single-task models' task");
  }
  f["numbers"]["cells compared (task, feature, stimulus frame, frame of the single-task models)"] =
      cells.size();
  f["numbers"]["rows without a score (skipped), all models"] = unscored_all;
  // The declared test pools each side's models, so the architectures must
  // weigh alike on both sides: with an architecture on one side only, or in
  // another proportion, the architecture would stand for the regime
  // (multi-task vanilla + GRU against single-task GRU, equal within the
  // GRUs, was "held", p 0.038: the 2026-12-07 audit). Shares are counted
  // over the models with a value, the ones the test uses.
  const auto groups = groups_of(in_scope, models);
  if (auto gap = replicate_gap(groups, s.min_seeds); !gap.empty())
    return not_testable(f, gap, kSeeds);
  if (auto gap = usable_gap(groups, value, s.min_seeds, "retention (a scored cell)"); !gap.empty())
    return not_testable(f, gap, kSeeds);
  std::map<std::string, std::pair<std::size_t, std::size_t>> per_rnn;  // (multi, single) values
  std::vector<double> multi, single;
  for (const auto& g : groups) {
    for (double v : values_of(g, value)) {
      (g.multi ? multi : single).push_back(v);
      (g.multi ? per_rnn[g.rnn].first : per_rnn[g.rnn].second) += 1;
    }
  }
  std::string shares;
  bool alike = true;
  for (const auto& [rnn, n] : per_rnn) {
    // n_multi / N_multi == n_single / N_single, in integers.
    alike = alike && n.first * single.size() == n.second * multi.size();
    shares += (shares.empty() ? "" : ", ") + rnn_label(rnn) + " " + std::to_string(n.first) +
              " of " + std::to_string(multi.size()) + " multi-task and " +
              std::to_string(n.second) + " of " + std::to_string(single.size()) + " single-task";
  }
  f["numbers"]["architectures (models with a value)"] = shares;
  if (!alike) {
    return not_testable(
        f,
        "the architectures weigh differently on the two sides (" + shares +
            "): pooled, an architecture would stand for the regime",
        "train single-task controls of every multi-task architecture, with as many seeds as "
        "its multi-task models, or give each architecture its own findings stage");
  }
  std::string sides[2];
  for (const auto& g : groups)
    sides[g.multi ? 0 : 1] += (sides[g.multi ? 0 : 1].empty() ? "" : "; ") + g.name;
  const auto main = add_test(f, "multi-task retention > single-task retention",
                             stats::welch_t(multi, single, Alternative::kGreater, level_of(s)),
                             Alternative::kGreater, s, Role::kDeciding);
  add_test(f, "multi-task retention > empirical chance (supporting, not part of the verdict)",
           stats::one_sample_t(multi, 0.0, Alternative::kGreater, level_of(s)),
           Alternative::kGreater, s, Role::kSupporting);
  IntersectionUnion iut;
  iut.add(main);
  return decide_all(f, iut,
                    "Retention above empirical chance: multi-task " + fmt(mean(multi)) +
                        " vs single-task " + fmt(mean(single)) + " (" + effect_text(main.r, s) +
                        "). Multi-task groups: " + sides[0] + ". Single-task groups: " + sides[1] +
                        ".");
}

}  // namespace wmgeom::analyze::findings_detail
