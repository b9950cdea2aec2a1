// The findings stage: per-model analyses merged and decided equal one
// analysis of all the models (tables, arrays, model list and findings, byte
// for byte); alpha reruns only this stage; inputs it cannot compare are
// refused, saying why.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <utility>

#include "analyze/analyze.h"
#include "analyze/calibration.h"
#include "analyze/table_schema.h"
#include "core/artifacts.h"
#include "core/error.h"
#include "core/run_summary.h"
#include "findings/findings_stage.h"
#include "graph/plan.h"
#include "stage_kit.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

// Three seeds of a small LSTM on two tasks (min_seeds, at least 3, so that
// findings are decided), their states, one analysis per model (`per`,
// states = { each = ... }) and `verdicts` across them.
std::string three_seeds(const std::string& more = "") {
  return tiny_states_pipeline({.name = "f", .net_extra = "sweep = { seed = [1, 2, 3] }\n"}) +
         "[stage.per]\ntype = \"analyze\"\nstates = { each = \"states\" }\n"
         "models = [\"net\"]\nfolds = 3\nnull_shuffles = 2\nrandom_directions = 50\n\n"
         "[stage.verdicts]\ntype = \"findings\"\nanalysis = [\"per\"]\n" +
         more;
}

void expect_same_artifact(const Artifact& a, const Artifact& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.meta.at("params"), b.meta.at("params"));
  EXPECT_EQ(a.meta.at("tables"), b.meta.at("tables"));
  EXPECT_EQ(a.meta.at("findings"), b.meta.at("findings"));
  ASSERT_EQ(a.arrays.size(), b.arrays.size());
  for (const auto& [name, arr] : a.arrays) {
    ASSERT_TRUE(b.arrays.count(name)) << name;
    const auto x = arr.bytes(), y = b.arrays.at(name).bytes();
    EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin(), y.end())) << name;
  }
}

// The reference: one analyze instance over every model, the shape before
// issue 22. Pipeline files can no longer ask for it (analyze's `states`
// takes one instance: Findings.TheSingleAnalysisShapeIsRefusedNamingTheNewOne),
// so the stage runs directly on the run's states and networks, with the
// parameters the single-analysis stage had, each input with its cache key
// as the engine passes it (each model's Monte Carlo draws follow its
// states' key, so a model draws alike alone or beside others).
std::shared_ptr<const Artifact> one_analysis_of_all(InProcess& run, const std::string& text) {
  const Params p = stage_params(
      real_registry(), "analyze",
      "states = [\"up\"]\nmodels = [\"net\"]\nfolds = 3\nnull_shuffles = 2\nrandom_directions = "
      "50\nseed = 4\n"
      "[stage.img]\ntype = \"render\"\n[stage.cnn]\ntype = \"features\"\nstimuli = \"img\"\n"
      "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"img\"\n[stage.net]\ntype = \"train\"\nfeatures "
      "= \"cnn\"\ntasks = \"tasks\"\n"
      "[stage.up]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\nfeatures = \"cnn\"\n");
  StageInputs in;
  const auto keys = instance_keys(run.dir / "p.toml", text);
  for (const std::string seed : {"1", "2", "3"}) {
    for (const std::string stage : {"states", "net"}) {
      const std::string name = stage + "[seed=" + seed + "]";
      in.add(stage == "states" ? "states" : "models",
             InputItem{name, {{"seed", seed}}, run.get(text, name), keys.at(name)});
    }
  }
  RunContext ctx("single", run.dir / "single", 2);
  return std::make_shared<const Artifact>(AnalyzeStage().run(p, in, ctx));
}

