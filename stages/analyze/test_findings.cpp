// Calibration of every declared test on planted ground truth (SCIENCE.md
// section 6): for each finding, synthetic state sets where it is true and
// where it is false, each drawn 40 times with fresh seeds. The verdict must
// be "held" in at least 90% of the true draws (power) and in at most
// 5% + 2 SE of the false ones (false-positive rate: 4 of 40). Also: a
// representation with no feature information, whose images repeat across
// trials, decodes at its empirical chance under grouped folds, where folds
// stratified by trial would memorise the images.
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <functional>
#include <memory>
#include <sstream>

#include "analyze/analyses.h"
#include "analyze/analyze.h"
#include "analyze/synthetic.h"
#include "core/artifacts.h"
#include "decoders/linear.h"
#include "nets/wm_model.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

constexpr int kDraws = 40;
// 5% + 2 standard errors of a proportion over 40 draws: 0.119, i.e. 4 of 40.
constexpr int kMaxFalsePositives = 4;
constexpr int kMinTruePositives = 36;  // power >= 0.9

const std::string kUpstream =
    "[stage.img]\ntype = \"render\"\n[stage.cnn]\ntype = \"features\"\nstimuli = \"img\"\n"
    "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"img\"\n"
    "[stage.net]\ntype = \"train\"\nfeatures = \"cnn\"\ntasks = \"tasks\"\n"
    "[stage.up]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\nfeatures = \"cnn\"\n";

AnalysisResult run_analysis(const std::vector<StateSet>& sets, const std::string& body, std::uint64_t seed) {
  AnalyzeStage stage;
  Params p = stage_params(real_registry(), "analyze",
                          body + "\nseed = " + std::to_string(seed) + "\nstates = [\"up\"]\n" + kUpstream);
  StageInputs in;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    in.add("states", InputItem{"m" + std::to_string(i), {}, std::make_shared<const Artifact>(sets[i].to_artifact())});
  }
  TempDir dir;
  RunContext ctx("analyze", dir / "work", 1);
  return AnalysisResult::from_artifact(stage.run(p, in, ctx));
}

// How many of kDraws draws give verdict "held" for `finding`. With
// WMGEOM_CALIBRATION_DRAWS=N it runs N draws instead (the README's
// calibration table: 100) and returns the count scaled to kDraws, so the
// bounds below read the same; the raw count and its Clopper-Pearson interval
// are printed either way.
int held_count(const std::string& finding, const std::string& body,
               const std::function<std::vector<StateSet>(std::uint64_t)>& draw) {
  int held = 0;
  std::map<std::string, int> verdicts;
  const char* env = std::getenv("WMGEOM_CALIBRATION_DRAWS");
  const int draws = env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : kDraws;
  for (int d = 0; d < draws; ++d) {
    const std::uint64_t seed = 1000 + static_cast<std::uint64_t>(d) * 7919;
    AnalysisResult r = run_analysis(draw(seed), body, seed);
    const auto& f = r.findings.at(finding);
    EXPECT_NE(f.at("verdict"), "not testable") << f.dump(2);
    // Every decided verdict carries its declared test, n, CI and p (SCIENCE.md section 6).
    EXPECT_FALSE(f.at("test").get<std::string>().empty()) << f.dump(2);
    // n: one sample's size, or each group's for a two-sample test.
    const auto& n = f.at("n");
    EXPECT_TRUE((n.is_number() && n.get<double>() >= 2) ||
                (n.is_array() && !n.empty() && std::all_of(n.begin(), n.end(), [](const auto& k) {
                   return k.is_number() && k.template get<double>() >= 2;
                 })))
        << f.dump(2);
    EXPECT_TRUE(f.at("ci").is_array() && f.at("ci").size() == 2) << f.dump(2);
    EXPECT_TRUE(f.at("p").is_number() && f.at("p").get<double>() >= 0 && f.at("p").get<double>() <= 1) << f.dump(2);
    if (d == 0 && std::getenv("WMGEOM_TEST_VERBOSE") != nullptr) {
      std::cerr << f.dump(2) << "\n";
      for (const auto& [name, table] : r.tables) {
        if (name != "orthogonality_summary") continue;
        for (const auto& [column, values] : table.numeric) {
          std::cerr << column << ":";
          for (double v : values) std::cerr << " " << v;
          std::cerr << "\n";
        }
      }
    }
    held += f.at("verdict") == "held";
    verdicts[f.at("verdict").get<std::string>()] += 1;
    if (std::getenv("WMGEOM_TEST_FAILS") != nullptr && f.at("verdict") != "held") {
      for (const auto& t : f.at("tests")) {
        if (!t.at("passed").get<bool>()) std::cerr << t.at("name") << " effect " << t.at("effect") << " p " << t.at("p") << "\n";
      }
      if (f.contains("reason")) std::cerr << f.at("reason") << "\n";
    }
  }
  // The observed rate with its exact 95% interval, for the README's
  // calibration table (ctest -V or the test's own output shows it).
  const auto [lo, hi] = analyze::stats::clopper_pearson(held, draws);
  std::cout << "[ calibration ] finding " << finding << ": held in " << held << " of " << draws << " draws (rate "
            << std::fixed << std::setprecision(3) << double(held) / draws << ", Clopper-Pearson 95% " << lo << "-" << hi
            << ");";
  for (const auto& [verdict, count] : verdicts) std::cout << " " << verdict << " " << count;
  std::cout << std::defaultfloat << "\n";
  return draws == kDraws ? held : static_cast<int>(std::lround(double(held) * kDraws / draws));
}

torch::Tensor noise(const synth::Trials& t, int units) { return torch::randn({t.m, t.frames, units}, torch::kFloat64); }

// ---- Replicate groups: the configuration minus the seed ----

