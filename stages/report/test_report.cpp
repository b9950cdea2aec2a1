// The report stage on synthetic inputs: every section drawn from a full
// AnalysisResult, omission notes for absent tables and columns, sweeps
// concatenated, determinism, the placeholders, the CLI writing
// wmgeom-out/<name>/report.html with the run's profile, and a headless
// Chromium that opens the page, finds every figure drawn and no console
// error, and saves a screenshot.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <variant>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "config/diagnostics.h"
#include "core/artifacts.h"
#include "core/error.h"
#include "graph/plan.h"
#include "graph/registry.h"
#include "report/report.h"
#include "report/sections/common.h"
#include "report/svg.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

namespace fs = std::filesystem;
using Cell = std::variant<double, std::string>;

// Builds a Table row by row.
class Rows {
 public:
  void row(const std::vector<std::pair<std::string, Cell>>& cells) {
    for (const auto& [name, cell] : cells) {
      if (std::find(order_.begin(), order_.end(), name) == order_.end()) order_.push_back(name);
      if (std::holds_alternative<double>(cell))
        num_[name].push_back(std::get<double>(cell));
      else
        txt_[name].push_back(std::get<std::string>(cell));
    }
  }
  Table table() const {
    Table t;
    for (const auto& c : order_) {
      if (num_.count(c))
        t.add(c, num_.at(c));
      else
        t.add(c, txt_.at(c));
    }
    return t;
  }

 private:
  std::vector<std::string> order_;
  std::map<std::string, std::vector<double>> num_;
  std::map<std::string, std::vector<std::string>> txt_;
};

const std::vector<std::string> kFeatures = {"loc", "cat", "id"};
const std::vector<std::string> kTasks = {"loc-1", "cat-1", "id-1"};
double chance_of(const std::string& f) { return f == "id" ? 0.125 : 0.25; }

// The relevance of `feature` in `task` as the analyze stage names it.
std::string relevance(const std::string& task, const std::string& feature) {
  const std::string own = task.substr(0, task.find('-'));
  if (own == feature) return "relevant";
  return own == "id" && feature == "cat" ? "implied" : "irrelevant";
}

using Cells = std::vector<std::pair<std::string, Cell>>;