TEST(Findings, PerModelAnalysesMergedEqualOneAnalysisOfAllModels) {
  const std::string text = three_seeds();
  InProcess run;
  const auto merged = run.get(text, "verdicts");
  // The reference plus what only the findings stage adds: the calibration
  // table's entries (an analysis carries none).
  Artifact single = *one_analysis_of_all(run, text);
  EXPECT_FALSE(single.meta.at("findings").at("4").contains("calibration"));
  analyze::attach_calibration(single.meta.at("findings"));
  expect_same_artifact(single, *merged);
  // Not vacuous: three models, rows of each, findings decided (finding 1
  // needs single-task controls, so it is not testable; finding 5's causal
  // test is testable with three seeds of one group).
  const AnalysisResult r = AnalysisResult::from_artifact(*merged);
  ASSERT_EQ(r.params.at("models").size(), 3u);
  std::set<std::string> names(r.tables.at("decoding").text.at("model").begin(),
                              r.tables.at("decoding").text.at("model").end());
  EXPECT_EQ(names, (std::set<std::string>{"states[seed=1]", "states[seed=2]", "states[seed=3]"}));
  EXPECT_EQ(r.findings.size(), 5u);
  EXPECT_NE(r.findings.at("5").at("verdict"), "not testable") << r.findings.at("5").dump(2);
}

// One model's analyses split across two per-model analyze stages by
// `analyses` (the decoder families in one, the rest in the other: on a
// cluster each is a job of its own, and the analysis on the critical path
// is the longer of the two): merged, they equal the unsplit per-model
// analyses byte for byte; the same analysis of a model in both is refused,
// naming the model, both instances and the table.
const std::string kSplit =
    "\n[stage.fam]\ntype = \"analyze\"\nstates = { each = \"states\" }\nfolds = 3\n"
    "null_shuffles = 2\nrandom_directions = 50\n"
    "analyses = [\"decoding\", \"cross_task\", \"cross_temporal\", \"procrustes\"]\n"
    "\n[stage.rest]\ntype = \"analyze\"\nstates = { each = \"states\" }\nmodels = [\"net\"]\n"
    "folds = 3\nnull_shuffles = 2\nrandom_directions = 50\n"
    "analyses = [\"orthogonality\", \"causal\", \"rsa\", \"dimensionality\"]\n"
    "\n[stage.split]\ntype = \"findings\"\nanalysis = [\"fam\", \"rest\"]\n";

TEST(Findings, OneModelsAnalysesSplitAcrossInstancesMergeToTheSame) {
  const std::string text = three_seeds(kSplit);
  InProcess run;
  const auto whole = run.get(text, "verdicts");
  const auto split = run.get(text, "split");
  expect_same_artifact(*whole, *split);
  // Not vacuous: each half holds only its own tables, and the merged
  // result has both halves' tables and the causal network of each model.
  const AnalysisResult fam = AnalysisResult::from_artifact(*run.get(text, "fam[seed=1]"));
  const AnalysisResult rest = AnalysisResult::from_artifact(*run.get(text, "rest[seed=1]"));
  EXPECT_TRUE(fam.tables.count("decoding"));
  EXPECT_FALSE(fam.tables.count("orthogonality"));
  EXPECT_TRUE(rest.tables.count("orthogonality"));
  EXPECT_FALSE(rest.tables.count("decoding"));
  EXPECT_FALSE(fam.params.contains("causal_dose"));
  EXPECT_FALSE(fam.params.at("models").at(0).contains("network"));
  const AnalysisResult r = AnalysisResult::from_artifact(*split);
  EXPECT_TRUE(r.tables.count("decoding") && r.tables.count("orthogonality") &&
              r.tables.count("causal_test"));
  ASSERT_EQ(r.params.at("models").size(), 3u);
  EXPECT_TRUE(r.params.at("models").at(0).contains("network"));
  EXPECT_TRUE(r.params.contains("causal_dose"));

  // Overlap: decoding in both halves.
  std::string both = text;
  both.replace(both.find("[\"orthogonality\", \"causal\""), 1, "[\"decoding\", ");
  write_file(run.dir / "both.toml", both);
  const auto res =
      run_cli({"run", (run.dir / "both.toml").string(), "--cache-dir", (run.dir / "cache").string(),
               "--out", (run.dir / "both").string(), "--only", "split", "--no-progress"},
              real_registry());
  EXPECT_EQ(res.code, 2) << res.err;
  // Refused at plan time, at the findings stage's `analysis` line, before
  // anything runs (the analyses are cached already: the run would have
  // reached the merge's own check in seconds).
  const std::string line = std::to_string(
      std::count(both.begin(), both.begin() + both.find("analysis = [\"fam\", \"rest\"]"), '\n') +
      1);
  EXPECT_NE(res.err.find("both.toml:" + line + ":"), std::string::npos) << res.err;
  EXPECT_NE(res.err.find("stage.split.analysis"), std::string::npos) << res.err;
  EXPECT_NE(res.err.find("model states[seed=1] would be analysed twice: \"decoding\" in both "
                         "fam[seed=1] and rest[seed=1]"),
            std::string::npos)
      << res.err;
  EXPECT_NE(res.err.find("nothing was run"), std::string::npos) << res.err;
  EXPECT_FALSE(std::filesystem::exists(run.dir / "both" / "run.json"));
}