// A model as the analyze stage loads it: its replicate group is the
// configuration without the seed (analyze.cpp).
analyze::ModelData model(const std::string& name, const std::string& rnn, const std::vector<std::string>& tasks, int seed,
                         int hidden = 128) {
  analyze::ModelData m;
  m.name = name;
  m.rnn = rnn;
  m.tasks = nback::parse_tasks(tasks);
  m.regime = m.tasks.size() == 1 ? "STSF" : "STMF";  // as analyze.cpp: MTMF when the tasks' N differ
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
    tables["orthogonality_summary"].add(
        {{"model", models[i].name}, {"feature", std::string("loc")}, {"corrected_difference", -0.3 - 0.01 * double(i)}});
  }
  auto f = analyze::findings(built(tables), models, s);
  EXPECT_EQ(f["3"]["verdict"], "not testable") << f["3"].dump(2);
  const std::string reason3 = f["3"].value("reason", "");
  EXPECT_NE(reason3.find("GRU, multi-task MTMF (loc-1, loc-2) has 2 models"), std::string::npos) << reason3;

  // Finding 1: three multi-task GRUs, two multi-task LSTMs, three single-task GRUs.
  models.clear();
  tables.clear();
  for (int seed = 1; seed <= 3; ++seed) {
    models.push_back(model("gru_multi" + std::to_string(seed), "gru", {"loc-1", "loc-2"}, seed));
    if (seed <= 2) models.push_back(model("lstm_multi" + std::to_string(seed), "lstm", {"loc-1", "loc-2"}, seed));
    models.push_back(model("gru_single" + std::to_string(seed), "gru", {"loc-1"}, seed));
  }
  for (std::size_t i = 0; i < models.size(); ++i) {
    const double retention = (models[i].tasks.size() > 1 ? 0.2 : 0.0) + 0.01 * double(i % 3);
    tables["decoding"].add({{"model", models[i].name},
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
  EXPECT_NE(reason1.find("LSTM, multi-task MTMF (loc-1, loc-2) has 2 models"), std::string::npos) << reason1;
}

// One cross-task cell per model at stimulus frame 0 whose normalised
// generalisation is `score`, with its validation row (validation 0.9,
// chance 0.25, the null's 95th percentile 0.35).
void add_cross_task_cell(analyze::Tables& tables, const std::string& name, double score, double validation = 0.9,
                         const std::string& train_task = "loc-1") {
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
  EXPECT_EQ(f["1"]["numbers"]["cells compared (task, feature, stimulus frame, frame of the single-task models)"], 3)
      << f["1"].dump(2);
  // The multi-task models' retention, on loc-2's cells, is near 0.
  EXPECT_NEAR(f["1"]["numbers"]["multi1: retention above chance"].get<double>(), 0.0, 0.02) << f["1"].dump(2);
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
  EXPECT_NE(two_vanilla.value("reason", "").find("hidden = 512"), std::string::npos) << two_vanilla.dump(2);
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
  const std::string excluded = "rnn1: cells excluded (validation not above its empirical chance's 95th percentile)";
  ASSERT_TRUE(numbers.contains(excluded)) << numbers.dump(2);
  EXPECT_EQ(numbers[excluded], 1);
  EXPECT_EQ(numbers["cells excluded, all models"], 6);
  EXPECT_NEAR(numbers["rnn1: normalised generalisation"].get<double>(), 0.8, 1e-9);
  EXPECT_NEAR(numbers["gru1: normalised generalisation"].get<double>(), 0.4, 1e-9);
}

// ---- No feature information, repeated images ----

// States carry a random code per image (not per feature value) and little
// noise: identical twins across trials, nothing a decoder could generalise.
StateSet image_codes_only(std::uint64_t seed, double feature_gap) {
  synth::Trials t = synth::trials({"loc-1"}, 128, 2, 4, seed);
  const int units = 16;
  torch::Tensor codes = torch::randn({t.images(), units}, torch::kFloat64) * 3.0;
  torch::Tensor h = noise(t, units) * 0.3;
  torch::Tensor loc_code = synth::code(synth::kLocations, units, feature_gap);
  for (int f = 0; f < t.frames; ++f) {
    h.select(1, f) += codes.index_select(0, t.stimulus.select(1, f)) + synth::lookup(loc_code, t.loc, f);
  }
  return synth::stateset(t, h, "gru", static_cast<std::int64_t>(seed));
}

TEST(Calibration, RepeatedImagesDecodeAtEmpiricalChance) {
  const std::string body = "analyses = [\"decoding\"]\nfeatures = [\"loc\"]\nframes = [0]\nfolds = 4\npermutations = 20";
  int false_positives = 0, true_positives = 0;
  double leak_sum = 0, grouped_sum = 0, chance_sum = 0;
  for (int d = 0; d < kDraws; ++d) {
    const std::uint64_t seed = 500 + static_cast<std::uint64_t>(d);
    StateSet none = image_codes_only(seed, 0.0);
    AnalysisResult r = run_analysis({none}, body, seed);
    const Table& dec = r.tables.at("decoding");
    ASSERT_EQ(dec.numeric.at("train_frame")[0], 0.0);
    grouped_sum += dec.numeric.at("accuracy")[0];
    chance_sum += dec.numeric.at("chance_empirical")[0];
    false_positives += dec.numeric.at("p_permutation")[0] < 0.05;
    // The same states with folds stratified by trial: the held-out images
    // are in the training folds, and a linear decoder memorises them.
    torch::Tensor x = nets::view(none.hidden).select(1, 0).to(torch::kFloat64);
    torch::Tensor y = nets::view(none.location).select(1, 0).to(torch::kLong);
    std::vector<std::int64_t> yv(y.data_ptr<std::int64_t>(), y.data_ptr<std::int64_t>() + y.numel());
    auto folds = decoders::stratified_folds(yv, 4, seed);
    leak_sum += decoders::cross_validate(x.unsqueeze(0), y.unsqueeze(0), folds, 4, 4, {.model = decoders::Model::kSvm}).mean().item<double>();
    // With a real code of the feature, the permutation test detects it.
    StateSet some = image_codes_only(seed, 6.0);
    AnalysisResult s = run_analysis({some}, body, seed);
    true_positives += s.tables.at("decoding").numeric.at("p_permutation")[0] < 0.05;
  }
  EXPECT_NEAR(grouped_sum / kDraws, 0.25, 0.05);
  EXPECT_NEAR(chance_sum / kDraws, 0.25, 0.05);
  EXPECT_GT(leak_sum / kDraws, 0.6) << "folds by trial should memorise repeated images";
  EXPECT_LE(false_positives, kMaxFalsePositives);
  EXPECT_GE(true_positives, kMinTruePositives);
}

// ---- Finding 1: retention of task-irrelevant features ----

// Multi-task models (loc-1, loc-2) and single-task models (loc-1) hold
// location one frame on; category (irrelevant to both) is held by the
// multi-task models, and by the single-task ones only if `single_retains`.
std::vector<StateSet> retention(std::uint64_t seed, bool single_retains) {
  std::vector<StateSet> out;
  torch::manual_seed(static_cast<std::int64_t>(seed));
  for (int k = 0; k < 6; ++k) {
    const bool multi = k < 3;
    synth::Trials t = synth::trials(multi ? std::vector<std::string>{"loc-1", "loc-2"} : std::vector<std::string>{"loc-1"},
                                    64, 3, 4, seed * 31 + k);
    const int units = 48;  // >= the training trials: the solver's sample-space regime, as for real states
    torch::Tensor el = synth::code(4, units, 4.0), ec = synth::code(2, units, 4.0);
    torch::Tensor ml = synth::code(4, units, 3.0), mc = synth::code(2, units, 2.5);
    torch::Tensor h = noise(t, units);
    for (int f = 0; f < t.frames; ++f) {
      h.select(1, f) += synth::lookup(el, t.loc, f) + synth::lookup(ec, t.cat, f);
      if (f > 0) {
        h.select(1, f) += synth::lookup(ml, t.loc, f - 1);
        if (multi || single_retains) h.select(1, f) += synth::lookup(mc, t.cat, f - 1);
      }
    }
    out.push_back(synth::stateset(t, h, "gru", k));
  }
  return out;
}

const std::string kRetentionBody = "analyses = [\"decoding\"]\nfeatures = [\"loc\", \"cat\"]\nfolds = 4\npermutations = 2";

TEST(Calibration, Finding1Power) {
  EXPECT_GE(held_count("1", kRetentionBody, [](std::uint64_t s) { return retention(s, false); }), kMinTruePositives);
}
TEST(Calibration, Finding1FalsePositives) {
  EXPECT_LE(held_count("1", kRetentionBody, [](std::uint64_t s) { return retention(s, true); }), kMaxFalsePositives);
}

// ---- Finding 2: shared vs task-specific subspaces ----

// Location encoded at frame 0 by a code shared across tasks (weight
// `shared`) plus a task-specific one; vanilla models get `vanilla_shared`.
std::vector<StateSet> subspaces(std::uint64_t seed, double vanilla_shared, double gated_shared) {
  std::vector<StateSet> out;
  torch::manual_seed(static_cast<std::int64_t>(seed));
  for (int k = 0; k < 6; ++k) {
    const std::string rnn = k < 3 ? "rnn" : "gru";
    const double shared = k < 3 ? vanilla_shared : gated_shared;
    synth::Trials t = synth::trials({"loc-1", "cat-1"}, 96, 1, 4, seed * 31 + k);
    const int units = 16;
    torch::Tensor common = synth::code(4, units, 4.0);
    torch::Tensor h = noise(t, units);
    for (std::int64_t task = 0; task < 2; ++task) {
      torch::Tensor own = synth::code(4, units, 4.0);
      torch::Tensor rows = t.task.eq(task).nonzero().squeeze(1);
      torch::Tensor loc = t.loc.index_select(0, rows);
      torch::Tensor add = synth::lookup(common, loc, 0) * shared + synth::lookup(own, loc, 0) * std::sqrt(1 - shared * shared);
      h.select(1, 0).index_add_(0, rows, add);
    }
    out.push_back(synth::stateset(t, h, rnn, k));
  }
  return out;
}

const std::string kCrossTaskBody = "analyses = [\"cross_task\"]\nfeatures = [\"loc\"]\nfolds = 4\npermutations = 5";

TEST(Calibration, Finding2Power) {
  EXPECT_GE(held_count("2", kCrossTaskBody, [](std::uint64_t s) { return subspaces(s, 0.95, 0.6); }), kMinTruePositives);
}
TEST(Calibration, Finding2FalsePositives) {
  EXPECT_LE(held_count("2", kCrossTaskBody, [](std::uint64_t s) { return subspaces(s, 0.6, 0.6); }), kMaxFalsePositives);
}

// ---- Finding 3: de-orthogonalisation at different dimensions ----

// The perceptual space of finding 3's generators, one for every model of a
// draw: a vector per image (`dims`-d), its location's random mean (norm 4)
// plus unit Gaussian noise. Returns (location means [4, dims], vectors
// [images, dims]) and leaves torch's generator where the generators go on.
std::pair<torch::Tensor, torch::Tensor> location_space(std::uint64_t seed, int dims) {
  synth::Trials t0 = synth::trials({"loc-1"}, 192, 1, 4, seed);
  torch::manual_seed(static_cast<std::int64_t>(seed) + 1);
  torch::Tensor image = torch::arange(t0.images(), torch::kLong);
  torch::Tensor loc = image.div(t0.views * synth::kIdentities, "floor");
  torch::Tensor loc_code = synth::code(4, dims, 4.0);
  torch::Tensor per_image = torch::randn({t0.images(), dims}, torch::kFloat64) + loc_code.index_select(0, loc);
  return {loc_code, per_image};
}

// Perceptual vectors (48-d, one per image, the same for every model): random
// location means, near-equidistant (O ~ 1 - 1/(K-1)). The RNN (12 units)
// sees a random projection of them plus noise; with `collapse`, it replaces
// the location part by means in two pairs, +-v plus a small class-specific
// offset. Replicates share their configuration's geometry (the projection,
// v and the offsets) and differ in their trials, their noise and a
// seed-specific perturbation of the projection (half its size), as seeds of
// one configuration do.
// The noise (SD 3 per unit) makes the classes overlap, so that one-vs-rest
// normals follow the class means (+-v: O low). With well separated classes
// (SD 0.3, this generator until issue 28) the normals are set by the narrow
// margins between the classes of a pair, not by v, and the planted "collapse"
// is no de-orthogonalisation in the representation's own geometry: O(rnn)
// read 0.60-0.68 against 0.69 perceptual, corrected difference -0.005 on
// average (one draw, 6 models); only the version-5 whitened path saw it.
// Effect size, from the study's multi-task models (issue 28 run, all
// frames): -0.047 to -0.095 per model, group means -0.056 to -0.071, seed SD
// 0.005-0.024. This generator plants about -0.05 with a seed SD of about
// 0.03 (one draw: -0.049 -0.053 -0.095 -0.004 -0.051 -0.056), a smaller
// effect relative to its spread than the study's.
std::vector<StateSet> orthogonality(std::uint64_t seed, bool collapse, double noise_sd = 3.0) {
  std::vector<StateSet> out;
  const int dims = 48, units = 12;
  auto [loc_code, per_image] = location_space(seed, dims);
  // The configuration's geometry, shared by its seeds.
  torch::Tensor proj = torch::randn({dims, units}, torch::kFloat64) / std::sqrt(double(dims));
  torch::Tensor v = synth::code(1, units, 5.0);
  torch::Tensor offsets = synth::code(4, units, 2.0);
  for (int k = 0; k < 6; ++k) {
    // Multi-task models (finding 3's verdict comes from the multi-task
    // replicate groups), one replicate group of six seeds.
    synth::Trials t = synth::trials({"loc-1", "loc-2"}, 768, 1, 4, seed * 31 + k);
    torch::Tensor p = proj + 0.5 * torch::randn({dims, units}, torch::kFloat64) / std::sqrt(double(dims));
    torch::Tensor x = per_image.index_select(0, t.stimulus.select(1, 0));
    torch::Tensor l = t.loc.select(1, 0);
    torch::Tensor h;
    if (collapse) {
      torch::Tensor sign = torch::where(l.lt(2), torch::ones({t.m}, torch::kFloat64), -torch::ones({t.m}, torch::kFloat64));
      h = torch::mm(x - loc_code.index_select(0, l), p) * 0.5 + sign.unsqueeze(1) * v + offsets.index_select(0, l);
    } else {
      h = torch::mm(x, p);
    }
    h = h + torch::randn({t.m, units}, torch::kFloat64) * noise_sd;
    out.push_back(synth::stateset(t, h.unsqueeze(1), "gru", k, dims, per_image));
  }
  return out;
}

const std::string kOrthogonalityBody = "analyses = [\"orthogonality\"]\nfeatures = [\"loc\"]\nfolds = 4\nnull_shuffles = 5\n"
                                       "random_directions = 20";

// The test finding 3 uses at matched separability: the across-seed standard
// error plus a variance every seed shares (the images' bootstrap variance),
// Welch-Satterthwaite df. Values from scipy (t, df, p, one-sided bound), and
// a zero extra variance gives the plain one-sample t (scipy's ttest_1samp).
TEST(Findings, SharedVarianceWidensTheOneSampleTest) {
  const std::vector<double> x{-0.05, -0.03, -0.07, -0.02};
  const auto r = analyze::stats::one_sample_t_plus(x, 0.0, 0.0004, 99, analyze::stats::Alternative::kLess);
  EXPECT_NEAR(r.statistic, -1.8585433185514593, 1e-9);
  EXPECT_NEAR(r.df, 41.10466794519464, 1e-6);
  EXPECT_NEAR(r.p, 0.0351313069679861, 1e-9);
  EXPECT_NEAR(r.ci_hi, -0.004019268910636628, 1e-9);
  EXPECT_TRUE(std::isinf(r.ci_lo));
  const auto plain = analyze::stats::one_sample_t_plus(x, 0.0, 0.0, 99, analyze::stats::Alternative::kLess);
  EXPECT_NEAR(plain.statistic, -3.8333947428144275, 1e-9);
  EXPECT_NEAR(plain.p, 0.01564431818538365, 1e-9);
  EXPECT_DOUBLE_EQ(plain.df, 3);
  EXPECT_FALSE(analyze::stats::one_sample_t_plus(x, 0.0, std::nan(""), 99, analyze::stats::Alternative::kLess).defined());
}

// The image bootstrap's counts depend on (seed, resample, image) alone, so
// two models that show an image resample it alike, and they are Poisson(1):
// mean and variance 1 over many images.
TEST(Findings, ImageBootstrapCountsArePoissonAndSharedByImage) {
  double sum = 0, sum2 = 0;
  const int images = 20000;
  for (int i = 0; i < images; ++i) {
    const int c = analyze::image_bootstrap_count(7, 3, i);
    EXPECT_EQ(c, analyze::image_bootstrap_count(7, 3, i));
    sum += c;
    sum2 += double(c) * c;
  }
  const double m = sum / images, v = sum2 / images - m * m;
  EXPECT_NEAR(m, 1.0, 0.03);
  EXPECT_NEAR(v, 1.0, 0.05);
  int differ = 0;
  for (int i = 0; i < 200; ++i) differ += analyze::image_bootstrap_count(7, 3, i) != analyze::image_bootstrap_count(7, 4, i);
  EXPECT_GT(differ, 50);  // resamples differ
}

// Finding 3's calibration (issue 20), 40 draws each, Clopper-Pearson 95%.
// Before the image bootstrap (the as-measured test AND the same on per-image
// means at equal rank and equal separability, intersection-union): power 35
// of 40, the noisier copies held in 8 of 40 (SD 3) and 6 of 40 (SD 0.5).
// Every model of a draw shares one perceptual space (as every model of a
// study shares one image set), so the index's sampling error over images is
// common to all seeds and was absent from the across-seed t-test. With the
// images' share of the variance (the seeds' mean covariance over a Poisson
// bootstrap of images) added to the test at matched separability
// (2026-12-03, analyze version 8): noisier copies 3 of 40 [0.016, 0.204]
// and 3 of 40 [0.016, 0.204]; power 33 of 40 [0.672, 0.927]. (Adding the
// whole bootstrap variance of the group mean instead: 3, 3 and 32 of 40.)
// The false-positive bounds hold; power stays below 0.9 at this planted
// effect (about -0.05, seed SD about 0.03: a smaller effect relative to its
// spread than the study's), so the power test keeps its true bound and stays
// disabled; findings.json's caveat on finding 3 gives these numbers.
TEST(Calibration, DISABLED_Finding3Power) {
  EXPECT_GE(held_count("3", kOrthogonalityBody, [](std::uint64_t s) { return orthogonality(s, true); }), kMinTruePositives);
}
// Nulls with one class geometry in both spaces. The perceptual vectors are
// orthogonality()'s; each RNN (12 units) holds an exact isometric copy of
// the location means' span plus 8 other perceptual directions (an
// orthonormal map: inner products, hence the class geometry, unchanged),
// random per seed, and its own noise of SD `noise_sd` per unit. Only the
// separability differs between the spaces: at SD 3 the RNN's location
// accuracy (per-image means, cross-validated) is 0.86-0.95 against 0.95
// perceptual in the first draw, at SD 0.5 0.95-0.98.
std::vector<StateSet> noisier_copy(std::uint64_t seed, double noise_sd) {
  std::vector<StateSet> out;
  const int dims = 48, units = 12;
  auto [loc_code, per_image] = location_space(seed, dims);
  for (int k = 0; k < 6; ++k) {
    synth::Trials t = synth::trials({"loc-1", "loc-2"}, 768, 1, 4, seed * 31 + k);
    torch::Tensor basis = torch::cat({loc_code.t(), torch::randn({dims, units - 4}, torch::kFloat64)}, 1);
    torch::Tensor q = std::get<0>(torch::linalg_qr(basis));  // [dims, units], orthonormal columns
    torch::Tensor x = per_image.index_select(0, t.stimulus.select(1, 0));
    torch::Tensor h = torch::mm(x, q) + torch::randn({t.m, units}, torch::kFloat64) * noise_sd;
    out.push_back(synth::stateset(t, h.unsqueeze(1), "gru", k, dims, per_image));
  }
  return out;
}

TEST(Calibration, Finding3FalsePositivesANoisierCopyOfThePerceptualSpace) {
  EXPECT_LE(held_count("3", kOrthogonalityBody, [](std::uint64_t s) { return noisier_copy(s, 3.0); }), kMaxFalsePositives);
}
TEST(Calibration, Finding3FalsePositivesASlightlyNoisierCopy) {
  EXPECT_LE(held_count("3", kOrthogonalityBody, [](std::uint64_t s) { return noisier_copy(s, 0.5); }), kMaxFalsePositives);
}

// ---- Finding 4: chronological vs static memory codes ----

// Chronological: the stimulus shown at frame i is held in the encoding code
// E at frame i and in a code M_k that depends on the elapsed time k = t - i
// (shared by every stimulus). Static: each stimulus position i has its own
// slot code S_i, held unchanged.
std::vector<StateSet> memory_codes(std::uint64_t seed, bool chronological) {
  std::vector<StateSet> out;
  torch::manual_seed(static_cast<std::int64_t>(seed));
  for (int k = 0; k < 3; ++k) {
    synth::Trials t = synth::trials({"loc-1", "loc-2"}, 64, 4, 4, seed * 31 + k);
    const int units = 64;
    std::vector<torch::Tensor> codes;
    for (int c = 0; c < 4; ++c) codes.push_back(synth::code(4, units, 4.0));
    torch::Tensor h = noise(t, units);
    for (int f = 0; f < t.frames; ++f) {
      for (int i = 0; i <= f; ++i) {
        if (chronological && f - i > 2) continue;  // held for two frames
        const torch::Tensor& c = chronological ? codes[f - i] : codes[i];
        h.select(1, f) += synth::lookup(c, t.loc, i);
      }
    }
    out.push_back(synth::stateset(t, h, "gru", k));
  }
  return out;
}

// 10 label permutations (the schema's default is 20): the swap sub-test
// keeps only cells whose target decoders beat the 95th percentile of their
// empirical chance, which 2 permutations (as before the fix) cannot estimate;
// with 2, power fell to 21 of 40 draws, with 10 it is 36 of 40.
const std::string kMemoryBody =
    "analyses = [\"cross_temporal\", \"procrustes\"]\nfeatures = [\"loc\"]\nfolds = 4\npermutations = 10";

TEST(Calibration, Finding4Power) {
  EXPECT_GE(held_count("4", kMemoryBody, [](std::uint64_t s) { return memory_codes(s, true); }), kMinTruePositives);
}
TEST(Calibration, Finding4FalsePositives) {
  EXPECT_LE(held_count("4", kMemoryBody, [](std::uint64_t s) { return memory_codes(s, false); }), kMaxFalsePositives);
}


// Codes that turn while they decay (issue 20, item 3). Stimulus i is held at
// frame f >= i in a code C G_1 ... G_k scaled by `decay`^k, k = f - i the
// elapsed time: C a centred class code (4 locations), each G_k a rotation
// of C's own 3-d span by 90 degrees about one of three orthogonal axes (a
// rotation within the normals' span, so that K class correspondences
// determine it; one out of their span is not identifiable). With `elapsed_specific`, each elapsed step has its own
// rotation G_k; without, one fixed rotation G turns every code every frame,
// whatever its elapsed time. Today's swap test compared raw accuracies at
// different elapsed times (t + 1 - s vs t + 2 - s): decay alone made the
// elapsed-shifted swap win under one fixed rotation. 8 units, 256 trials
// per task: decoders whose normals estimate the rotation well.
std::vector<StateSet> turning_codes(std::uint64_t seed, bool elapsed_specific, double decay) {
  std::vector<StateSet> out;
  torch::manual_seed(static_cast<std::int64_t>(seed));
  for (int k = 0; k < 3; ++k) {
    synth::Trials t = synth::trials({"loc-1", "loc-2"}, 256, 4, 4, seed * 31 + k);
    const int units = 8;
    torch::Tensor c = synth::code(4, units, 1.0);
    c = c - c.mean(0, true);
    c = c / c.norm(2, 1, true) * 4.0;
    torch::Tensor basis = std::get<0>(torch::linalg_qr(c.t())).narrow(1, 0, 3);  // [units, 3]: C's span
    // Axes: an orthonormal basis of the span in random orientation; the
    // elapsed-specific steps turn about a different one each (e - 1 mod 3),
    // so that consecutive steps differ.
    torch::Tensor axes = std::get<0>(torch::linalg_qr(torch::randn({3, 3}, torch::kFloat64)));
    auto rotation = [&](int axis) {
      // 90 degrees about one axis of the span (Rodrigues: I + K + K^2).
      torch::Tensor a = axes.select(1, axis);
      const double a0 = a[0].item<double>(), a1 = a[1].item<double>(), a2 = a[2].item<double>();
      torch::Tensor kx = torch::tensor({0.0, -a2, a1, a2, 0.0, -a0, -a1, a0, 0.0}, torch::kFloat64).view({3, 3});
      torch::Tensor g = torch::eye(3, torch::kFloat64) + kx + torch::mm(kx, kx);
      return torch::eye(units, torch::kFloat64) + torch::mm(torch::mm(basis, g - torch::eye(3, torch::kFloat64)), basis.t());
    };
    const torch::Tensor fixed = rotation(0);
    std::vector<torch::Tensor> codes{c};  // codes[e]: the code at elapsed time e
    for (int e = 1; e < t.frames; ++e) {
      codes.push_back(torch::mm(codes.back(), (elapsed_specific ? rotation((e - 1) % 3) : fixed).t()) * decay);
    }
    torch::Tensor h = noise(t, units);
    for (int f = 0; f < t.frames; ++f) {
      for (int i = 0; i <= f; ++i) h.select(1, f) += synth::lookup(codes[f - i], t.loc, i);
    }
    out.push_back(synth::stateset(t, h, "gru", k));
  }
  return out;
}

const std::string kSwapBody =
    "analyses = [\"cross_temporal\", \"procrustes\"]\nfeatures = [\"loc\"]\nfolds = 4\npermutations = 10";

// How many of `draws` draws pass finding 4's swap sub-test (the test whose
// name contains "time-shifted swap": the one multi-task group's).
int swap_passes(int draws, bool elapsed_specific, double decay) {
  int passes = 0;
  for (int d = 0; d < draws; ++d) {
    const std::uint64_t seed = 7000 + static_cast<std::uint64_t>(d) * 7919;
    AnalysisResult r = run_analysis(turning_codes(seed, elapsed_specific, decay), kSwapBody, seed);
    const auto& f = r.findings.at("4");
    bool found = false;
    for (const auto& test : f.at("tests")) {
      if (test.at("name").get<std::string>().find("time-shifted swap") == std::string::npos) continue;
      found = true;
      passes += test.at("passed").get<bool>();
    }
    EXPECT_TRUE(found) << f.dump(2);
  }
  std::cerr << "finding 4 swap sub-test (" << (elapsed_specific ? "elapsed-specific rotations" : "one fixed rotation")
            << ", decay " << decay << "): passed in " << passes << " of " << draws << " draws\n";
  return passes;
}

// The adversarial null of the swap test: one fixed rotation every frame,
// amplitude x0.7 per frame. Raw accuracies at different elapsed times passed
// it (in 40 of 40 draws at 6a3ccb4, 2 of 40 after the fix); scored against their own targets the
// two swaps are alike.
// OPEN (issue 20): with the rotation made unique (closest to the identity,
// analyze version 7) this null passes the swap sub-test in 23 of 40 draws:
// the 2 of 40 before came from LAPACK's arbitrary completion of a rotation
// that K class normals determine on K - 1 dimensions only. The swap test
// needs a redesign for that; disabled until then, findings.json carries the
// caveat on finding 4.
TEST(Calibration, DISABLED_Finding4SwapIgnoresDecayUnderOneFixedRotation) {
  EXPECT_LE(swap_passes(kDraws, false, 0.7), kMaxFalsePositives);
}
// The positive control: a rotation per elapsed step, with the same decay
// (40 of 40 draws before and after the fix).
TEST(Calibration, Finding4SwapDetectsElapsedTimeSpecificRotation) {
  EXPECT_GE(swap_passes(kDraws, true, 0.7), kMinTruePositives);
}

// ---- The causal test (finding 5): planted networks and an adversarial null ----

// "k of n, 95% CI [lo, hi]" (Clopper-Pearson) for a calibration count.
std::string count_text(int k, int n) {
  const auto [lo, hi] = analyze::stats::clopper_pearson(k, n);
  std::ostringstream out;
  out << k << " of " << n << " (" << 100.0 * k / n << "%, Clopper-Pearson 95% CI [" << lo << ", " << hi << "])";
  return out.str();
}

// A multi-task model built by hand (tasks cat-1 and cat-2, K = 2, three
// frames), whose states live in a random 4-dimensional subspace S of R^24,
// isotropic within S (unit variance along every direction of S; SD 0.3
// noise outside it). The remembered category of the stimulus at frame 0 sits
// along one axis e of S (class means -+0.8); the probe (frame 1 in cat-1,
// frame 2 in cat-2) is always category 1, so trials remembering category 0
// are non-matches. The RNN: h' = tanh(h / 2), no input; match logit
// gain * (lambda * e + r) . h', r a random unit direction of S.
// lambda = 0 is the adversarial null of issue 20 ("isotropic-only"): a
// shift along any direction of S moves the readout as much as a shift along
// the decoder, with no relation to the remembered class; an isotropic null
// in R^24 is fooled by it (a fitted direction lies in S, random ones mostly
// outside it). lambda = 1 is a realistic causal effect (below).
struct PlantedCausal {
  nets::WmModel net{nullptr};
  analyze::ModelData d;
};
std::unique_ptr<PlantedCausal> planted_causal(std::uint64_t seed, double lambda, const std::string& name = "planted",
                                              std::int64_t units = 32, double outside = 0.3) {
  torch::manual_seed(static_cast<std::int64_t>(seed));
  const std::int64_t per_task = 64, m = 2 * per_task, sub = 8, frames = 3;
  // The realistic effect: at the declared 5 SD, p(+shift) - p(-shift) about
  // 0.3 (the study's correctly matched networks: 0.26-0.62 at 5 SD), and a
  // null whose typical response is about 0.1 (the study's networks probed
  // with another seed's states, i.e. directions the network does not read:
  // |response| <= 0.1 at 5 SD).
  const double gain = 0.35, class_weight = 3.0;
  auto p = std::make_unique<PlantedCausal>();
  nets::WmModelConfig cfg;
  cfg.rnn = "rnn";
  cfg.hidden = static_cast<int>(units);
  cfg.conv_channels = 1;
  cfg.embed = 4;
  cfg.feature_shape = {1, 1, 1};
  cfg.cue_dim = 1;
  cfg.readout_norm = false;
  p->net = nets::WmModel(cfg);
  torch::Tensor basis = std::get<0>(torch::linalg_qr(torch::randn({units, sub}, torch::kFloat64)));  // [24, 4]
  torch::Tensor e = basis.select(1, 0);
  torch::Tensor xi = torch::randn({sub}, torch::kFloat64);
  torch::Tensor r = torch::mv(basis, xi / xi.norm());
  torch::Tensor u = gain * (lambda * class_weight * e + r);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : p->net->named_parameters()) {
      const std::string& pname = item.key();
      torch::Tensor& param = item.value();
      if (pname.rfind("rnn.", 0) == 0 || pname.rfind("readout.", 0) == 0) param.zero_();
      if (pname == "rnn.weight_hh_l0") param.copy_(torch::eye(units) * 0.5);
      if (pname == "readout.weight") param[2].copy_(u.to(torch::kFloat32));
    }
  }
  analyze::ModelData& d = p->d;
  d.name = name;
  d.rnn = "rnn";
  d.regime = "MTMF";
  d.group = "planted";
  d.tasks = nback::parse_tasks({"cat-1", "cat-2"});
  d.task = torch::cat({torch::zeros({per_task}, torch::kLong), torch::ones({per_task}, torch::kLong)});
  torch::Tensor cat = torch::randint(2, {m}, torch::kLong);
  torch::Tensor other = torch::randint(2, {m}, torch::kLong);
  torch::Tensor probe_is_1 = d.task.eq(0);
  // Category 1 at the probe (frame 1 in cat-1, frame 2 in cat-2); the other frame random.
  torch::Tensor at1 = torch::where(probe_is_1, torch::ones({m}, torch::kLong), other);
  torch::Tensor at2 = torch::where(probe_is_1, other, torch::ones({m}, torch::kLong));
  d.labels["cat"] = torch::stack({cat, at1, at2}, 1);
  d.stimulus = torch::stack({cat * 10 + torch::randint(10, {m}, torch::kLong), 20 + at1, 30 + at2}, 1);
  torch::Tensor verdict = torch::where(cat.eq(1), torch::full({m}, nback::kMatch, torch::kLong),
                                       torch::full({m}, nback::kNonMatch, torch::kLong));
  torch::Tensor none = torch::full({m}, nback::kNoAction, torch::kLong);
  d.targets = torch::stack({none, torch::where(probe_is_1, verdict, none), torch::where(probe_is_1, none, verdict)}, 1);
  torch::Tensor z = torch::randn({m, frames, sub}, torch::kFloat64);
  z.select(2, 0).mul_(0.6).add_((cat.to(torch::kFloat64) * 1.6 - 0.8).unsqueeze(1));
  torch::Tensor h = torch::matmul(z, basis.t()) + outside * torch::randn({m, frames, units}, torch::kFloat64);
  d.states = h;
  d.hidden = h.to(torch::kFloat32);
  d.embedding = torch::zeros({m, frames, 4});
  d.model = &p->net;
  return p;
}

