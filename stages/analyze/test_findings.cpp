// The findings' rules on hand-built tables: replicates counted per
// configuration (the configuration minus its seed), findings 1 and 2 comparing
// like with like, rows without a score skipped and counted. The calibration of
// every finding's test on planted truth: test_calibration*.cpp.
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "analyze/analyses.h"
#include "analyze/analyze.h"
#include "analyze/calibration.h"
#include "analyze/findings_rules.h"
#include "analyze/synthetic.h"
#include "core/artifacts.h"
#include "decoders/linear.h"
#include "nets/wm_model.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

// ---- Replicate groups: the configuration minus the seed ----

// A model as the analyze stage loads it: its replicate group is the
// configuration without the seed (analyze.cpp).
analyze::ModelData model(const std::string& name, const std::string& rnn,
                         const std::vector<std::string>& tasks, int seed, int hidden = 128) {
  analyze::ModelData m;
  m.name = name;
  m.rnn = rnn;
  m.tasks = nback::parse_tasks(tasks);
  m.regime =
      m.tasks.size() == 1 ? "STSF" : "STMF";  // as analyze.cpp: MTMF when the tasks' N differ
  for (const auto& t : m.tasks) {
    if (t.n != m.tasks.front().n) m.regime = "MTMF";
  }
  m.seed = seed;
  m.config = {{"rnn", rnn}, {"tasks", tasks}, {"hidden", hidden}, {"seed", seed}};
  nlohmann::json group = m.config;
  group.erase("seed");
  m.group = group.dump();
  return m;
}

std::map<std::string, Table> built(analyze::Tables& tables) {
  std::map<std::string, Table> out;
  for (const auto& [name, builder] : tables) out[name] = builder.build();
  return out;
}

// Findings 1 and 3 with models whose architecture alone would reach
// min_seeds but whose replicate groups do not.
// alpha decides: a test whose p lies between 0.01 and 0.05 (scipy:
// ttest_1samp([0.1, 0.4, 0.0, 0.5, 0.3], 0, alternative="greater") gives
// t = 2.8037, p = 0.024315) passes at alpha 0.05 and not at 0.01, and never
// against its declared direction.
TEST(Findings, AlphaDecidesWhichTestsPass) {
  namespace st = analyze::stats;
  const auto r = st::one_sample_t({0.1, 0.4, 0.0, 0.5, 0.3}, 0.0, st::Alternative::kGreater);
  ASSERT_NEAR(r.p, 0.024315116928653107, 1e-9);
  analyze::Settings s;
  for (const auto& [alpha, passes] : {std::pair{0.05, true}, std::pair{0.01, false}}) {
    s.alpha = alpha;
    nlohmann::json f;
    const auto a = analyze::findings_detail::add_test(f, "t", r, st::Alternative::kGreater, s);
    EXPECT_EQ(a.passes, passes) << "alpha " << alpha;
    ASSERT_EQ(f.at("tests").size(), 1u);
    EXPECT_DOUBLE_EQ(f.at("tests")[0].at("p").get<double>(), r.p);
    // The same p in the other direction: the effect is positive, so "less" never passes.
    nlohmann::json g;
    EXPECT_FALSE(analyze::findings_detail::add_test(g, "t", r, st::Alternative::kLess, s).passes);
  }
}

