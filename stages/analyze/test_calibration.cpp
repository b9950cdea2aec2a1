// Calibration of every declared test on planted ground truth (SCIENCE.md
// section 6): for each finding, synthetic state sets where it is true and
// where it is false, each drawn 40 times with fresh seeds
// (WMGEOM_CALIBRATION_DRAWS), the power scenarios at an effect sized from
// the study's and multiplied by WMGEOM_CALIBRATION_SCALE
// (stages/analyze/calibrate.py traces the power curves and writes
// calibration.json). The verdict must
// be "held" in at least 90% of the true draws (power) and in at most
// 5% + 2 SE of the false ones (false-positive rate: 4 of 40). Also: a
// representation with no feature information, whose images repeat across
// trials, decodes at its empirical chance under grouped folds, where folds
// stratified by trial would memorise the images.
//
// This file: repeated images, finding 1 (retention), the calibration entry of
// findings.json, finding 2 (subspaces). Findings 3 and 4:
// test_calibration_geometry.cpp; finding 5: test_calibration_causal.cpp; what
// they share: test_calibration_kit.h. stages/analyze/calibrate.py runs all three.
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
#include "analyze/synthetic.h"
#include "analyze/test_calibration_kit.h"
#include "core/artifacts.h"
#include "decoders/linear.h"
#include "nets/wm_model.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

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
    h.select(1, f) +=
        codes.index_select(0, t.stimulus.select(1, f)) + synth::lookup(loc_code, t.loc, f);
  }
  return synth::stateset(t, h, "gru", static_cast<std::int64_t>(seed));
}

TEST(Calibration, RepeatedImagesDecodeAtEmpiricalChance) {
  const std::string body =
      "analyses = [\"decoding\"]\nfeatures = [\"loc\"]\nframes = [0]\nfolds = 4\npermutations = 20";
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
    std::vector<std::int64_t> yv(y.data_ptr<std::int64_t>(),
                                 y.data_ptr<std::int64_t>() + y.numel());
    auto folds = decoders::stratified_folds(yv, 4, seed);
    leak_sum += decoders::cross_validate(x.unsqueeze(0), y.unsqueeze(0), folds, 4, 4,
                                         {.model = decoders::Model::kSvm})
                    .mean()
                    .item<double>();
    // With a real code of the feature, the permutation test detects it.
    StateSet some = image_codes_only(seed, 6.0);
    AnalysisResult s = run_analysis({some}, body, seed);
    true_positives += s.tables.at("decoding").numeric.at("p_permutation")[0] < 0.05;
  }
  EXPECT_NEAR(grouped_sum / kDraws, 0.25, 0.05);
  EXPECT_NEAR(chance_sum / kDraws, 0.25, 0.05);
  EXPECT_GT(leak_sum / kDraws, 0.6) << "folds by trial should memorise repeated images";
  EXPECT_TRUE(within_false_positive_bound({false_positives, kDraws}));
  EXPECT_TRUE(reaches_power({true_positives, kDraws}));
}

// ---- Finding 1: retention of task-irrelevant features ----