analyze::Settings causal_settings(std::uint64_t seed) {
  analyze::Settings st;
  st.features = {"cat"};
  st.classes = {{"cat", 2}};
  st.options.model = decoders::Model::kSvm;
  st.folds = 3;
  st.seed = seed;
  return st;
}

// The per-row p of the dose-response (descriptive) at +5 SD, stimulus frame
// 0, task cat-1, of one planted model.
double causal_row_p(std::uint64_t seed, double lambda) {
  auto p = planted_causal(seed, lambda, "planted", 64, 0.05);
  analyze::Settings st = causal_settings(seed);
  st.frames = {0};
  st.causal_sds = {5.0};
  analyze::Tables tables;
  analyze::causal(p->d, st, tables);
  Table t = tables.at("causal").build();
  return t.numeric.at("p")[0];
}

// The verdict of finding 5 on one draw: a replicate group of three planted
// multi-task models (three seeds: each its own readout, subspace and trials).
std::string causal_verdict(std::uint64_t seed, double lambda) {
  analyze::Settings st = causal_settings(seed);
  analyze::Tables tables;
  std::vector<analyze::ModelData> models;
  for (int i = 0; i < 3; ++i) {
    auto p = planted_causal(seed * 3 + static_cast<std::uint64_t>(i), lambda, "planted[seed=" + std::to_string(i) + "]");
    analyze::causal(p->d, st, tables);
    analyze::ModelData info = p->d;
    info.model = nullptr;
    models.push_back(std::move(info));
  }
  std::map<std::string, Table> built;
  for (const auto& [name, b] : tables) built[name] = b.build();
  return analyze::findings(built, models, st).at("5").at("verdict").get<std::string>();
}

