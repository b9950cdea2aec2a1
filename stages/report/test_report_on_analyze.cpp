// The report on the analyze stage's own output (not hand-written fixtures):
// two synthetic models with planted codes are analysed by the real stage
// with small settings, and every analysis section of the report must draw
// from its tables: nothing omitted, no missing column. This is what catches
// a column renamed in stages/analyze and not followed here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "analyze/analyze.h"
#include "analyze/synthetic.h"
#include "core/artifacts.h"
#include "report/report.h"
#include "report/svg.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

// Trials of `tasks`; the state at frame t holds the stimulus at t (encoding
// code), the one at t - 1 and the one at t - 2 (two memory codes) for loc
// and id; unit noise. (Finding 4's swap pairs score a stimulus two frames
// after it was shown.)
StateSet planted(const std::vector<std::string>& tasks, std::uint64_t seed) {
  synth::Trials t =
      synth::trials(tasks, 96, 4, 4, seed);  // 4 frames: a swap pair (s, s + 1, s + 3)
  const int units = 16;
  torch::Tensor h = torch::randn({t.m, t.frames, units}, torch::kFloat64);
  auto labels = t.labels();
  for (const std::string f : {"loc", "id"}) {
    torch::Tensor enc = synth::code(static_cast<int>(synth::values_of(f)), units, 5.0);
    torch::Tensor mem = synth::code(static_cast<int>(synth::values_of(f)), units, 5.0);
    torch::Tensor older = synth::code(static_cast<int>(synth::values_of(f)), units, 5.0);
    for (int fr = 0; fr < t.frames; ++fr) {
      h.select(1, fr) += synth::lookup(enc, labels[f], fr);
      if (fr > 0) h.select(1, fr) += synth::lookup(mem, labels[f], fr - 1);
      if (fr > 1) h.select(1, fr) += synth::lookup(older, labels[f], fr - 2);
    }
  }
  return synth::stateset(t, h, "gru", static_cast<std::int64_t>(seed), 12);
}

AnalysisResult analyse(const std::vector<StateSet>& sets) {
  // Ports must name planned stages; these are planned, never run.
  const std::string upstream =
      "[stage.img]\ntype = \"render\"\n[stage.cnn]\ntype = \"features\"\nstimuli = \"img\"\n"
      "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"img\"\n"
      "[stage.net]\ntype = \"train\"\nfeatures = \"cnn\"\ntasks = \"tasks\"\n"
      "[stage.up]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\nfeatures = \"cnn\"\n";
  Params p = stage_params(
      real_registry(), "analyze",
      "analyses = [\"decoding\", \"cross_task\", \"orthogonality\", \"cross_temporal\", "
      "\"procrustes\", \"rsa\", \"dimensionality\"]\nfolds = 3\npermutations = 3\n"
      "null_shuffles = 2\nrandom_directions = 20\nrsa_permutations = 20\nbootstrap = 20\n"
      "seed = 3\nstates = [\"up\"]\n" +
          upstream);
  StageInputs in;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    in.add("states", InputItem{"states[seed=" + std::to_string(i) + "]",
                               {},
                               std::make_shared<const Artifact>(sets[i].to_artifact())});
  }
  TempDir dir;
  RunContext ctx("analyze", dir / "work", 2);
  return AnalysisResult::from_artifact(AnalyzeStage().run(p, in, ctx));
}

bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

// Two seeds of one GRU analysed once, shared by the tests below.
const AnalysisResult& analysed() {
  static const AnalysisResult a =
      analyse({planted({"loc-1", "id-1"}, 1), planted({"loc-1", "id-1"}, 2)});
  return a;
}

Report report_of(const AnalysisResult& a) {
  StageInputs in;
  in.add("analysis", InputItem{"analysis", {}, std::make_shared<const Artifact>(a.to_artifact())});
  ReportStage stage;
  TempDir dir;
  RunContext ctx("report", dir / "work", 1);
  Params p = stage_params(
      real_registry(), "report",
      "analysis = [\"up\"]\n[stage.up]\ntype = \"analyze\"\nstates = [\"cap\"]\n"
      "[stage.cap]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\nfeatures = \"cnn\"\n"
      "[stage.img]\ntype = \"render\"\n[stage.cnn]\ntype = \"features\"\nstimuli = \"img\"\n"
      "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"img\"\n"
      "[stage.net]\ntype = \"train\"\nfeatures = \"cnn\"\ntasks = \"tasks\"\n");
  return Report::from_artifact(stage.run(p, in, ctx));
}

