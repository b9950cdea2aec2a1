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

// The options' initialisers (what tests that build a page from
// ReportOptions{} see) are the schema's defaults, the single source.
TEST(Report, OptionsStartAtTheSchemaDefaults) {
  const Params p = stage_params(report_registry(), "report",
                                "analysis = [\"up\"]\n[stage.up]\ntype = \"fake_analysis\"\n");
  EXPECT_TRUE(report::ReportOptions{} == report::ReportOptions::from_params(p));
  EXPECT_EQ(report::ReportOptions::from_params(p).title, "wmgeom report");
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
        "causal", "rsa", "dimensionality", "models", "recordings", "profile", "pipeline"}) {
    EXPECT_TRUE(contains(h, std::string("<section id=\"") + id + "\">")) << id;
  }
  EXPECT_FALSE(contains(h, "Omitted:")) << "every table is present";
  for (const auto& s : r.report.info["sections"]) EXPECT_TRUE(s["drawn"].get<bool>()) << s.dump();
  // Figures: contact sheet 1, training 3, decoding 3 (relevant, implied, irrelevant) + summary +
  // finding 1, cross-task 1 + summary + finding 2, orthogonality bars + scatter + finding 3,
  // temporal 3 + finding 4, causal 2 (dose-response, paired effect), rsa 1, dimensionality 3,
  // model distances 3 (two matrices, the MDS), recordings 2 (scores with the
  // ceiling, scores per frame).
  const int figures = r.report.info["figures"].get<int>();
  EXPECT_EQ(figures, 30);
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
  // Which tests decide the verdict: findings.json's `deciding` flag, shown
  // per test (p < alpha, then decides).
  EXPECT_TRUE(contains(f, "<th>decides the verdict</th>")) << f;
  EXPECT_TRUE(contains(f, "<td>yes</td><td>yes</td></tr>")) << f;
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
  nlohmann::json calibration = {{"trust",
                                 "Not calibrated: sub-test swap on S (23 of 100). The verdict was "
                                 "held on 1 null at most 2 of 100."},
                                {"calibrated", false},
                                {"scenarios",
                                 {{{"scenario", "Finding4Power"},
                                   {"kind", "power"},
                                   {"scale", 1.0},
                                   {"counted", "verdict held"},
                                   {"draws", 100},
                                   {"count", 80},
                                   {"rate", 0.8},
                                   {"ci95", {0.708, 0.873}},
                                   {"commit", "abc"}},
                                  {{"scenario", "Finding4FalsePositives"},
                                   {"kind", "null"},
                                   {"scale", 0.0},
                                   {"counted", "verdict held"},
                                   {"draws", 100},
                                   {"count", 2},
                                   {"rate", 0.02},
                                   {"ci95", {0.002, 0.07}},
                                   {"commit", "abc"}}}}};
  a.findings = {{"4",
                 {{"title", "chronological memory"},
                  {"verdict", "held"},
                  {"held", true},
                  {"detail", "d4"},
                  {"calibration", calibration}}},
                {"2", {{"title", "shared subspaces"}, {"verdict", "not held"}, {"held", false}}}};
  StageInputs in;
  in.add("analysis", item("analysis", a.to_artifact()));
  const std::string f = section_of(run_report(in).html, "findings");
  EXPECT_TRUE(contains(f, "<h3>How far to trust each verdict</h3>")) << f;
  EXPECT_TRUE(contains(
      f, "<strong>How far to trust this verdict:</strong> Not calibrated: sub-test swap on S"))
      << f;
  EXPECT_TRUE(contains(f, "<summary>calibration scenarios (2)</summary>")) << f;
  EXPECT_TRUE(contains(
      f,
      "<td>Finding4Power</td><td>power</td><td>1</td><td>verdict held</td><td>80 of 100</td>"
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
  for (const char* t : {"time-shifted, R = I", "elapsed-shifted, R = I", "near-guaranteed",
                        "halfway: null to validation", "finding 4 across models"})
    EXPECT_TRUE(contains(tmp, t)) << t;
  // RSA: p-values; dimensionality: bootstrap intervals.
  const std::string rsa = section_of(h, "rsa");
  EXPECT_TRUE(contains(rsa, "<th>CKA p</th>"));
  EXPECT_TRUE(contains(rsa, "(p = 0.001, null mean 0.2; RDM Spearman 0.3, p = 0.01)"));
  EXPECT_TRUE(contains(section_of(h, "dimensionality"), "95% bootstrap interval"));
}

// Rows of `t` whose text column `column` reads `value`.
std::vector<std::size_t> rows_where(const Table& t, const std::string& column,
                                    const std::string& value) {
  std::vector<std::size_t> out;
  const auto& v = t.text.at(column);
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v[i] == value) out.push_back(i);
  return out;
}