// The study's design (pipelines/study.toml): multi-task models (here loc-1
// and loc-2) and single-task controls (loc-2), three architectures x
// kStudySeeds seeds on each side (replicate groups), trials from the real N-back
// sampler (location matches at lag N, images repeating across trials).
// Every model holds location one frame on; category (irrelevant to every
// task here) is held one frame on by a code of norm `base` in the
// single-task models, and of norm base + scale * kRetentionDelta * (1 +
// 0.5 z) in the multi-task ones (z ~ N(0, 1) per model: seeds and
// architectures differ, as in the study). `other_cells` (the adversarial
// null of issue 20 item 4): the multi-task models retain category with the
// scale-1 difference in their loc-1 trials only, a task the single-task
// controls do not have, and exactly as the controls in loc-2.
//
// Effect size (scale 1), from the study (README "The study", finding 1):
// multi - single retention 0.181, one-sided bound 0.123, p 2.0e-4 over 9 vs
// 9 models, i.e. SE about 0.032 at Welch df about 8-9: per-model SD about
// 0.09 on the multi-task side and small on the single-task side. One draw
// of this generator (seed 1000, WMGEOM_TEST_VERBOSE) measures the values
// written next to the constants below.
// Measured (10 draws at scale 1, seeds 1000 + 7919 d, WMGEOM_CALIBRATION_EFFECTS=1):
// multi - single retention 0.189 (SD over draws 0.025) against the study's
// 0.181 (its SE about 0.032).
constexpr double kRetentionBase = 1.0;
constexpr double kRetentionDelta = 1.85;
std::vector<StateSet> retention(std::uint64_t seed, double scale, bool other_cells = false) {
  std::vector<StateSet> out;
  torch::manual_seed(static_cast<std::int64_t>(seed));
  const std::vector<std::string> archs{"rnn", "gru", "lstm"};
  const int seeds = calibration_seeds(), side = 3 * seeds;
  for (int k = 0; k < 2 * side; ++k) {
    const bool multi = k < side;
    const std::string& rnn = archs[static_cast<std::size_t>((k % side) / seeds)];
    synth::Trials t = synth::sampled_trials(
        multi ? std::vector<std::string>{"loc-1", "loc-2"} : std::vector<std::string>{"loc-2"}, 128,
        3, 4, seed * 31 + static_cast<std::uint64_t>(k));
    // 128 trials per task: with fewer, the real sampler's loc-2 trials show
    // some location at frame 2 by fewer distinct images than folds.
    const int units =
        96;  // about the training trials: the solver's sample-space regime, as for real states
    const double z = torch::randn({1}, torch::kFloat64).item<double>();
    const double single_gap = kRetentionBase * (1 + 0.1 * z);
    const double multi_gap =
        kRetentionBase + (other_cells ? 1.0 : scale) * kRetentionDelta * (1 + 0.5 * z);
    torch::Tensor el = synth::code(4, units, 4.0), ec = synth::code(2, units, 4.0);
    torch::Tensor ml = synth::code(4, units, 3.0), mc = synth::code(2, units, 1.0);
    // Per trial: the norm of its category memory code.
    torch::Tensor gap = torch::full({t.m}, multi ? multi_gap : single_gap, torch::kFloat64);
    if (multi && other_cells)
      gap.masked_fill_(t.task.eq(1), single_gap);  // loc-2 trials: as the controls
    torch::Tensor h = noise(t, units);
    for (int f = 0; f < t.frames; ++f) {
      h.select(1, f) += synth::lookup(el, t.loc, f) + synth::lookup(ec, t.cat, f);
      if (f > 0) {
        h.select(1, f) += synth::lookup(ml, t.loc, f - 1);
        h.select(1, f) += synth::lookup(mc, t.cat, f - 1) * gap.unsqueeze(1);
      }
    }
    out.push_back(synth::stateset(t, h, rnn, k));
  }
  return out;
}

const std::string kRetentionBody =
    "analyses = [\"decoding\"]\nfeatures = [\"loc\", \"cat\"]\nfolds = 4\npermutations = 2";

TEST(Calibration, Finding1Power) {
  const Count held = held_count("1", this_scenario("power"), kRetentionBody,
                                [](std::uint64_t s) { return retention(s, effect_scale()); });
  if (power_asserted()) {
    EXPECT_TRUE(reaches_power(held));
  }
}
// Finding 1's nulls run the 100 draws (their bound 5% + 2 SE of 100
// draws: at most 9; it was 4 of 40 rescaled, which let 11 of 100 pass). At version 13 (each model's
// own permutations) their rate is 14 and 13 of 300 (4.7% and 4.3%), and the first 40 draws of the
// first held 5 (Clopper-Pearson [0.042, 0.268]): at a true 5%, 5 or more of 40 happens in 4.8% of
// draw sets, so 40 draws test the draws, not the test. The first 100 hold 9 and 9.
constexpr int kFinding1NullDraws = 100;
// Scale 0: both sides retain category alike.
TEST(Calibration, Finding1FalsePositives) {
  EXPECT_TRUE(within_false_positive_bound(held_count(
      "1", this_scenario("null"), kRetentionBody, [](std::uint64_t s) { return retention(s, 0.0); },
      kFinding1NullDraws)));
}
// The adversarial null (issue 20, item 4): the multi-task models retain
// more, but only in a task the controls do not have.
TEST(Calibration, Finding1FalsePositivesOnOtherCells) {
  EXPECT_TRUE(within_false_positive_bound(held_count(
      "1", this_scenario("adversarial-null"), kRetentionBody,
      [](std::uint64_t s) { return retention(s, 0.0, true); }, kFinding1NullDraws)));
}

// ---- The calibration table in findings.json ----