// The analyses a findings stage merges must be alike wherever their numbers
// depend on it, checked at plan time: a parameter of every decoder (seed,
// which the analyses do not record, so the merge could not see it) is
// refused, naming both instances and the values; a parameter of an
// analysis only one of them runs is not.
TEST(Findings, AnalysesUnalikeAreRefusedAtPlanTime) {
  TempDir dir;
  const std::string text = three_seeds(kSplit);
  auto validate = [&](const std::string& name, const std::string& t) {
    write_file(dir / name, t);
    return run_cli({"validate", (dir / name).string()}, real_registry());
  };
  ASSERT_EQ(validate("same.toml", text).code, 0);
  std::string seeded = text;
  seeded.replace(seeded.find("\n[stage.rest]\ntype = \"analyze\"\n"),
                 std::string("\n[stage.rest]\ntype = \"analyze\"\n").size(),
                 "\n[stage.rest]\ntype = \"analyze\"\nseed = 11\n");
  const auto r = validate("seeded.toml", seeded);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("stage.split.analysis"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("analyses fam[seed=1] and rest[seed=1] differ in seed ("), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(" vs 11)"), std::string::npos) << r.err;
  // rsa_permutations belongs to rsa, which only `rest` runs: alike enough.
  std::string rsa = text;
  rsa.replace(rsa.find("\n[stage.rest]\ntype = \"analyze\"\n"),
              std::string("\n[stage.rest]\ntype = \"analyze\"\n").size(),
              "\n[stage.rest]\ntype = \"analyze\"\nrsa_permutations = 50\n");
  EXPECT_EQ(validate("rsa.toml", rsa).code, 0);
  // ... but not between two that both run it (the parameters are compared
  // before the overlap is).
  std::string both_rsa = rsa;
  both_rsa.replace(both_rsa.find("\"procrustes\"]"), std::string("\"procrustes\"]").size(),
                   "\"procrustes\", \"rsa\"]");
  const auto r2 = validate("both_rsa.toml", both_rsa);
  EXPECT_EQ(r2.code, 2) << r2.err;
  EXPECT_NE(r2.err.find("differ in rsa_permutations (1000 vs 50)"), std::string::npos) << r2.err;
}

