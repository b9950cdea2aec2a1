// Synthetic inputs for the report stage's tests (report_fixtures.h).
#include "report/report_fixtures.h"

#include <algorithm>

#include "report/report.h"

namespace wmgeom::testing::report_fixtures {

namespace {
// A stand-in for the analyze stage: the synthetic AnalysisResult.
class FakeAnalysis final : public Stage {
 public:
  std::string type() const override { return "fake_analysis"; }
  Artifact run(const Params& p, const StageInputs&, RunContext&) const override {
    return synthetic_analysis(p.s("model"), "gru").to_artifact();
  }
};

}  // namespace

double chance_of(const std::string& f) { return f == "id" ? 0.125 : 0.25; }

// The relevance of `feature` in `task` as the analyze stage names it.
std::string relevance(const std::string& task, const std::string& feature) {
  const std::string own = task.substr(0, task.find('-'));
  if (own == feature) return "relevant";
  return own == "id" && feature == "cat" ? "implied" : "irrelevant";
}

// The columns every accuracy row of the analyze stage ends with (5 folds, 20
// image-level permutations).
Cells accuracy_cells(double acc, const std::string& feature, double n) {
  const double chance = chance_of(feature);
  return {{"accuracy", acc},
          {"accuracy_sd", 0.02},
          {"accuracy_min", acc - 0.03},
          {"accuracy_max", acc + 0.03},
          {"chance", chance},
          {"chance_empirical", chance + 0.02},
          {"chance_p95", chance + 0.08},
          {"p_permutation", acc > chance + 0.08 ? 1.0 / 21 : 0.4},
          {"permutations", 20.0},
          {"folds", 5.0},
          {"n", n}};
}

Cells concat(Cells a, const Cells& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Every table of the AnalysisResult contract (stages/analyze, issue 11 "Honest
// findings"), a few rows each, and findings.json with each verdict.
AnalysisResult synthetic_analysis(const std::string& model, const std::string& rnn, int frames) {
  AnalysisResult r;
  const std::string regime = "STMF";
  const Cells who = {{"model", model}, {"rnn", rnn}, {"regime", regime}};
  Rows dec, ct, task, orth, osum, hyp, proc, cent, causal, rsa, dim;
  for (std::size_t k = 0; k < kTasks.size(); ++k) {
    for (const auto& f : kFeatures) {
      const std::string rel = relevance(kTasks[k], f);
      const double relevant = rel == "relevant" ? 1 : 0;
      const Cells head = concat(
          who, {{"task", kTasks[k]}, {"feature", f}, {"relevance", rel}, {"relevant", relevant}});
      for (int s = 0; s < frames; ++s) {
        for (int a = s; a < frames; ++a) {
          const double acc = relevant ? 0.95 - 0.04 * (a - s) : 0.7 - 0.05 * (a - s);
          const Cells base = concat(head, {{"stim_frame", double(s)}, {"train_frame", double(a)}});
          dec.row(concat(concat(base, {{"test_frame", double(a)}}), accuracy_cells(acc, f)));
          for (int b = s; b < frames; ++b) {
            const double acc2 = a == b ? acc : acc - 0.1 * std::abs(a - b);
            ct.row(concat(concat(base, {{"test_frame", double(b)}}), accuracy_cells(acc2, f)));
          }
        }
        for (const char* space : {"perceptual", "rnn"}) {
          const double idx = std::string(space) == "rnn" ? 0.55 + 0.05 * s : 0.8;
          orth.row(concat(who, {{"task", kTasks[k]},
                                {"feature", f},
                                {"stim_frame", double(s)},
                                {"space", std::string(space)},
                                {"index", idx},
                                {"null_shuffle_mean", 0.6},
                                {"null_shuffle_sd", 0.03},
                                {"corrected", idx - 0.6},
                                {"z", (idx - 0.6) / 0.03},
                                {"p_shuffle", 0.09},
                                {"null_random_mean", 0.97},
                                {"equidistant", 1.0 - 1.0 / 3.0},
                                {"classes", 4.0},
                                {"dims", 24.0},
                                {"space_dims", std::string(space) == "rnn" ? 24.0 : 512.0},
                                {"folds", 5.0},
                                {"n", 200.0}}));
        }
      }
      for (const char* h : {"H1_slot", "H2_shared"}) {
        const double acc = std::string(h) == "H1_slot" ? 0.3 : 0.85;
        hyp.row(concat(concat(head, {{"hypothesis", std::string(h)},
                                     {"stim_frame", 0.0},
                                     {"other_frame", 1.0},
                                     {"validation", 0.92},
                                     {"validation_chance", chance_of(f) + 0.02}}),
                       accuracy_cells(acc, f, 100.0)));
      }
      // The swap tables: decoder weights (`procrustes`, supporting) and
      // class centroids (`procrustes_centroids`, finding 4's declared swap),
      // each swap relative to its own target, (accuracy - chance_empirical)
      // / (fitted_accuracy - chance_empirical).
      for (const bool centroids : {false, true}) {
        for (const char* t :
             {"fitted", "reconstructed", "reconstructed_no_rotation", "time_shifted",
              "time_shifted_no_rotation", "elapsed_shifted", "elapsed_shifted_no_rotation"}) {
          const std::string ts = t;
          if (centroids && ts == "reconstructed_no_rotation") continue;  // swaps only there
          const double acc = ts == "time_shifted"                ? (centroids ? 0.4 : 0.35)
                             : ts == "elapsed_shifted"           ? (centroids ? 0.75 : 0.8)
                             : ts.find("no_rotation") != ts.npos ? 0.3
                                                                 : 0.9;
          const bool next = ts.rfind("elapsed", 0) == 0;
          const double fitted = 0.9, null = chance_of(f) + 0.02;
          (centroids ? cent : proc)
              .row(concat(concat(head, {{"test", ts},
                                        {"source_stim", 0.0},
                                        {"source_frame", 0.0},
                                        {"stim_frame", next ? 1.0 : 0.0},
                                        {"frame", ts.rfind("fitted", 0) == 0 ||
                                                          ts.rfind("reconstructed", 0) == 0
                                                      ? 1.0
                                                      : 2.0},
                                        {"fitted_accuracy", fitted},
                                        {"relative", (acc - null) / (fitted - null)},
                                        {"target_above_chance", 1.0}}),
                          accuracy_cells(acc, f)));
        }
      }
      if (rel != "relevant") continue;  // causal: each task's own feature
      for (double sd : {-50.0, -5.0, -1.0, 1.0, 5.0, 50.0}) {
        const double effect = 0.4 * sd / (std::abs(sd) + 4);
        causal.row(concat(who, {{"task", kTasks[k]},
                                {"feature", f},
                                {"stim_frame", 0.0},
                                {"shift_frame", 0.0},
                                {"probe_frame", 1.0},
                                {"sd", sd},
                                {"shift_norm", 3.0 * std::abs(sd)},
                                {"projection_sd", 3.0},
                                {"p_match_baseline", 0.1},
                                {"p_match_shifted", 0.1 + std::max(0.0, effect)},
                                {"p_match_random", 0.1},
                                {"effect", effect},
                                {"null_lo", -0.05},
                                {"null_hi", 0.05},
                                {"null_rms", 0.025},
                                {"z", effect / 0.025},
                                {"p", std::abs(sd) > 2 ? 0.001 : 0.3},
                                {"flip_rate", sd > 2 ? 0.9 : 0.0},
                                {"flip_rate_random", 0.02},
                                {"n", 60.0}}));
      }
    }
  }
  for (const auto& f : kFeatures) {
    for (const auto& a : kTasks) {
      for (const auto& b : kTasks) {
        const bool same = a == b;
        task.row(concat(concat(who, {{"feature", f},
                                     {"train_task", a},
                                     {"test_task", b},
                                     {"stim_frame", 0.0},
                                     {"kind", std::string(same ? "validation" : "generalisation")},
                                     {"validation", 0.9},
                                     {"validation_chance", chance_of(f) + 0.02},
                                     {"accuracy_centred", same ? 0.9 : 0.7},
                                     {"chance_empirical_centred", chance_of(f) + 0.01}}),
                        accuracy_cells(same ? 0.9 : 0.6, f)));
      }
    }
    osum.row(concat(who, {{"feature", f},
                          {"mean_rnn", 0.625},
                          {"mean_perceptual", 0.8},
                          {"corrected_rnn", 0.025},
                          {"corrected_perceptual", 0.2},
                          {"corrected_difference", -0.175},
                          {"z_rnn", 0.8},
                          {"z_perceptual", 6.7},
                          {"n", 12.0}}));
  }
  for (const auto& [sa, sb] : std::vector<std::pair<std::string, std::string>>{
           {"hidden", "hidden"}, {"perceptual", "hidden"}}) {
    for (int x = 0; x < frames; ++x) {
      for (int y = 0; y < frames; ++y) {
        if (sa != sb && x != y) continue;  // across spaces: the same frame
        const double cka = x == y ? (sa == sb ? 1.0 : 0.6) : 0.5 / (1 + std::abs(x - y));
        rsa.row(concat(who, {{"space_a", sa},
                             {"frame_a", double(x)},
                             {"space_b", sb},
                             {"frame_b", double(y)},
                             {"cka", cka},
                             {"cka_null_mean", 0.2},
                             {"cka_p", cka > 0.3 ? 0.001 : 0.2},
                             {"rdm_spearman", 0.3},
                             {"rdm_spearman_null_mean", 0.0},
                             {"rdm_p", 0.01},
                             {"cka_trials", cka * 0.8},
                             {"permutations", 1000.0},
                             {"conditions", 32.0}}));
      }
    }
  }
  for (const char* space : {"hidden", "perceptual", "embedding"}) {
    for (int t = 0; t < frames; ++t) {
      dim.row(concat(who, {{"space", std::string(space)},
                           {"task", std::string("all")},
                           {"frame", double(t)},
                           {"participation_ratio", 3.0 + t},
                           {"ci_lo", 2.5 + t},
                           {"ci_hi", 3.6 + t},
                           {"bootstrap", 200.0},
                           {"dims", 24.0},
                           {"n", 200.0}}));
    }
  }
  r.tables = {{"decoding", dec.table()},
              {"cross_temporal", ct.table()},
              {"cross_task", task.table()},
              {"orthogonality", orth.table()},
              {"orthogonality_summary", osum.table()},
              {"temporal_hypotheses", hyp.table()},
              {"procrustes", proc.table()},
              {"procrustes_centroids", cent.table()},
              {"causal", causal.table()},
              {"rsa", rsa.table()},
              {"dimensionality", dim.table()}};
  auto welch = [](const std::string& name, double effect, double lo, double hi, double p) {
    return nlohmann::json{{"name", name},
                          {"test", "Welch t (greater)"},
                          {"unit", "model (seed)"},
                          {"n", {3, 3}},
                          {"effect", effect},
                          {"ci", {lo, hi}},
                          {"statistic", 4.1},
                          {"df", 3.8},
                          {"p", p},
                          {"passed", p < 0.05},
                          {"deciding", true}};
  };
  auto decided = [](nlohmann::json f, const nlohmann::json& t, const std::string& verdict) {
    for (const char* k : {"unit", "n", "effect", "ci", "p"}) f[k] = t[k];
    f["statistic_test"] = t["test"];
    f["verdict"] = verdict;
    f["held"] = verdict == "held";
    f["tests"] = nlohmann::json::array({t});
    return f;
  };
  auto finding = [](const std::string& title) {
    return nlohmann::json{{"title", title},
                          {"test", "Welch t-test, one-sided, across models (seeds)"},
                          {"alpha", 0.05},
                          {"numbers", nlohmann::json::object()},
                          {"detail", ""}};
  };
  nlohmann::json f1 = decided(
      finding("Multi-task models keep irrelevant features"),
      welch("multi-task retention > single-task retention", 0.13, 0.05, 0.21, 0.004), "held");
  f1["numbers"] = {{model + ": retention above chance", 0.42}};
  f1["detail"] = "Retention above empirical chance <ok>";
  nlohmann::json f2 = finding("Vanilla RNNs share subspaces across tasks");
  f2["verdict"] = "not testable";
  f2["held"] = nullptr;
  f2["tests"] = nlohmann::json::array();
  f2["reason"] = "fewer than 3 seeds per architecture (GRU has 1 model)";
  f2["to_make_testable"] = "train at least 3 seeds of every architecture";
  f2["detail"] = "not testable: " + f2["reason"].get<std::string>() + ". " +
                 f2["to_make_testable"].get<std::string>();
  nlohmann::json f3 =
      decided(finding("RNNs de-orthogonalise"),
              welch("corrected O(rnn) - O(perceptual) < 0", -0.17, -0.3, -0.04, 0.02), "held");
  nlohmann::json f4 = decided(finding("Chronological memory subspaces"),
                              welch("GRU: H1 below halfway", -0.02, -0.2, 0.16, 0.31), "not held");
  r.findings = {{"1", f1}, {"2", f2}, {"3", f3}, {"4", f4}};
  r.params = {{"folds", 5}};
  return r;
}

TrainedModel synthetic_model(const std::string& rnn) {
  TrainedModel m;
  m.config = {{"rnn", rnn}, {"tasks", kTasks}};
  m.curve_step = Array::from_vector(std::vector<std::int64_t>{100, 200, 300, 400, 500});
  m.curve_loss = Array::from_vector(std::vector<float>{1.0f, 0.6f, 0.4f, 0.3f, 0.25f});
  Array tr(DType::kF32, {5, 3}), va(DType::kF32, {5, 3});
  for (int k = 0; k < 5; ++k)
    for (int t = 0; t < 3; ++t) {
      tr.data<float>()[k * 3 + t] = 0.5f + 0.1f * k - 0.02f * t;
      va.data<float>()[k * 3 + t] = 0.45f + 0.1f * k - 0.03f * t;
    }
  m.curve_train_acc = tr;
  m.curve_val_acc = va;
  return m;
}

// 2 categories x 2 identities x 3 views x 4 locations, 32 px, a coloured block per image.
StimulusSet synthetic_stimuli() {
  StimulusSet s;
  const int n = 2 * 2 * 3 * 4, size = 32;
  s.images = Array(DType::kU8, {n, 3, size, size});
  std::vector<std::int32_t> loc, cat, id, view, split;
  int i = 0;
  for (int k = 0; k < 4; ++k)
    for (int v = 0; v < 3; ++v)
      for (int l = 0; l < 4; ++l, ++i) {
        loc.push_back(l), cat.push_back(k / 2), id.push_back(k), view.push_back(v),
            split.push_back(v == 2);
        const int x0 = (l % 2) * 16 + 2 + v, y0 = (l / 2) * 16 + 2;
        for (int c = 0; c < 3; ++c)
          for (int y = y0; y < y0 + 10; ++y)
            for (int x = x0; x < x0 + 10 - k; ++x)
              s.images.data<std::uint8_t>()[((i * 3 + c) * size + y) * size + x] =
                  static_cast<std::uint8_t>(60 + 60 * ((c + k) % 3));
      }
  s.location = Array::from_vector(loc), s.category = Array::from_vector(cat),
  s.identity = Array::from_vector(id);
  s.view = Array::from_vector(view), s.split = Array::from_vector(split);
  s.category_names = {"chair", "mug"};
  s.identity_names = {"chair-0", "chair-1", "mug-0", "mug-1"};
  s.identity_category = {0, 0, 1, 1};
  s.n_locations = 4;
  s.n_views = 3;
  s.info = {
      {"source", "synthetic"}, {"cells", {{0, 0}, {16, 0}, {0, 16}, {16, 16}}}, {"cell_size", 16}};
  return s;
}

const StageRegistry& report_registry() {
  static const StageRegistry* r = [] {
    auto* reg = new StageRegistry();
    reg->add(std::make_unique<FakeAnalysis>(), R"(
[stage]
type = "fake_analysis"
version = 1
output = "AnalysisResult"
items = "tables"
doc = "Synthetic analysis for the report tests."
[param.model]
type = "string"
default = "m"
doc = "Model name."
)",
             "fake_analysis.toml");
    reg->add(std::make_unique<ReportStage>());
    return reg;
  }();
  return *r;
}

InputItem item(const std::string& name, const Artifact& a) {
  return InputItem{name, {}, std::make_shared<const Artifact>(a)};
}

Made run_report(const StageInputs& in, const std::string& params) {
  ReportStage stage;
  TempDir dir;
  RunContext ctx("report", dir / "work", 1);
  // Parameters validated by the schema; the port names a stand-in upstream.
  Params p =
      stage_params(report_registry(), "report",
                   "analysis = [\"up\"]\n" + params + "\n[stage.up]\ntype = \"fake_analysis\"\n");
  Report r = Report::from_artifact(stage.run(p, in, ctx));
  return {r, r.html};
}

// A compare stage's result: four models in two architectures, distances per
// frame and the MDS embedding.
AnalysisResult synthetic_comparison() {
  AnalysisResult r;
  const std::vector<std::string> models = {"gru0", "gru1", "rnn0", "rnn1"},
                                 labels = {"gru", "gru", "rnn", "rnn"};
  Table pairs;
  std::vector<std::string> a, b, la, lb;
  std::vector<double> frame, cka, angle;
  for (std::size_t i = 0; i < models.size(); ++i) {
    for (std::size_t j = i + 1; j < models.size(); ++j) {
      for (int t = 0; t < 3; ++t) {
        a.push_back(models[i]);
        b.push_back(models[j]);
        la.push_back(labels[i]);
        lb.push_back(labels[j]);
        frame.push_back(t);
        const bool same = labels[i] == labels[j];
        cka.push_back(same ? 0.9 : 0.5);
        angle.push_back(same ? 0.2 : 0.8 + 0.01 * t);
      }
    }
  }
  pairs.add("model_a", a);
  pairs.add("model_b", b);
  pairs.add("label_a", la);
  pairs.add("label_b", lb);
  pairs.add("frame", frame);
  pairs.add("cka", cka);
  pairs.add("procrustes_angle", angle);
  r.tables["model_pairs"] = pairs;
  Table mds;
  mds.add("model", models);
  mds.add("label", labels);
  mds.add("x", std::vector<double>{-0.4, -0.35, 0.4, 0.38});
  mds.add("y", std::vector<double>{0.05, -0.05, 0.02, -0.03});
  r.tables["model_mds"] = mds;
  return r;
}

AnalysisResult synthetic_recordings() {
  AnalysisResult r;
  const std::vector<std::string> models = {"gru0", "gru1", "rnn0"};
  std::vector<std::string> m, l;
  std::vector<double> frame, sp, wc;
  for (std::size_t i = 0; i < models.size(); ++i) {
    for (int t = 0; t < 3; ++t) {
      m.push_back(models[i]);
      l.push_back(i < 2 ? "gru" : "rnn");
      frame.push_back(t);
      sp.push_back(0.2 + 0.1 * t - 0.1 * static_cast<double>(i));
      wc.push_back(0.3 + 0.1 * t - 0.1 * static_cast<double>(i));
    }
  }
  Table scores;
  scores.add("model", m);
  scores.add("label", l);
  scores.add("frame", frame);
  scores.add("spearman", sp);
  scores.add("whitened_cosine", wc);
  r.tables["recordings_scores"] = scores;
  Table ceiling;
  ceiling.add("comparison", std::vector<std::string>{"spearman", "whitened_cosine"});
  ceiling.add("lower", std::vector<double>{0.35, 0.4});
  ceiling.add("upper", std::vector<double>{0.5, 0.6});
  r.tables["recordings_ceiling"] = ceiling;
  Table units;
  units.add("unit", models);
  units.add("comparison", std::vector<std::string>(3, "spearman"));
  units.add("models", std::vector<double>{1, 1, 1});
  units.add("score", std::vector<double>{0.3, 0.2, 0.1});
  units.add("ci_lo", std::vector<double>{0.25, 0.15, 0.05});
  units.add("ci_hi", std::vector<double>{0.35, 0.25, 0.15});
  r.tables["recordings_units"] = units;
  Table pairs;
  pairs.add("unit_a", std::vector<std::string>{"gru0", "gru0"});
  pairs.add("unit_b", std::vector<std::string>{"gru1", "rnn0"});
  pairs.add("difference", std::vector<double>{0.1, 0.2});
  pairs.add("ci_lo", std::vector<double>{0.02, 0.1});
  pairs.add("ci_hi", std::vector<double>{0.18, 0.3});
  pairs.add("p", std::vector<double>{0.02, 0.002});
  pairs.add("p_holm", std::vector<double>{0.02, 0.004});
  r.tables["recordings_pairs"] = pairs;
  return r;
}

StageInputs full_inputs() {
  StageInputs in;
  in.add("analysis", item("analysis", synthetic_analysis("gru-model", "gru").to_artifact()));
  in.add("analysis", item("distances", synthetic_comparison().to_artifact()));
  in.add("analysis", item("neural", synthetic_recordings().to_artifact()));
  in.add("models", item("train-gru", synthetic_model("gru").to_artifact()));
  in.add("stimuli", item("stimuli", synthetic_stimuli().to_artifact()));
  return in;
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

}  // namespace wmgeom::testing::report_fixtures