TEST(Findings, ReplicatesAreCountedPerConfigurationNotPerArchitecture) {
  analyze::Settings s;
  // Finding 3: two multi-task and two single-task GRUs, all de-orthogonalised.
  std::vector<analyze::ModelData> models;
  analyze::Tables tables;
  for (int seed = 1; seed <= 2; ++seed) {
    models.push_back(model("multi" + std::to_string(seed), "gru", {"loc-1", "loc-2"}, seed));
    models.push_back(model("single" + std::to_string(seed), "gru", {"loc-1"}, seed));
  }
  for (std::size_t i = 0; i < models.size(); ++i) {
    tables["orthogonality_summary"].add({{"model", models[i].name},
                                         {"feature", std::string("loc")},
                                         {"corrected_difference", -0.3 - 0.01 * double(i)}});
  }
  auto f = analyze::findings(built(tables), models, s);
  EXPECT_EQ(f["3"]["verdict"], "not testable") << f["3"].dump(2);
  const std::string reason3 = f["3"].value("reason", "");
  EXPECT_NE(reason3.find("GRU, multi-task MTMF (loc-1, loc-2) has 2 models"), std::string::npos)
      << reason3;

  // Finding 1: three multi-task GRUs, two multi-task LSTMs, three single-task GRUs.
  models.clear();
  tables.clear();
  for (int seed = 1; seed <= 3; ++seed) {
    models.push_back(model("gru_multi" + std::to_string(seed), "gru", {"loc-1", "loc-2"}, seed));
    if (seed <= 2)
      models.push_back(
          model("lstm_multi" + std::to_string(seed), "lstm", {"loc-1", "loc-2"}, seed));
    models.push_back(model("gru_single" + std::to_string(seed), "gru", {"loc-1"}, seed));
  }
  for (std::size_t i = 0; i < models.size(); ++i) {
    const double retention = (models[i].tasks.size() > 1 ? 0.2 : 0.0) + 0.01 * double(i % 3);
    tables["decoding"].add(
        {{"model", models[i].name},
         {"task", std::string("loc-1")},  // finding 1 compares the single-task models' cells
         {"feature", std::string("cat")},
         {"relevance", std::string("irrelevant")},
         {"stim_frame", 0.0},
         {"train_frame", 1.0},
         {"accuracy", 0.5 + retention},
         {"chance_empirical", 0.5}});
  }
  f = analyze::findings(built(tables), models, s);
  EXPECT_EQ(f["1"]["verdict"], "not testable") << f["1"].dump(2);
  const std::string reason1 = f["1"].value("reason", "");
  EXPECT_NE(reason1.find("LSTM, multi-task MTMF (loc-1, loc-2) has 2 models"), std::string::npos)
      << reason1;
}

// One cross-task cell per model at stimulus frame 0 whose normalised
// generalisation is `score`, with its validation row (validation 0.9,
// chance 0.25, the null's 95th percentile 0.35).
void add_cross_task_cell(analyze::Tables& tables, const std::string& name, double score,
                         double validation = 0.9, const std::string& train_task = "loc-1") {
  const double chance = 0.25, p95 = 0.35;
  auto row = [&](const std::string& kind, const std::string& test_task, double accuracy) {
    tables["cross_task"].add({{"model", name},
                              {"feature", std::string("loc")},
                              {"train_task", train_task},
                              {"test_task", test_task},
                              {"stim_frame", 0.0},
                              {"kind", kind},
                              {"validation", validation},
                              {"validation_chance", chance},
                              {"accuracy_centred", accuracy},
                              {"chance_empirical_centred", chance},
                              {"accuracy", accuracy},
                              {"chance_empirical", chance},
                              {"chance_p95", p95}});
  };
  row("validation", train_task, validation);
  row("generalisation", "cat-1", chance + score * (validation - chance));
}

