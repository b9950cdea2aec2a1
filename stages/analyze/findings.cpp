// findings.json: each of the paper's four findings and its causal test
// (SCIENCE.md sections 4 and 6; finding 5) as one test declared here, in advance, across
// independently trained models (seeds) — never across the tasks or frames of one model, which share
// images and weights. A finding is "held" only when its test passes at
// alpha with the effect in the paper's direction, "not held" otherwise, and
// "not testable" (with what to add to the pipeline) when the run lacks the
// replicates or the model kinds the test needs.
//
// Replicates are the seeds of one replicate group: a configuration minus its
// seed (architecture, regime, task list, every training setting). Groups are
// never pooled as replicates; each group a test uses needs min_seeds seeds.
//
// Every finding carries: the test, the unit of replication and n per group,
// the effect with its (1 - alpha) CI (one-sided tests: the one-sided bound,
// so CI and p agree), the p-value, alpha, the rule that decides, the
// per-model values the test used, and every test run. Findings 2, 3 and 4
// decide by intersection-union rules over replicate groups (each test at
// alpha, so the conjunction keeps level alpha without correction).
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <set>
#include <sstream>
#include <tuple>

#include "analyze/analyses.h"

namespace wmgeom::analyze {

namespace {

// The unit of replication of every finding's test (SCIENCE.md section 6).
constexpr const char* kUnit = "model (seed)";

using stats::Alternative;
using stats::TestResult;

// Read access to a finished table; empty when absent.
struct Reader {
  const Table* t = nullptr;
  explicit Reader(const std::map<std::string, Table>& tables, const std::string& name) {
    if (auto it = tables.find(name); it != tables.end()) t = &it->second;
  }
  std::size_t rows() const { return t ? t->rows() : 0; }
  double num(const std::string& c, std::size_t i) const { return t->numeric.at(c)[i]; }
  const std::string& txt(const std::string& c, std::size_t i) const { return t->text.at(c)[i]; }
};

std::string fmt(double v) {
  std::ostringstream s;
  s.precision(3);
  s << v;
  return s.str();
}

// The confidence level of every test: 1 - alpha, so that a test's interval
// excludes 0 exactly when its p < alpha (one-sided tests: a one-sided bound).
double level_of(const Settings& s) { return 1.0 - s.alpha; }

// "difference D, 95% CI [lo, +inf), p = P" of a test: the interval as the
// test states it (one-sided tests give one bound).
std::string effect_text(const TestResult& t, const Settings& s,
                        const std::string& what = "difference") {
  std::ostringstream out;
  out << what << " " << fmt(t.effect) << ", " << fmt(100 * level_of(s)) << "% CI ";
  if (std::isinf(t.ci_lo)) {
    out << "(-inf";
  } else {
    out << "[" << fmt(t.ci_lo);
  }
  out << ", ";
  if (std::isinf(t.ci_hi)) {
    out << "+inf)";
  } else {
    out << fmt(t.ci_hi) << "]";
  }
  out << ", p = " << fmt(t.p);
  return out.str();
}

std::string rnn_label(const std::string& rnn) {
  return rnn == "rnn" ? "vanilla RNN" : rnn == "gru" ? "GRU" : rnn == "lstm" ? "LSTM" : rnn;
}

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json test_json(const std::string& name, const TestResult& r, Alternative alt,
                         double alpha, const std::string& unit) {
  // One-sided tests: the infinite side of the interval is null.
  return {{"name", name},
          {"test", r.test + " (" + stats::alternative_name(alt) + ")"},
          {"unit", unit},
          {"n", r.n_b > 0 ? nlohmann::json{r.n_a, r.n_b} : nlohmann::json(r.n_a)},
          {"effect", number_or_null(r.effect)},
          {"ci", {number_or_null(r.ci_lo), number_or_null(r.ci_hi)}},
          {"statistic", number_or_null(r.statistic)},
          {"df", number_or_null(r.df)},
          {"p", number_or_null(r.p)},
          {"passed", r.defined() && r.p < alpha}};
}

// The four findings (SCIENCE.md section 5) and the causal test (4.5): each claim and the one test,
// declared before any data is seen, that decides it (section 6), with the
// rule that says which replicate groups decide. A replicate group is a
// configuration minus its seed (architecture, regime, task list and every
// training setting); groups are never pooled as replicates of one another.
struct Declared {
  const char* claim;
  const char* test;
};
constexpr Declared kDeclared[] = {
    {"Multi-task models retain task-irrelevant features in memory; single-task models retain less",
     "Welch t-test, one-sided (multi-task > single-task), of each model's retention: mean accuracy "
     "above "
     "empirical chance of task-irrelevant features of stimulus s decoded from the state at frames "
     "t > s, over "
     "the same cells on both sides: the (task, feature, s, t) cells of the single-task models "
     "(their own tasks, "
     "the features irrelevant there); multi-task rows of other tasks are not used. Cells at frames "
     "t with t - s "
     "a multiple of the task's N, where the sampler's matches correlate the labels (identity with "
     "category "
     "in cat-N tasks), are scored by the lag rule (trials whose label at s is not kin of the label "
     "at t, the "
     "argmax over the classes that are not); cells without a score are skipped and counted. "
     "The two sides are the multi-task and the single-task models; every replicate group on each "
     "side needs "
     "min_seeds seeds"},
    {"Vanilla RNNs share subspaces across tasks; GRUs and LSTMs use task-specific ones",
     "per gated architecture present, a Welch t-test, one-sided, across seeds of the multi-task "
     "replicate groups: "
     "vanilla > GRU and vanilla > LSTM, both at alpha (intersection-union: held only if every one "
     "passes; the "
     "decisive p is the largest), of each model's chance-normalised cross-task generalisation at "
     "the encoding "
     "frame of the first stimulus, (gen - chance) / (val - chance) with empirical chance levels, "
     "over the cells "
     "whose validation accuracy is above the 95th percentile of its own empirical chance (the "
     "others are "
     "excluded and counted: near chance the ratio explodes). One multi-task group per "
     "architecture"},
    {"Most models de-orthogonalise: the RNN encoding space is less orthogonal than the perceptual "
     "space",
     "per multi-task replicate group, a one-sample t-test, one-sided (< 0), across its seeds of "
     "the difference "
     "of null-corrected orthogonalisation indices, O - O(shuffled labels), RNN minus perceptual, "
     "at matched "
     "PCA dimensionality (at most the smaller rank of the two spaces), paired within each model by "
     "task, "
     "feature and frame; normals fitted on the PC scores as they are; and the same test at matched "
     "separability (the space whose classes are the more decodable, cross-validated, gets "
     "isotropic noise "
     "until its accuracy equals the other's): held only if both pass, since a noisier space alone "
     "reads as "
     "less orthogonal. The paper's claim is about the multi-task models: the verdict comes from "
     "the multi-task "
     "groups, all at alpha (intersection-union); single-task groups are reported as supporting "
     "tests. The "
     "verdict is 'depends on preprocessing' or 'depends on sample size' instead when a multi-task "
     "group's mean "
     "effect has the other sign under the other defensible preparation (standardize <-> raw) or in "
     "half the "
     "PCs (twice the trials per dimension)"},
    {"Memory subspaces are chronological: the encoding code is shared across stimuli (H2) but does "
     "not "
     "hold the stimulus in place (H1 fails); the rotation from one frame to the next depends on "
     "elapsed time",
     "per multi-task replicate group (one architecture each), three one-sided one-sample t-tests "
     "across its "
     "seeds, all at alpha in every group (intersection-union): H1 below halfway between its "
     "empirical chance "
     "and its validation; H2 above its empirical chance; the same-elapsed-time Procrustes swap "
     "above the "
     "time-shifted swap, on the codes themselves: the rotation maps the class centroids of "
     "stimulus s at frame t "
     "onto those at t+1 (fitted on each fold's training trials jointly with the other stimuli's "
     "codes) and is "
     "applied to the centroids of (s+1, t+1) (elapsed-shifted) or (s, t+1) (time-shifted); "
     "held-out states "
     "less the other stimuli's codes are classified by the nearest predicted centroid, each swap "
     "relative to "
     "the target's own fitted centroids at the same cell, (swap - chance) / (fitted - chance) with "
     "the "
     "target's empirical chance, paired by source cell (task, feature, s, t), over "
     "the pairs whose two targets beat the 95th percentile of their empirical chance (the others "
     "excluded and "
     "counted; raw accuracies at elapsed times t+1-s and t+2-s would reward forgetting). "
     "Task-relevant "
     "features with at least 3 values. H1 and H2 score the encoding decoder "
     "of stimulus s (fitted at frame s) on the state at a later frame j, on trials held out in its "
     "fold whose "
     "labels at s and j are not kin (the same class; for identity, the same category: hard "
     "non-matches) and "
     "whose image at j was not among the fold's training images; H1 is the argmax over the classes "
     "not kin of "
     "the label at j, scored against the label at s, and H2 the argmax over the classes not kin of "
     "the label "
     "at s, scored against the label at j (chance 1/(K-1) each without kin); H1's validation is "
     "the same "
     "decoder at frame s on the same trials with the same excluded classes; every "
     "empirical chance comes from the permuted-label fits at frame s scored the same way. "
     "Single-task groups "
     "are reported as supporting tests; so are the fitted rotation against no rotation and against "
     "rotations "
     "fitted on permuted class correspondences, and the paper's swap on decoder weights (not "
     "calibrated: "
     "decoders whiten the code by the other stimuli's interference, which depends on elapsed time "
     "alone)"},
    {"The decoded memory is causally used: shifting the memory along its decoder towards the "
     "probe's class "
     "raises the network's p(match) more than shifts of the same size along the states' own "
     "directions "
     "(Fig. A7)",
     "per multi-task replicate group, a one-sample t-test, one-sided (> 0), across its seeds of "
     "each model's "
     "standardised causal response at the one declared dose and stimulus frame (parameters "
     "causal_dose and "
     "causal_frame): per task (its own feature, among the analysed features, where the probe s + N "
     "lies in the "
     "trial), the response is the mean over the non-match trials whose probe's class differs of "
     "p(match | "
     "+shift) - p(match | -shift), the shift applied to the state just before the probe along the "
     "cross-fitted decoder direction towards the probe's class, divided by the root-mean-square of "
     "the same "
     "response to 49 directions (and their opposites) drawn from the covariance of the task's "
     "states at the "
     "shifted frame, each shifted by the same dose in SDs of its own projection; the model's value "
     "is the mean "
     "over its tasks. Multi-task groups decide, all at alpha (intersection-union); single-task "
     "groups are "
     "reported as supporting tests. The dose-response over causal_sds and every frame is "
     "description"},
};

// The skeleton of a finding; verdict filled by the caller.
nlohmann::json finding(const Declared& d, double alpha) {
  // Every finding has the same keys: a "not testable" one keeps its unit and
  // null n, effect, CI and p (decide() fills them from the decisive test).
  return {{"title", d.claim},
          {"test", d.test},
          {"unit", kUnit},
          {"n", nullptr},
          {"effect", nullptr},
          {"ci", nullptr},
          {"p", nullptr},
          {"alpha", alpha},
          {"verdict", "not testable"},
          {"held", nullptr},
          {"tests", nlohmann::json::array()},
          {"numbers", nlohmann::json::object()},
          {"detail", ""}};
}

nlohmann::json not_testable(nlohmann::json f, const std::string& reason, const std::string& add) {
  f["verdict"] = "not testable";
  f["held"] = nullptr;
  f["reason"] = reason;
  f["to_make_testable"] = add;
  f["detail"] = "not testable: " + reason + ". " + add;
  return f;
}

// Copies the decisive test's numbers to the finding's top level and sets the verdict.
nlohmann::json decide(nlohmann::json f, const nlohmann::json& decisive, bool held,
                      const std::string& detail) {
  for (const char* k : {"unit", "n", "effect", "ci", "p"}) f[k] = decisive[k];
  f["statistic_test"] = decisive["test"];
  f["verdict"] = held ? "held" : "not held";
  f["held"] = held;
  f["detail"] = detail;
  return f;
}

// A test of the finding, added to f["tests"]; `passes` when it is significant
// in its declared direction.
struct Added {
  TestResult r;
  nlohmann::json json;
  bool passes;
};
Added add_test(nlohmann::json& f, const std::string& name, const TestResult& r, Alternative alt,
               const Settings& s) {
  Added a{r, test_json(name, r, alt, s.alpha, kUnit), false};
  a.passes =
      r.defined() && r.p < s.alpha && (alt == Alternative::kLess ? r.effect < 0 : r.effect > 0);
  f["tests"].push_back(a.json);
  return a;
}

// An intersection-union test: held only when every one of its tests passes
// (each at alpha, so the conjunction keeps level alpha without correction);
// the decisive test is the one with the largest p (an undefined one first).
struct IntersectionUnion {
  bool held = true;
  nlohmann::json decisive;
  double worst = -1;
  void add(const Added& a) {
    held = held && a.passes;
    const double p = a.r.defined() ? a.r.p : INFINITY;
    if (decisive.is_null() || p > worst) {
      worst = p;
      decisive = a.json;
    }
  }
};

const std::string kSeeds =
    "train at least 3 seeds of every configuration (a replicate group: the same architecture, "
    "tasks and training "
    "settings; e.g. sweep = { seed = [1, 2, 3] } in each train stage, and capture and analyse "
    "every instance); "
    "pipelines/study.toml does";

// A replicate group: the models whose configurations differ only in the seed.
struct Group {
  std::string key;   // ModelData::group
  std::string name;  // for people (replicate_group_names)
  std::string rnn;
  bool multi = false;  // a multi-task regime (STMF or MTMF)
  std::vector<const ModelData*> models;
};

// The replicate groups of `used`: multi-task before single-task, then by
// architecture (vanilla, GRU, LSTM, others) and name.
std::vector<Group> groups_of(const std::vector<const ModelData*>& used,
                             const std::vector<ModelData>& all) {
  const auto names = replicate_group_names(all);
  std::map<std::string, Group> by_key;
  for (const auto* m : used) {
    Group& g = by_key[m->group];
    g.key = m->group;
    g.name = names.count(m->group) ? names.at(m->group) : m->group;
    g.rnn = m->rnn;
    g.multi = m->tasks.size() > 1;
    g.models.push_back(m);
  }
  std::vector<Group> out;
  for (auto& [key, g] : by_key) out.push_back(std::move(g));
  auto rank = [](const std::string& rnn) {
    return rnn == "rnn" ? 0 : rnn == "gru" ? 1 : rnn == "lstm" ? 2 : 3;
  };
  std::sort(out.begin(), out.end(), [&](const Group& a, const Group& b) {
    return std::make_tuple(!a.multi, rank(a.rnn), a.name) <
           std::make_tuple(!b.multi, rank(b.rnn), b.name);
  });
  return out;
}

// The reason a replicate test is impossible (a group with fewer than
// min_seeds models), or "".
std::string replicate_gap(const std::vector<Group>& groups, int min_seeds) {
  std::string gap;
  for (const auto& g : groups) {
    const auto count = g.models.size();
    if (count < static_cast<std::size_t>(min_seeds)) {
      gap += (gap.empty() ? "" : "; ") + g.name + " has " + std::to_string(count) + " model" +
             (count == 1 ? "" : "s");
    }
  }
  return gap.empty() ? ""
                     : "fewer than " + std::to_string(min_seeds) + " seeds per replicate group (" +
                           gap + ")";
}

// The per-model values of a group's seeds, in the group's order.
std::vector<double> values_of(const Group& g, const std::map<const ModelData*, double>& value) {
  std::vector<double> out;
  for (const auto* m : g.models) out.push_back(value.at(m));
  return out;
}

nlohmann::json finding1(const std::map<std::string, Table>& tables,
                        const std::vector<ModelData>& models, const Settings& s) {
  auto f = finding(kDeclared[0], s.alpha);
  Reader r(tables, "decoding");
  if (r.rows() == 0)
    return not_testable(f, "the decoding analysis was not run", "add \"decoding\" to analyses");
  std::vector<double> multi, single;
  std::vector<const ModelData*> used;
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
    const bool is_multi = m.tasks.size() > 1;
    std::vector<double> margin;
    int unscored = 0;
    for (std::size_t i = 0; i < r.rows(); ++i) {
      if (r.txt("model", i) != m.name || !later_irrelevant(i)) continue;
      if (!cells.count({r.txt("task", i), r.txt("feature", i), r.num("stim_frame", i),
                        r.num("train_frame", i)}))
        continue;
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
    if (margin.empty()) continue;
    (is_multi ? multi : single).push_back(mean(margin));
    used.push_back(&m);
    f["numbers"][m.name + ": retention above chance"] = mean(margin);
  }
  if (single_names.empty()) {
    return not_testable(
        f, "no single-task (STSF) model in this run",
        "add single-task control models: a tasks stage with one task (e.g. tasks = [\"loc-2\"]) "
        "and a train "
        "stage on it with at least 3 seeds (sweep = { seed = [1, 2, 3] }), captured and analysed; "
        "pipelines/study.toml does");
  }
  if (multi.empty() && single.empty()) {
    return not_testable(
        f, "no task-irrelevant feature was decoded at a later frame",
        "decode several features (features = [\"loc\", \"cat\", \"id\"]) over several frames");
  }
  if (single.empty()) {
    return not_testable(
        f, "the single-task models have no task-irrelevant feature decoded at a later frame",
        "decode a feature their task does not need over several frames (features = [\"loc\", "
        "\"cat\", "
        "\"id\"])");
  }
  if (multi.empty()) {
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
  const auto groups = groups_of(used, models);
  if (auto gap = replicate_gap(groups, s.min_seeds); !gap.empty())
    return not_testable(f, gap, kSeeds);
  std::string sides[2];
  for (const auto& g : groups)
    sides[g.multi ? 0 : 1] += (sides[g.multi ? 0 : 1].empty() ? "" : "; ") + g.name;
  const auto main = add_test(f, "multi-task retention > single-task retention",
                             stats::welch_t(multi, single, Alternative::kGreater, level_of(s)),
                             Alternative::kGreater, s);
  add_test(f, "multi-task retention > empirical chance (supporting, not part of the verdict)",
           stats::one_sample_t(multi, 0.0, Alternative::kGreater, level_of(s)),
           Alternative::kGreater, s);
  return decide(f, main.json, main.passes,
                "Retention above empirical chance: multi-task " + fmt(mean(multi)) +
                    " vs single-task " + fmt(mean(single)) + " (" + effect_text(main.r, s) +
                    "). Multi-task groups: " + sides[0] + ". Single-task groups: " + sides[1] +
                    ".");
}

nlohmann::json finding2(const std::map<std::string, Table>& tables,
                        const std::vector<ModelData>& models, const Settings& s) {
  auto f = finding(kDeclared[1], s.alpha);
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
    if (!std::isfinite(score)) continue;
    value[&m] = score;
    used.push_back(&m);
  }
  f["numbers"]["cells excluded, all models"] = excluded_all;
  f["numbers"]["cells without a score (skipped), all models"] = unscored_all;
  f["numbers"]["cells, all models"] = cells_all;
  const auto groups = groups_of(used, models);
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
        stats::welch_t(v, w, Alternative::kGreater, level_of(s)), Alternative::kGreater, s);
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
  return decide(f, iut.decisive, iut.held, detail.str());
}

// Finding 3's sign must not depend on a defensible choice (issue 28): the
// same test under the other defensible preparation of the spaces
// (standardize <-> raw) and in half the PCs (twice the trials per
// dimension, towards the index's large-sample limit), per deciding group. Both are reported as
// supporting tests; when a deciding group's mean effect under either has the other sign than under
// the declared test, the verdict says so ("depends on preprocessing", "depends on sample size")
// instead of picking one.
nlohmann::json robustness_of_finding3(nlohmann::json f, const std::vector<Group>& deciding,
                                      const std::map<const ModelData*, double>& value,
                                      const std::map<const ModelData*, double>& other,
                                      const std::map<const ModelData*, double>& half,
                                      const Settings& s) {
  if (f["verdict"] != "held" && f["verdict"] != "not held") return f;
  struct Check {
    const std::map<const ModelData*, double>& values;
    const char* name;
    const char* verdict;
  };
  for (const Check& c :
       {Check{other, "the other defensible preparation (standardize <-> raw)",
              "depends on preprocessing"},
        Check{half, "half the PCs (twice the trials per dimension)", "depends on sample size"}}) {
    for (const auto& g : deciding) {
      const auto v = values_of(g, c.values);
      if (std::any_of(v.begin(), v.end(), [](double x) { return !std::isfinite(x); })) continue;
      const auto check = add_test(
          f, g.name + ": robustness, the same test under " + c.name + " (supporting)",
          stats::one_sample_t(v, 0.0, Alternative::kLess, level_of(s)), Alternative::kLess, s);
      const double main = mean(values_of(g, value));
      if (f["verdict"] == "held" || f["verdict"] == "not held") {
        if ((check.r.effect < 0) != (main < 0)) {
          f["verdict"] = c.verdict;
          f["held"] = false;
          f["detail"] = f["detail"].get<std::string>() + " The sign " + c.verdict + ": " + g.name +
                        " has mean " + fmt(main) + " but " + fmt(check.r.effect) + " under " +
                        c.name + ".";
        }
      }
    }
  }
  return f;
}

nlohmann::json finding3(const std::map<std::string, Table>& tables,
                        const std::vector<ModelData>& models, const Settings& s) {
  auto f = finding(kDeclared[2], s.alpha);
  Reader r(tables, "orthogonality_summary");
  if (r.rows() == 0) {
    return not_testable(
        f, "orthogonality was not run or no perceptual vectors were captured",
        "add \"orthogonality\" to analyses and keep perceptual = true in the capture stages");
  }
  if (s.image_bootstraps == 0) {
    return not_testable(
        f,
        "image_bootstraps = 0: the test needs the images' sampling error, which every seed shares",
        "set image_bootstraps > 0 (default 50)");
  }
  // Per model: the declared value and the same under each robustness check.
  std::map<const ModelData*, double> value, other, half, matched;
  std::vector<const ModelData*> used;
  for (const auto& m : models) {
    std::map<std::string, std::vector<double>> c;  // column -> values over features
    const char* columns[] = {"corrected_difference",
                             "corrected_difference_other_prep",
                             "corrected_difference_half_dims",
                             "corrected_difference_matched",
                             "accuracy_rnn",
                             "accuracy_perceptual",
                             "mean_rnn",
                             "mean_perceptual",
                             "corrected_rnn",
                             "corrected_perceptual"};
    for (std::size_t i = 0; i < r.rows(); ++i) {
      if (r.txt("model", i) != m.name) continue;
      for (const char* col : columns)
        c[col].push_back(r.t->numeric.count(col) ? r.num(col, i) : NAN);
    }
    if (c.empty()) continue;
    value[&m] = mean(c["corrected_difference"]);
    other[&m] = mean(c["corrected_difference_other_prep"]);
    half[&m] = mean(c["corrected_difference_half_dims"]);
    matched[&m] = mean(c["corrected_difference_matched"]);
    used.push_back(&m);
    f["numbers"][m.name + ": corrected O(rnn) - O(perceptual) at matched separability"] =
        number_or_null(matched[&m]);
    f["numbers"][m.name + ": cross-validated accuracy, rnn and perceptual"] = {
        number_or_null(mean(c["accuracy_rnn"])), number_or_null(mean(c["accuracy_perceptual"]))};
    f["numbers"][m.name + ": corrected O(rnn) - O(perceptual)"] = value[&m];
    f["numbers"][m.name + ": O(rnn), O(perceptual)"] = {number_or_null(mean(c["mean_rnn"])),
                                                        number_or_null(mean(c["mean_perceptual"]))};
    f["numbers"][m.name + ": corrected O(rnn), O(perceptual)"] = {
        number_or_null(mean(c["corrected_rnn"])), number_or_null(mean(c["corrected_perceptual"]))};
  }
  // Per model: the matched difference on each image-bootstrap resample
  // (mean over features, as the declared value).
  std::map<const ModelData*, std::map<int, std::vector<double>>> resampled;
  Reader boot(tables, "orthogonality_bootstrap");
  for (std::size_t i = 0; i < boot.rows(); ++i) {
    for (const auto* m : used) {
      if (boot.txt("model", i) == m->name) {
        resampled[m][static_cast<int>(boot.num("resample", i))].push_back(
            boot.num("corrected_difference_matched", i));
      }
    }
  }
  const auto groups = groups_of(used, models);
  std::vector<Group> deciding;
  for (const auto& g : groups) {
    if (g.multi) deciding.push_back(g);
  }
  if (deciding.empty()) {
    return not_testable(f,
                        "no multi-task model has orthogonality results: the verdict comes from the "
                        "multi-task replicate groups",
                        "add multi-task (MTMF or STMF) models with at least 3 seeds");
  }
  // The images' share of the variance of a group's mean matched difference:
  // the part of the resampled differences that every seed shares, i.e. the
  // mean over pairs of seeds of their covariance over image-bootstrap
  // resamples (0 if negative). Each seed's own variance over resamples is
  // not added: its seed-specific part is in the spread across seeds already.
  // Returns (variance, resamples used: those every model of the group has).
  auto image_variance = [&](const Group& g) -> std::pair<double, int> {
    std::map<int, std::vector<double>> per_resample;  // resample -> per model
    for (const auto* m : g.models) {
      if (!resampled.count(m)) return {std::nan(""), 0};
      for (const auto& [b, v] : resampled.at(m)) per_resample[b].push_back(mean(v));
    }
    std::vector<std::vector<double>> rows;  // [resample][model]
    for (const auto& [b, v] : per_resample) {
      if (v.size() == g.models.size()) rows.push_back(v);
    }
    const std::size_t n = g.models.size(), draws = rows.size();
    if (draws < 2 || n < 2) return {std::nan(""), static_cast<int>(draws)};
    std::vector<double> centre(n, 0.0);
    for (const auto& r : rows) {
      for (std::size_t i = 0; i < n; ++i) centre[i] += r[i] / double(draws);
    }
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = i + 1; j < n; ++j) {
        double c = 0;
        for (const auto& r : rows) c += (r[i] - centre[i]) * (r[j] - centre[j]);
        sum += c / double(draws - 1);
      }
    }
    return {std::max(0.0, sum / double(n * (n - 1) / 2)), static_cast<int>(draws)};
  };
  if (auto gap = replicate_gap(deciding, s.min_seeds); !gap.empty())
    return not_testable(f, gap, kSeeds);
  IntersectionUnion iut;
  std::ostringstream detail;
  detail << "Null-corrected O(rnn) - O(perceptual), one test per multi-task replicate group across "
            "its seeds: ";
  for (const auto& g : groups) {
    const auto v = values_of(g, value);
    const auto added = add_test(
        f, g.name + (g.multi ? "" : " (supporting, not part of the verdict)"),
        stats::one_sample_t(v, 0.0, Alternative::kLess, level_of(s)), Alternative::kLess, s);
    if (!g.multi) continue;
    iut.add(added);
    detail << g.name << ": " << effect_text(added.r, s, "mean")
           << (added.passes ? " (passes)" : " (does not pass)");
    // The same test at matched separability, its standard error with the
    // images' sampling error added: part of the declared test.
    const auto vm = values_of(g, matched);
    const auto [variance, resamples] = image_variance(g);
    const bool finite =
        std::all_of(vm.begin(), vm.end(), [](double x) { return std::isfinite(x); }) &&
        std::isfinite(variance);
    const auto at_matched =
        add_test(f, g.name + ": at matched separability, with the images' bootstrap variance",
                 finite ? stats::one_sample_t_plus(vm, 0.0, variance, resamples - 1.0,
                                                   Alternative::kLess, level_of(s))
                        : stats::TestResult{},
                 Alternative::kLess, s);
    iut.add(at_matched);
    f["numbers"][g.name + ": image-bootstrap SD of the group's matched difference"] =
        number_or_null(std::sqrt(variance));
    f["numbers"][g.name + ": image-bootstrap resamples"] = resamples;
    detail << ", at matched separability "
           << (finite ? effect_text(at_matched.r, s, "mean") + " (image-bootstrap SD " +
                            fmt(std::sqrt(variance)) + ")"
                      : std::string("not measured (needs image_bootstraps > 0)"))
           << (at_matched.passes ? " (passes); " : " (does not pass); ");
  }
  detail
      << "held only if every multi-task group passes both as measured and at matched separability "
         "(intersection-union; the largest p is reported). Single-task groups are supporting. The "
         "images are one "
         "set for every model, so the test at matched separability adds their sampling error (the "
         "variance of the "
         "group's mean over a bootstrap of images) to the across-seed standard error. The "
         "random-direction "
         "null is information only: K equidistant classes give 1 - 1/(K-1).";
  auto decided = robustness_of_finding3(decide(f, iut.decisive, iut.held, detail.str()), deciding,
                                        value, other, half, s);
  return decided;
}