constexpr int kCausalDraws = 100;

// The isotropic-only null fools a null of random directions in R^H: the old
// per-row p (49 isotropic directions of the same norm) was below 0.05 on
// about a third of the draws. Directions drawn from the states' covariance
// lie in the states' own subspace, as the decoder's does: the row's p is
// then calibrated (5% + 2 SE of 100 draws: at most 9).
TEST(Calibration, CausalNullIsDrawnFromTheStatesOwnSubspace) {
  int below = 0;
  for (int draw = 0; draw < kCausalDraws; ++draw) below += causal_row_p(7000 + static_cast<std::uint64_t>(draw), 0.0) < 0.05;
  std::cerr << "causal per-row p < 0.05 under the isotropic-only null: " << count_text(below, kCausalDraws) << "\n";
  EXPECT_LE(below, 9);
}

// Finding 5's verdict on the adversarial null (no causal use of the decoded
// class; every direction of the states' subspace moves the readout as much):
// "held" in 8 of these 100 draws (Clopper-Pearson 95% CI [0.035, 0.152]; on
// 400 other draws 19, 4.75% [0.029, 0.073]: the t-test across three seeds
// is at its level). The bound is 5% + 2 SE of 100 draws, 9: a calibrated
// test exceeds 5 of 100 in about 38% of seed sets, so "at most 5" would test
// the seeds, not the test.
TEST(Calibration, Finding5FalsePositivesUnderTheIsotropicOnlyNull) {
  int held = 0;
  for (int draw = 0; draw < kCausalDraws; ++draw) held += causal_verdict(9000 + static_cast<std::uint64_t>(draw), 0.0) == "held";
  std::cerr << "finding 5, isotropic-only null (lambda 0): held in " << count_text(held, kCausalDraws) << "\n";
  EXPECT_LE(held, 9);
}