// Finding 2 compares vanilla with each gated architecture, never with the
// two pooled: a GRU like the vanilla RNN and an LSTM far below it do not
// make "vanilla > gated" hold.
// Finding 1 on the same cells (issue 20, item 4): multi-task models (loc-1,
// loc-2) retain category only in loc-1 trials, a task the single-task
// models (loc-2) do not have; in loc-2 neither side retains it. Averaging
// the multi-task models' irrelevant features over all their tasks (before
// the fix) called that "held"; compared on the single-task models' cells
// (loc-2), there is no difference.
TEST(Findings, Finding1ComparesTheSameCells) {
  analyze::Settings s;
  std::vector<analyze::ModelData> models;
  for (int seed = 1; seed <= 3; ++seed) {
    models.push_back(model("multi" + std::to_string(seed), "gru", {"loc-1", "loc-2"}, seed));
    models.push_back(model("single" + std::to_string(seed), "gru", {"loc-2"}, seed));
  }
  analyze::Tables tables;
  const double jitter[] = {0.01, -0.01, 0.0};
  for (std::size_t i = 0; i < models.size(); ++i) {
    const auto& m = models[i];
    const double e = jitter[(i / 2 + (i % 2)) % 3];  // the two sides' seeds differ
    for (const auto& task : m.tasks) {
      const bool retains = m.tasks.size() > 1 && task.name == "loc-1";
      for (double stim : {0.0, 1.0}) {
        for (double frame = stim + 1; frame <= 2; ++frame) {
          tables["decoding"].add({{"model", m.name},
                                  {"task", task.name},
                                  {"feature", std::string("cat")},
                                  {"relevance", analyze::relevance(task, "cat")},
                                  {"stim_frame", stim},
                                  {"train_frame", frame},
                                  {"accuracy", 0.5 + (retains ? 0.2 : 0.0) + e},
                                  {"chance_empirical", 0.5}});
        }
      }
    }
  }
  auto f = analyze::findings(built(tables), models, s);
  EXPECT_EQ(f["1"]["verdict"], "not held") << f["1"].dump(2);
  EXPECT_EQ(f["1"]["numbers"]
             ["cells compared (task, feature, stimulus frame, frame of the single-task models)"],
            3)
      << f["1"].dump(2);
  // The multi-task models' retention, on loc-2's cells, is near 0.
  EXPECT_NEAR(f["1"]["numbers"]["multi1: retention above chance"].get<double>(), 0.0, 0.02)
      << f["1"].dump(2);
}

TEST(Findings, Finding2ComparesVanillaWithEachGatedArchitecture) {
  analyze::Settings s;
  const std::vector<std::string> tasks{"loc-1", "cat-1"};
  const std::map<std::string, std::vector<double>> scores{
      {"rnn", {0.92, 0.88, 0.90}}, {"gru", {0.89, 0.86, 0.91}}, {"lstm", {0.30, 0.35, 0.25}}};
  auto run = [&](const std::vector<std::string>& archs, bool extra_vanilla_group) {
    std::vector<analyze::ModelData> models;
    analyze::Tables tables;
    for (const auto& rnn : archs) {
      for (int seed = 1; seed <= 3; ++seed) {
        models.push_back(model(rnn + std::to_string(seed), rnn, tasks, seed));
        add_cross_task_cell(tables, models.back().name, scores.at(rnn)[seed - 1]);
        if (extra_vanilla_group && rnn == "rnn") {
          models.push_back(model("wide" + std::to_string(seed), rnn, tasks, seed, 512));
          add_cross_task_cell(tables, models.back().name, scores.at(rnn)[seed - 1]);
        }
      }
    }
    return analyze::findings(built(tables), models, s)["2"];
  };
  auto both = run({"rnn", "gru", "lstm"}, false);
  EXPECT_EQ(both["verdict"], "not held") << both.dump(2);
  ASSERT_EQ(both["tests"].size(), 2u) << both.dump(2);
  // The decisive test is the larger p: vanilla vs GRU.
  EXPECT_NE(both["statistic_test"].get<std::string>().find("Welch"), std::string::npos);
  double worst = 0;
  for (const auto& t : both["tests"]) worst = std::max(worst, t["p"].get<double>());
  EXPECT_DOUBLE_EQ(both["p"].get<double>(), worst);
  EXPECT_GT(worst, 0.05);
  // One gated architecture present: that one is tested.
  auto lstm_only = run({"rnn", "lstm"}, false);
  EXPECT_EQ(lstm_only["verdict"], "held") << lstm_only.dump(2);
  EXPECT_EQ(lstm_only["tests"].size(), 1u);
  auto gru_only = run({"rnn", "gru"}, false);
  EXPECT_EQ(gru_only["verdict"], "not held") << gru_only.dump(2);
  // Two vanilla groups that differ in their hidden size: not pooled.
  auto two_vanilla = run({"rnn", "lstm"}, true);
  EXPECT_EQ(two_vanilla["verdict"], "not testable") << two_vanilla.dump(2);
  EXPECT_NE(two_vanilla.value("reason", "").find("hidden = 512"), std::string::npos)
      << two_vanilla.dump(2);
}

