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
  // Regimes are compared within each architecture (a stratum: the
  // architecture's multi-task and single-task models), so that an
  // architecture present on one side only, or in another proportion, cannot
  // stand for the regime; an architecture on one side only is left out, and
  // said.
  std::map<std::string, std::pair<bool, bool>> sides_of;  // rnn -> (multi, single) in scope
  for (const auto* m : in_scope) {
    auto& [has_multi, has_single] = sides_of[m->rnn];
    (m->tasks.size() > 1 ? has_multi : has_single) = true;
  }
  std::vector<const ModelData*> compared;
  std::string left_out;
  for (const auto* m : in_scope) {
    if (sides_of.at(m->rnn).first && sides_of.at(m->rnn).second) compared.push_back(m);
  }
  for (const auto& [rnn, has] : sides_of) {
    if (!(has.first && has.second)) {
      left_out += (left_out.empty() ? "" : ", ") + rnn_label(rnn) +
                  (has.first ? " (multi-task only)" : " (single-task only)");
    }
  }
  if (!left_out.empty()) f["numbers"]["architectures left out (one regime only)"] = left_out;
  if (compared.empty()) {
    return not_testable(f,
                        "no architecture has both multi-task and single-task models (" + left_out +
                            "): regimes are compared within an architecture",
                        "train single-task controls of the multi-task models' architectures");
  }
  const auto groups = groups_of(compared, models);
  if (auto gap = replicate_gap(groups, s.min_seeds); !gap.empty())
    return not_testable(f, gap, kSeeds);
  if (auto gap = usable_gap(groups, value, s.min_seeds, "retention (a scored cell)"); !gap.empty())
    return not_testable(f, gap, kSeeds);
  std::string sides[2];
  for (const auto& g : groups)
    sides[g.multi ? 0 : 1] += (sides[g.multi ? 0 : 1].empty() ? "" : "; ") + g.name;
  // One stratum per architecture compared: its multi-task and its
  // single-task values (every group of that side, finite values).
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> by_rnn;
  std::vector<double> multi_compared, single_compared;
  for (const auto& g : groups) {
    auto& side = g.multi ? by_rnn[g.rnn].first : by_rnn[g.rnn].second;
    for (double v : values_of(g, value)) {
      side.push_back(v);
      (g.multi ? multi_compared : single_compared).push_back(v);
    }
  }
  std::vector<std::pair<std::vector<double>, std::vector<double>>> strata;
  std::string per_rnn;
  for (const auto& [rnn, st] : by_rnn) {
    strata.push_back(st);
    per_rnn += (per_rnn.empty() ? "" : "; ") + rnn_label(rnn) + " " + fmt(mean(st.first)) + " vs " +
               fmt(mean(st.second));
  }
  const auto main =
      add_test(f, "multi-task retention > single-task retention, within each architecture",
               stats::stratified_welch_t(strata, Alternative::kGreater, level_of(s)),
               Alternative::kGreater, s);
  add_test(f, "multi-task retention > empirical chance (supporting, not part of the verdict)",
           stats::one_sample_t(multi_compared, 0.0, Alternative::kGreater, level_of(s)),
           Alternative::kGreater, s);
  IntersectionUnion iut;
  iut.add(main);
  return decide_all(f, iut,
                    "Retention above empirical chance, multi-task vs single-task within each "
                    "architecture (the mean over architectures of their differences): " +
                        per_rnn + " (" + effect_text(main.r, s) + "). Multi-task groups: " +
                        sides[0] + ". Single-task groups: " + sides[1] + ".");
}

}  // namespace wmgeom::analyze::findings_detail
