// The analyze stage on synthetic states with planted structure (what should
// be found is known), its agreement with scikit-learn on the same folds, its
// errors, and one run through the engine on a trained model.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "analyze/analyses.h"
#include "analyze/analyze.h"
#include "core/artifacts.h"
#include "core/npy.h"
#include "nets/torch_util.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

// Trials of `tasks` (trials_per_task each), T frames, H units. Labels are
// uniform: loc 4 values, cat 2, id 4 (id / 2 = cat). The state at frame t
// holds the stimulus at t in an "encoding" code (class means along fixed
// random directions) and the stimulus at t - 1 in a different "memory" code,
// for the features in `encoded`; plus unit Gaussian noise.
StateSet synthetic(const std::vector<std::string>& tasks, int trials_per_task, int frames, int units,
                   const std::vector<std::string>& encoded, std::uint64_t seed, double gap = 6.0) {
  torch::manual_seed(static_cast<std::int64_t>(seed));
  const std::int64_t m = trials_per_task * static_cast<std::int64_t>(tasks.size());
  StateSet s;
  s.model = {{"rnn", "gru"}, {"tasks", tasks}, {"layers", 1}, {"split", "validation"}};
  torch::Tensor loc = torch::randint(4, {m, frames}, torch::kLong), id = torch::randint(4, {m, frames}, torch::kLong);
  torch::Tensor cat = id.div(2, "floor");
  torch::Tensor h = torch::randn({m, frames, units}, torch::kFloat64);
  std::map<std::string, torch::Tensor> labels{{"loc", loc}, {"cat", cat}, {"id", id}};
  for (const auto& f : encoded) {
    torch::Tensor enc = torch::randn({4, units}, torch::kFloat64) * gap / std::sqrt(units);
    torch::Tensor mem = torch::randn({4, units}, torch::kFloat64) * gap / std::sqrt(units);
    h += enc.index_select(0, labels[f].flatten()).view({m, frames, units});
    h.narrow(1, 1, frames - 1) += mem.index_select(0, labels[f].narrow(1, 0, frames - 1).flatten()).view({m, frames - 1, units});
  }
  s.hidden = nets::to_array(h.to(torch::kFloat32));
  s.logits = nets::to_array(torch::zeros({m, frames, 3}));
  s.targets = nets::to_array(torch::randint(3, {m, frames}, torch::kInt32));
  s.task = nets::to_array(torch::arange(m, torch::kLong).remainder(static_cast<std::int64_t>(tasks.size())).to(torch::kInt32));
  s.stimulus = nets::to_array(torch::zeros({m, frames}, torch::kInt32));
  s.location = nets::to_array(loc.to(torch::kInt32));
  s.category = nets::to_array(cat.to(torch::kInt32));
  s.identity = nets::to_array(id.to(torch::kInt32));
  s.view = nets::to_array(torch::zeros({m, frames}, torch::kInt32));
  // Perceptual vectors: the stimulus's own features, nothing remembered.
  torch::Tensor perc = torch::randn({m, frames, 20}, torch::kFloat64);
  for (const auto& [f, lab] : labels) {
    perc += (torch::randn({4, 20}, torch::kFloat64) * 0.8).index_select(0, lab.flatten()).view({m, frames, 20});
  }
  s.perceptual = nets::to_array(perc.to(torch::kFloat32));
  s.embedding = nets::to_array(torch::randn({m, frames, 8}));
  return s;
}

const std::string kUpstream =
    "[stage.img]\ntype = \"render\"\n[stage.cnn]\ntype = \"features\"\nstimuli = \"img\"\n"
    "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"img\"\n"
    "[stage.net]\ntype = \"train\"\nfeatures = \"cnn\"\ntasks = \"tasks\"\n"
    "[stage.up]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\nfeatures = \"cnn\"\n";

struct Analysis {
  AnalysisResult result;
  double seconds = 0;
};

