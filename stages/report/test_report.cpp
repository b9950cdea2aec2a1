// The report stage on synthetic inputs (report_fixtures.h): every section
// drawn from a full AnalysisResult, the findings table and figures with
// intervals and empirical chance, omission notes for absent tables and
// columns, sweeps concatenated, determinism, bad inputs.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "config/diagnostics.h"
#include "core/artifacts.h"
#include "core/error.h"
#include "report/report.h"
#include "report/report_fixtures.h"
#include "report/sections/common.h"
#include "report/svg.h"

namespace wmgeom::testing {
namespace {

using namespace report_fixtures;

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

// How far to trust each verdict: findings.json's `calibration` entries (the
// analyze stage's embedded calibration table) under each finding and in a
// table of their own, with the scenarios' counts and Clopper-Pearson bounds.
TEST(Report, FindingsShowHowFarToTrustEachVerdict) {
  AnalysisResult a = synthetic_analysis("m", "gru");
  nlohmann::json calibration = {
      {"trust", "Not calibrated: sub-test swap on S (23 of 100). The verdict was held on 1 null at most 2 of 100."},
      {"calibrated", false},
      {"scenarios",
       {{{"scenario", "Finding4Power"}, {"kind", "power"}, {"scale", 1.0}, {"counted", "verdict held"},
         {"draws", 100}, {"count", 80}, {"rate", 0.8}, {"ci95", {0.708, 0.873}}, {"commit", "abc"}},
        {{"scenario", "Finding4FalsePositives"}, {"kind", "null"}, {"scale", 0.0}, {"counted", "verdict held"},
         {"draws", 100}, {"count", 2}, {"rate", 0.02}, {"ci95", {0.002, 0.07}}, {"commit", "abc"}}}}};
  a.findings = {{"4", {{"title", "chronological memory"}, {"verdict", "held"}, {"held", true},
                       {"detail", "d4"}, {"calibration", calibration}}},
                {"2", {{"title", "shared subspaces"}, {"verdict", "not held"}, {"held", false}}}};
  StageInputs in;
  in.add("analysis", item("analysis", a.to_artifact()));
  const std::string f = section_of(run_report(in).html, "findings");
  EXPECT_TRUE(contains(f, "<h3>How far to trust each verdict</h3>")) << f;
  EXPECT_TRUE(contains(f, "<strong>How far to trust this verdict:</strong> Not calibrated: sub-test swap on S"))
      << f;
  EXPECT_TRUE(contains(f, "<summary>calibration scenarios (2)</summary>")) << f;
  EXPECT_TRUE(contains(f, "<td>Finding4Power</td><td>power</td><td>1</td><td>verdict held</td><td>80 of 100</td>"
                          "<td>0.8</td><td>[0.708, 0.873]</td>"))
      << f;
  // A finding without a calibration entry gets no trust row.
  EXPECT_EQ(count(f, "How far to trust this verdict"), 1u);
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
  EXPECT_TRUE(contains(c, "response p(shift) - p(opposite shift), null band"));
  EXPECT_TRUE(contains(c, "loc: covariance directions (null)"));
  // Ticks at the shift sizes on the signed log scale.
  EXPECT_TRUE(contains(c, ">-50</text>"));
  EXPECT_TRUE(contains(c, ">50</text>"));
  // The dose table: effect 0.4 * 5 / 9 with the null's band (+-0.05) and
  // the effect in units of the null's RMS at 5 SD.
  EXPECT_TRUE(contains(c,
                       "<td>loc</td><td>5</td><td>0.322</td><td>0.1</td><td>0.222</td><td>[-0.05, "
                       "0.05]</td><td>8.89</td>"))
      << c.substr(c.find("<table>"), 800);
  EXPECT_FALSE(contains(c, "alpha"));
}

// Issue 20, item 7: the dose-response is description. No count of rows with
// p < 0.05 (12 doses x tasks x frames, +-a sharing a p, no multiplicity
// control), no CI over trials; the verdict is finding 5's one test.
TEST(Report, CausalSectionCountsNoSignificantRows) {
  const std::string c = section_of(run_report(full_inputs()).html, "causal");
  EXPECT_FALSE(contains(c, "rows with p &lt; 0.05"));
  EXPECT_FALSE(contains(c, "rows with p < 0.05"));
  EXPECT_FALSE(contains(c, "95% CI over trials"));
  EXPECT_TRUE(contains(c, "Description, not a test"));
  EXPECT_TRUE(contains(c, "finding 5"));
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

}  // namespace
}  // namespace wmgeom::testing