// A pipeline file in the single-analysis shape (one analyze instance over a
// sweep of models) is refused at plan time, exit 2, at the port's line,
// saying what to write instead; nothing runs.
TEST(Findings, TheSingleAnalysisShapeIsRefusedNamingTheNewOne) {
  TempDir dir;
  std::string old = three_seeds();
  const std::string each = "states = { each = \"states\" }";
  old.replace(old.find(each), each.size(), "states = [\"states\"]");
  write_file(dir / "p.toml", old);
  const auto r = run_cli({"run", (dir / "p.toml").string(), "--cache-dir", (dir / "cache").string(),
                          "--out", (dir / "out").string(), "--no-progress"},
                         real_registry());
  EXPECT_EQ(r.code, 2);
  const std::string line = std::to_string(
      std::count(old.begin(), old.begin() + old.find("states = [\"states\"]"), '\n') + 1);
  EXPECT_NE(r.err.find("p.toml:" + line + ":"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stage.per.states"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("3 upstream instances"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("states = { each = [\"states\"] }"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("type \"findings\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("analysis = [\"per\"]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was run"), std::string::npos) << r.err;
  // One model in one instance is the per-model shape already: accepted.
  std::string one = old;
  one.replace(one.find("sweep = { seed = [1, 2, 3] }"),
              std::string("sweep = { seed = [1, 2, 3] }").size(), "seed = 1");
  write_file(dir / "one.toml", one);
  EXPECT_EQ(run_cli({"validate", (dir / "one.toml").string()}, real_registry()).code, 0);
}

// The reduce's own parameters rerun only the reduce: every analysis is
// found in the cache.
TEST(Findings, ChangingAlphaRerunsOnlyTheFindings) {
  TempDir dir;
  write_file(dir / "p.toml", three_seeds());
  const std::vector<std::string> common = {"--cache-dir",   (dir / "cache").string(),
                                           "--out",         (dir / "out").string(),
                                           "--no-progress", "--only",
                                           "verdicts"};
  std::vector<std::string> first = {"run", (dir / "p.toml").string()};
  first.insert(first.end(), common.begin(), common.end());
  ASSERT_EQ(run_cli(first, real_registry()).code, 0);
  std::filesystem::copy_file(dir / "out" / "findings.json", dir / "at-0.05.json");
  std::vector<std::string> again = first;
  again.insert(again.end(), {"--set", "stage.verdicts.alpha=0.01"});
  ASSERT_EQ(run_cli(again, real_registry()).code, 0);
  const auto summary =
      RunSummary::from_json(nlohmann::json::parse(read_file(dir / "out" / "run.json")));
  int analyses = 0;
  for (const auto& i : summary.instances) {
    if (i.instance.rfind("per[", 0) == 0) {  // the per-model analyses, found
      EXPECT_EQ(i.cache, CacheStatus::kHit) << i.instance;
      ++analyses;
    }
    if (i.type == "findings") {
      EXPECT_EQ(i.cache, CacheStatus::kMiss);
    }
  }
  EXPECT_EQ(analyses, 3);
  // Its findings.json and tables/ for both models; the per-model analyses
  // write none of their own.
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "findings.json"));
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "tables" / "decoding.csv"));
  for (const auto& e : std::filesystem::directory_iterator(dir / "out")) {
    EXPECT_EQ(e.path().filename().string().rfind("findings-", 0), std::string::npos) << e.path();
  }
  const auto alpha =
      nlohmann::json::parse(read_file(dir / "out" / "findings.json")).at("5").at("alpha");
  EXPECT_DOUBLE_EQ(alpha.get<double>(), 0.01);
  // tables/meta.json names each model with its states' cache key (the seed
  // of its own draws), so recompute_findings.py can work from the folder.
  const auto meta = nlohmann::json::parse(read_file(dir / "out" / "tables" / "meta.json"));
  EXPECT_EQ(meta.at("kind"), "AnalysisResult");
  const auto keys = instance_keys(dir / "p.toml", three_seeds());
  const auto& models = meta.at("meta").at("params").at("models");
  ASSERT_EQ(models.size(), 3u) << meta.dump();
  for (const auto& m : models) {
    const std::string name = m.at("name");
    ASSERT_TRUE(keys.count(name)) << name;
    EXPECT_EQ(m.at("source"), keys.at(name)) << name;
  }
  // The two runs side by side (compare_findings.py, how the README's
  // sensitivity table is made): each finding's verdict as in each file;
  // something that is not a findings.json is refused with exit 2.
  const std::string script = std::string("/usr/bin/python3 ") + WMGEOM_SOURCE_DIR +
                             "/stages/findings/compare_findings.py ";
  const std::string cmd = script + "alpha-0.05=" + (dir / "at-0.05.json").string() +
                          " alpha-0.01=" + (dir / "out" / "findings.json").string() + " > " +
                          (dir / "table.md").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string table = read_file(dir / "table.md");
  for (const auto& [label, file] : {std::pair{"alpha-0.05", dir / "at-0.05.json"},
                                    std::pair{"alpha-0.01", dir / "out" / "findings.json"}}) {
    const auto findings = nlohmann::json::parse(read_file(file));
    const auto row = table.find("| " + std::string(label) + " | ");
    ASSERT_NE(row, std::string::npos) << table;
    const std::string line = table.substr(row, table.find('\n', row) - row);
    std::size_t at = 0;
    for (const std::string k : {"1", "2", "3", "4", "5"}) {
      at = line.find("| " + findings.at(k).at("verdict").get<std::string>() + ": ", at);
      EXPECT_NE(at, std::string::npos) << "finding " << k << " in " << line;
    }
  }
  const int refused = std::system(
      (script + "x=" + (dir / "out" / "run.json").string() + " >/dev/null 2>&1").c_str());
  EXPECT_TRUE(WIFEXITED(refused) && WEXITSTATUS(refused) == 2);

  // Per-test rows: supporting tests (`deciding` false, whatever their name
  // says) only with --supporting.
  auto doc = nlohmann::json::parse(read_file(dir / "at-0.05.json"));
  auto test = [](const std::string& name, bool deciding) {
    return nlohmann::json{{"name", name}, {"effect", 0.1},  {"ci", {0.05, nullptr}},
                          {"p", 0.01},    {"passed", true}, {"deciding", deciding}};
  };
  doc["2"]["tests"] = {test("decides it", true), test("only supports it", false)};
  write_file(dir / "flagged.json", doc.dump());
  for (const bool supporting : {false, true}) {
    const std::string out = (dir / "flagged.md").string();
    const std::string c = script + "run=" + (dir / "flagged.json").string() + " --tests '^2: '" +
                          (supporting ? " --supporting" : "") + " > " + out;
    ASSERT_EQ(std::system(c.c_str()), 0) << c;
    const std::string t = read_file(out);
    EXPECT_NE(t.find("| 2: decides it | "), std::string::npos) << t;
    EXPECT_EQ(t.find("| 2: only supports it | ") != std::string::npos, supporting) << t;
  }
}