Analysis analyze(const std::vector<StateSet>& sets, const std::string& body) {
  AnalyzeStage stage;
  // Ports must name planned stages; these are planned, never run.
  Params p = stage_params(real_registry(), "analyze", body + "\nseed = 3\nstates = [\"up\"]\n" + kUpstream);
  StageInputs in;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    in.add("states", InputItem{"states" + std::to_string(i), {}, std::make_shared<const Artifact>(sets[i].to_artifact())});
  }
  TempDir dir;
  RunContext ctx("analyze", dir / "work", 2);
  auto start = std::chrono::steady_clock::now();
  Analysis r{AnalysisResult::from_artifact(stage.run(p, in, ctx)), 0};
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// Mean of `column` over rows where every (text column, value) matches and
// the numeric predicate holds.
double mean_where(const Table& t, const std::string& column, const std::map<std::string, std::string>& text,
                  const std::function<bool(std::size_t)>& keep = [](std::size_t) { return true; }) {
  double sum = 0;
  int n = 0;
  for (std::size_t i = 0; i < t.rows(); ++i) {
    bool ok = keep(i);
    for (const auto& [c, v] : text) ok = ok && t.text.at(c)[i] == v;
    if (!ok) continue;
    sum += t.numeric.at(column)[i];
    ++n;
  }
  EXPECT_GT(n, 0) << column;
  return sum / n;
}

TEST(Analyze, OrthogonalityIndexOfOrthogonalAndParallelDirections) {
  EXPECT_DOUBLE_EQ(analyze::orthogonality_index(torch::eye(4, torch::kFloat64) * 3.0), 1.0);
  torch::Tensor v = torch::randn({1, 7}, torch::kFloat64);
  EXPECT_NEAR(analyze::orthogonality_index(torch::cat({v, 2 * v, -v})), 0.0, 1e-12);
  // Two directions at 60 degrees: 1 - cos = 0.5.
  torch::Tensor a = torch::tensor({{1.0, 0.0}, {0.5, std::sqrt(3.0) / 2}}, torch::kFloat64);
  EXPECT_NEAR(analyze::orthogonality_index(a), 0.5, 1e-12);
}

TEST(Analyze, StatisticsMatchKnownValues) {
  // scipy.stats.ttest_ind([1,2,3,4,5], [2,4,6,8,10,12], equal_var=False): t = -2.3763541, p = 0.0492843
  auto t = analyze::welch_t_test({1, 2, 3, 4, 5}, {2, 4, 6, 8, 10, 12});
  EXPECT_NEAR(t.t, -2.3763541, 1e-6);
  EXPECT_NEAR(t.df, 6.9718, 1e-3);
  EXPECT_NEAR(t.p, 0.0492843, 1e-6);
  EXPECT_NEAR(analyze::student_t_two_sided_p(2.0, 10.0), 0.073388, 1e-5);
  EXPECT_NEAR(analyze::spearman({1, 2, 3, 4}, {10, 20, 30, 25}), 0.8, 1e-12);
}