// Finding 2's ratio (gen - chance) / (val - chance) explodes when validation
// is near chance: such cells (validation not above its null's 95th
// percentile) are excluded and counted.
TEST(Findings, Finding2ExcludesCellsWhoseValidationIsNearChance) {
  analyze::Settings s;
  std::vector<analyze::ModelData> models;
  analyze::Tables tables;
  for (const std::string rnn : {"rnn", "gru"}) {
    for (int seed = 1; seed <= 3; ++seed) {
      models.push_back(model(rnn + std::to_string(seed), rnn, {"loc-1", "cat-1", "id-1"}, seed));
      add_cross_task_cell(tables, models.back().name, rnn == "rnn" ? 0.8 : 0.4);
      // Validation 0.3, below the null's 95th percentile 0.35: a score of 3 there.
      add_cross_task_cell(tables, models.back().name, 3.0, 0.3, "cat-1");
    }
  }
  auto f = analyze::findings(built(tables), models, s)["2"];
  const auto& numbers = f["numbers"];
  const std::string excluded =
      "rnn1: cells excluded (validation not above its empirical chance's 95th percentile)";
  ASSERT_TRUE(numbers.contains(excluded)) << numbers.dump(2);
  EXPECT_EQ(numbers[excluded], 1);
  EXPECT_EQ(numbers["cells excluded, all models"], 6);
  EXPECT_NEAR(numbers["rnn1: normalised generalisation"].get<double>(), 0.8, 1e-9);
  EXPECT_NEAR(numbers["gru1: normalised generalisation"].get<double>(), 0.4, 1e-9);
}