// Rows of `t` whose `test` is `test` and whose `feature` is `feature`
// (every feature for "").
std::vector<std::size_t> swap_rows(const Table& t, const std::string& test,
                                   const std::string& feature = "") {
  std::vector<std::size_t> out;
  for (std::size_t i : rows_where(t, "test", test))
    if (feature.empty() || t.text.at("feature")[i] == feature) out.push_back(i);
  return out;
}

// Sets `column` of the rows `rows` of `t` to v.
void set_cells(Table& t, const std::vector<std::size_t>& rows, const std::string& column,
               double v) {
  for (std::size_t i : rows) t.numeric.at(column).at(i) = v;
}

// Appends a copy of row `from` of `t` with some numeric cells changed.
void append_copy(Table& t, std::size_t from, const std::map<std::string, double>& changed) {
  for (auto& [name, v] : t.numeric)
    v.push_back(changed.count(name) ? changed.at(name) : v.at(from));
  for (auto& [name, v] : t.text) v.push_back(v.at(from));
}

// The finding-4 chart's marks (bars and dots carry "group / measure: value").
const std::string kH1 = "GRU (n = 1) / H1 - halfway (paper: &lt; 0): ";
const std::string kH2 = "GRU (n = 1) / H2 - empirical chance (&gt; 0): ";
const std::string kSwap = "GRU (n = 1) / rel. swap: elapsed - time (&gt; 0): ";
const std::string kRotation = "GRU (n = 1) / rotation - no rotation (&gt; 0): ";

// The finding-4 chart and its caption: from its title to the end of the section.
std::string finding4_chart(const std::string& html) {
  const std::string t = section_of(html, "temporal");
  const std::size_t at = t.find("finding 4 across models");
  return at == std::string::npos ? "" : t.substr(at);
}