TEST(Report, DrawsTheAnalyzeStagesOwnTables) {
  const Report r = report_of(analysed());
  if (const char* keep = std::getenv("WMGEOM_REPORT_KEEP"); keep && *keep) {
    std::filesystem::create_directories(keep);
    write_file(std::filesystem::path(keep) / "report-analyze.html", r.html);
  }
  // Every section of an analysis that ran is drawn; only the unconnected
  // inputs, the analysis not run (causal needs trained models) and the
  // compare and recordings stages' (not in this run) are omitted.
  for (const auto& s : r.info["sections"]) {
    const std::string id = s["id"];
    if (id == "stimuli" || id == "training" || id == "causal" || id == "models" ||
        id == "recordings")
      continue;
    EXPECT_TRUE(s["drawn"].get<bool>()) << s.dump();
  }
  EXPECT_FALSE(contains(r.html, "lacks column")) << "a column the report reads is missing";
  EXPECT_FALSE(contains(r.html, "omitted:")) << "a part of a section was not drawn";
  // The real findings: each verdict, with its test; two seeds of one GRU
  // are too few for any verdict, and the page says what to add.
  EXPECT_TRUE(contains(r.html, "<span class=\"badge na\">not testable</span>"));
  EXPECT_TRUE(contains(r.html, "<strong>To make it testable:</strong>"));
  EXPECT_TRUE(contains(r.html, "Declared test: "));
  // The tables carried what the figures need: intervals, nulls, relevance.
  for (const char* s :
       {"95% CI over folds", "permutation null (mean to 95th pct)",
        "implied (category in an identity task)", "time-shifted, R = I", "elapsed-shifted, R = I",
        "nearest predicted centroid", "chance, lag rule: ", "<th>CKA p</th>",
        "95% bootstrap interval", "<th>corrected RNN - perceptual</th>",
        "95% CI across models (seeds)", "GRU (n = 2)"})
    EXPECT_TRUE(contains(r.html, s)) << s;
  EXPECT_EQ(static_cast<std::size_t>(r.info["figures"].get<int>()), [&] {
    std::size_t n = 0;
    for (std::size_t at = r.html.find("<svg class=\"figure\""); at != std::string::npos;
         at = r.html.find("<svg class=\"figure\"", at + 1))
      ++n;
    return n;
  }());
}

// The values of one measure drawn as dots in the finding-4 chart (a dot's
// title is "group / measure: value"; a bar's adds its interval), sorted.
std::vector<std::string> dots_of(const std::string& html, const std::string& measure) {
  const std::size_t at = html.find("finding 4 across models");
  const std::string chart = at == std::string::npos ? "" : html.substr(at);
  std::vector<std::string> out;
  const std::regex dot("GRU \\(n = 2\\) / " +
                       std::regex_replace(measure, std::regex(R"([()+])"), R"(\$&)") +
                       ": ([-0-9.e+]+)</title>");
  for (std::sregex_iterator it(chart.begin(), chart.end(), dot), end; it != end; ++it)
    out.push_back((*it)[1]);
  std::sort(out.begin(), out.end());
  return out;
}

// The per-model numbers of finding 4 ending in `what`, formatted as the
// chart formats them (null: no dot), sorted.
std::vector<std::string> numbers_of(const nlohmann::json& numbers, const std::string& what) {
  std::vector<std::string> out;
  for (const auto& [key, v] : numbers.items()) {
    if (key.size() < what.size() || key.compare(key.size() - what.size(), what.size(), what) != 0)
      continue;
    if (v.is_number()) out.push_back(report::fmt(v.get<double>()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The finding-4 chart draws the numbers findings.json's verdict tested; on
// results whose findings lack them, the report recomputes them from the
// tables (the declared swap from `procrustes_centroids`) and must get the
// same values findings.cpp got from the same tables.
TEST(Report, Finding4ChartDrawsTheFindingsNumbersAndRecomputesThemAlike) {
  AnalysisResult a = analysed();
  const nlohmann::json numbers = a.findings.at("4").at("numbers");
  const std::vector<std::pair<std::string, std::string>> measures = {
      {": H1 - halfway", "H1 - halfway (paper: &lt; 0)"},
      {": H2 - chance", "H2 - empirical chance (&gt; 0)"},
      {": elapsed-shifted - time-shifted swap, relative to own targets",
       "rel. swap: elapsed - time (&gt; 0)"},
      {": elapsed-shifted swap relative, rotation - no rotation",
       "rotation - no rotation (&gt; 0)"}};
  // Both models have every measure (else the comparison below is vacuous).
  for (const auto& [key, label] : measures)
    ASSERT_EQ(numbers_of(numbers, key).size(), 2u) << key << numbers.dump();
  const std::string from_findings = report_of(a).html;
  EXPECT_TRUE(contains(from_findings, "from findings.json&#39;s numbers") ||
              contains(from_findings, "from findings.json's numbers"));
  a.findings["4"]["numbers"] = nlohmann::json::object();
  const std::string recomputed = report_of(a).html;
  EXPECT_TRUE(contains(recomputed, "recomputed here from <code>procrustes_centroids</code>"));
  for (const auto& [key, label] : measures) {
    EXPECT_EQ(dots_of(from_findings, label), numbers_of(numbers, key)) << label;
    EXPECT_EQ(dots_of(recomputed, label), numbers_of(numbers, key)) << label;
  }
}

}  // namespace
}  // namespace wmgeom::testing