nlohmann::json finding4(const std::map<std::string, Table>& tables,
                        const std::vector<ModelData>& models, const Settings& s) {
  auto f = finding(kDeclared[3], s.alpha);
  Reader h(tables, "temporal_hypotheses"), p(tables, "procrustes"),
      c(tables, "procrustes_centroids");
  if (h.rows() == 0 || p.rows() == 0 || c.rows() == 0) {
    return not_testable(f, "cross_temporal or procrustes was not run",
                        "add \"cross_temporal\" and \"procrustes\" to analyses");
  }
  std::map<const ModelData*, double> h1_margin, h2_margin, swap, rotation, rotation_null,
      weight_swap;
  std::vector<std::string> unusable;  // multi-task models without a usable swap pair
  std::vector<const ModelData*> used;
  for (const auto& m : models) {
    // H1 like with like (SCIENCE.md section 6): against its own empirical
    // chance and its own validation (the same decoder at frame s, the same
    // trials, the same excluded class), never a share of another score.
    std::vector<double> h1, h1_chance, h2, h2_chance, val;
    // Rows scored by no trial (the lag rule's "none": 2 classes; or no
    // trial left) have NaN scores: skipped where averaged, and counted.
    int unscored = 0;
    auto finite = [](std::initializer_list<double> v) {
      return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
    };
    for (std::size_t i = 0; i < h.rows(); ++i) {
      if (h.txt("model", i) != m.name || h.txt("relevance", i) != "relevant") continue;
      const bool is_h1_row = h.txt("hypothesis", i) == "H1_slot";
      if (!finite({h.num("accuracy", i), h.num("chance_empirical", i),
                   is_h1_row ? h.num("validation", i) : 0.0})) {
        ++unscored;
        continue;
      }
      const bool is_h1 = h.txt("hypothesis", i) == "H1_slot";
      (is_h1 ? h1 : h2).push_back(h.num("accuracy", i));
      (is_h1 ? h1_chance : h2_chance).push_back(h.num("chance_empirical", i));
      if (is_h1) val.push_back(h.num("validation", i));
    }
    // The swaps like with like: each relative to its own target at the same
    // cell, (swap - chance) / (fitted - chance), paired by source cell (task,
    // feature, s, t); a pair counts only when both targets beat the 95th
    // percentile of their empirical chance. The declared swap is the
    // centroid swap (`procrustes_centroids`: rotations fitted on the class
    // centroids, nearest-centroid scores); the decoder-weight swap
    // (`procrustes`) is supporting (README "The centroid swap").
    struct Swaps {
      std::map<std::string, std::vector<double>> by;
      std::vector<double> swaps, rotations, nulls;
      int pairs = 0;
    };
    // Rows without a score are counted for the declared (centroid) table.
    auto read_swaps = [&](Reader& table, bool declared) {
      Swaps out;
      std::map<std::tuple<std::string, std::string, double, double>, std::map<std::string, double>>
          cell;
      for (std::size_t i = 0; i < table.rows(); ++i) {
        if (table.txt("model", i) != m.name || table.txt("relevance", i) != "relevant") continue;
        if (!finite({table.num("accuracy", i), table.num("fitted_accuracy", i)})) {
          unscored += declared ? 1 : 0;
          continue;
        }
        out.by[table.txt("test", i)].push_back(table.num("accuracy", i));
        cell[{table.txt("task", i), table.txt("feature", i), table.num("source_stim", i),
              table.num("source_frame", i)}][table.txt("test", i)] =
            table.num("target_above_chance", i) > 0 ? table.num("relative", i) : NAN;
      }
      for (const auto& [key, tests] : cell) {
        auto get = [&](const char* test) { return tests.count(test) ? tests.at(test) : NAN; };
        if (!tests.count("elapsed_shifted") || !tests.count("time_shifted")) continue;
        ++out.pairs;
        const double es = get("elapsed_shifted"), ts = get("time_shifted");
        if (!std::isfinite(es) || !std::isfinite(ts)) continue;
        out.swaps.push_back(es - ts);
        out.rotations.push_back(es - get("elapsed_shifted_no_rotation"));
        out.nulls.push_back(es - get("elapsed_shifted_permuted_rotation"));
      }
      return out;
    };
    const Swaps centroid = read_swaps(c, true), weights = read_swaps(p, false);
    auto& by = weights.by;
    const auto& swaps = centroid.swaps;
    const auto& rotations = centroid.rotations;
    const auto& nulls = centroid.nulls;
    const int pairs = centroid.pairs;
    if (h1.empty() || h2.empty() || pairs == 0) continue;
    const double mid = mean(h1_chance) + 0.5 * (mean(val) - mean(h1_chance));
    h1_margin[&m] = mean(h1) - mid;
    h2_margin[&m] = mean(h2) - mean(h2_chance);
    // No usable pair: NaN, and the finding is not testable (below).
    swap[&m] = swaps.empty() ? NAN : mean(swaps);
    rotation[&m] = rotations.empty() ? NAN : mean(rotations);
    rotation_null[&m] = nulls.empty() ? NAN : mean(nulls);
    weight_swap[&m] = weights.swaps.empty() ? NAN : mean(weights.swaps);
    if (swaps.empty() && m.tasks.size() > 1) unusable.push_back(m.name);
    used.push_back(&m);
    f["numbers"][m.name + ": H1 - halfway"] = h1_margin[&m];
    f["numbers"][m.name + ": H2 - chance"] = h2_margin[&m];
    f["numbers"][m.name + ": elapsed-shifted - time-shifted swap, relative to own targets"] =
        number_or_null(swap[&m]);
    f["numbers"][m.name + ": swap pairs used"] = swaps.size();
    if (unscored > 0) f["numbers"][m.name + ": rows without a score (skipped)"] = unscored;
    f["numbers"]
     [m.name + ": swap pairs excluded (a target not above its chance's 95th percentile)"] =
         pairs - static_cast<int>(swaps.size());
    f["numbers"]
     [m.name +
      ": raw elapsed-shifted - time-shifted swap (different elapsed times; not the test)"] =
         mean(centroid.by.at("elapsed_shifted")) - mean(centroid.by.at("time_shifted"));
    f["numbers"][m.name +
                 ": decoder-weight swap, elapsed-shifted - time-shifted, relative to own targets "
                 "(supporting)"] = number_or_null(weight_swap[&m]);
    f["numbers"][m.name + ": decoder-weight swap pairs used"] = weights.swaps.size();
    f["numbers"][m.name + ": elapsed-shifted swap relative, rotation - no rotation"] =
        number_or_null(rotation[&m]);
    f["numbers"]
     [m.name + ": elapsed-shifted swap relative, rotation - permuted-correspondence rotation"] =
         number_or_null(rotation_null[&m]);
    if (centroid.by.count("reconstructed")) {
      f["numbers"][m.name + ": procrustes reconstructed (centroids)"] =
          mean(centroid.by.at("reconstructed"));
    }
    if (centroid.by.count("fitted"))
      f["numbers"][m.name + ": procrustes fitted (centroids)"] = mean(centroid.by.at("fitted"));
    if (by.count("reconstructed"))
      f["numbers"][m.name + ": procrustes reconstructed (decoder weights)"] =
          mean(by.at("reconstructed"));
    if (by.count("fitted"))
      f["numbers"][m.name + ": procrustes fitted (decoder weights)"] = mean(by.at("fitted"));
  }
  if (used.empty()) {
    return not_testable(f, "no model had task-relevant H1/H2 rows and both Procrustes swap tests",
                        "analyse at least 3 frames so that the swap tests exist, with a "
                        "task-relevant feature of at "
                        "least 3 values (H1/H2 exclude one class)");
  }
  const auto groups = groups_of(used, models);
  std::vector<Group> deciding;
  for (const auto& g : groups) {
    if (g.multi) deciding.push_back(g);
  }
  if (deciding.empty()) {
    return not_testable(f,
                        "no multi-task model has H1/H2 and swap results: the verdict comes from "
                        "the multi-task replicate groups",
                        "add multi-task (MTMF or STMF) models with at least 3 seeds");
  }
  if (auto gap = replicate_gap(deciding, s.min_seeds); !gap.empty())
    return not_testable(f, gap, kSeeds);
  IntersectionUnion iut;
  std::ostringstream detail;
  for (const auto& g : groups) {
    const std::string who = g.name + (g.multi ? "" : " (supporting, not part of the verdict)");
    const std::vector<
        std::pair<std::string, std::pair<const std::map<const ModelData*, double>*, Alternative>>>
        subs{{who + ": H1 below halfway", {&h1_margin, Alternative::kLess}},
             {who + ": H2 above chance", {&h2_margin, Alternative::kGreater}},
             {who + ": same-elapsed-time swap > time-shifted swap, relative to own targets",
              {&swap, Alternative::kGreater}}};
    bool all = true;
    for (const auto& [name, what] : subs) {
      const auto& [values, alt] = what;
      const auto added = add_test(
          f, name, stats::one_sample_t(values_of(g, *values), 0.0, alt, level_of(s)), alt, s);
      all = all && added.passes;
      if (g.multi) iut.add(added);
    }
    add_test(f, g.name + ": rotation beats the no-rotation control (supporting)",
             stats::one_sample_t(values_of(g, rotation), 0.0, Alternative::kGreater, level_of(s)),
             Alternative::kGreater, s);
    add_test(
        f,
        g.name + ": rotation beats rotations fitted on permuted class correspondences (supporting)",
        stats::one_sample_t(values_of(g, rotation_null), 0.0, Alternative::kGreater, level_of(s)),
        Alternative::kGreater, s);
    add_test(
        f,
        g.name +
            ": decoder-weight swap, same elapsed time > time-shifted (supporting; fools its "
            "adversarial null)",
        stats::one_sample_t(values_of(g, weight_swap), 0.0, Alternative::kGreater, level_of(s)),
        Alternative::kGreater, s);
    if (g.multi)
      detail << g.name << (all ? ": all three tests pass; " : ": not every test passes; ");
  }
  if (!unusable.empty()) {
    std::string names;
    for (const auto& n : unusable) names += (names.empty() ? "" : ", ") + n;
    return not_testable(f,
                        "no swap pair whose two target decoders beat the 95th percentile of their "
                        "empirical chance in " +
                            names,
                        "the swap test scores each swap relative to its own target decoder: "
                        "analyse frames at which the "
                        "memory decoders at t + 2 are above chance (or more trials)");
  }
  detail << "held only if every test of every multi-task group passes (intersection-union); the "
            "decisive (largest) "
            "p-value is reported; single-task groups are supporting. The Procrustes rotation is "
            "fitted from K class "
            "correspondences, so 'reconstructed' close to 'fitted' is near-guaranteed and is not "
            "part of the test.";
  auto decided = decide(f, iut.decisive, iut.held, detail.str());
  // Its caveat, when its calibration misses a bound, comes from
  // calibration.json (attach_calibration), as every finding's.
  return decided;
}