// Issue: the finding-4 chart drew the difference of RAW swap accuracies from
// the decoder-weight table, the measure the analysis abandoned (the two swaps
// are scored at different elapsed times, so any forgetting makes it
// positive). Here raw accuracies say elapsed-shifted > time-shifted (0.75 vs
// 0.4 in `procrustes_centroids`, 0.8 vs 0.35 in `procrustes`) while each swap
// relative to its own target says the opposite: the chart must draw the
// verdict's measure, from findings.json where it has it.
TEST(Report, Finding4ChartDrawsTheVerdictsSwapNotRawAccuracies) {
  AnalysisResult a = synthetic_analysis("gru-model", "gru");
  Table& c = a.tables.at("procrustes_centroids");
  set_cells(c, swap_rows(c, "elapsed_shifted"), "relative", 0.3);
  set_cells(c, swap_rows(c, "time_shifted"), "relative", 0.8);
  set_cells(c, swap_rows(c, "elapsed_shifted_no_rotation"), "relative", 0.1);
  a.findings["4"]["numbers"] = {
      {"gru-model: H1 - halfway", -0.31},
      {"gru-model: H2 - chance", 0.55},
      {"gru-model: elapsed-shifted - time-shifted swap, relative to own targets", -0.42},
      {"gru-model: swap pairs used", 3},
      {"gru-model: elapsed-shifted swap relative, rotation - no rotation", 0.17}};
  auto chart_of = [](const AnalysisResult& r) {
    StageInputs in;
    in.add("analysis", item("analysis", r.to_artifact()));
    return finding4_chart(run_report(in).html);
  };
  // From findings.json: the numbers the verdict tested.
  std::string f = chart_of(a);
  ASSERT_FALSE(f.empty());
  EXPECT_TRUE(contains(f, kSwap + "-0.42</title>")) << f;
  EXPECT_TRUE(contains(f, kRotation + "0.17</title>")) << f;
  EXPECT_TRUE(contains(f, kH1 + "-0.31</title>")) << f;
  EXPECT_TRUE(contains(f, kH2 + "0.55</title>")) << f;
  EXPECT_TRUE(contains(f, "from findings.json")) << f;
  EXPECT_TRUE(contains(f, "finding 4&#39;s fourth test") || contains(f, "finding 4's fourth test"))
      << f;
  EXPECT_TRUE(contains(f, "needs all four tests")) << f;
  // Whether the rotation's control decides is its test's `deciding` flag
  // (findings version 6 on): deciding since version 5, supporting before,
  // when the chart draws it as supporting and the caption says three tests.
  auto with_rotation_test = [&](const nlohmann::json& test) {
    AnalysisResult b = a;
    // A single-task group's control (supporting) listed first must not decide it.
    b.findings["4"]["tests"].push_back(
        {{"name",
          "GRU, single-task (supporting, not part of the verdict): same-elapsed-time swap "
          "with the fitted rotation > with no rotation"},
         {"deciding", false}});
    b.findings["4"]["tests"].push_back(test);
    return chart_of(b);
  };
  const std::string name5 =
      "GRU: same-elapsed-time swap with the fitted rotation > with no rotation";
  const std::string name4 = "GRU: rotation beats the no-rotation control (supporting)";
  for (const auto& [test, decides] :
       {std::pair{nlohmann::json{{"name", name5}, {"deciding", true}}, true},
        std::pair{nlohmann::json{{"name", name5}, {"deciding", false}}, false},
        // Findings before version 6 carry no flag: the name says it.
        std::pair{nlohmann::json{{"name", name5}}, true},
        std::pair{nlohmann::json{{"name", name4}}, false}}) {
    const std::string c = with_rotation_test(test);
    EXPECT_EQ(contains(c, kRotation + "0.17</title>"), decides) << test.dump();
    EXPECT_EQ(contains(c, "GRU (n = 1) / rotation - no rotation (supp.): 0.17</title>"), !decides)
        << test.dump();
    EXPECT_TRUE(contains(c, decides ? "needs all four tests" : "needs all three tests"))
        << test.dump();
  }
  // Neither raw difference (centroids 0.35, decoder weights 0.45) is drawn.
  EXPECT_FALSE(contains(f, ": 0.35</title>")) << f;
  EXPECT_FALSE(contains(f, ": 0.45</title>")) << f;

  // Findings without the numbers (an older analysis): recomputed from the
  // centroid table, each swap relative to its own target: 0.3 - 0.8 per cell.
  a.findings["4"]["numbers"] = nlohmann::json::object();
  f = chart_of(a);
  EXPECT_TRUE(contains(f, kSwap + "-0.5</title>")) << f;
  EXPECT_TRUE(contains(f, kRotation + "0.2</title>")) << f;
  EXPECT_TRUE(contains(f, "recomputed here from <code>procrustes_centroids</code>")) << f;

  // Analyze version 10: the centroid table has the time-shifted swap on the
  // elapsed-shifted swap's cell, and the recomputed measure pairs with it
  // (0.3 - 0.1 per cell), not with the swap on the stimulus's own cell.
  for (std::size_t i : swap_rows(c, "time_shifted")) {
    append_copy(c, i, {{"relative", 0.1}});
    c.text.at("test").back() = "time_shifted_same_cell";
  }
  f = chart_of(a);
  EXPECT_TRUE(contains(f, kSwap + "0.2</title>")) << f;

  // No centroid table: the decoder-weight swap relative to its own targets, labelled so.
  a.tables.erase("procrustes_centroids");
  Table& p = a.tables.at("procrustes");
  set_cells(p, swap_rows(p, "elapsed_shifted"), "relative", 0.6);
  set_cells(p, swap_rows(p, "time_shifted"), "relative", 0.7);
  f = chart_of(a);
  EXPECT_TRUE(contains(f, kSwap + "-0.1</title>")) << f;
  EXPECT_TRUE(contains(f, "recomputed here from <code>procrustes</code> (the decoder-weight swap"))
      << f;

  // Without `relative` (before the like-with-like columns) the swap is not
  // drawn at all rather than as raw accuracies; H1 and H2 still are.
  for (const char* col : {"relative"}) {
    p.numeric.erase(col);
    p.columns.erase(std::find(p.columns.begin(), p.columns.end(), col));
  }
  f = chart_of(a);
  EXPECT_FALSE(contains(f, kSwap)) << f;
  EXPECT_TRUE(contains(f, kH1)) << f;
  EXPECT_TRUE(contains(f, "not drawn")) << f;
}