// Rows scored by no trial (the lag rule's "none": a 2-class feature at a lag
// kN; a cell with no trial left) carry NaN scores. The findings skip them
// where they average and count them, so a table with such rows gives the
// findings of the same table without them (issue 20: analyze.cpp dropped
// them before the findings, so findings() itself averaged NaN: finding 1's
// retention and finding 2's generalisation became NaN).
TEST(Findings, RowsWithoutAScoreAreSkippedAndCounted) {
  analyze::Settings s;
  std::vector<analyze::ModelData> models;
  for (int seed = 1; seed <= 3; ++seed) {
    models.push_back(model("rnn_multi" + std::to_string(seed), "rnn", {"loc-1", "cat-1"}, seed));
    models.push_back(model("gru_multi" + std::to_string(seed), "gru", {"loc-1", "cat-1"}, seed));
    models.push_back(model("gru_single" + std::to_string(seed), "gru", {"loc-1"}, seed));
  }
  auto tables_with = [&](bool unscored) {
    analyze::Tables tables;
    for (std::size_t i = 0; i < models.size(); ++i) {
      const auto& m = models[i];
      const bool multi = m.tasks.size() > 1;
      // Spread across the seeds of each group (models are pushed seed by
      // seed), so that every test has a standard error: its t path runs.
      const double e = 0.01 * double(i / 3) - 0.01;
      // Finding 1: category (irrelevant in loc-1) one frame on, and a cell
      // two frames on without a score (2 categories at lag 2 = kN).
      for (double frame : {1.0, 2.0}) {
        const bool none = frame == 2.0;
        if (none && !unscored) continue;
        tables["decoding"].add({{"model", m.name},
                                {"task", std::string("loc-1")},
                                {"feature", std::string("cat")},
                                {"relevance", std::string("irrelevant")},
                                {"stim_frame", 0.0},
                                {"train_frame", frame},
                                {"scoring", std::string(none ? "none" : "all")},
                                {"accuracy", none ? NAN : 0.5 + (multi ? 0.2 : 0.0) + e},
                                {"chance_empirical", none ? NAN : 0.5}});
      }
      if (!multi) continue;
      // Finding 2: vanilla generalises, the GRU does not.
      add_cross_task_cell(tables, m.name, (m.rnn == "rnn" ? 0.9 : 0.3) + e);
      if (unscored) add_cross_task_cell(tables, m.name, NAN, 0.9, "cat-1");
      // Finding 4: H1 fails, H2 holds, the elapsed-shifted swap beats the time-shifted one.
      for (const char* hyp : {"H1_slot", "H2_shared"}) {
        for (bool none : {false, true}) {
          if (none && !unscored) continue;
          const bool h1 = std::string(hyp) == "H1_slot";
          tables["temporal_hypotheses"].add({{"model", m.name},
                                             {"task", std::string(none ? "cat-1" : "loc-1")},
                                             {"feature", std::string(none ? "cat" : "loc")},
                                             {"relevance", std::string("relevant")},
                                             {"hypothesis", std::string(hyp)},
                                             {"stim_frame", 0.0},
                                             {"other_frame", 1.0},
                                             {"validation", none ? NAN : 0.9},
                                             {"validation_chance", none ? NAN : 0.33},
                                             {"accuracy", none ? NAN : (h1 ? 0.35 : 0.8) + e},
                                             {"chance_empirical", none ? NAN : 0.33}});
        }
      }
      for (const char* test : {"elapsed_shifted", "time_shifted", "time_shifted_same_cell"}) {
        for (bool none : {false, true}) {
          if (none && !unscored) continue;
          const bool es = std::string(test) == "elapsed_shifted";
          const bool same_cell = std::string(test) == "time_shifted_same_cell";
          // The same rows for the declared (centroid) swap and the decoder-weight
          // one; the time-shifted swap on the elapsed-shifted cell is the
          // declared swap's partner (version 10), in its table only.
          for (const char* table : {"procrustes", "procrustes_centroids"}) {
            if (same_cell && std::string(table) == "procrustes") continue;
            tables[table].add({{"model", m.name},
                               {"task", std::string(none ? "cat-1" : "loc-1")},
                               {"feature", std::string(none ? "cat" : "loc")},
                               {"relevance", std::string("relevant")},
                               {"test", std::string(test)},
                               {"source_stim", 0.0},
                               {"source_frame", 0.0},
                               {"scoring", std::string(none ? "none" : "all")},
                               {"fitted_accuracy", none ? NAN : 0.9},
                               {"relative", none ? NAN : (es ? 0.8 : 0.4) + e},
                               {"target_above_chance", none ? 0.0 : 1.0},
                               {"accuracy", none ? NAN : (es ? 0.7 : 0.5) + e}});
          }
        }
      }
    }
    return built(tables);
  };
  const auto clean = analyze::findings(tables_with(false), models, s);
  const auto with = analyze::findings(tables_with(true), models, s);
  for (const char* k : {"1", "2", "4"}) {
    // Each planted finding holds, with a spread (a p above 0, a CI of width).
    EXPECT_EQ(clean[k]["verdict"], "held") << clean[k].dump(2);
    EXPECT_GT(clean[k]["p"].get<double>(), 0.0) << clean[k].dump(2);
    for (const char* key : {"verdict", "effect", "ci", "p", "n"})
      EXPECT_EQ(with[k][key], clean[k][key]) << k << " " << key;
  }
  EXPECT_EQ(with["1"]["numbers"]["rows without a score (skipped), all models"], 9)
      << with["1"].dump(2);
  EXPECT_EQ(with["2"]["numbers"]["cells without a score (skipped), all models"], 6)
      << with["2"].dump(2);
  // 2 H1/H2 rows and 3 declared swap rows (elapsed, time, time on the same cell).
  EXPECT_EQ(with["4"]["numbers"]["gru_multi1: rows without a score (skipped)"], 5)
      << with["4"].dump(2);
  EXPECT_EQ(with["4"]["numbers"]["gru_multi1: swap pairs used"],
            clean["4"]["numbers"]["gru_multi1: swap pairs used"]);
}

}  // namespace
}  // namespace wmgeom::testing