// A finding's `calibration` entry from a table: the sentence on how far to
// trust it, and "not calibrated" where a null's Clopper-Pearson lower bound
// is above 0.05 or power at the realistic effect is below 0.9.
TEST(Findings, CalibrationEntrySaysHowFarToTrustTheVerdict) {
  auto scenario = [](const std::string& name, const std::string& kind, double scale, int count,
                     const std::string& counted = "verdict held") {
    const auto [lo, hi] = analyze::stats::clopper_pearson(count, 100);
    return nlohmann::json{
        {"scenario", name},      {"kind", kind},     {"scale", scale},
        {"counted", counted},    {"draws", 100},     {"count", count},
        {"rate", count / 100.0}, {"ci95", {lo, hi}}, {"commit", "0123456789abcdef"}};
  };
  nlohmann::json table = {
      {"findings",
       {{"1",
         {scenario("P", "power", 1.0, 97), scenario("P", "power", 0.5, 60),
          scenario("N", "null", 0, 3), scenario("A", "adversarial-null", 0, 5)}},
        {"4",
         {scenario("P", "power", 1.0, 80), scenario("N", "null", 0, 2),
          scenario("S", "adversarial-null", 0, 23, "sub-test swap passed")}}}}};
  auto one = analyze::calibration_entry("1", table);
  EXPECT_EQ(one["calibrated"], true) << one.dump(2);
  EXPECT_EQ(one["scenarios"].size(), 4u);
  EXPECT_EQ(one["commits"], nlohmann::json::array({"0123456789abcdef"}));
  const std::string trust = one["trust"];
  EXPECT_NE(trust.find("on 2 nulls at most 5 of 100"), std::string::npos)
      << trust;  // the worst null
  EXPECT_NE(trust.find("at the study's effect size 97 of 100"), std::string::npos) << trust;
  EXPECT_NE(trust.find("0123456"), std::string::npos) << trust;
  EXPECT_EQ(trust.find("Not calibrated"), std::string::npos) << trust;
  // The seeds per replicate group of the power scenario's design, when recorded.
  table["findings"]["1"][0]["seeds_per_group"] = 6;
  const std::string with_seeds = analyze::calibration_entry("1", table)["trust"];
  EXPECT_NE(with_seeds.find("at the study's effect size, 6 seeds per group, 97 of 100"),
            std::string::npos)
      << with_seeds;
  auto four = analyze::calibration_entry("4", table);
  EXPECT_EQ(four["calibrated"], false) << four.dump(2);
  const std::string t4 = four["trust"];
  EXPECT_EQ(t4.rfind("Not calibrated: ", 0), 0u) << t4;
  EXPECT_NE(t4.find("the verdict: power 0.80 at the realistic effect"), std::string::npos) << t4;
  EXPECT_NE(t4.find("sub-test swap on S"), std::string::npos) << t4;
  EXPECT_NE(t4.find("Its swap sub-test passed on 1 null at most 23 of 100"), std::string::npos)
      << t4;
  // attach_calibration: a decided verdict that misses a bound carries the
  // trust sentence as its caveat (and at the end of its detail); a
  // calibrated one and a "not testable" one do not.
  nlohmann::json decided = {{"1", {{"verdict", "held"}, {"detail", "d1"}}},
                            {"4", {{"verdict", "not held"}, {"detail", "d4"}}},
                            {"5", {{"verdict", "not testable"}, {"detail", "d5"}}}};
  table["findings"]["5"] = table["findings"]["4"];
  analyze::attach_calibration(decided, table);
  EXPECT_FALSE(decided["1"].contains("caveat")) << decided.dump(2);
  EXPECT_EQ(decided["4"]["caveat"], decided["4"]["calibration"]["trust"]);
  EXPECT_EQ(decided["4"]["detail"].get<std::string>().rfind("d4 Caveat: Not calibrated: ", 0), 0u)
      << decided.dump(2);
  EXPECT_FALSE(decided["5"].contains("caveat")) << decided.dump(2);
  auto none = analyze::calibration_entry("3", table);
  EXPECT_TRUE(none["calibrated"].is_null());
  EXPECT_TRUE(none["scenarios"].empty());
  EXPECT_NE(none["trust"].get<std::string>().find("No calibration"), std::string::npos);
}

// ---- Finding 2: shared vs task-specific subspaces ----

