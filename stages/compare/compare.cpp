#include "compare/compare.h"

#include <cmath>
#include <map>
#include <set>

#include "analyze/analyze.h"
#include "compare/geometry.h"
#include "core/artifacts.h"
#include "core/error.h"

namespace wmgeom {

using compare::Matrix;

namespace {

struct Model {
  std::string name, label;
  StateSet states;
  std::int64_t frames = 0, units = 0;
  std::map<std::string, std::int64_t> rows;  // trial key -> row
};

// A trial is the same trial in two models when its task and its images are.
std::string trial_key(const std::string& task, const std::int32_t* stimuli, std::int64_t frames) {
  std::string key = task;
  for (std::int64_t t = 0; t < frames; ++t) key += "," + std::to_string(stimuli[t]);
  return key;
}

Model load(const InputItem& item, compare::By by) {
  Model m;
  m.name = item.instance;
  m.states = StateSet::from_artifact(*item.artifact);
  const StateSet& s = m.states;
  m.frames = s.hidden.dim(1);
  m.units = s.hidden.dim(2);
  m.label = by == compare::By::kRnn ? s.model.value("rnn", std::string("?"))
                                    : replicate_group(s.model, item.labels);
  const auto tasks = s.model.value("tasks", std::vector<std::string>{});
  const auto task = s.task.values<std::int32_t>();
  for (std::int64_t i = 0; i < s.hidden.dim(0); ++i) {
    const auto k = static_cast<std::size_t>(task[static_cast<std::size_t>(i)]);
    const std::string name = k < tasks.size() ? tasks[k] : std::to_string(k);
    m.rows.emplace(trial_key(name, s.stimulus.data<std::int32_t>() + i * m.frames, m.frames), i);
  }
  return m;
}

// Rows [conditions, units] of frame t: the shared trials' states, or each
// image's mean state over them (images in id order).
Matrix rows_of(const Model& m, const std::vector<std::int64_t>& trials, std::int64_t t,
               compare::Space space) {
  const float* h = m.states.hidden.data<float>();
  const std::int32_t* stim = m.states.stimulus.data<std::int32_t>();
  auto state = [&](std::int64_t row) {
    return Eigen::Map<const Eigen::VectorXf>(h + (row * m.frames + t) * m.units, m.units)
        .cast<double>();
  };
  if (space == compare::Space::kStates) {
    Matrix x(static_cast<Eigen::Index>(trials.size()), m.units);
    for (std::size_t r = 0; r < trials.size(); ++r)
      x.row(static_cast<Eigen::Index>(r)) = state(trials[r]);
    return x;
  }
  std::map<std::int32_t, std::pair<Eigen::VectorXd, int>> sums;
  for (auto row : trials) {
    auto [it, fresh] =
        sums.try_emplace(stim[row * m.frames + t], Eigen::VectorXd::Zero(m.units), 0);
    it->second.first += state(row);
    ++it->second.second;
  }
  Matrix x(static_cast<Eigen::Index>(sums.size()), m.units);
  Eigen::Index r = 0;
  for (const auto& [image, sum] : sums) x.row(r++) = sum.first / sum.second;
  return x;
}

}  // namespace

Artifact CompareStage::compute(const compare::Settings& s, const StageInputs& inputs,
                               RunContext& ctx) const {
  const auto& items = inputs.many("states");
  if (items.size() < 2)
    throw InputError("compare: needs at least two models in `states`, got " +
                     std::to_string(items.size()));
  std::vector<Model> models;
  for (const auto& item : items) models.push_back(load(item, s.by));
  const auto n = static_cast<Eigen::Index>(models.size());

  std::vector<std::string> col_a, col_b, lab_a, lab_b;
  std::vector<double> col_frame, col_rows, col_cka, col_angle;
  Matrix distance = Matrix::Zero(n, n);
  const std::int64_t pairs = n * (n - 1) / 2;
  std::int64_t done = 0;
  for (Eigen::Index a = 0; a < n; ++a) {
    for (Eigen::Index b = a + 1; b < n; ++b) {
      const Model &ma = models[static_cast<std::size_t>(a)],
                  &mb = models[static_cast<std::size_t>(b)];
      if (ma.frames != mb.frames) {
        throw InputError("compare: " + ma.name + " has trials of " + std::to_string(ma.frames) +
                         " frames, " + mb.name + " of " + std::to_string(mb.frames) +
                         ": models are compared on the same trials");
      }
      std::vector<std::int64_t> ra, rb;
      for (const auto& [key, row] : ma.rows) {
        if (auto it = mb.rows.find(key); it != mb.rows.end()) {
          ra.push_back(row);
          rb.push_back(it->second);
        }
      }
      if (ra.size() < 3) {
        throw InputError("compare: " + ma.name + " and " + mb.name + " share " +
                         std::to_string(ra.size()) +
                         " trials (the same task and images); compare models captured on one "
                         "task suite's evaluation trials");
      }
      std::vector<std::int64_t> frames = s.frames;
      if (frames.empty()) {
        for (std::int64_t t = 0; t < ma.frames; ++t) frames.push_back(t);
      }
      double sum = 0;
      for (auto t : frames) {
        if (t >= ma.frames)
          throw InputError("compare: frames lists " + std::to_string(t) + ", but the trials have " +
                           std::to_string(ma.frames) + " frames");
        const Matrix x = rows_of(ma, ra, t, s.space), y = rows_of(mb, rb, t, s.space);
        const double cka = compare::linear_cka(x, y), angle = compare::procrustes_angle(x, y);
        col_a.push_back(ma.name);
        col_b.push_back(mb.name);
        lab_a.push_back(ma.label);
        lab_b.push_back(mb.label);
        col_frame.push_back(static_cast<double>(t));
        col_rows.push_back(static_cast<double>(x.rows()));
        col_cka.push_back(cka);
        col_angle.push_back(angle);
        sum += s.metric == compare::Metric::kProcrustes ? angle : 1 - cka;
      }
      distance(a, b) = distance(b, a) = sum / static_cast<double>(frames.size());
      ctx.progress(++done, pairs);
      ctx.check_cancelled();
    }
  }

  AnalysisResult r;
  Table pairs_table;
  pairs_table.add("model_a", col_a);
  pairs_table.add("model_b", col_b);
  pairs_table.add("label_a", lab_a);
  pairs_table.add("label_b", lab_b);
  pairs_table.add("frame", col_frame);
  pairs_table.add("conditions", col_rows);
  pairs_table.add("cka", col_cka);
  pairs_table.add("procrustes_angle", col_angle);
  r.tables["model_pairs"] = pairs_table;

  std::vector<std::string> names, labels;
  for (const auto& m : models) {
    names.push_back(m.name);
    labels.push_back(m.label);
  }
  const Matrix mds = compare::classical_mds(distance, 2);
  Table embedding;
  embedding.add("model", names);
  embedding.add("label", labels);
  embedding.add("x", std::vector<double>(mds.col(0).data(), mds.col(0).data() + n));
  embedding.add("y", std::vector<double>(mds.col(1).data(), mds.col(1).data() + n));
  r.tables["model_mds"] = embedding;
  Array d(DType::kF64, {n, n});
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < n; ++j) d.data<double>()[i * n + j] = distance(i, j);
  }
  r.arrays["model_distance"] = d;

  const compare::GroupTest test =
      compare::group_test(distance, labels, s.permutations, s.seed, s.alpha);
  const std::string metric = s.metric == compare::Metric::kProcrustes
                                 ? "the Procrustes angle (radians)"
                                 : "1 - linear CKA";
  const std::string by = s.by == compare::By::kRnn ? "architecture" : "configuration";
  nlohmann::json f = {
      {"title", "Models of different " + by + "s differ more than models of one " + by},
      {"test", "permutation test (" + std::to_string(s.permutations) +
                   " relabellings, group sizes "
                   "kept) of the mean between-group minus the mean within-group distance, " +
                   metric + " averaged over frames" +
                   (s.space == compare::Space::kImageMeans ? " on per-image mean states"
                                                           : " on the trials' states")},
      {"unit", "model"},
      {"n", static_cast<std::int64_t>(n)},
      {"alpha", s.alpha},
      {"groups", std::set<std::string>(labels.begin(), labels.end())}};
  if (!test.testable) {
    f["verdict"] = "not testable";
    f["held"] = nullptr;
    f["p"] = nullptr;
    f["ci"] = nullptr;
    f["detail"] = "not testable: " + test.why;
  } else {
    const bool held = test.p < s.alpha;
    f["verdict"] = held ? "held" : "not held";
    f["held"] = held;
    f["p"] = test.p;
    f["statistic"] = test.statistic;
    f["ci"] = {test.ci_lo, test.ci_hi};
    f["ci_method"] = "95% percentile bootstrap of the models within each group";
    f["between"] = test.between;
    f["within"] = test.within;
    f["distinct_labellings"] = test.distinct_labellings;
    f["detail"] = "mean distance between " + by + "s " + std::to_string(test.between) +
                  ", within " + std::to_string(test.within) + " (difference " +
                  std::to_string(test.statistic) + ", 95% CI " + std::to_string(test.ci_lo) +
                  " to " + std::to_string(test.ci_hi) + ", p = " + std::to_string(test.p) +
                  (held ? ", passes" : ", does not pass") + " at alpha " + std::to_string(s.alpha) +
                  "); the smallest p these group sizes allow is 1/" +
                  std::to_string(test.distinct_labellings);
  }
  r.findings = {{"models", f}};
  r.params = {{"space", s.space == compare::Space::kStates ? "states" : "image_means"},
              {"metric", s.metric == compare::Metric::kCka ? "cka" : "procrustes"},
              {"by", s.by == compare::By::kRnn ? "rnn" : "group"},
              {"models", names}};
  ctx.set_items(pairs);
  return r.to_artifact();
}

std::vector<std::filesystem::path> CompareStage::after_run(
    const Artifact& artifact, const RunSummary& run, const std::string& instance,
    const std::filesystem::path& out_dir) const {
  return write_analysis_outputs(artifact, run, instance, out_dir);
}

}  // namespace wmgeom