// Without findings numbers the report recomputes finding 4's measures as
// stages/analyze/finding4_chronology.cpp does: task-relevant rows; H1/H2
// rows with a non-finite accuracy, empirical chance or (H1) validation
// skipped; swap rows without a finite accuracy and fitted_accuracy skipped;
// per source cell (task, feature, s, t) the `relative` of each test where
// its target is above chance (else NaN); the mean over cells of elapsed -
// time-shifted, skipping cells where either is NaN; rotation likewise.
TEST(Report, Finding4FallbackRecomputesAsTheFindingsDo) {
  AnalysisResult a = synthetic_analysis("gru-model", "gru");
  Table& c = a.tables.at("procrustes_centroids");
  // loc (loc-1): 0.3 - 0.8 = -0.5, rotation 0.3 - 0.1 = 0.2.
  set_cells(c, swap_rows(c, "elapsed_shifted", "loc"), "relative", 0.3);
  set_cells(c, swap_rows(c, "time_shifted", "loc"), "relative", 0.8);
  set_cells(c, swap_rows(c, "elapsed_shifted_no_rotation", "loc"), "relative", 0.1);
  // cat (cat-1): the elapsed-shifted target is not above its chance: no pair.
  set_cells(c, swap_rows(c, "elapsed_shifted", "cat"), "target_above_chance", 0.0);
  // id (id-1): 0.6 - 0.2 = 0.4, rotation 0.6 - 0.5 = 0.1.
  set_cells(c, swap_rows(c, "elapsed_shifted", "id"), "relative", 0.6);
  set_cells(c, swap_rows(c, "time_shifted", "id"), "relative", 0.2);
  set_cells(c, swap_rows(c, "elapsed_shifted_no_rotation", "id"), "relative", 0.5);
  // Rows that must not count: irrelevant features, and a row without a
  // fitted accuracy (later in the table, so it would overwrite its cell).
  for (std::size_t i : swap_rows(c, "elapsed_shifted"))
    if (c.text.at("relevance")[i] != "relevant") c.numeric.at("relative")[i] = 5.0;
  append_copy(c, swap_rows(c, "elapsed_shifted", "loc").at(0),
              {{"fitted_accuracy", std::nan("")}, {"relative", 9.0}});
  // H1 and H2 rows without a validation or an empirical chance are skipped.
  Table& h = a.tables.at("temporal_hypotheses");
  for (std::size_t i : rows_where(h, "task", "loc-1")) {
    if (h.text.at("feature")[i] != "loc") continue;
    if (h.text.at("hypothesis")[i] == "H1_slot")
      append_copy(h, i, {{"accuracy", 0.99}, {"validation", std::nan("")}});
    else
      append_copy(h, i, {{"accuracy", 0.01}, {"chance_empirical", std::nan("")}});
  }
  StageInputs in;
  in.add("analysis", item("analysis", a.to_artifact()));
  const std::string f = finding4_chart(run_report(in).html);
  ASSERT_FALSE(f.empty());
  // Swap: mean(-0.5, 0.4); rotation: mean(0.2, 0.1).
  EXPECT_TRUE(contains(f, kSwap + "-0.05</title>")) << f;
  EXPECT_TRUE(contains(f, kRotation + "0.15</title>")) << f;
  // H1: 0.3 - (c + (0.92 - c) / 2) with c the mean empirical chance of the
  // relevant rows (0.27, 0.27, 0.145); H2: 0.85 - c.
  const double chance = (0.27 + 0.27 + 0.145) / 3;
  EXPECT_TRUE(contains(f, kH1 + report::fmt(0.3 - (chance + 0.5 * (0.92 - chance))) + "</title>"))
      << f;
  EXPECT_TRUE(contains(f, kH2 + report::fmt(0.85 - chance) + "</title>")) << f;
  EXPECT_TRUE(contains(f, "recomputed here from <code>procrustes_centroids</code>")) << f;
}

