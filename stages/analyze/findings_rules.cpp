// The pieces every finding's test is built from (findings_rules.h): the
// declared claims and tests, a finding's skeleton and verdict, a test's JSON,
// intersection-union rules and replicate groups.
#include "analyze/findings_rules.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <tuple>

namespace wmgeom::analyze::findings_detail {

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
std::string effect_text(const TestResult& t, const Settings& s, const std::string& what) {
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
const Declared kDeclared[5] = {
    {"Multi-task models retain task-irrelevant features in memory; single-task models retain less",
     "Welch t-test, one-sided (multi-task > single-task), of each model's retention, with every "
     "architecture in the same share of the models on both sides (else not testable: an "
     "architecture would stand for the regime): mean accuracy above "
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
     "min_seeds seeds with a value"},
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
     "per multi-task replicate group (one architecture each), four one-sided one-sample t-tests "
     "across its "
     "seeds, all at alpha in every group (intersection-union): H1 below halfway between its "
     "empirical chance "
     "and its validation; H2 above its empirical chance; the same-elapsed-time Procrustes swap "
     "with the fitted rotation above the same swap with no rotation (the source centroids put in "
     "place unrotated, times the rotation's scale; each relative to the target's own fitted "
     "centroids, paired by source cell as below: ordinal slots need no rotation); and the "
     "same-elapsed-time swap above the "
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
     "H2 is averaged over the rows with s < N only (the task's N): there no earlier stimulus's "
     "label agrees with the label at s, so the decoder has no weights for a memory whose echo at "
     "j agrees with the label at j (rows with s >= N are counted, not tested). "
     "Single-task groups "
     "are reported as supporting tests; so are the fitted rotation against "
     "rotations "
     "fitted on permuted class correspondences, and the paper's swap on decoder weights (not "
     "calibrated: "
     "decoders whiten the code by the other stimuli's interference, which depends on elapsed time "
     "alone)"},
    {"The decoded memory is causally used: shifting the memory along its decoder towards the "
     "probe's class raises the network's p(match), a signed effect that shifts of the same size "
     "along the states' own directions do not have (their signed responses centre on zero; their "
     "root-mean-square is the effect's unit) (Fig. A7)",
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
     "reported as supporting tests. The test is of the response's sign across seeds, not of its "
     "size against a random direction's: a consistent response smaller than a typical random "
     "direction's (z < 1) can pass, and z is reported per model. The dose-response over "
     "causal_sds and every frame is description"},
};

// The skeleton of a finding; verdict filled by the caller.
nlohmann::json finding(const Declared& d, const Settings& s) {
  // Every finding has the same keys: a "not testable" one keeps its unit and
  // null n, effect, CI and p (decide() fills them from the decisive test).
  return {{"title", d.claim},
          {"test", d.test},
          {"unit", kUnit},
          {"n", nullptr},
          {"effect", nullptr},
          {"ci", nullptr},
          {"p", nullptr},
          {"alpha", s.alpha},
          {"min_seeds", s.min_seeds},
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

nlohmann::json decide_all(nlohmann::json f, const IntersectionUnion& iut,
                          const std::string& detail) {
  int marked = 0;
  for (const auto& t : f.at("tests")) marked += t.value("deciding", false);
  if (marked != iut.tests) {
    throw std::logic_error("finding \"" + f.at("title").get<std::string>() +
                           "\": " + std::to_string(marked) + " tests marked deciding, " +
                           std::to_string(iut.tests) + " in its intersection-union");
  }
  if (!iut.undefined.empty()) {
    return not_testable(
        std::move(f),
        "a test of the verdict could not be computed from its values (" + iut.undefined + ")",
        kSeeds);
  }
  return decide(std::move(f), iut.decisive, iut.held, detail);
}

// A test of the finding, added to f["tests"].
Added add_test(nlohmann::json& f, const std::string& name, const TestResult& r, Alternative alt,
               const Settings& s, Role role) {
  Added a{r, test_json(name, r, alt, s.alpha, kUnit), false, role == Role::kDeciding};
  a.passes =
      r.defined() && r.p < s.alpha && (alt == Alternative::kLess ? r.effect < 0 : r.effect > 0);
  a.json["deciding"] = a.deciding;
  f["tests"].push_back(a.json);
  return a;
}

const std::string kSeeds =
    "train at least 3 seeds of every configuration (a replicate group: the same architecture, "
    "tasks and training "
    "settings; e.g. sweep = { seed = [1, 2, 3] } in each train stage, and capture and analyse "
    "every instance); "
    "pipelines/study.toml does";

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

std::vector<const ModelData*> with_multi_task(std::vector<const ModelData*> used,
                                              const std::vector<ModelData>& all) {
  for (const auto& m : all) {
    if (m.tasks.size() > 1 && std::find(used.begin(), used.end(), &m) == used.end())
      used.push_back(&m);
  }
  return used;
}

std::string usable_gap(const std::vector<Group>& groups,
                       const std::map<const ModelData*, double>& value, int min_seeds,
                       const std::string& what) {
  std::string gap;
  for (const auto& g : groups) {
    const auto count = values_of(g, value).size();
    if (count < static_cast<std::size_t>(min_seeds)) {
      gap += (gap.empty() ? "" : "; ") + g.name + ": " + std::to_string(count) + " of " +
             std::to_string(g.models.size());
    }
  }
  return gap.empty() ? ""
                     : "fewer than " + std::to_string(min_seeds) + " models with a finite " + what +
                           " in a replicate group (" + gap + ")";
}

std::vector<Group> multi_task_groups(const std::vector<Group>& groups) {
  std::vector<Group> out;
  for (const auto& g : groups) {
    if (g.multi) out.push_back(g);
  }
  return out;
}

nlohmann::json no_multi_task_groups(nlohmann::json f, const std::string& what) {
  return not_testable(std::move(f),
                      "no multi-task model has " + what +
                          ": the verdict comes from the multi-task replicate groups",
                      "add multi-task (MTMF or STMF) models with at least 3 seeds");
}

// The per-model values of a group's seeds, in the group's order.
std::vector<double> values_of(const Group& g, const std::map<const ModelData*, double>& value) {
  std::vector<double> out;
  for (const auto* m : g.models) {
    if (auto it = value.find(m); it != value.end() && std::isfinite(it->second))
      out.push_back(it->second);
  }
  return out;
}

}  // namespace wmgeom::analyze::findings_detail