// Power at the realistic planted effect (lambda 1), >= 0.9, and the power
// curve at 0.25, 0.5 and 2 times it (printed; the curve is tabled in
// stages/analyze/README.md).
TEST(Calibration, Finding5PowerOnAPlantedCausalEffect) {
  for (double lambda : {0.25, 0.5, 1.0, 2.0}) {
    int held = 0;
    for (int draw = 0; draw < kCausalDraws; ++draw) held += causal_verdict(11000 + static_cast<std::uint64_t>(draw), lambda) == "held";
    std::cerr << "finding 5, planted effect x" << lambda << ": held in " << count_text(held, kCausalDraws) << "\n";
    if (lambda == 1.0) EXPECT_GE(held, 90);
    if (lambda == 2.0) EXPECT_GE(held, 90);
  }
}

// The planted effect's size, for the record (WMGEOM_TEST_VERBOSE): the mean
// response and null RMS at the declared dose, per lambda.
TEST(Calibration, CausalPlantedEffectSizes) {
  if (std::getenv("WMGEOM_TEST_VERBOSE") == nullptr) GTEST_SKIP() << "set WMGEOM_TEST_VERBOSE to print";
  for (double lambda : {0.0, 0.25, 0.5, 1.0, 2.0}) {
    std::vector<double> effect, rms, z;
    const int n = 40;
    for (int draw = 0; draw < n; ++draw) {
      auto p = planted_causal(13000 + static_cast<std::uint64_t>(draw), lambda);
      analyze::Tables tables;
      analyze::causal(p->d, causal_settings(1), tables);
      Table t = tables.at("causal_test").build();
      const auto& tz = t.numeric.at("z");
      effect.push_back((t.numeric.at("effect")[0] + t.numeric.at("effect")[1]) / 2);
      rms.push_back((t.numeric.at("null_rms")[0] + t.numeric.at("null_rms")[1]) / 2);
      z.push_back((tz[0] + tz[1]) / 2);
    }
    using analyze::stats::mean;
    using analyze::stats::sd;
    std::cerr << "lambda " << lambda << ": response " << mean(effect) << ", null RMS " << mean(rms) << ", z " << mean(z)
              << " (SD over models " << sd(z) << ", mean / SD " << mean(z) / sd(z) << ")\n";
  }
}

}  // namespace
}  // namespace wmgeom::testing