// The calibration table (how far to trust each verdict) is keyed and
// attached by the findings stage only: a new calibration.json (calibrate.py)
// changes the findings' cache key and no analysis', so it reruns the
// findings and the report, not the hours of decoders behind them.
TEST(Findings, ANewCalibrationTableRerunsOnlyTheFindings) {
  Diagnostics d;
  const auto plan = make_plan_from_text("p.toml", three_seeds(), {}, real_registry(), d);
  ASSERT_TRUE(plan) << d.format_all();
  const std::string keyed = "calibration sha256:" + analyze::calibration_sha256().substr(0, 16);
  int analyses = 0, findings = 0;
  for (const auto& inst : plan->instances) {
    const std::string type = inst.entry->stage->type();
    const bool has = std::find(inst.extras.begin(), inst.extras.end(), keyed) != inst.extras.end();
    if (type == "findings") {
      EXPECT_TRUE(has) << inst.key_text;
      ++findings;
    } else {
      EXPECT_EQ(inst.key_text.find("calibration"), std::string::npos) << inst.name;
      analyses += type == "analyze";
    }
  }
  EXPECT_EQ(analyses, 3);
  EXPECT_EQ(findings, 1);
  // The findings carry the entries; an analysis, one model's, none.
  InProcess run;
  const auto verdicts = AnalysisResult::from_artifact(*run.get(three_seeds(), "verdicts"));
  const auto one = AnalysisResult::from_artifact(*run.get(three_seeds(), "per[seed=1]"));
  const nlohmann::json& table = analyze::calibration_table();
  ASSERT_TRUE(table.contains("findings"));
  for (const std::string k : {"1", "2", "3", "4", "5"}) {
    EXPECT_FALSE(one.findings.at(k).contains("calibration")) << k;
    ASSERT_TRUE(verdicts.findings.at(k).contains("calibration")) << k;
    const auto& c = verdicts.findings.at(k).at("calibration");
    EXPECT_EQ(c.at("sha256"), analyze::calibration_sha256());
    EXPECT_FALSE(c.at("trust").get<std::string>().empty());
    const std::size_t want =
        table.at("findings").contains(k) ? table.at("findings").at(k).size() : 0;
    EXPECT_EQ(c.at("scenarios").size(), want) << k;
  }
  EXPECT_EQ(analyze::calibration_sha256().size(), 64u);
}