TEST(Analyze, RecoversPlantedCodes) {
  // loc and cat are encoded, id only through cat (its parity is not).
  StateSet s = synthetic({"loc-1", "cat-1"}, 160, 4, 24, {"loc", "cat"}, 1);
  Analysis r = analyze({s}, "analyses = [\"decoding\", \"cross_temporal\", \"cross_task\", \"orthogonality\", \"procrustes\", "
                      "\"rsa\", \"dimensionality\"]\nnull_shuffles = 3\nrandom_directions = 200");
  const Table& dec = r.result.tables.at("decoding");
  auto at = [&](const std::string& feature, int stim, int t) {
    return mean_where(dec, "accuracy", {{"feature", feature}}, [&](std::size_t i) {
      return dec.numeric.at("stim_frame")[i] == stim && dec.numeric.at("train_frame")[i] == t;
    });
  };
  EXPECT_GT(at("loc", 1, 1), 0.9);  // encoding
  EXPECT_GT(at("loc", 1, 2), 0.9);  // memory, one frame later
  EXPECT_LT(at("loc", 1, 3), 0.45); // gone two frames later: chance 0.25
  EXPECT_GT(at("cat", 2, 2), 0.9);
  // id is half-decodable (its category): about 0.5, against chance 0.25.
  EXPECT_NEAR(at("id", 2, 2), 0.5, 0.12);
  EXPECT_DOUBLE_EQ(mean_where(dec, "chance", {{"feature", "loc"}}), 0.25);
  // Relevant flags follow the task's feature.
  EXPECT_EQ(mean_where(dec, "relevant", {{"task", "loc-1"}, {"feature", "loc"}}), 1.0);
  EXPECT_EQ(mean_where(dec, "relevant", {{"task", "loc-1"}, {"feature", "cat"}}), 0.0);

  // H1 fails (the memory code differs), H2 holds (the encoding code is shared).
  const Table& hyp = r.result.tables.at("temporal_hypotheses");
  auto hyp_at = [&](const std::string& h) {
    return mean_where(hyp, "accuracy", {{"feature", "loc"}, {"hypothesis", h}}, [&](std::size_t i) {
      return hyp.numeric.at("other_frame")[i] == hyp.numeric.at("stim_frame")[i] + 1;
    });
  };
  EXPECT_LT(hyp_at("H1_slot"), 0.45);
  EXPECT_GT(hyp_at("H2_shared"), 0.9);
  // The same code in every task: generalisation near validation.
  const Table& ct = r.result.tables.at("cross_task");
  EXPECT_GT(mean_where(ct, "accuracy", {{"feature", "loc"}, {"kind", "generalisation"}}), 0.85);
  // Procrustes: the rotation from encoding to memory code reconstructs the memory decoder.
  const Table& pr = r.result.tables.at("procrustes");
  auto pr_at = [&](const std::string& test) {
    return mean_where(pr, "accuracy", {{"feature", "loc"}, {"test", test}}, [&](std::size_t i) {
      return pr.numeric.at("source_frame")[i] == pr.numeric.at("source_stim")[i];
    });
  };
  EXPECT_GT(pr_at("reconstructed"), 0.85);
  EXPECT_GT(pr_at("elapsed_shifted"), 0.85);  // the same rotation one stimulus later
  EXPECT_LT(pr_at("time_shifted"), 0.5);       // memory -> gone: no rotation predicts it

  const Table& orth = r.result.tables.at("orthogonality");
  EXPECT_GT(orth.rows(), 0u);
  for (std::size_t i = 0; i < orth.rows(); ++i) {
    EXPECT_GE(orth.numeric.at("index")[i], 0.0);
    EXPECT_LE(orth.numeric.at("index")[i], 1.0);
    EXPECT_GT(orth.numeric.at("null_random_mean")[i], 0.5);  // random directions are near-orthogonal
  }
  EXPECT_TRUE(r.result.tables.count("orthogonality_test"));
  const Table& rsa = r.result.tables.at("rsa");
  EXPECT_NEAR(mean_where(rsa, "cka", {{"space_a", "hidden"}, {"space_b", "hidden"}}, [&](std::size_t i) {
    return rsa.numeric.at("frame_a")[i] == rsa.numeric.at("frame_b")[i];
  }), 1.0, 1e-9);
  const Table& dim = r.result.tables.at("dimensionality");
  for (double pr_value : dim.numeric.at("participation_ratio")) EXPECT_GE(pr_value, 1.0);
  // Findings are written for all four, each with held true/false/null.
  for (const char* k : {"1", "2", "3", "4"}) {
    ASSERT_TRUE(r.result.findings.contains(k));
    EXPECT_TRUE(r.result.findings[k].contains("held"));
    EXPECT_FALSE(r.result.findings[k]["detail"].get<std::string>().empty());
  }
  EXPECT_EQ(r.result.findings["4"]["held"], true) << r.result.findings["4"].dump(2);
  // Folds exported for refitting elsewhere.
  EXPECT_EQ(r.result.arrays.at("folds.states0").shape(), (std::vector<std::int64_t>{320, 3, 4}));
}

TEST(Analyze, IsDeterministic) {
  StateSet s = synthetic({"loc-1"}, 60, 3, 8, {"loc"}, 2);
  const std::string body = "analyses = [\"decoding\", \"orthogonality\"]\nnull_shuffles = 2\nrandom_directions = 50";
  Analysis a = analyze({s}, body), b = analyze({s}, body);
  EXPECT_EQ(a.result.tables.at("decoding").numeric, b.result.tables.at("decoding").numeric);
  EXPECT_EQ(a.result.tables.at("orthogonality").numeric, b.result.tables.at("orthogonality").numeric);
}

void expect_input_error(const std::vector<StateSet>& sets, const std::string& body, const std::string& substring) {
  try {
    analyze(sets, body);
    ADD_FAILURE() << "no error; expected one mentioning " << substring;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(substring), std::string::npos) << e.what();
  }
}