nlohmann::json finding5(const std::map<std::string, Table>& tables,
                        const std::vector<ModelData>& models, const Settings& s) {
  auto f = finding(kDeclared[4], s.alpha);
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
    value[&m] = mean(z);
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
  const auto groups = groups_of(used, models);
  std::vector<Group> deciding;
  for (const auto& g : groups) {
    if (g.multi) deciding.push_back(g);
  }
  if (deciding.empty()) {
    return not_testable(f,
                        "no multi-task model has causal results: the verdict comes from the "
                        "multi-task replicate groups",
                        "add multi-task (MTMF or STMF) models with at least 3 seeds");
  }
  if (auto gap = replicate_gap(deciding, s.min_seeds); !gap.empty())
    return not_testable(f, gap, kSeeds);
  IntersectionUnion iut;
  std::ostringstream detail;
  detail << "Standardised causal response at " << fmt(s.causal_dose) << " SD, stimulus frame "
         << s.causal_frame << ", one test per multi-task replicate group across its seeds: ";
  for (const auto& g : groups) {
    const auto added =
        add_test(f, g.name + (g.multi ? "" : " (supporting, not part of the verdict)"),
                 stats::one_sample_t(values_of(g, value), 0.0, Alternative::kGreater, level_of(s)),
                 Alternative::kGreater, s);
    if (!g.multi) continue;
    iut.add(added);
    detail << g.name << ": " << effect_text(added.r, s, "mean")
           << (added.passes ? " (passes); " : " (does not pass); ");
  }
  detail << "held only if every multi-task group passes (intersection-union; the largest p is "
            "reported). Single-task "
            "groups are supporting. The dose-response (table causal) is description: its per-row "
            "p-values are not tests.";
  return decide(f, iut.decisive, iut.held, detail.str());
}

}  // namespace