// The swap bars draw the declared swap (`procrustes_centroids`) when the
// analysis has it, else the decoder-weight swap, and the caption says which.
TEST(Report, ProcrustesChartDrawsTheCentroidSwapWhenPresent) {
  AnalysisResult a = synthetic_analysis("gru-model", "gru");
  auto temporal_of = [](const AnalysisResult& r) {
    StageInputs in;
    in.add("analysis", item("analysis", r.to_artifact()));
    return section_of(run_report(in).html, "temporal");
  };
  std::string t = temporal_of(a);
  // Centroid swap: time-shifted 0.4, elapsed-shifted 0.75 (CI t(4) * 0.02 / sqrt(5)).
  EXPECT_TRUE(
      contains(t, "<title>gru-model / time-shifted: R at (i, j+2): 0.4 [0.375, 0.425]</title>"))
      << t;
  EXPECT_TRUE(contains(t, "<title>gru-model / elapsed-shifted: R at (i+1, j+2): 0.75 [")) << t;
  EXPECT_FALSE(contains(t, "<title>gru-model / time-shifted: R at (i, j+2): 0.35 ["));
  EXPECT_TRUE(contains(t, "nearest predicted centroid")) << t;
  EXPECT_TRUE(contains(t, "(swap - chance) / (fitted - chance)")) << t;
  EXPECT_TRUE(contains(t, "near-guaranteed"));
  // Without it, the decoder-weight swap, captioned as the supporting one.
  a.tables.erase("procrustes_centroids");
  t = temporal_of(a);
  EXPECT_TRUE(contains(t, "<title>gru-model / time-shifted: R at (i, j+2): 0.35 [")) << t;
  EXPECT_TRUE(contains(t, "reconstructed, R = I"));  // only the decoder-weight table has it
  EXPECT_FALSE(contains(t, "nearest predicted centroid"));
  EXPECT_TRUE(contains(t, "decoder-weight swap")) << t;
  EXPECT_TRUE(contains(t, "(swap - chance) / (fitted - chance)")) << t;
}

// The analytic chance is drawn per scoring rule (decoding `scoring`, analyze
// version 9): rows scored on all trials (1/K) and rows scored by the lag rule
// (1/(K-1), identity 1/(K - its category's size)) are never averaged into
// one line or tick. Tables without `scoring` read as all trials.
TEST(Report, DecodingChanceIsDrawnPerScoringRule) {
  AnalysisResult a = synthetic_analysis("gru-model", "gru");
  Table& d = a.tables.at("decoding");
  std::vector<std::string> scoring(d.rows(), "all");
  for (std::size_t i = 0; i < d.rows(); ++i) {
    // Retention in 1-back tasks is at lags kN: the lag rule, except (so that
    // one bar mixes the rules) in cat-1.
    if (!(d.numeric.at("train_frame")[i] > d.numeric.at("stim_frame")[i])) continue;
    if (d.text.at("task")[i] == "cat-1") continue;
    scoring[i] = "differ";
    d.numeric.at("chance")[i] = d.text.at("feature")[i] == "id" ? 1.0 / 7 : 1.0 / 3;
  }
  d.add("scoring", scoring);
  StageInputs in;
  in.add("analysis", item("analysis", a.to_artifact()));
  const std::string dec = section_of(run_report(in).html, "decoding");
  // Lines: 1/K from the all-trials rows, the lag rule's chance beside it.
  EXPECT_TRUE(contains(dec, "<title>loc 1/K: 0.25</title>")) << dec;
  EXPECT_TRUE(contains(dec, "<title>loc chance, lag rule: 0.333</title>")) << dec;
  EXPECT_TRUE(contains(dec, "<title>id chance, lag rule: 0.143</title>")) << dec;
  EXPECT_FALSE(contains(dec, "<title>loc 1/K: 0.3")) << "1/K averaged with the lag rule's 1/(K-1)";
  // Bar ticks: one rule each. Relevant retention mixes loc-1, id-1 (lag
  // rule) and cat-1 (all trials): its tick is cat's 1/K. Implied retention
  // (cat in id-1) has only lag-rule rows: its tick is theirs.
  const std::string tick = "analytic chance (one rule): ";
  EXPECT_TRUE(contains(dec, "<title>gru-model / relevant: retention, " + tick + "0.25</title>"))
      << dec;
  EXPECT_TRUE(contains(dec, "<title>gru-model / relevant: encoding, " + tick + "0.208</title>"))
      << dec;
  EXPECT_TRUE(contains(dec, "<title>gru-model / implied: retention, " + tick + "0.333</title>"))
      << dec;
  EXPECT_TRUE(contains(dec, "scored by the lag rule")) << dec;

  // Without the column (before version 9) every row is all trials, as before.
  const std::string old = section_of(run_report(full_inputs()).html, "decoding");
  EXPECT_TRUE(contains(old, "<title>loc 1/K: 0.25</title>")) << old;
  EXPECT_FALSE(contains(old, "lag rule:"));
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
                        "temporal_hypotheses", "procrustes", "procrustes_centroids", "causal",
                        "rsa", "dimensionality"})
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
                       "Omitted: the analysis has no `cross_temporal`, `temporal_hypotheses`, "
                       "`procrustes_centroids` or `procrustes` table"));
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