// The columns every accuracy row of the analyze stage ends with (5 folds, 20
// image-level permutations).
Cells accuracy_cells(double acc, const std::string& feature, double n = 200.0) {
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
AnalysisResult synthetic_analysis(const std::string& model, const std::string& rnn,
                                  int frames = 4) {
  AnalysisResult r;
  const std::string regime = "STMF";
  const Cells who = {{"model", model}, {"rnn", rnn}, {"regime", regime}};
  Rows dec, ct, task, orth, osum, hyp, proc, causal, rsa, dim;
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
      for (const char* t :
           {"fitted", "reconstructed", "reconstructed_no_rotation", "time_shifted",
            "time_shifted_no_rotation", "elapsed_shifted", "elapsed_shifted_no_rotation"}) {
        const std::string ts = t;
        const double acc = ts == "time_shifted"                ? 0.35
                           : ts == "elapsed_shifted"           ? 0.8
                           : ts.find("no_rotation") != ts.npos ? 0.3
                                                               : 0.9;
        const bool next = ts.rfind("elapsed", 0) == 0;
        proc.row(concat(
            concat(head,
                   {{"test", ts},
                    {"source_stim", 0.0},
                    {"source_frame", 0.0},
                    {"stim_frame", next ? 1.0 : 0.0},
                    {"frame",
                     ts.rfind("fitted", 0) == 0 || ts.rfind("reconstructed", 0) == 0 ? 1.0 : 2.0},
                    {"fitted_accuracy", 0.9}}),
            accuracy_cells(acc, f)));
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
                                {"ci_lo", effect - 0.05},
                                {"ci_hi", effect + 0.05},
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
                          {"passed", p < 0.05}};
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

// A stand-in for the analyze stage: the synthetic AnalysisResult.
class FakeAnalysis final : public Stage {
 public:
  std::string type() const override { return "fake_analysis"; }
  Artifact run(const Params& p, const StageInputs&, RunContext&) const override {
    return synthetic_analysis(p.s("model"), "gru").to_artifact();
  }
};

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

struct Made {
  Report report;
  std::string html;
};

Made run_report(const StageInputs& in, const std::string& params = "") {
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

StageInputs full_inputs() {
  StageInputs in;
  in.add("analysis", item("analysis", synthetic_analysis("gru-model", "gru").to_artifact()));
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

// ------------------------------------------------------------------ tests

TEST(Report, ArtifactRoundTrip) {
  Report r;
  r.html = "<!DOCTYPE html><p>caf\xc3\xa9</p>";
  r.title = "t";
  r.info = {{"figures", 3}};
  Report back = Report::from_artifact(r.to_artifact());
  EXPECT_EQ(back.html, r.html);
  EXPECT_EQ(back.title, "t");
  EXPECT_EQ(back.info["figures"], 3);
  EXPECT_THROW(Report::from_artifact(synthetic_model("gru").to_artifact()), Error);
}

TEST(Report, SvgHelpers) {
  EXPECT_EQ(report::nice_ticks(0, 1), (std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1.0}));
  EXPECT_EQ(report::nice_ticks(0, 500, 5), (std::vector<double>{0, 100, 200, 300, 400, 500}));
  EXPECT_EQ(report::viridis(0), "#440154");
  EXPECT_EQ(report::viridis(1), "#fde725");
  EXPECT_EQ(report::viridis(7), "#fde725");  // clamped
  EXPECT_EQ(report::fmt(0.87654), "0.877");
  EXPECT_EQ(report::fmt(-0.0), "0");
  EXPECT_EQ(report::fmt(std::nan("")), "n/a");
  EXPECT_EQ(report::escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
}

// The HTML of one <section>.
std::string section_of(const std::string& html, const std::string& id) {
  const std::size_t at = html.find("<section id=\"" + id + "\">");
  if (at == std::string::npos) return "";
  return html.substr(at, html.find("</section>", at) - at);
}

TEST(Report, DrawsEverySectionFromAFullAnalysis) {
  Made r = run_report(full_inputs(), "title = \"Paper <run>\"");
  const std::string& h = r.html;
  for (const char* id :
       {"findings", "stimuli", "training", "decoding", "cross-task", "orthogonality", "temporal",
        "causal", "rsa", "dimensionality", "profile", "pipeline"}) {
    EXPECT_TRUE(contains(h, std::string("<section id=\"") + id + "\">")) << id;
  }
  EXPECT_FALSE(contains(h, "Omitted:")) << "every table is present";
  for (const auto& s : r.report.info["sections"]) EXPECT_TRUE(s["drawn"].get<bool>()) << s.dump();
  // Figures: contact sheet 1, training 3, decoding 3 (relevant, implied, irrelevant) + summary +
  // finding 1, cross-task 1 + summary + finding 2, orthogonality bars + scatter + finding 3,
  // temporal 3 + finding 4, causal 2 (dose-response, paired effect), rsa 1, dimensionality 3.
  const int figures = r.report.info["figures"].get<int>();
  EXPECT_EQ(figures, 25);
  EXPECT_EQ(count(h, "<svg class=\"figure\""), static_cast<std::size_t>(figures));
  EXPECT_EQ(count(h, "<g class=\"data\">"), static_cast<std::size_t>(figures));
  // Self-contained: an inline PNG, the two placeholders, nothing fetched.
  EXPECT_TRUE(contains(h, "href=\"data:image/png;base64,iVBORw0KGgo"));
  EXPECT_TRUE(contains(h, report::kProfilePlaceholder));
  EXPECT_TRUE(contains(h, report::kPipelinePlaceholder));
  EXPECT_FALSE(std::regex_search(h, std::regex(R"((src|href)\s*=\s*"(https?:)?//|url\(|@import)")));
  EXPECT_TRUE(contains(h, "<title>Paper &lt;run&gt;</title>"));
  // Axes are labelled and heatmaps carry a colour scale label.
  for (const char* label :
       {"frames since the stimulus (0 = encoding, &gt; 0 = retention)", "decoder trained on",
        "accuracy (%)", "linear CKA", "participation ratio", "corrected index O - O(shuffled)",
        "training step", "shift, SDs of the projection (signed log scale)"}) {
    EXPECT_TRUE(contains(h, label)) << label;
  }
}

TEST(Report, FindingsTableShowsVerdictEffectIntervalPAndUnit) {
  const std::string f = section_of(run_report(full_inputs()).html, "findings");
  for (const char* header : {"<th>verdict</th>", "<th>effect</th>", "<th>95% CI</th>", "<th>p</th>",
                             "<th>n</th>", "<th>unit</th>"})
    EXPECT_TRUE(contains(f, header)) << header;
  EXPECT_EQ(count(f, "<span class=\"badge yes\">held</span>"), 2u);
  EXPECT_EQ(count(f, "<span class=\"badge no\">not held</span>"), 1u);
  EXPECT_EQ(count(f, "<span class=\"badge na\">not testable</span>"), 1u);
  // Finding 1: effect, its CI, p, n per group and the unit of replication.
  EXPECT_TRUE(
      contains(f,
               "<td>0.13</td><td>[0.05, 0.21]</td><td>0.004<div class=\"dim\">alpha 0.05</div></td>"
               "<td>3 vs 3</td><td>model (seed)</td>"))
      << f;
  EXPECT_TRUE(contains(f, "Declared test: Welch t-test, one-sided, across models (seeds)"));
  EXPECT_TRUE(contains(f, "Retention above empirical chance &lt;ok&gt;"));  // the detail, escaped
  EXPECT_TRUE(contains(f, "<summary>tests (1)</summary>"));
  EXPECT_TRUE(contains(f, "<td>multi-task retention &gt; single-task retention</td>"));
  EXPECT_TRUE(contains(f, "gru-model: retention above chance</span> 0.42"));
  // Finding 2 is not testable: why, and what to add to the pipeline.
  EXPECT_TRUE(contains(
      f, "<strong>Not testable:</strong> fewer than 3 seeds per architecture (GRU has 1 model)."));
  EXPECT_TRUE(contains(
      f, "<strong>To make it testable:</strong> train at least 3 seeds of every architecture."));

  // Older findings (only `held`) still read: true / false / null.
  AnalysisResult a = synthetic_analysis("m", "gru");
  a.findings = {{"1", {{"title", "old"}, {"held", true}, {"detail", "d1"}}},
                {"2", {{"title", "old"}, {"held", false}}},
                {"3", {{"title", "old"}, {"held", nullptr}, {"detail", "one RNN type only"}}}};
  StageInputs in;
  in.add("analysis", item("analysis", a.to_artifact()));
  const std::string old = section_of(run_report(in).html, "findings");
  EXPECT_TRUE(contains(old, "<span class=\"badge yes\">held</span>"));
  EXPECT_TRUE(contains(old, "<span class=\"badge no\">not held</span>"));
  EXPECT_TRUE(contains(old, "<span class=\"badge na\">not testable</span>"));
  EXPECT_TRUE(contains(old, "one RNN type only"));
}

TEST(Report, FiguresOfFindingsShowIntervalsAndEmpiricalChance) {
  const std::string h = run_report(full_inputs()).html;
  // Decoding summary: relevant encoding 0.95, 95% CI t(4) * 0.02 / sqrt(5) = +-0.0248.
  EXPECT_TRUE(contains(h, "<title>gru-model / relevant: encoding: 0.95 [0.925, 0.975]</title>"));
  // Legends: CI whiskers, the permutation null band, the analytic 1/K, across-seed CIs.
  for (const char* legend : {"95% CI over folds", "permutation null (mean to 95th pct)",
                             "analytic chance 1/K", "loc null", "loc 1/K", "one model"})
    EXPECT_TRUE(contains(h, legend)) << legend;
  // One model per group: its dot, but no interval across seeds.
  EXPECT_FALSE(contains(h, "95% CI across models (seeds)"));
  // Decoding: one panel per relevance class, encoding and retention.
  const std::string dec = section_of(h, "decoding");
  for (const char* t :
       {"task-relevant (the task&#39;s own feature)", "implied (category in an identity task)",
        "task-irrelevant", "relevant: retention", "implied: encoding", "irrelevant: retention",
        "finding 1 across models", "multi-task (n = 1)"})
    EXPECT_TRUE(contains(dec, t)) << t;
  // Cross-task: centred states and the normalised score.
  const std::string ct = section_of(h, "cross-task");
  EXPECT_TRUE(contains(ct, "generalisation, task-centred states"));
  EXPECT_TRUE(contains(ct, "(gen - chance) / (val - chance)"));
  // Procrustes: each swap test beside its no-rotation control, and the caveat.
  const std::string tmp = section_of(h, "temporal");
  for (const char* t :
       {"reconstructed, R = I", "time-shifted, R = I", "elapsed-shifted, R = I", "near-guaranteed",
        "halfway: null to validation", "finding 4 across models"})
    EXPECT_TRUE(contains(tmp, t)) << t;
  // RSA: p-values; dimensionality: bootstrap intervals.
  const std::string rsa = section_of(h, "rsa");
  EXPECT_TRUE(contains(rsa, "<th>CKA p</th>"));
  EXPECT_TRUE(contains(rsa, "(p = 0.001, null mean 0.2; RDM Spearman 0.3, p = 0.01)"));
  EXPECT_TRUE(contains(section_of(h, "dimensionality"), "95% bootstrap interval"));
}

TEST(Report, OrthogonalityIsNullCorrectedWithoutATTest) {
  const std::string o = section_of(run_report(full_inputs()).html, "orthogonality");
  EXPECT_TRUE(contains(o, "corrected index O - O(shuffled)"));
  EXPECT_TRUE(contains(o, "shuffled-label null, 95% range"));
  EXPECT_TRUE(contains(o, "<th>corrected RNN - perceptual</th>"));
  EXPECT_TRUE(contains(o, "<th>K equidistant 1-1/(K-1)</th>"));
  EXPECT_TRUE(contains(o, "finding 3 across models"));
  EXPECT_TRUE(contains(o, "<td>-0.175</td>"));  // corrected_difference of the summary table
  EXPECT_FALSE(contains(o, "t-test"));
  EXPECT_FALSE(contains(o, "orthogonality_test"));
}

TEST(Report, CausalSectionDrawsTheDoseResponse) {
  const std::string c = section_of(run_report(full_inputs()).html, "causal");
  EXPECT_TRUE(contains(c, "the frame just before the probe"));
  EXPECT_TRUE(contains(c, "standard deviations of the states' projection"));
  EXPECT_TRUE(contains(c, "decoder of the remembered stimulus's feature"));
  EXPECT_TRUE(contains(c, "paired effect p(shift) - p(opposite shift)"));
  EXPECT_TRUE(contains(c, "loc: random direction"));
  // Ticks at the shift sizes on the signed log scale.
  EXPECT_TRUE(contains(c, ">-50</text>"));
  EXPECT_TRUE(contains(c, ">50</text>"));
  // The dose table: effect 0.4 * 5 / 9 with its CI (+-0.05) at 5 SD.
  EXPECT_TRUE(contains(
      c, "<td>loc</td><td>5</td><td>0.322</td><td>0.1</td><td>0.222</td><td>[0.172, 0.272]</td>"))
      << c.substr(c.find("<table>"), 800);
  EXPECT_FALSE(contains(c, "alpha"));
}

TEST(Report, OlderAnalysisResultsDegradeToNotes) {
  // A result from before issue 11: no relevance, no empirical chance, causal
  // by `alpha`, no p-values or intervals.
  AnalysisResult a = synthetic_analysis("m", "gru");
  auto drop = [&](const std::string& table, const std::vector<std::string>& columns) {
    Table& t = a.tables.at(table);
    for (const auto& col : columns) {
      t.numeric.erase(col);
      t.text.erase(col);
      t.columns.erase(std::find(t.columns.begin(), t.columns.end(), col));
    }
  };
  drop("decoding", {"relevance", "chance_empirical", "chance_p95"});
  drop("causal", {"sd"});
  drop("orthogonality", {"corrected"});
  drop("rsa", {"cka_p"});
  drop("dimensionality", {"ci_lo", "ci_hi"});
  a.tables.erase("orthogonality_summary");
  StageInputs in;
  in.add("analysis", item("analysis", a.to_artifact()));
  Made r = run_report(in);
  EXPECT_TRUE(contains(r.html, "Omitted: the `causal` table lacks column(s) sd."));
  EXPECT_TRUE(
      contains(r.html, "Summary table omitted: the analysis has no `orthogonality_summary` table"));
  EXPECT_TRUE(contains(r.html, "This analysis has no p-values (an older result)."));
  EXPECT_TRUE(contains(r.html, "This analysis has no bootstrap intervals (an older result)."));
  // Decoding falls back to `relevant` (no implied panel); orthogonality to index - null mean.
  const std::string dec = section_of(r.html, "decoding");
  EXPECT_TRUE(contains(dec, "task-irrelevant"));
  EXPECT_FALSE(contains(dec, "implied (category"));
  // RNN index 0.55 + 0.05 s minus the null's 0.6 over s = 0..3 in 3 tasks: mean 0.025, sd 0.0584.
  const std::string orth = section_of(r.html, "orthogonality");
  EXPECT_TRUE(contains(orth, "<title>loc / RNN: 0.025 +- 0.0584</title>")) << orth.substr(0, 400);
  EXPECT_EQ(count(r.html, "<svg class=\"figure\""),
            static_cast<std::size_t>(r.report.info["figures"].get<int>()));
}

TEST(Report, IntervalHelpers) {
  EXPECT_NEAR(report::t975(1), 12.706, 1e-9);
  EXPECT_NEAR(report::t975(4), 2.776, 1e-9);
  EXPECT_NEAR(report::t975(40), 2.021, 2e-3);
  EXPECT_NEAR(report::t975(1e6), 1.95996, 1e-4);
  EXPECT_TRUE(std::isnan(report::t975(0)));
  auto iv = report::replicate_interval({1.0, 2.0, 3.0});
  EXPECT_EQ(iv.n, 3);
  EXPECT_DOUBLE_EQ(iv.mean, 2.0);
  EXPECT_NEAR(iv.hi - iv.mean, 4.303 / std::sqrt(3.0), 1e-9);
  auto one = report::replicate_interval({0.5, std::nan("")});
  EXPECT_EQ(one.n, 1);
  EXPECT_TRUE(std::isnan(one.lo));  // no interval from one model
}

TEST(Report, Deterministic) {
  EXPECT_EQ(run_report(full_inputs()).html, run_report(full_inputs()).html);
}

TEST(Report, AbsentTablesAreOmittedWithANote) {
  AnalysisResult a = synthetic_analysis("m", "lstm");
  for (const char* t : {"cross_task", "orthogonality", "orthogonality_summary", "cross_temporal",
                        "temporal_hypotheses", "procrustes", "causal", "rsa", "dimensionality"})
    a.tables.erase(t);
  a.findings = nlohmann::json::object();
  StageInputs in;
  in.add("analysis", item("analysis", a.to_artifact()));
  Made r = run_report(in);
  const std::string& h = r.html;
  EXPECT_TRUE(contains(
      h, "Omitted: the analysis has no `cross_task` table (that analysis was not requested)."));
  EXPECT_TRUE(contains(h, "Omitted: the analysis has no `rsa` table"));
  EXPECT_TRUE(contains(h, "Omitted: the analysis reported no findings."));
  EXPECT_TRUE(contains(h, "Omitted: no trained models were connected"));
  EXPECT_TRUE(contains(h, "Omitted: no stimulus set was connected"));
  EXPECT_TRUE(contains(h,
                       "Omitted: the analysis has no `cross_temporal`, `temporal_hypotheses` or "
                       "`procrustes` table"));
  EXPECT_EQ(r.report.info["figures"], 5);  // decoding only: 3 panels, the summary, finding 1
  EXPECT_EQ(count(h, "<svg class=\"figure\""), 5u);
}

TEST(Report, MissingColumnsAreNamed) {
  AnalysisResult a = synthetic_analysis("m", "gru");
  Table& t = a.tables["decoding"];
  t.numeric.erase("accuracy");
  t.columns.erase(std::find(t.columns.begin(), t.columns.end(), "accuracy"));
  a.tables["rsa"] = Table{};
  StageInputs in;
  in.add("analysis", item("analysis", a.to_artifact()));
  const std::string h = run_report(in).html;
  EXPECT_TRUE(contains(h, "Omitted: the `decoding` table lacks column(s) accuracy."))
      << h.substr(0, 0);
  EXPECT_TRUE(contains(h, "Omitted: the `rsa` table is empty."));
}

TEST(Report, SweepAnalysesAreConcatenated) {
  AnalysisResult a = synthetic_analysis("model-a", "gru"), b = synthetic_analysis("x", "lstm");
  for (auto& [name, t] :
       b.tables) {  // the second analysis has no model column: its instance name is used
    t.text.erase("model");
    t.columns.erase(std::find(t.columns.begin(), t.columns.end(), "model"));
  }
  StageInputs in;
  in.add("analysis", item("analysis[seed=1]", a.to_artifact()));
  in.add("analysis", item("analysis[seed=2]", b.to_artifact()));
  Made r = run_report(in);
  EXPECT_TRUE(contains(r.html, "model-a (gru, STMF)"));
  EXPECT_TRUE(contains(r.html, "analysis[seed=2] (lstm, STMF)"));
  EXPECT_TRUE(contains(r.html, "<th>analysis</th>"));  // findings of both, one column naming each
  // max_models caps per-model figures and says so.
  Made capped = run_report(in, "max_models = 1");
  EXPECT_TRUE(contains(capped.html, "Per-model figures show the first 1 of 2 models"));
  EXPECT_LT(capped.report.info["figures"].get<int>(), r.report.info["figures"].get<int>());
}

TEST(Report, ReplicatesGetIntervalsAcrossSeeds) {
  // Three seeds of one GRU: decoding accuracy +0, +0.01, +0.02, so finding 1's
  // measure has sd 0.01 across models and a 95% t-interval of +-4.303 * 0.01 / sqrt(3).
  StageInputs in;
  for (int k = 0; k < 3; ++k) {
    AnalysisResult a = synthetic_analysis("gru-seed" + std::to_string(k), "gru");
    for (double& v : a.tables.at("decoding").numeric.at("accuracy")) v += 0.01 * k;
    in.add("analysis", item("analysis[seed=" + std::to_string(k) + "]", a.to_artifact()));
  }
  const std::string h = run_report(in).html;
  EXPECT_TRUE(contains(h, "95% CI across models (seeds)"));
  EXPECT_TRUE(contains(h, "GRU (n = 3)"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      h, m,
      std::regex(
          R"(multi-task \(n = 3\) / irrelevant retention - empirical chance: ([0-9.]+) \[([0-9.]+), ([0-9.]+)\])")));
  const double mean = std::stod(m[1]), lo = std::stod(m[2]), hi = std::stod(m[3]);
  EXPECT_NEAR(hi - mean, 4.303 * 0.01 / std::sqrt(3.0), 2e-3);
  EXPECT_NEAR(mean - lo, 4.303 * 0.01 / std::sqrt(3.0), 2e-3);
}

TEST(Report, ASweepOfTwelveModelsStaysSmallAndFast) {
  StageInputs in;
  for (int k = 0; k < 12; ++k) {
    const std::string rnn = k % 3 == 0 ? "vanilla" : k % 3 == 1 ? "gru" : "lstm";
    const std::string seed = std::to_string(k);
    std::string analysis = "analysis[seed=",
                train = "train[seed=";  // appended piecewise: GCC 12 -Wrestrict
    analysis += seed + "]";
    train += seed + "]";
    in.add("analysis", item(analysis, synthetic_analysis("m" + seed, rnn, 6).to_artifact()));
    in.add("models", item(train, synthetic_model(rnn).to_artifact()));
  }
  Made r = run_report(in);  // (its time is a benchmark's business, not a test's)
  EXPECT_LT(r.html.size(), 8u << 20) << "a 12-model report should stay a few MB";
  EXPECT_FALSE(contains(r.html, "Per-model figures show the first"));  // max_models = 12 shows all
  EXPECT_EQ(count(r.html, "<svg class=\"figure\""),
            static_cast<std::size_t>(r.report.info["figures"].get<int>()));
}

TEST(Report, BadInputsAreInputErrors) {
  StageInputs none;
  try {
    run_report(none);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "no analysis input")) << e.what();
  }
  AnalysisResult a = synthetic_analysis("a", "gru"), b = synthetic_analysis("b", "gru");
  auto& col = b.tables["decoding"];
  std::vector<double> numbers(col.rows(), 1.0);
  col.text.erase("feature");
  col.numeric["feature"] = numbers;
  StageInputs in;
  in.add("analysis", item("a", a.to_artifact()));
  in.add("analysis", item("b", b.to_artifact()));
  try {
    run_report(in);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_TRUE(
        contains(e.what(), "column \"feature\" of table \"decoding\" is numeric in b but text"))
        << e.what();
  }
}

TEST(Report, PlaceholdersProfileAndExport) {
  // The run record as run.json holds it (core/run_summary.h).
  nlohmann::json run_json = {{"pipeline", "p"},
                        {"file", "p.toml"},
                        {"exit_code", 0},
                        {"seconds", 12.5},
                        {"stages",
                         {{{"stage", "gru[seed=1]"},
                           {"type", "train"},
                           {"cache", "miss"},
                           {"seconds", 10.0},
                           {"compute_seconds", 10.0},
                           {"items", 5000},
                           {"items_unit", "trials"},
                           {"items_per_s", 500.0},
                           {"bytes", 2048}},
                          {{"stage", "report"},
                           {"type", "report"},
                           {"cache", "hit"},
                           {"seconds", 0.01},
                           {"compute_seconds", 0.2},
                           {"items", 18},
                           {"items_unit", "figures"},
                           {"items_per_s", 90.0},
                           {"bytes", 100}}}}};
  RunSummary run = RunSummary::from_json(run_json);
  EXPECT_EQ(RunSummary::from_json(run.to_json()).to_json(), run.to_json());
  // A malformed record is refused with the field named.
  nlohmann::json broken = run_json;
  broken["stages"][0].erase("items");
  try {
    RunSummary::from_json(broken);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "stage gru[seed=1] has no \"items\"")) << e.what();
  }
  broken = run_json;
  broken["stages"][1]["cache"] = "hot";
  EXPECT_THROW(RunSummary::from_json(broken), Error);
  std::string table = report::profile_table_html(run);
  EXPECT_TRUE(contains(table, "<td>gru[seed=1]</td><td>train</td>"));
  EXPECT_TRUE(contains(table, ">miss</span>"));
  EXPECT_TRUE(contains(table, "5000 trials"));
  EXPECT_TRUE(contains(table, "500.0"));
  EXPECT_TRUE(contains(table, "12.500"));
  std::string pipe =
      report::pipeline_html("p.toml", "[stage.a]\nx = \"<b>\"\n", {"stage.a.x=1"}, {"torch 2.1"});
  EXPECT_TRUE(contains(pipe, "x = &quot;&lt;b&gt;&quot;"));
  EXPECT_TRUE(contains(pipe, "--set stage.a.x=1"));
  EXPECT_TRUE(contains(pipe, "torch 2.1"));
  std::string filled =
      report::fill_placeholders(std::string("a") + report::kProfilePlaceholder + "b" +
                                    report::kPipelinePlaceholder + report::kProfilePlaceholder,
                                "P", "Q");
  EXPECT_EQ(filled, "aPbQP");

  TempDir dir;
  Made r = run_report(full_inputs());
  Report rep = r.report;
  ReportStage().export_extras(rep.to_artifact(), dir.path());
  std::string html = read_file(dir / "report.html");
  EXPECT_FALSE(contains(html, "<!--wmgeom:"));
  EXPECT_TRUE(contains(html, "Available in the report that <code>wmgeom run</code> writes"));

  // The after-run hook fills both from the run's record: report.html for
  // one report instance, report-<instance>.html for several.
  run.text = "[pipeline]\nname = \"p\"\n";
  run.instances[1].versions = {"opencv=4.6.0"};
  TempDir out;
  ASSERT_TRUE(ReportStage().has_after_run());
  auto files = ReportStage().after_run(rep.to_artifact(), run, "report", out.path());
  ASSERT_EQ(files, (std::vector<std::filesystem::path>{out.path() / "report.html"}));
  html = read_file(files[0]);
  EXPECT_FALSE(contains(html, "<!--wmgeom:"));
  EXPECT_TRUE(contains(html, "<td>gru[seed=1]</td><td>train</td>"));
  EXPECT_TRUE(contains(html, "opencv=4.6.0"));
  EXPECT_TRUE(contains(html, "name = &quot;p&quot;"));
  run.instances.push_back(run.instances[1]);
  run.instances.back().instance = "report[x=2]";
  files = ReportStage().after_run(rep.to_artifact(), run, "report[x=2]", out.path());
  EXPECT_EQ(files, (std::vector<std::filesystem::path>{out.path() / "report-report.x=2.html"}));
}

constexpr const char* kPipeline = R"([pipeline]
name = "rep"
seed = 1

[stage.analysis]
type = "fake_analysis"
sweep = { model = ["gru-a", "gru-b"] }

[stage.report]
type = "report"
analysis = ["analysis"]
title = "CLI <report>"
)";

TEST(Report, CliRunWritesReportWithProfileAndPipeline) {
  TempDir dir;
  write_file(dir / "p.toml", kPipeline);
  std::vector<std::string> args = {
      "run",   (dir / "p.toml").string(), "--cache-dir",  (dir / "c").string(),
      "--out", (dir / "o").string(),      "--no-progress"};
  CliResult r = run_cli(args, report_registry());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "report.html)")) << r.out;
  std::string html = read_file(dir / "o" / "report.html");
  EXPECT_FALSE(contains(html, "<!--wmgeom:"));
  EXPECT_TRUE(contains(html, "<table class=\"profile\">"));
  EXPECT_TRUE(contains(html, "<td>analysis[model=gru-a]</td><td>fake_analysis</td>"));
  EXPECT_TRUE(
      contains(html, "<td>report</td><td>report</td><td><span class=\"badge yes\">miss</span>"));
  EXPECT_TRUE(
      contains(html, "title = &quot;CLI &lt;report&gt;&quot;"));    // the pipeline file, escaped
  EXPECT_TRUE(contains(html, "opencv="));                           // versions from the cache keys
  EXPECT_TRUE(contains(html, "gru-a") && contains(html, "gru-b"));  // both sweep members
  // Everything cached: the report is loaded and written again, now a hit.
  r = run_cli(args, report_registry());
  ASSERT_EQ(r.code, 0) << r.err;
  html = read_file(dir / "o" / "report.html");
  EXPECT_TRUE(
      contains(html, "<td>report</td><td>report</td><td><span class=\"badge na\">hit</span>"));
  // `wmgeom export` writes report.html with notes in place of the run's data.
  r = run_cli({"export", (dir / "p.toml").string(), "report", (dir / "x").string(), "--cache-dir",
               (dir / "c").string()},
              report_registry());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "x" / "report.html"));
  EXPECT_TRUE(fs::exists(dir / "x" / "html.npy"));
}