void require_seeds(const std::vector<ModelData>& models, int min_seeds, const std::string& who,
                   const std::string& remedy) {
  const auto group_names = replicate_group_names(models);
  std::map<std::string, std::set<std::string>> per;
  for (const auto& m : models) per[m.group].insert(m.name);
  for (const auto& [group, names] : per) {
    if (static_cast<int>(names.size()) < min_seeds) {
      throw InputError(who + ": parameter verdicts = \"required\", but the replicate group " +
                       group_names.at(group) + " has " + std::to_string(names.size()) +
                       " model(s) (seeds), fewer than min_seeds = " + std::to_string(min_seeds) +
                       " (replicates are models that differ only in their seed): " + remedy +
                       " or set verdicts = \"when_testable\"");
    }
  }
}

std::map<std::string, std::string> replicate_group_names(const std::vector<ModelData>& models) {
  // Base name: architecture, regime and task list.
  std::map<std::string, std::string> base;
  std::map<std::string, const ModelData*> first;
  for (const auto& m : models) {
    if (first.count(m.group)) continue;
    first[m.group] = &m;
    std::string tasks;
    for (const auto& t : m.tasks) tasks += (tasks.empty() ? "" : ", ") + t.name;
    base[m.group] = rnn_label(m.rnn) + ", " +
                    (m.tasks.size() > 1 ? "multi-task " : "single-task ") + m.regime + " (" +
                    tasks + ")";
  }
  // Groups that share a base name differ in other settings: name those.
  std::map<std::string, std::vector<std::string>> by_base;
  for (const auto& [key, name] : base) by_base[name].push_back(key);
  auto setting = [](const nlohmann::json& config, const std::string& k) {
    if (!config.is_object() || !config.contains(k)) return std::string("(unset)");
    const auto& v = config.at(k);
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  // The settings that define each group: its key (analyze.cpp load).
  std::map<std::string, nlohmann::json> settings;
  for (const auto& [key, m] : first) {
    settings[key] = nlohmann::json::parse(key, nullptr, false);
    if (settings[key].is_discarded()) settings[key] = m->config;
  }
  std::map<std::string, std::string> out;
  for (const auto& [name, keys] : by_base) {
    std::set<std::string> differing;
    for (const auto& a : keys) {
      for (const auto& b : keys) {
        const auto &ca = settings.at(a), &cb = settings.at(b);
        for (const auto* c : {&ca, &cb}) {
          if (!c->is_object()) continue;
          for (auto it = c->begin(); it != c->end(); ++it) {
            const std::string& k = it.key();
            if (k != "seed" && k != "split" && setting(ca, k) != setting(cb, k))
              differing.insert(k);
          }
        }
      }
    }
    for (const auto& key : keys) {
      std::string extra;
      for (const auto& k : differing)
        extra += (extra.empty() ? "" : ", ") + k + " = " + setting(settings.at(key), k);
      out[key] = extra.empty() ? name : name + " with " + extra;
    }
  }
  return out;
}

nlohmann::json findings(const std::map<std::string, Table>& tables,
                        const std::vector<ModelData>& models, const Settings& s) {
  return {{"1", finding1(tables, models, s)},
          {"2", finding2(tables, models, s)},
          {"3", finding3(tables, models, s)},
          {"4", finding4(tables, models, s)},
          {"5", finding5(tables, models, s)}};
}

}  // namespace wmgeom::analyze