// Who writes findings.json and tables/ after a run (analyze's and findings'
// after_run): a per-model analysis read by a findings stage writes nothing;
// an analysis no findings stage reads writes its own; with several writers
// each has its instance's suffix. The rule follows the run's dependency graph
// and artifact kinds (run.json's "inputs" and "kind"), not stage type names.
TEST(Findings, OnlyAnalysesNoFindingsStageReadsWriteTheirOwnFiles) {
  RunSummary run;
  auto add = [&](const std::string& name, const std::string& kind, std::vector<std::string> inputs,
                 CacheStatus cache = CacheStatus::kMiss) {
    run.instances.push_back(instance_summary(name, cache, std::move(inputs), kind));
  };
  add("states[seed=1]", "StateSet", {});
  add("states[seed=2]", "StateSet", {});
  add("per[seed=1]", "AnalysisResult", {"states[seed=1]"});
  add("per[seed=2]", "AnalysisResult", {"states[seed=2]"}, CacheStatus::kHit);
  add("verdicts", "AnalysisResult", {"per[seed=1]", "per[seed=2]"});
  add("report", "Report", {"verdicts", "per[seed=1]"});
  EXPECT_EQ(findings_suffix(run, "per[seed=1]"), std::nullopt);
  EXPECT_EQ(findings_suffix(run, "per[seed=2]"), std::nullopt);
  EXPECT_EQ(findings_suffix(run, "verdicts"), std::optional<std::string>(""));
  // One more analysis that no findings stage reads: two writers, suffixed.
  add("alone", "AnalysisResult", {"states[seed=1]"});
  EXPECT_EQ(findings_suffix(run, "alone"), std::optional<std::string>("-alone"));
  EXPECT_EQ(findings_suffix(run, "verdicts"), std::optional<std::string>("-verdicts"));
  EXPECT_EQ(findings_suffix(run, "per[seed=1]"), std::nullopt);
  // A findings stage that did not take part in the run (skipped) does not
  // silence the analyses it would read.
  run.instances[4].cache = CacheStatus::kSkip;
  EXPECT_EQ(findings_suffix(run, "per[seed=1]"), std::optional<std::string>("-per.seed=1"))
      << "the instance folder name of per[seed=1]";
}

// A study grows by adding models: one more seed computes that seed's chain
// (training, capture, its own analysis) and the findings, nothing else.
TEST(Findings, AddingASeedComputesOnlyItsChainAndTheFindings) {
  TempDir dir;
  const std::vector<std::string> common = {"--cache-dir",   (dir / "cache").string(),
                                           "--out",         (dir / "out").string(),
                                           "--no-progress", "--only",
                                           "verdicts"};
  auto run_with = [&](const std::string& text) {
    write_file(dir / "p.toml", text);
    std::vector<std::string> args = {"run", (dir / "p.toml").string()};
    args.insert(args.end(), common.begin(), common.end());
    return run_cli(args, real_registry()).code;
  };
  std::string four = three_seeds();
  four.replace(four.find("sweep = { seed = [1, 2, 3] }"),
               std::string("sweep = { seed = [1, 2, 3] }").size(),
               "sweep = { seed = [1, 2, 3, 4] }");
  ASSERT_EQ(run_with(three_seeds()), 0);
  ASSERT_EQ(run_with(four), 0);
  const auto summary =
      RunSummary::from_json(nlohmann::json::parse(read_file(dir / "out" / "run.json")));
  std::set<std::string> computed;
  for (const auto& i : summary.instances) {
    if (i.cache == CacheStatus::kMiss) computed.insert(i.instance);
  }
  EXPECT_EQ(computed,
            (std::set<std::string>{"net[seed=4]", "states[seed=4]", "per[seed=4]", "verdicts"}));
}

