#include "recordings/recordings.h"

#include <algorithm>
#include <map>
#include <set>

#include "analyze/analyze.h"
#include "analyze/stats.h"
#include "core/artifacts.h"
#include "core/error.h"
#include "recordings/inference.h"
#include "recordings/source.h"

namespace wmgeom {

using recordings::Comparison;
using recordings::Matrix;
using recordings::PairSet;
using recordings::Vector;
namespace stats = analyze::stats;

namespace {

struct Model {
  std::string name, label;
  std::vector<Vector> rdm;    // per view, over PairSet::all(K)
  std::vector<Matrix> means;  // per view [K, H]
};

struct View {
  std::int64_t frame;                // -1: each condition's own frame
  std::vector<std::int32_t> frames;  // per condition
};

// Each condition's mean state over the chosen tasks' trials that show its
// image at its frame, and the RDM of those means.
Model load(const InputItem& item, const recordings::Settings& s, const recordings::Source& src,
           const std::vector<View>& views) {
  Model m;
  m.name = item.instance;
  const StateSet st = StateSet::from_artifact(*item.artifact);
  m.label = s.by == recordings::By::kModel ? item.instance
            : s.by == recordings::By::kRnn ? st.model.value("rnn", std::string("?"))
                                           : replicate_group(st.model, item.labels);
  const std::int64_t trials = st.hidden.dim(0), frames = st.hidden.dim(1), units = st.hidden.dim(2);
  const auto tasks = st.model.value("tasks", std::vector<std::string>{});
  std::vector<char> use(static_cast<std::size_t>(trials), 1);
  if (!s.tasks.empty()) {
    std::set<std::int32_t> wanted;
    for (const auto& t : s.tasks) {
      const auto it = std::find(tasks.begin(), tasks.end(), t);
      if (it == tasks.end())
        throw InputError("recordings.tasks: " + m.name + " has no task \"" + t + "\"");
      wanted.insert(static_cast<std::int32_t>(it - tasks.begin()));
    }
    const auto* task = st.task.data<std::int32_t>();
    for (std::int64_t i = 0; i < trials; ++i)
      use[static_cast<std::size_t>(i)] = wanted.count(task[i]) ? 1 : 0;
  }
  const float* h = st.hidden.data<float>();
  const std::int32_t* stim = st.stimulus.data<std::int32_t>();
  const std::int64_t k = src.conditions();
  for (const auto& view : views) {
    // (image, frame) -> condition
    std::map<std::pair<std::int32_t, std::int32_t>, std::int64_t> cond;
    for (std::int64_t c = 0; c < k; ++c) {
      const std::int32_t f = view.frames[static_cast<std::size_t>(c)];
      if (f >= frames)
        throw InputError("recordings: condition " + std::to_string(c) + " is at frame " +
                         std::to_string(f) + ", but " + m.name + "'s trials have " +
                         std::to_string(frames) + " frames");
      cond.emplace(std::pair{src.image[static_cast<std::size_t>(c)], f}, c);
    }
    Matrix sum = Matrix::Zero(k, units);
    std::vector<std::int64_t> count(static_cast<std::size_t>(k), 0);
    std::set<std::int32_t> used_frames(view.frames.begin(), view.frames.end());
    for (std::int64_t i = 0; i < trials; ++i) {
      if (!use[static_cast<std::size_t>(i)]) continue;
      for (std::int32_t f : used_frames) {
        const auto it = cond.find({stim[i * frames + f], f});
        if (it == cond.end()) continue;
        sum.row(it->second) +=
            Eigen::Map<const Eigen::VectorXf>(h + (i * frames + f) * units, units)
                .cast<double>()
                .transpose();
        ++count[static_cast<std::size_t>(it->second)];
      }
    }
    for (std::int64_t c = 0; c < k; ++c) {
      const auto n = count[static_cast<std::size_t>(c)];
      if (n == 0)
        throw InputError("recordings: " + m.name + " never shows image " +
                         std::to_string(src.image[static_cast<std::size_t>(c)]) + " at frame " +
                         std::to_string(view.frames[static_cast<std::size_t>(c)]) + " (condition " +
                         std::to_string(c) +
                         ") on the chosen tasks' trials; capture the models on trials that show "
                         "every recorded image");
      sum.row(c) /= static_cast<double>(n);
      if (sum.row(c).maxCoeff() == sum.row(c).minCoeff())
        throw InputError("recordings: " + m.name + "'s mean state for condition " +
                         std::to_string(c) + " is the same in every unit; no correlation distance");
    }
    m.rdm.push_back(recordings::correlation_rdm(sum));
    m.means.push_back(std::move(sum));
  }
  return m;
}

Table column_table(const std::vector<std::pair<std::string, std::vector<std::string>>>& text,
                   const std::vector<std::pair<std::string, std::vector<double>>>& numbers) {
  Table t;
  for (const auto& [name, v] : text) t.add(name, v);
  for (const auto& [name, v] : numbers) t.add(name, v);
  return t;
}

}  // namespace

void RecordingsStage::check(const recordings::Settings& s, ParamIssues& issues) const {
  try {
    recordings::check_structure(s.path, s.format,
                                [&](const std::string& problem) { issues.error("path", problem); });
  } catch (const InputError& e) {
    issues.error("path", e.what());
  }
}

Artifact RecordingsStage::compute(const recordings::Settings& s, const StageInputs& inputs,
                                  RunContext& ctx) const {
  const auto& items = inputs.many("states");
  if (items.empty()) throw InputError("recordings: needs at least one model in `states`");
  const recordings::Source src = recordings::read_source(s.path, s.format);
  const std::int64_t k = src.conditions();
  const auto n_subjects = src.rdms.size();

  std::vector<View> views;
  if (!src.frame.empty()) {
    views.push_back({-1, src.frame});
  } else {
    std::vector<std::int64_t> frames = s.frames;
    if (frames.empty()) {
      const auto t = StateSet::from_artifact(*items.front().artifact).hidden.dim(1);
      for (std::int64_t f = 0; f < t; ++f) frames.push_back(f);
    }
    for (auto f : frames)
      views.push_back({f, std::vector<std::int32_t>(static_cast<std::size_t>(k),
                                                    static_cast<std::int32_t>(f))});
  }
  std::vector<Model> models;
  for (const auto& item : items) models.push_back(load(item, s, src, views));
  const std::size_t n_models = models.size(), n_views = views.size();

  // The full set of conditions.
  const PairSet all = PairSet::all(static_cast<int>(k));
  const Comparison comparisons[] = {Comparison::kSpearman, Comparison::kWhitenedCosine};
  std::vector<std::string> col_model, col_label;
  std::vector<double> col_frame, col_sp, col_wc;
  std::vector<double> observed(n_models, 0.0);  // chosen comparison, mean over views
  for (std::size_t m = 0; m < n_models; ++m) {
    for (std::size_t v = 0; v < n_views; ++v) {
      const double sp = recordings::score(Comparison::kSpearman, models[m].rdm[v], src.rdms, all);
      const double wc =
          recordings::score(Comparison::kWhitenedCosine, models[m].rdm[v], src.rdms, all);
      col_model.push_back(models[m].name);
      col_label.push_back(models[m].label);
      col_frame.push_back(static_cast<double>(views[v].frame));
      col_sp.push_back(sp);
      col_wc.push_back(wc);
      observed[m] +=
          (s.comparison == Comparison::kSpearman ? sp : wc) / static_cast<double>(n_views);
    }
  }

  // The bootstrap over conditions (and, for groups, over each group's models).
  std::vector<std::string> labels;
  std::vector<std::vector<Vector>> rdms;
  for (const auto& m : models) {
    labels.push_back(m.label);
    rdms.push_back(m.rdm);
  }
  const recordings::Units units = recordings::Units::of(labels);
  const std::size_t n_units = units.names.size();
  const std::vector<double> unit_score = recordings::unit_scores(observed, units);
  const recordings::Draws draws = recordings::bootstrap(
      s.comparison, rdms, src.rdms, units, s.bootstraps, s.seed, true, [&](std::int64_t b) {
        ctx.progress(b, s.bootstraps);
        ctx.check_cancelled();
      });
  const double lo_q = s.alpha / 2, hi_q = 1 - s.alpha / 2;

  AnalysisResult r;
  r.tables["recordings_scores"] = column_table(
      {{"model", col_model}, {"label", col_label}},
      {{"frame", col_frame},
       {"conditions", std::vector<double>(col_model.size(), static_cast<double>(k))},
       {"subjects", std::vector<double>(col_model.size(), static_cast<double>(n_subjects))},
       {"spearman", col_sp},
       {"whitened_cosine", col_wc}});

  std::vector<std::string> ceil_name;
  std::vector<double> ceil_lo, ceil_hi, lo_a, lo_b, hi_a, hi_b;
  nlohmann::json ceiling_json;
  for (std::size_t ci = 0; ci < 2; ++ci) {
    const auto c = recordings::noise_ceiling(comparisons[ci], src.rdms, all);
    ceil_name.push_back(recordings::comparison_name(comparisons[ci]));
    ceil_lo.push_back(c.lower);
    ceil_hi.push_back(c.upper);
    lo_a.push_back(stats::quantile(draws.ceiling[2 * ci], lo_q));
    lo_b.push_back(stats::quantile(draws.ceiling[2 * ci], hi_q));
    hi_a.push_back(stats::quantile(draws.ceiling[2 * ci + 1], lo_q));
    hi_b.push_back(stats::quantile(draws.ceiling[2 * ci + 1], hi_q));
    if (comparisons[ci] == s.comparison) {
      ceiling_json = {{"lower", n_subjects > 1 ? nlohmann::json(c.lower) : nlohmann::json()},
                      {"upper", c.upper},
                      {"lower_ci", n_subjects > 1 ? nlohmann::json({lo_a.back(), lo_b.back()})
                                                  : nlohmann::json()},
                      {"upper_ci", {hi_a.back(), hi_b.back()}}};
    }
  }
  r.tables["recordings_ceiling"] =
      column_table({{"comparison", ceil_name}},
                   {{"lower", ceil_lo},
                    {"upper", ceil_hi},
                    {"lower_ci_lo", lo_a},
                    {"lower_ci_hi", lo_b},
                    {"upper_ci_lo", hi_a},
                    {"upper_ci_hi", hi_b},
                    {"subjects", std::vector<double>(2, static_cast<double>(n_subjects))}});

  std::vector<double> u_n, u_lo, u_hi;
  for (std::size_t u = 0; u < n_units; ++u) {
    u_n.push_back(static_cast<double>(units.members[u].size()));
    u_lo.push_back(stats::quantile(draws.unit[u], lo_q));
    u_hi.push_back(stats::quantile(draws.unit[u], hi_q));
  }
  const std::string cname = recordings::comparison_name(s.comparison);
  r.tables["recordings_units"] = column_table(
      {{"unit", units.names}, {"comparison", std::vector<std::string>(n_units, cname)}},
      {{"models", u_n}, {"score", unit_score}, {"ci_lo", u_lo}, {"ci_hi", u_hi}});

  // The test: the closest unit against every other.
  const bool by_model = s.by == recordings::By::kModel;
  const recordings::Closest test =
      recordings::test_closest(observed, units, draws, by_model, s.permutations, s.seed, s.alpha);
  const std::size_t best = test.best;
  std::vector<std::string> pa, pb;
  std::vector<double> diff, d_lo, d_hi, p_raw, p_holm;
  for (const auto& t : test.pairs) {
    pa.push_back(units.names[best]);
    pb.push_back(units.names[t.other]);
    diff.push_back(t.difference);
    d_lo.push_back(t.ci_lo);
    d_hi.push_back(t.ci_hi);
    p_raw.push_back(t.p);
    p_holm.push_back(t.p_holm);
  }
  r.tables["recordings_pairs"] = column_table(
      {{"unit_a", pa}, {"unit_b", pb}},
      {{"difference", diff}, {"ci_lo", d_lo}, {"ci_hi", d_hi}, {"p", p_raw}, {"p_holm", p_holm}});

  // Arrays for Python: the RDMs' upper triangles (row by row, i < j).
  const auto pairs_n = static_cast<std::int64_t>(all.size());
  Array model_rdms(DType::kF64, {static_cast<std::int64_t>(n_models),
                                 static_cast<std::int64_t>(n_views), pairs_n});
  for (std::size_t m = 0; m < n_models; ++m)
    for (std::size_t v = 0; v < n_views; ++v)
      std::copy(models[m].rdm[v].data(), models[m].rdm[v].data() + pairs_n,
                model_rdms.data<double>() + (static_cast<std::int64_t>(m * n_views + v)) * pairs_n);
  Array rec_rdms(DType::kF64, {static_cast<std::int64_t>(n_subjects), pairs_n});
  for (std::size_t i = 0; i < n_subjects; ++i)
    std::copy(src.rdms[i].data(), src.rdms[i].data() + pairs_n,
              rec_rdms.data<double>() + static_cast<std::int64_t>(i) * pairs_n);
  r.arrays["model_rdms"] = model_rdms;
  r.arrays["recording_rdms"] = rec_rdms;

  const std::string what = by_model                       ? "model"
                           : s.by == recordings::By::kRnn ? "architecture"
                                                          : "configuration";
  nlohmann::json f = {
      {"title", "One " + what + " is closer to the recordings than every other"},
      {"test",
       by_model ? "bootstrap over conditions (" + std::to_string(s.bootstraps) +
                      " resamples) of the difference in " + cname +
                      " between the closest model and each other, two-sided, Holm-corrected"
                : "permutation test of the models' " + cname +
                      " between the closest group and each other (models are the replicates), "
                      "two-sided, Holm-corrected; CIs by a bootstrap over conditions and models"},
      {"unit", by_model ? "condition" : "model"},
      {"n", by_model ? k : static_cast<std::int64_t>(n_models)},
      {"alpha", s.alpha},
      {"comparison", cname},
      {"subjects", static_cast<std::int64_t>(n_subjects)},
      {"conditions", k},
      {"closest", units.names[best]},
      {"score", unit_score[best]},
      {"score_ci", {u_lo[best], u_hi[best]}},
      {"ceiling", ceiling_json}};
  if (n_units < 2) {
    f["verdict"] = "not testable";
    f["held"] = nullptr;
    f["p"] = nullptr;
    f["ci"] = nullptr;
    f["detail"] = "not testable: one " + what + " (" + units.names[best] + "); the test needs two";
  } else {
    // The runner-up: the smallest difference; the verdict needs every one.
    const std::size_t next =
        static_cast<std::size_t>(std::min_element(diff.begin(), diff.end()) - diff.begin());
    f["ci"] = {d_lo[next], d_hi[next]};
    f["difference"] = diff[next];
    f["runner_up"] = pb[next];
    if (!test.testable) {
      double floor = 0;
      for (const auto& t : test.pairs) floor = std::max(floor, t.min_p);
      f["verdict"] = "not testable";
      f["held"] = nullptr;
      f["p"] = nullptr;
      f["detail"] =
          "not testable: no Holm-corrected p below " + std::to_string(s.alpha) +
          " is possible (smallest p " + std::to_string(floor) + " per comparison, " +
          std::to_string(test.pairs.size()) + " comparisons); " +
          (by_model ? "more bootstrap resamples are needed" : "more models per group are needed");
    } else {
      f["verdict"] = test.held ? "held" : "not held";
      f["held"] = test.held;
      f["p"] = test.p;
      f["detail"] = units.names[best] + " " + cname + " " + std::to_string(unit_score[best]) +
                    "; the runner-up " + pb[next] + " by " + std::to_string(diff[next]) + " (CI " +
                    std::to_string(d_lo[next]) + " to " + std::to_string(d_hi[next]) +
                    "); largest Holm-corrected p " + std::to_string(test.p) +
                    (test.held ? ", passes" : ", does not pass") + " at alpha " +
                    std::to_string(s.alpha);
    }
  }
  r.findings = {{"recordings", f}};
  r.params = {{"comparison", cname},
              {"by", by_model                       ? "model"
                     : s.by == recordings::By::kRnn ? "rnn"
                                                    : "group"},
              {"units", units.names},
              {"bootstraps", s.bootstraps}};
  ctx.set_items(s.bootstraps);
  return r.to_artifact();
}

std::vector<std::filesystem::path> RecordingsStage::after_run(
    const Artifact& artifact, const RunSummary& run, const std::string& instance,
    const std::filesystem::path& out_dir) const {
  return write_analysis_outputs(artifact, run, instance, out_dir);
}

}  // namespace wmgeom