// The study's design: multi-task vanilla, GRU and LSTM models, kStudySeeds
// seeds each (one replicate group per architecture; the test is vanilla > GRU and
// vanilla > LSTM, intersection-union), trials of two tasks (loc-1, cat-1)
// from the real N-back sampler. At frame 0 location is encoded by a code
// shared across tasks with weight w plus a task-specific one with weight
// sqrt(1 - w^2). Gated models: w = kGatedShared + 0.08 z; vanilla: w =
// kGatedShared + scale * kVanillaExtraShared + 0.08 z (z ~ N(0, 1) per
// model: seeds differ). `image_codes` (the adversarial null of issue 20,
// item 1): the vanilla models share no more than the gated ones but carry a
// strong code per image (norm 4, as the feature codes) that is the same in
// both tasks; before the leak rule the cross-task decoder read those twins.
//
// Effect size (scale 1), from the study (README "The study", finding 2):
// normalised generalisation vanilla 0.251 vs GRU 0.362 and LSTM 0.431, i.e.
// gaps of 0.111 and 0.180 in the other direction; seed SDs 0.025 (vanilla),
// 0.030 (GRU), 0.115 (LSTM). The realistic effect is the paper's direction
// with the study's smaller gap, vanilla 0.11 above each gated architecture,
// at a gated level near the study's; measured on 10 draws (seed 1000 on,
// WMGEOM_CALIBRATION_EFFECTS): see the constants.
// Measured (10 draws at scale 1, WMGEOM_CALIBRATION_EFFECTS=1): vanilla - GRU
// 0.109 (SD over draws 0.022), vanilla - LSTM 0.105 (0.034), against the
// study's gaps of 0.111 and 0.180 (the smaller is the realistic effect).
constexpr double kGatedShared = 0.57;
constexpr double kVanillaExtraShared = 0.072;
std::vector<StateSet> subspaces(std::uint64_t seed, double scale, bool image_codes = false) {
  std::vector<StateSet> out;
  torch::manual_seed(static_cast<std::int64_t>(seed));
  const std::vector<std::string> archs{"rnn", "gru", "lstm"};
  const int seeds = calibration_seeds();
  for (int k = 0; k < 3 * seeds; ++k) {
    const std::string& rnn = archs[static_cast<std::size_t>(k / seeds)];
    const bool vanilla = rnn == "rnn";
    double shared = kGatedShared + 0.02 * torch::randn({1}, torch::kFloat64).item<double>();
    if (vanilla && !image_codes) shared += scale * kVanillaExtraShared;
    shared = std::clamp(shared, 0.0, 1.0);
    synth::Trials t = synth::sampled_trials({"loc-1", "cat-1", "id-1"}, 256, 2, 4,
                                            seed * 31 + static_cast<std::uint64_t>(k));
    const int units = 64;
    // The common and the three task-specific codes, 4 values each, all
    // mutually orthogonal (norm 4): the geometry is exactly the planted one,
    // so a model's score varies by its trials and its w, not by chance
    // overlaps of random codes (which made the per-model spread twice the
    // study's seed SD).
    torch::Tensor q =
        std::get<0>(torch::linalg_qr(torch::randn({units, 16}, torch::kFloat64))).t() *
        4.0;  // [16, units]
    torch::Tensor common = q.narrow(0, 0, 4);
    torch::Tensor h = noise(t, units);
    for (std::int64_t task = 0; task < 3; ++task) {
      torch::Tensor own = q.narrow(0, 4 + 4 * task, 4);
      torch::Tensor rows = t.task.eq(task).nonzero().squeeze(1);
      torch::Tensor loc = t.loc.index_select(0, rows);
      torch::Tensor add = synth::lookup(common, loc, 0) * shared +
                          synth::lookup(own, loc, 0) * std::sqrt(1 - shared * shared);
      h.select(1, 0).index_add_(0, rows, add);
    }
    if (vanilla && image_codes) {
      torch::Tensor per_image = synth::code(static_cast<int>(t.images()), units, 4.0);
      h.select(1, 0) += per_image.index_select(0, t.stimulus.select(1, 0));
    }
    out.push_back(synth::stateset(t, h, rnn, k));
  }
  return out;
}

// Two frames (the sampler needs a frame after N = 1); finding 2 reads frame 0.
const std::string kCrossTaskBody =
    "analyses = [\"cross_task\"]\nfeatures = [\"loc\"]\nframes = [0]\nfolds = 4\npermutations = 5";

// Power at the study-sized effect with the study's 6 seeds per group: 40 of
// 40 draws (CP 95% 0.912-1; x0.25: 3, x0.5: 14, x2: 40 of 40), measured
// 2026-12-03. With 3 seeds per group (the study until then) it was 22 of 40
// [0.385, 0.707], with 4 seeds 31, with 5 seeds 36 of 40
// (WMGEOM_CALIBRATION_SEEDS): the intersection-union over GRU and LSTM needs
// both two-group tests to pass, and with 3 seeds a side the Welch test's few
// degrees of freedom cost most of its power. Hence the study's six seeds.
TEST(Calibration, Finding2Power) {
  const Count held = held_count("2", this_scenario("power"), kCrossTaskBody,
                                [](std::uint64_t s) { return subspaces(s, effect_scale()); });
  if (power_asserted()) {
    EXPECT_TRUE(reaches_power(held));
  }
}
// Scale 0: every architecture shares alike.
TEST(Calibration, Finding2FalsePositives) {
  EXPECT_TRUE(
      within_false_positive_bound(held_count("2", this_scenario("null"), kCrossTaskBody,
                                             [](std::uint64_t s) { return subspaces(s, 0.0); })));
}
// The adversarial null (issue 20, item 1): vanilla models carry image codes
// across tasks, and share feature codes no more than the gated ones.
TEST(Calibration, Finding2FalsePositivesImageCodesCarriedAcrossTasks) {
  EXPECT_TRUE(within_false_positive_bound(
      held_count("2", this_scenario("adversarial-null"), kCrossTaskBody,
                 [](std::uint64_t s) { return subspaces(s, 0.0, true); })));
}

}  // namespace
}  // namespace wmgeom::testing