// Replicates end to end (SCIENCE.md section 6: a replicate group is a
// configuration minus its seed). The train stage records its configuration
// as the engine keys it, minus the seed, so a second train stage that
// differs only in lr makes a group of its own, never pooled with the first;
// and a second capture of the same trainings is the same replicates, which a
// findings stage refuses (exit 2, naming both models) rather than count
// twice.
TEST(Findings, ReplicatesAreTrainingsOfOneConfigurationEndToEnd) {
  const std::string per =
      "analyses = [\"decoding\"]\nfeatures = [\"loc\"]\nframes = [0]\nfolds = 3\n"
      "permutations = 2\n";
  std::string text =
      tiny_states_pipeline({.name = "g",
                            .steps = 20,
                            .eval_every = 20,
                            .net_extra = "sweep = { seed = [1, 2] }\n"}) +
      "[stage.slow]\ntype = \"train\"\nfeatures = \"cnn\"\ntasks = \"tasks\"\nrnn = \"lstm\"\n"
      "hidden = 16\nconv_channels = 8\nembed = 16\nbatch_size = 32\nlr = 0.001\nsteps = 20\n"
      "eval_every = 20\ndevice = \"cpu\"\nsweep = { seed = [1, 2] }\n\n"
      "[stage.slow_states]\ntype = \"capture\"\nmodel = \"slow\"\ntasks = \"tasks\"\n"
      "features = \"cnn\"\n\n"
      "[stage.again]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\nfeatures = \"cnn\"\n"
      "split = \"both\"\n\n"
      "[stage.per]\ntype = \"analyze\"\nstates = { each = [\"states\", \"slow_states\"] }\n" +
      per +
      "\n[stage.verdicts]\ntype = \"findings\"\nanalysis = [\"per\"]\n\n"
      "[stage.per_again]\ntype = \"analyze\"\nstates = { each = [\"states\", \"again\"] }\n" +
      per + "\n[stage.twice]\ntype = \"findings\"\nanalysis = [\"per_again\"]\n";
  TempDir dir;
  write_file(dir / "p.toml", text);
  auto run = [&](const std::string& only) {
    return run_cli({"run", (dir / "p.toml").string(), "--cache-dir", (dir / "cache").string(),
                    "--out", (dir / ("out-" + only)).string(), "--no-progress", "--only", only},
                   real_registry());
  };
  const auto ok = run("verdicts");
  ASSERT_EQ(ok.code, 0) << ok.err;
  const auto meta = nlohmann::json::parse(read_file(dir / "out-verdicts" / "tables" / "meta.json"));
  std::map<std::string, nlohmann::json> group;  // model -> its replicate group
  for (const auto& m : meta.at("meta").at("params").at("models"))
    group[m.at("name")] = nlohmann::json::parse(m.at("group").get<std::string>());
  ASSERT_EQ(group.size(), 4u) << meta.dump();
  EXPECT_EQ(group.at("states[seed=1]"), group.at("states[seed=2]"));
  EXPECT_EQ(group.at("slow_states[seed=1]"), group.at("slow_states[seed=2]"));
  EXPECT_NE(group.at("states[seed=1]"), group.at("slow_states[seed=1]"));
  const auto& configuration = group.at("states[seed=1]").at("configuration");
  EXPECT_EQ(configuration.at("lr"), "0.003") << configuration.dump();
  EXPECT_EQ(group.at("slow_states[seed=1]").at("configuration").at("lr"), "0.001");
  EXPECT_FALSE(configuration.contains("seed")) << configuration.dump();
  EXPECT_TRUE(configuration.contains("input features")) << configuration.dump();
  EXPECT_TRUE(configuration.contains("input tasks")) << configuration.dump();
  const auto twice = run("twice");
  EXPECT_EQ(twice.code, 2) << twice.err;
  EXPECT_NE(twice.err.find("and again[seed=1] are in one replicate group"), std::string::npos)
      << twice.err;
  EXPECT_NE(twice.err.find("with the same seed 1"), std::string::npos) << twice.err;
}

// Inputs it cannot compare, each refused with what to do.
Artifact analysis(const std::string& model, const nlohmann::json& params_extra = {},
                  bool group = true, bool table = true, bool old_table = false) {
  AnalysisResult r;
  r.params = {{"folds", 3}, {"permutations", 20}};
  for (const auto& [k, v] : params_extra.items()) r.params[k] = v;
  // Seeds from the name ("m2": seed 2), so that models of one group are
  // distinct replicates.
  const int seed = std::isdigit(static_cast<unsigned char>(model.back())) ? model.back() - '0' : 1;
  nlohmann::json m = {
      {"name", model}, {"rnn", "gru"}, {"regime", "MTMF"}, {"seed", seed}, {"tasks", {"loc-1"}}};
  if (group) m["group"] = "{}";
  r.params["models"] = nlohmann::json::array({m});
  if (!table) return r.to_artifact();
  // One row of the declared decoding table (analyze/tables.toml); or, as an
  // analyze of another version would have written it, other columns.
  Table t;
  for (const auto& c : analyze::table_specs().at("decoding").columns) {
    if (old_table && c.name == "relevance") continue;
    if (c.text) {
      t.add(c.name, std::vector<std::string>{c.name == "model" ? model : "x"});
    } else {
      t.add(c.name, std::vector<double>{0.9});
    }
  }
  r.tables["decoding"] = t;
  return r.to_artifact();
}