TEST(Report, KeyDependsOnParametersAndInputs) {
  auto key = [](const std::vector<std::string>& sets) {
    Diagnostics diags;
    auto plan = make_plan_from_text("p.toml", kPipeline, sets, report_registry(), diags);
    EXPECT_TRUE(plan) << diags.format_all();
    return plan->instances[plan->select("report").at(0)].key;
  };
  const std::string base = key({});
  EXPECT_NE(key({"stage.report.title=other"}), base);
  EXPECT_NE(key({"stage.report.max_models=2"}), base);
  EXPECT_NE(key({"stage.report.thumbnail=40"}), base);
  EXPECT_EQ(key({}), base);
}

// ------------------------------------------------------- headless browser

std::string find_chromium() {
  if (const char* env = std::getenv("WMGEOM_CHROMIUM"); env && *env) return env;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  for (const char* name :
       {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}) {
    std::size_t start = 0;
    while (start <= p.size()) {
      std::size_t end = p.find(':', start);
      fs::path candidate =
          fs::path(p.substr(start, end == std::string::npos ? std::string::npos : end - start)) /
          name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  return "";
}

int shell(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Report, OpensInHeadlessChromium) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) {
    GTEST_SKIP() << "chromium is not installed (scripts/bootstrap installs the Debian package "
                    "`chromium`; or set "
                    "WMGEOM_CHROMIUM): the headless-browser check of report.html was NOT run";
  }
  TempDir dir;
  Made r = run_report(full_inputs());
  RunSummary run;
  run.seconds = 1.0;
  run.instances.push_back({.instance = "report", .type = "report", .cache = CacheStatus::kMiss});
  write_file(dir / "report.html",
             report::fill_placeholders(
                 r.html, report::profile_table_html(run),
                 report::pipeline_html("p.toml", "[pipeline]\nname = \"x\"\n", {}, {"torch 2"})));
  const std::string flags =
      "--headless=new --no-sandbox --disable-gpu --no-first-run --hide-scrollbars "
      "--user-data-dir='" +
      (dir / "profile").string() + "'";
  const std::string url = "'file://" + (dir / "report.html").string() + "'";
  const int code = shell(
      "timeout 60 '" + chromium + "' " + flags + " --enable-logging=stderr --v=0 --dump-dom " +
      url + " > '" + (dir / "dom.html").string() + "' 2> '" + (dir / "stderr.txt").string() + "'");
  ASSERT_EQ(code, 0) << read_file(dir / "stderr.txt");

  // Every figure drew something (the page's own load check), and the page logged nothing.
  const std::string dom = read_file(dir / "dom.html");
  const int figures = r.report.info["figures"].get<int>();
  ASSERT_GT(figures, 10);
  EXPECT_TRUE(contains(
      dom, "data-figures-ok=\"" + std::to_string(figures) + "/" + std::to_string(figures) + "\""))
      << dom.substr(0, 400);
  EXPECT_TRUE(contains(dom, "data-figures-bad=\"\""));
  std::istringstream err(read_file(dir / "stderr.txt"));
  for (std::string line; std::getline(err, line);) {
    EXPECT_FALSE(contains(line, "CONSOLE") || contains(line, "Uncaught")) << line;
  }

  // A screenshot a person can look at (with the page, kept in $WMGEOM_REPORT_KEEP if set).
  const fs::path png = dir / "report.png";
  ASSERT_EQ(
      shell("timeout 60 '" + chromium + "' " + flags + " --window-size=1400,2400 --screenshot='" +
            png.string() + "' " + url + " > /dev/null 2>&1"),
      0);
  ASSERT_TRUE(fs::exists(png));
  EXPECT_GT(fs::file_size(png), 20000u);
  cv::Mat shot = cv::imread(png.string(), cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(shot.empty());
  EXPECT_EQ(shot.cols, 1400);
  cv::Scalar mean, sd;
  cv::meanStdDev(shot, mean, sd);
  EXPECT_GT(sd[0], 20.0) << "the screenshot is nearly uniform";
  if (const char* keep = std::getenv("WMGEOM_REPORT_KEEP"); keep && *keep) {
    fs::create_directories(keep);
    for (const char* f : {"report.html", "report.png", "dom.html"})
      fs::copy_file(dir / f, fs::path(keep) / f, fs::copy_options::overwrite_existing);
  }
}

}  // namespace
}  // namespace wmgeom::testing
