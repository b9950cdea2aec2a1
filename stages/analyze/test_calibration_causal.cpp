// Calibration of the causal test (finding 5) on planted networks and an
// adversarial null drawn from the states' own subspace; test_calibration.cpp
// says more.
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>

#include "analyze/analyses.h"
#include "analyze/analyze.h"
#include "analyze/calibration.h"
#include "analyze/synthetic.h"
#include "analyze/test_calibration_kit.h"
#include "core/artifacts.h"
#include "decoders/linear.h"
#include "nets/wm_model.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

// ---- The causal test (finding 5): planted networks and an adversarial null ----

// "k of n, 95% CI [lo, hi]" (Clopper-Pearson) for a calibration count.
std::string count_text(int k, int n) {
  const auto [lo, hi] = analyze::stats::clopper_pearson(k, n);
  std::ostringstream out;
  out << k << " of " << n << " (" << 100.0 * k / n << "%, Clopper-Pearson 95% CI [" << lo << ", "
      << hi << "])";
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
std::unique_ptr<PlantedCausal> planted_causal(std::uint64_t seed, double lambda,
                                              const std::string& name = "planted",
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
  torch::Tensor basis =
      std::get<0>(torch::linalg_qr(torch::randn({units, sub}, torch::kFloat64)));  // [24, 4]
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
  d.task =
      torch::cat({torch::zeros({per_task}, torch::kLong), torch::ones({per_task}, torch::kLong)});
  torch::Tensor cat = torch::randint(2, {m}, torch::kLong);
  torch::Tensor other = torch::randint(2, {m}, torch::kLong);
  torch::Tensor probe_is_1 = d.task.eq(0);
  // Category 1 at the probe (frame 1 in cat-1, frame 2 in cat-2); the other frame random.
  torch::Tensor at1 = torch::where(probe_is_1, torch::ones({m}, torch::kLong), other);
  torch::Tensor at2 = torch::where(probe_is_1, other, torch::ones({m}, torch::kLong));
  d.labels["cat"] = torch::stack({cat, at1, at2}, 1);
  d.stimulus =
      torch::stack({cat * 10 + torch::randint(10, {m}, torch::kLong), 20 + at1, 30 + at2}, 1);
  torch::Tensor verdict = torch::where(cat.eq(1), torch::full({m}, nback::kMatch, torch::kLong),
                                       torch::full({m}, nback::kNonMatch, torch::kLong));
  torch::Tensor none = torch::full({m}, nback::kNoAction, torch::kLong);
  d.targets = torch::stack(
      {none, torch::where(probe_is_1, verdict, none), torch::where(probe_is_1, none, verdict)}, 1);
  torch::Tensor z = torch::randn({m, frames, sub}, torch::kFloat64);
  z.select(2, 0).mul_(0.6).add_((cat.to(torch::kFloat64) * 1.6 - 0.8).unsqueeze(1));
  torch::Tensor h =
      torch::matmul(z, basis.t()) + outside * torch::randn({m, frames, units}, torch::kFloat64);
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

// Seeds per replicate group: three by default (WMGEOM_CALIBRATION_SEEDS
// sets another count; the draws of three seeds are those of the table).
int causal_seeds() { return calibration_seeds(3); }

// The verdict of finding 5 on one draw: a replicate group of three planted
// multi-task models (three seeds: each its own readout, subspace and trials).
std::string causal_verdict(std::uint64_t seed, double lambda) {
  analyze::Settings st = causal_settings(seed);
  analyze::Tables tables;
  std::vector<analyze::ModelData> models;
  const int seeds = causal_seeds();
  for (int i = 0; i < seeds; ++i) {
    auto p =
        planted_causal(seed * static_cast<std::uint64_t>(seeds) + static_cast<std::uint64_t>(i),
                       lambda, "planted[seed=" + std::to_string(i) + "]");
    analyze::causal(p->d, st, tables);
    analyze::ModelData info = p->d;
    info.model = nullptr;
    info.seed = i;  // replicates: one training each (findings' one_training_twice)
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
// The causal null's directions are each model's own (version 13): two
// models with the same states and network but different keys shift along
// the same fitted direction (one fold partition for every model) and along
// different null directions; two names with one key draw alike.
TEST(Analyze, CausalNullDirectionsAreEachModelsOwn) {
  auto run = [](const std::string& name, const std::string& key) {
    auto p = planted_causal(11, 1.0, name, 32, 0.3);
    p->d.source = key;
    analyze::Settings st = causal_settings(11);
    st.frames = {0};
    st.causal_sds = {5.0};
    analyze::Tables tables;
    analyze::causal(p->d, st, tables);
    return tables.at("causal").build();
  };
  const Table a = run("a", "key-a"), b = run("b", "key-b"), a2 = run("b", "key-a");
  ASSERT_GT(a.rows(), 0u);
  EXPECT_EQ(a.numeric.at("p_match_shifted"), b.numeric.at("p_match_shifted"));
  EXPECT_NE(a.numeric.at("null_rms"), b.numeric.at("null_rms"));
  EXPECT_NE(a.numeric.at("p_match_random"), b.numeric.at("p_match_random"));
  EXPECT_EQ(a.numeric.at("null_rms"), a2.numeric.at("null_rms"));
  EXPECT_EQ(a.numeric.at("p_match_random"), a2.numeric.at("p_match_random"));
}

TEST(Calibration, CausalNullIsDrawnFromTheStatesOwnSubspace) {
  int below = 0;
  for (int draw = 0; draw < kCausalDraws; ++draw)
    below += causal_row_p(7000 + static_cast<std::uint64_t>(draw), 0.0) < 0.05;
  std::cerr << "causal per-row p < 0.05 under the isotropic-only null: "
            << count_text(below, kCausalDraws) << "\n";
  EXPECT_TRUE(within_false_positive_bound({below, kCausalDraws}));
}

// Finding 5's draws: 100 by default (WMGEOM_CALIBRATION_DRAWS overrides).
int causal_draws() { return calibration_draws(kCausalDraws); }

// Finding 5's verdict on the adversarial null (no causal use of the decoded
// class; every direction of the states' subspace moves the readout as much):
// "held" in 8 of these 100 draws (Clopper-Pearson 95% CI [0.035, 0.152]; on
// 400 other draws 19, 4.75% [0.029, 0.073]: the t-test across three seeds
// is at its level). The bound is 5% + 2 SE of the draws run (9 of 100,
// 227 of 4,000; max_false_positives): a calibrated
// test exceeds 5 of 100 in about 38% of seed sets, so "at most 5" would test
// the seeds, not the test. Three seeds per group (fewer than the study's
// six: the false-positive rate of the t-test does not depend on them, and
// power measured with three is a lower bound for six).
TEST(Calibration, Finding5FalsePositivesUnderTheIsotropicOnlyNull) {
  const int draws = causal_draws();
  int held = 0;
  for (int draw = 0; draw < draws; ++draw)
    held += causal_verdict(9000 + static_cast<std::uint64_t>(draw), 0.0) == "held";
  const Scenario sc = this_scenario("adversarial-null", causal_seeds());
  print_calibration("5", sc, held, draws, {{"held", held}, {"not held", draws - held}});
  EXPECT_TRUE(within_false_positive_bound({held, draws}));
}

// Power at the realistic planted effect (lambda 1, WMGEOM_CALIBRATION_SCALE
// multiplies it), >= 0.9; calibrate.py traces the curve at 0.25, 0.5 and 2
// times it (tabled in stages/analyze/README.md).
TEST(Calibration, Finding5PowerOnAPlantedCausalEffect) {
  const int draws = causal_draws();
  const double lambda = effect_scale();
  int held = 0;
  for (int draw = 0; draw < draws; ++draw)
    held += causal_verdict(11000 + static_cast<std::uint64_t>(draw), lambda) == "held";
  const Scenario sc = this_scenario("power", causal_seeds());
  print_calibration("5", sc, held, draws, {{"held", held}, {"not held", draws - held}});
  if (power_asserted()) {
    EXPECT_TRUE(reaches_power({held, draws}));
  }
}

// The planted effect is sized from the study, and this holds it there: at
// lambda 1 (the power scenario's) the response at the declared dose lies in
// the study's multi-task range, 0.29-0.62, and the test's effect size across
// seeds (mean / SD of the per-model z) is no larger than the study's
// smallest multi-task group's, 7.0 (LSTM), so power is not measured on an
// effect easier than the real one; at lambda 0 (the adversarial null) there
// is no response; the response grows with lambda. Deterministic draws; the
// values per lambda print with WMGEOM_TEST_VERBOSE (README, "Finding 5").
TEST(Calibration, CausalPlantedEffectSizes) {
  const bool verbose = std::getenv("WMGEOM_TEST_VERBOSE") != nullptr;
  using analyze::stats::mean;
  using analyze::stats::sd;
  std::map<double, double> response, z_mean, z_ratio;
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
    response[lambda] = mean(effect);
    z_mean[lambda] = mean(z);
    z_ratio[lambda] = mean(z) / sd(z);
    if (verbose) {
      std::cerr << "lambda " << lambda << ": response " << mean(effect) << ", null RMS "
                << mean(rms) << ", z " << mean(z) << " (SD over models " << sd(z) << ", mean / SD "
                << mean(z) / sd(z) << ")\n";
    }
  }
  // Measured (40 draws): 0.341 and 6.62 at lambda 1; -0.009 and z -0.08 at 0.
  EXPECT_GE(response[1.0], 0.29);
  EXPECT_LE(response[1.0], 0.62);
  EXPECT_LE(z_ratio[1.0], 7.0);
  EXPECT_GT(z_ratio[1.0], 0.0);
  EXPECT_LT(std::abs(response[0.0]), 0.05);
  EXPECT_LT(std::abs(z_mean[0.0]), 0.3);  // its SD over models is ~0.58: ~3.3 SE of 40
  for (auto it = std::next(response.begin()); it != response.end(); ++it)
    EXPECT_GT(it->second, std::prev(it)->second) << "lambda " << it->first;
}

}  // namespace
}  // namespace wmgeom::testing