std::string refusal(const std::vector<Artifact>& in, const std::string& params = "") {
  FindingsStage stage;
  StageInputs inputs;
  for (std::size_t i = 0; i < in.size(); ++i) {
    inputs.add("analysis", InputItem{"per[seed=" + std::to_string(i + 1) + "]",
                                     {},
                                     std::make_shared<const Artifact>(in[i])});
  }
  TempDir dir;
  RunContext ctx("findings", dir / "work", 1);
  try {
    stage.run(
        stage_params(
            real_registry(), "findings",
            params +
                "analysis = [\"a\"]\n[stage.a]\ntype = \"analyze\"\nstates = [\"st\"]\n"
                "[stage.st]\ntype = \"capture\"\nmodel = \"n\"\ntasks = \"t\"\nfeatures = \"c\"\n"
                "[stage.n]\ntype = \"train\"\nfeatures = \"c\"\ntasks = \"t\"\n"
                "[stage.t]\ntype = \"tasks\"\nstimuli = \"i\"\n[stage.c]\ntype = "
                "\"features\"\nstimuli = \"i\"\n"
                "[stage.i]\ntype = \"render\"\n"),
        inputs, ctx);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Findings, RefusesAnalysesItCannotCompare) {
  EXPECT_NE(refusal({analysis("m1"), analysis("m2", {{"folds", 5}})}).find("differ in folds"),
            std::string::npos);
  EXPECT_NE(refusal({analysis("m1"), analysis("m1")})
                .find("model m1 is in analyses per[seed=1] and per[seed=2]"),
            std::string::npos);
  EXPECT_NE(refusal({analysis("m1", {}, false)}).find("records no replicate group for model m1"),
            std::string::npos);
  EXPECT_NE(refusal({analysis("m1"), analysis("m2")}, "verdicts = \"required\"\n")
                .find("fewer than min_seeds = 3"),
            std::string::npos);
  // A table unlike this wmgeom's declaration (an analysis of another
  // version): refused as input, naming the analysis, the table and the column.
  EXPECT_NE(refusal({analysis("m1"), analysis("m2", {}, true, true, true)})
                .find("findings: analysis per[seed=2]: table \"decoding\" differs from this "
                      "wmgeom's declaration "
                      "(stages/analyze/tables.toml): column 5 is \"relevant\" where \"relevance\" "
                      "is declared"),
            std::string::npos);
  // One model (the same states key) under two names: an analysis cached
  // before its capture stage was renamed. Merged by name it would be two
  // models; refused, naming both names and both analyses.
  auto with_source = [](Artifact a, const std::string& source) {
    AnalysisResult r = AnalysisResult::from_artifact(a);
    r.params["models"][0]["source"] = source;
    return r.to_artifact();
  };
  const std::string source(32, 'c');
  const std::string renamed =
      refusal({with_source(analysis("m1"), source), with_source(analysis("n1"), source)});
  EXPECT_NE(renamed.find("analyses per[seed=1] and per[seed=2] name the same states (cache key "
                         "cccccccccccc...) differently, m1 and n1"),
            std::string::npos)
      << renamed;
  // Comparable inputs are not refused (tables left out: the findings then
  // have nothing to decide on and say so).
  EXPECT_EQ(refusal({analysis("m1", {}, true, false), analysis("m2", {}, true, false)}), "");
}

TEST(Findings, PassesTheStageKit) { expect_stage_kit({three_seeds(), "verdicts"}); }

}  // namespace
}  // namespace wmgeom::testing