TEST(Analyze, RejectsBadInputBeforeComputing) {
  StateSet s = synthetic({"loc-1"}, 40, 3, 8, {"loc"}, 3);
  expect_input_error({s}, "frames = [0, 3]", "frame 3 is beyond the trial (3 frames");
  StateSet no_id = s;
  no_id.identity = nets::to_array(torch::full({40, 3}, -1, torch::kInt32));
  expect_input_error({no_id}, "features = [\"id\"]", "feature \"id\" (identity) is not in the stimuli");
  StateSet few = synthetic({"loc-1"}, 12, 3, 8, {"loc"}, 3);
  expect_input_error({few}, "features = [\"loc\"]\nfolds = 10", "fewer than folds = 10");
  StateSet longer = synthetic({"loc-1"}, 40, 4, 8, {"loc"}, 3);
  expect_input_error({s, longer}, "", "different trial lengths");
  expect_input_error({s}, "analyses = [\"causal\"]\nfeatures = [\"loc\"]", "needs the trained models");
  expect_input_error({s}, "space = \"cell\"", "needs LSTM cell states");
}

// Decoding accuracies agree with scikit-learn's LinearSVC and
// LogisticRegression on the same folds (the goal: within 2 points on every
// decoder).
TEST(Analyze, AgreesWithScikitLearnOnEveryDecoder) {
  if (std::system("/usr/bin/python3 -c 'import sklearn' 2>/dev/null") != 0) GTEST_SKIP() << "python3-sklearn missing";
  StateSet s = synthetic({"loc-1", "id-2"}, 80, 3, 12, {"loc", "id"}, 5, 1.6);  // overlapping classes
  TempDir dir;
  for (const char* model : {"svm", "logistic"}) {
    Analysis r = analyze({s}, std::string("analyses = [\"decoding\", \"cross_temporal\"]\ndecoder = \"") + model + "\"");
    Artifact states = s.to_artifact(), result = r.result.to_artifact();
    export_artifact(states, dir / "states");
    export_artifact(result, dir / model);
    std::string cmd = std::string("/usr/bin/python3 ") + WMGEOM_SOURCE_DIR + "/bench/compare_analyze.py --check " +
                      (dir / "states").string() + " " + (dir / model).string() + " --decoder " + model;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
}

// Through the engine: a small trained LSTM, captured and analysed with every
// analysis; causal runs the RNN on from shifted states.
TEST(Analyze, ThroughTheEngineWithCausal) {
  const std::string text =
      "[pipeline]\nname = \"a\"\nseed = 4\n\n"
      "[stage.stimuli]\ntype = \"render\"\ncategories = 2\nidentities_per_category = 2\nviews = 6\n"
      "image_size = 32\nholdout_views = [2]\n\n"
      "[stage.cnn]\ntype = \"features\"\nstimuli = \"stimuli\"\nmodel = \"random\"\ninput_size = 32\n\n"
      "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"stimuli\"\ntasks = [\"loc-1\", \"cat-1\"]\neval_trials_per_task = 64\n\n"
      "[stage.net]\ntype = \"train\"\nfeatures = \"cnn\"\ntasks = \"tasks\"\nrnn = \"lstm\"\n"
      "hidden = 16\nconv_channels = 8\nembed = 16\nbatch_size = 32\nlr = 0.003\nsteps = 100\neval_every = 100\n"
      "device = \"cpu\"\n\n"
      "[stage.states]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\nfeatures = \"cnn\"\n\n"
      "[stage.geometry]\ntype = \"analyze\"\nstates = [\"states\"]\nmodels = [\"net\"]\nfolds = 3\nnull_shuffles = 2\n"
      "random_directions = 50\n";
  InProcess run;
  auto r = run.get_as<AnalysisResult>(text, "geometry");
  for (const char* t : {"decoding", "cross_task", "orthogonality", "orthogonality_test", "cross_temporal",
                        "temporal_hypotheses", "procrustes", "causal", "rsa", "dimensionality"}) {
    EXPECT_TRUE(r.tables.count(t)) << t;
  }
  const Table& c = r.tables.at("causal");
  ASSERT_GT(c.rows(), 0u);
  for (std::size_t i = 0; i < c.rows(); ++i) {
    EXPECT_GE(c.numeric.at("p_match_shifted")[i], 0.0);
    EXPECT_LE(c.numeric.at("p_match_shifted")[i], 1.0);
  }
  // Larger shifts flip the decoded class more often.
  EXPECT_GE(c.numeric.at("flip_rate").back(), c.numeric.at("flip_rate").front());
  EXPECT_EQ(r.tables.at("decoding").text.at("model").front(), "states");
  EXPECT_EQ(r.tables.at("decoding").text.at("rnn").front(), "lstm");
}

}  // namespace
}  // namespace wmgeom::testing
