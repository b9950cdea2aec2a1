// Calibration of findings 3 (de-orthogonalisation) and 4 (chronological
// memory codes) on planted truth, with the adversarial nulls that fool them
// (a noisier copy of the perceptual space, decay, fixed and frame-set
// rotations); test_calibration.cpp says more.
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
#include <variant>

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
  torch::Tensor per_image =
      torch::randn({t0.images(), dims}, torch::kFloat64) + loc_code.index_select(0, loc);
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
  for (int k = 0; k < calibration_seeds(); ++k) {
    // Multi-task models (finding 3's verdict comes from the multi-task
    // replicate groups), one replicate group of kStudySeeds seeds.
    synth::Trials t = synth::trials({"loc-1", "loc-2"}, 768, 1, 4, seed * 31 + k);
    torch::Tensor p =
        proj + 0.5 * torch::randn({dims, units}, torch::kFloat64) / std::sqrt(double(dims));
    torch::Tensor x = per_image.index_select(0, t.stimulus.select(1, 0));
    torch::Tensor l = t.loc.select(1, 0);
    torch::Tensor h;
    if (collapse) {
      torch::Tensor sign = torch::where(l.lt(2), torch::ones({t.m}, torch::kFloat64),
                                        -torch::ones({t.m}, torch::kFloat64));
      h = torch::mm(x - loc_code.index_select(0, l), p) * 0.5 + sign.unsqueeze(1) * v +
          offsets.index_select(0, l);
      // The effect scale: a mix of the projection (0) and the collapse (1).
      const double a = effect_scale();
      if (a != 1.0) h = (1.0 - a) * torch::mm(x, p) + a * h;
    } else {
      h = torch::mm(x, p);
    }
    h = h + torch::randn({t.m, units}, torch::kFloat64) * noise_sd;
    out.push_back(synth::stateset(t, h.unsqueeze(1), "gru", k, dims, per_image));
  }
  return out;
}

const std::string kOrthogonalityBody =
    "analyses = [\"orthogonality\"]\nfeatures = [\"loc\"]\nfolds = 4\nnull_shuffles = 5\n"
    "random_directions = 20";

// The test finding 3 uses at matched separability: the across-seed standard
// error plus a variance every seed shares (the images' bootstrap variance),
// Welch-Satterthwaite df. Values from scipy (t, df, p, one-sided bound), and
// a zero extra variance gives the plain one-sample t (scipy's ttest_1samp).
TEST(Findings, SharedVarianceWidensTheOneSampleTest) {
  const std::vector<double> x{-0.05, -0.03, -0.07, -0.02};
  const auto r =
      analyze::stats::one_sample_t_plus(x, 0.0, 0.0004, 99, analyze::stats::Alternative::kLess);
  EXPECT_NEAR(r.statistic, -1.8585433185514593, 1e-9);
  EXPECT_NEAR(r.df, 41.10466794519464, 1e-6);
  EXPECT_NEAR(r.p, 0.0351313069679861, 1e-9);
  EXPECT_NEAR(r.ci_hi, -0.004019268910636628, 1e-9);
  EXPECT_TRUE(std::isinf(r.ci_lo));
  const auto plain =
      analyze::stats::one_sample_t_plus(x, 0.0, 0.0, 99, analyze::stats::Alternative::kLess);
  EXPECT_NEAR(plain.statistic, -3.8333947428144275, 1e-9);
  EXPECT_NEAR(plain.p, 0.01564431818538365, 1e-9);
  EXPECT_DOUBLE_EQ(plain.df, 3);
  EXPECT_FALSE(analyze::stats::one_sample_t_plus(x, 0.0, std::nan(""), 99,
                                                 analyze::stats::Alternative::kLess)
                   .defined());
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
  for (int i = 0; i < 200; ++i)
    differ += analyze::image_bootstrap_count(7, 3, i) != analyze::image_bootstrap_count(7, 4, i);
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
// Version 10 held the power below 0.9 (33 of 40) and, at 100 draws, the
// nulls above 0.05 (7 and 10 of 100): the shuffles and the matching noise
// were the same for every model, so on the perceptual space, which every
// model shares, their error was common to a draw's seeds. Version 11 draws
// them per model: nulls 1 and 1 of 100 [0.000, 0.054], power 90 of 100
// [0.824, 0.951] (37 of these 40): at the bound, so the test runs again.
TEST(Calibration, Finding3Power) {
  const Count held = held_count("3", this_scenario("power"), kOrthogonalityBody,
                                [](std::uint64_t s) { return orthogonality(s, true); });
  if (power_asserted()) {
    EXPECT_TRUE(reaches_power(held));
  }
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
  for (int k = 0; k < calibration_seeds(); ++k) {
    synth::Trials t = synth::trials({"loc-1", "loc-2"}, 768, 1, 4, seed * 31 + k);
    torch::Tensor basis =
        torch::cat({loc_code.t(), torch::randn({dims, units - 4}, torch::kFloat64)}, 1);
    torch::Tensor q = std::get<0>(torch::linalg_qr(basis));  // [dims, units], orthonormal columns
    torch::Tensor x = per_image.index_select(0, t.stimulus.select(1, 0));
    torch::Tensor h = torch::mm(x, q) + torch::randn({t.m, units}, torch::kFloat64) * noise_sd;
    out.push_back(synth::stateset(t, h.unsqueeze(1), "gru", k, dims, per_image));
  }
  return out;
}

TEST(Calibration, Finding3FalsePositivesANoisierCopyOfThePerceptualSpace) {
  EXPECT_TRUE(within_false_positive_bound(
      held_count("3", this_scenario("adversarial-null"), kOrthogonalityBody,
                 [](std::uint64_t s) { return noisier_copy(s, 3.0); })));
}
TEST(Calibration, Finding3FalsePositivesASlightlyNoisierCopy) {
  EXPECT_TRUE(within_false_positive_bound(
      held_count("3", this_scenario("adversarial-null"), kOrthogonalityBody,
                 [](std::uint64_t s) { return noisier_copy(s, 0.5); })));
}

// ---- Finding 4: chronological vs static memory codes ----

// The study's design for finding 4's verdict: one multi-task replicate
// group of kStudySeeds seeds (the study has three, one per architecture, each decided
// alike), tasks loc-1 and loc-2 on trials from the real N-back sampler
// (location labels agree at lags 1 and 2 about half the time; H1/H2 score
// only trials whose labels differ). The stimulus shown at frame i is held
// at frame f >= i in code sqrt(1 - m^2) S_i + m M_{f-i}: S_i a slot code per
// stimulus position (static: H1 holds, the encoding decoder of s still reads
// s later), M_k a code per elapsed time k shared by every stimulus (M_0 the
// encoding code: H2 holds, the encoding decoder reads whichever stimulus is
// new); the chronological part is held for two frames. m = scale *
// kChronological (clamped to [0, 1]) + 0.05 z per model (seeds differ);
// scale 0 is the static null.
//
// Effect size (scale 1), from the study (README "The study", finding 4;
// stages/analyze/README.md, recomputation table): per multi-task model H1 -
// halfway -0.22 to -0.37, H2 - chance 0.44 to 0.54, the swap difference
// relative to own targets 0.06 to 0.34 (group means 0.13-0.24; the decisive
// vanilla group 0.155, p 0.032). kChronological is set so that H2 - chance,
// the sub-test the chronological code drives most directly, is near the
// study's: see the measured values beside it.
// Measured (10 draws at scale 1, WMGEOM_CALIBRATION_EFFECTS=1): H1 - halfway
// -0.239 (SD over draws 0.042), within the study's per-model range, H2 -
// chance 0.552 (0.024), just above it; the swap difference 0.574 (0.061) is larger
// than the study's (its own scenario, turning_codes below, is sized to it).
// m is not linear in the effects: at 0.25x (m 0.24) the codes are nearly
// static, and 2x is fully chronological (m clamped to 1).
constexpr double kChronological = 0.95;
std::vector<StateSet> memory_codes(std::uint64_t seed, double scale) {
  return sampled_replicates(seed, calibration_seeds(), 128, 4, [&](const synth::Trials& t) {
    const int units = 64;
    const double mix =
        std::clamp(scale * kChronological +
                       (scale > 0 ? 0.05 * torch::randn({1}, torch::kFloat64).item<double>() : 0.0),
                   0.0, 1.0);
    std::vector<torch::Tensor> elapsed, slot;
    for (int c = 0; c < 4; ++c) elapsed.push_back(synth::code(4, units, 4.0));
    for (int c = 0; c < 4; ++c) slot.push_back(synth::code(4, units, 4.0));
    torch::Tensor h = noise(t, units);
    for (int f = 0; f < t.frames; ++f) {
      for (int i = 0; i <= f; ++i) {
        torch::Tensor c = slot[static_cast<std::size_t>(i)] * std::sqrt(1 - mix * mix);
        if (f - i <= 2)
          c = c + elapsed[static_cast<std::size_t>(f - i)] * mix;  // held for two frames
        h.select(1, f) += synth::lookup(c, t.loc, i);
      }
    }
    return h;
  });
}

// 10 label permutations (the schema's default is 20): the swap sub-test
// keeps only cells whose target decoders beat the 95th percentile of their
// empirical chance, which 2 permutations (as before the fix) cannot estimate;
// with 2, power fell to 21 of 40 draws, with 10 it is 36 of 40.
const std::string kMemoryBody =
    "analyses = [\"cross_temporal\", \"procrustes\"]\nfeatures = [\"loc\"]\nfolds = "
    "4\npermutations = 10";

// Power at the study-sized effect, six seeds per group (kStudySeeds): 40
// of 40 draws (CP 95% 0.912-1.000), measured 2026-12-03 at analyze version 9
// (the centroid swap). With three seeds it was 35 of 40 (x0.5: 0 of 40; x2:
// 40 of 40), below the bound, so the test was disabled until the study's
// design had the seeds its power needs.
TEST(Calibration, Finding4Power) {
  const Count held = held_count("4", this_scenario("power"), kMemoryBody,
                                [](std::uint64_t s) { return memory_codes(s, effect_scale()); });
  if (power_asserted()) {
    EXPECT_TRUE(reaches_power(held));
  }
}
// Scale 0: static slot codes.
TEST(Calibration, Finding4FalsePositives) {
  EXPECT_TRUE(within_false_positive_bound(
      held_count("4", this_scenario("null"), kMemoryBody,
                 [](std::uint64_t s) { return memory_codes(s, 0.0); })));
}

// Ordinal slots with a transient encoding (2026-12-07): memory_codes'
// static slots (stimulus i's location in slot i's code at every frame: no
// chronology) plus one code of the stimulus shown now, shared by every frame,
// at `encoding` times the slots' gap. The encoding makes H1 fall below
// halfway and H2 rise, and the swap sub-test cannot tell slots from
// chronology (the borrowed rotation is the identity on the next stimulus's
// slot, the own rotation a noisy near-identity; README "Not covered (5)").
std::vector<StateSet> slots_with_encoding(std::uint64_t seed, double encoding) {
  return sampled_replicates(seed, calibration_seeds(), 128, 4, [&](const synth::Trials& t) {
    const int units = 64;
    torch::Tensor now = synth::code(4, units, 4.0) * encoding;
    std::vector<torch::Tensor> slot;
    for (int c = 0; c < 4; ++c) slot.push_back(synth::code(4, units, 4.0));
    torch::Tensor h = noise(t, units);
    for (int f = 0; f < t.frames; ++f) {
      h.select(1, f) += synth::lookup(now, t.loc, f);
      for (int i = 0; i <= f; ++i)
        h.select(1, f) += synth::lookup(slot[static_cast<std::size_t>(i)], t.loc, i);
    }
    return h;
  });
}

// Finding 4 on ordinal slots with a transient encoding (scale 3: 3 times
// the slots' gap). Before findings version 5 the declared test was held on
// it in 20 of 20 draws (100 of 100 in calibration.json at commit 480fd2c):
// H1 fell below halfway, H2 rose above chance and the swap sub-test passed
// (the borrowed rotation is the identity on the next stimulus's slot). The
// fourth sub-test, the elapsed-shifted swap with the fitted rotation above
// the same swap with none, is what a slot code fails: no rotation is
// needed to read a code that never moves.
TEST(Calibration, Finding4IgnoresOrdinalSlotsWithATransientEncoding) {
  EXPECT_TRUE(within_false_positive_bound(
      held_count("4", this_scenario("adversarial-null"), kMemoryBody,
                 [](std::uint64_t s) { return slots_with_encoding(s, 3.0); })));
}

// How many of the draws pass one sub-test of finding 4 (the test whose name
// ends with `suffix`, in the one multi-task group), printed as a
// "[ calibration ]" line of finding "4-<label>".
Count sub_test_passes(const std::string& label, const Scenario& scenario, const std::string& suffix,
                      const std::string& body,
                      const std::function<std::vector<StateSet>(std::uint64_t)>& draw,
                      std::uint64_t first_seed) {
  int passes = 0;
  std::map<std::string, int> outcomes;
  std::vector<double> effects;
  const int draws = calibration_draws();
  for (int d = 0; d < draws; ++d) {
    const std::uint64_t seed = first_seed + static_cast<std::uint64_t>(d) * 7919;
    AnalysisResult r = run_analysis(draw(seed), body, seed);
    const auto& f = r.findings.at("4");
    bool found = false;
    for (const auto& test : f.at("tests")) {
      const std::string name = test.at("name");
      if (name.size() < suffix.size() ||
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      found = true;
      passes += test.at("passed").get<bool>();
      outcomes[test.at("passed").get<bool>() ? "passed" : "not passed"] += 1;
      if (std::getenv("WMGEOM_CALIBRATION_EFFECTS") != nullptr && test.at("effect").is_number()) {
        effects.push_back(test.at("effect").get<double>());
      }
    }
    EXPECT_TRUE(found) << f.dump(2);
  }
  print_calibration("4-" + label, scenario, passes, draws, outcomes, "passed");
  if (!effects.empty()) {
    std::cerr << "mean sub-test effect " << analyze::stats::mean(effects) << " (SD over draws "
              << analyze::stats::sd(effects) << ")\n";
  }
  return {passes, draws};
}

// Replicates per group in finding 4's sub-test scenarios (H1, the swap):
// 3, as they were measured (not yet with the study's 6); env
// WMGEOM_CALIBRATION_SEEDS overrides it. Until 2026-12-05 their
// calibration.json entries said 6 (the default label), not the 3 they built.
int sub_test_seeds() { return calibration_seeds(3); }

// The adversarial null of H1 (issue 20, item 2): stimulus s is still held in
// the encoding subspace (code E at 0.6 of its strength a frame on, 0.36 two
// frames on), and the stimulus shown now is coded there at full strength. A
// decoder of s at a later frame j then reads y_j on trials whose labels
// differ: before H1 excluded y_j's class it scored 0 there, and "H1 below
// halfway" passed although s is held where it was encoded.
std::vector<StateSet> later_stimulus_in_encoding_subspace(std::uint64_t seed) {
  return sampled_replicates(seed, sub_test_seeds(), 128, 4, [](const synth::Trials& t) {
    const int units = 64;
    torch::Tensor e = synth::code(4, units, 4.0);
    torch::Tensor h = noise(t, units);
    for (int f = 0; f < t.frames; ++f) {
      for (int i = std::max(0, f - 2); i <= f; ++i)
        h.select(1, f) += synth::lookup(e, t.loc, i) * std::pow(0.6, f - i);
    }
    return h;
  });
}

TEST(Calibration, Finding4H1IgnoresTheLaterStimulusInTheEncodingSubspace) {
  EXPECT_TRUE(within_false_positive_bound(sub_test_passes(
      "H1", this_scenario("adversarial-null", sub_test_seeds()), ": H1 below halfway", kMemoryBody,
      later_stimulus_in_encoding_subspace, 1000)));
}

// The adversarial null of H2 (the 2026-12-07 audit; analyze version 15):
// nothing codes the stimulus shown now where an earlier one was encoded
// (each frame has its own code for it, weak), but strong memory codes, each
// the same at every frame, hold the stimulus one and two frames back. The
// encoding fit at s learns the memory of s - N (its label agrees with y_s
// half the time, the real sampler's matches) and at j reads the memory of
// j - N, whose label agrees with y_j: "H2 above chance" passed on that
// echo (8 of 20 draws at version 14, mean margin 0.0135). The table's rows
// exclude the first echo (j - N) only; the memory of s - 2N in loc-1 (read
// as j - 2N) remains, and with it 3 of 20 passes (margin 0.003). So since
// version 15 the sub-test averages the rows with s < N only, where the fit
// at s has no correlated memory to learn (2 of 40, margin -0.0002). Six
// seeds, as the study's groups: with three the echo passed 3 of 40.
std::vector<StateSet> memory_echo_without_shared_encoding(std::uint64_t seed) {
  return sampled_replicates(seed, calibration_seeds(), 128, 6, [](const synth::Trials& t) {
    const int units = 64;
    torch::Tensor back1 = synth::code(4, units, 4.0), back2 = synth::code(4, units, 3.0);
    torch::Tensor h = noise(t, units);
    for (int f = 0; f < t.frames; ++f) {
      h.select(1, f) += synth::lookup(synth::code(4, units, 0.7), t.loc, f);
      if (f >= 1) h.select(1, f) += synth::lookup(back1, t.loc, f - 1);
      if (f >= 2) h.select(1, f) += synth::lookup(back2, t.loc, f - 2);
    }
    return h;
  });
}

TEST(Calibration, Finding4H2IgnoresTheMemoryEcho) {
  EXPECT_TRUE(within_false_positive_bound(
      sub_test_passes("H2", this_scenario("adversarial-null"), ": H2 above chance", kMemoryBody,
                      memory_echo_without_shared_encoding, 3000)));
}

// Codes that turn while they decay (issue 20, item 3). Stimulus i is held at
// frame f >= i in a code C G_1 ... G_k scaled by `decay`^k, k = f - i the
// elapsed time: C a centred class code (4 locations), each G_k a rotation
// of C's own 3-d span (a rotation within the normals' span, so that K class
// correspondences determine it; one out of their span is not identifiable):
// G_k = T_k(scale * kElapsedTurn) F, F one fixed rotation by 90 degrees
// about the span's first axis and T_k a turn about axis (k - 1) mod 3 by
// scale * kElapsedTurn, so that consecutive steps differ. Scale 0: one fixed
// rotation turns every code every frame, whatever its elapsed time (the
// adversarial null: raw accuracies at different elapsed times, t + 1 - s vs
// t + 2 - s, made the elapsed-shifted swap win by decay alone). 8 units,
// 256 trials per task from the real N-back sampler: decoders whose normals
// estimate the rotation well.
// Effect size (scale 1): the study's swap difference relative to own
// targets, 0.155 in the decisive vanilla group (per model 0.06-0.34, group
// means 0.13-0.24); kElapsedTurn is set so that one scale-1 draw's is near
// it (measured beside it).
// Measured (10 draws at scale 1, WMGEOM_CALIBRATION_EFFECTS=1): swap
// difference 0.212 (SD over draws 0.063) against the study's 0.155 (group
// means 0.13-0.24).
constexpr double kElapsedTurn = 40.0;  // degrees
// The study's trial length (the tasks stage's default trial_length, read
// from its schema, the single source: 6 frames; pipelines/study.toml keeps
// it): the swap pairs a model has are those of the study's trials. Until
// version 10 these scenarios had 4 frames; on one cell (version 10) a
// 4-frame trial has one swap pair per task (source (0, 1)), and the
// study-sized turn passed in 30 of 40 draws there, 40 of 40 with the
// study's 6 frames (6 pairs per task).
int swap_frames() {
  static const int frames = static_cast<int>(std::get<std::int64_t>(
      *real_registry().find("tasks")->schema.param("trial_length")->default_value));
  return frames;
}
// by_frame: the turn of each step is set by the frame at which it happens
// (a clock that turns every code alike, whatever its elapsed time), not by
// the code's elapsed time: a null for the swap test (it has no
// elapsed-time-specific rotation; both swaps borrow a wrong one).
std::vector<StateSet> turning_codes(std::uint64_t seed, double scale, double decay,
                                    bool by_frame = false) {
  return sampled_replicates(
      seed, sub_test_seeds(), 256, swap_frames(), [&](const synth::Trials& t) {
        const int units = 8;
        torch::Tensor c = synth::code(4, units, 1.0);
        c = c - c.mean(0, true);
        c = c / c.norm(2, 1, true) * 4.0;
        torch::Tensor basis =
            std::get<0>(torch::linalg_qr(c.t())).narrow(1, 0, 3);  // [units, 3]: C's span
        torch::Tensor axes = std::get<0>(torch::linalg_qr(torch::randn({3, 3}, torch::kFloat64)));
        auto rotation = [&](int axis, double degrees) {
          // About one axis of the span (Rodrigues: I + sin(a) K + (1 - cos(a)) K^2).
          const double angle = degrees * M_PI / 180.0;
          torch::Tensor a = axes.select(1, axis);
          const double a0 = a[0].item<double>(), a1 = a[1].item<double>(), a2 = a[2].item<double>();
          torch::Tensor kx =
              torch::tensor({0.0, -a2, a1, a2, 0.0, -a0, -a1, a0, 0.0}, torch::kFloat64)
                  .view({3, 3});
          torch::Tensor g = torch::eye(3, torch::kFloat64) + std::sin(angle) * kx +
                            (1 - std::cos(angle)) * torch::mm(kx, kx);
          return torch::eye(units, torch::kFloat64) +
                 torch::mm(torch::mm(basis, g - torch::eye(3, torch::kFloat64)), basis.t());
        };
        const torch::Tensor fixed = rotation(0, 90.0);
        auto step = [&](int index) {
          return torch::mm(rotation((index - 1) % 3, scale * kElapsedTurn), fixed);
        };
        std::vector<torch::Tensor> codes{c};  // codes[e]: the code at elapsed time e
        for (int e = 1; e < t.frames; ++e)
          codes.push_back(torch::mm(codes.back(), step(e).t()) * decay);
        torch::Tensor h = noise(t, units);
        for (int f = 0; f < t.frames; ++f) {
          for (int i = 0; i <= f; ++i) {
            torch::Tensor code = codes[static_cast<std::size_t>(f - i)];
            if (by_frame) {  // stimulus i's code turned by the steps of frames i + 1 .. f
              code = c;
              for (int g = i + 1; g <= f; ++g) code = torch::mm(code, step(g).t()) * decay;
            }
            h.select(1, f) += synth::lookup(code, t.loc, i);
          }
        }
        return h;
      });
}

const std::string kSwapBody =
    "analyses = [\"cross_temporal\", \"procrustes\"]\nfeatures = [\"loc\"]\nfolds = "
    "4\npermutations = 10";
const std::string kSwapSuffix =
    ": same-elapsed-time swap > time-shifted swap, relative to own targets";

// The adversarial null of the swap test: one fixed rotation every frame,
// amplitude x0.7 per frame. Raw accuracies at different elapsed times passed
// it (in 40 of 40 draws at 6a3ccb4). The decoder-weight swap (the
// `procrustes` table, now supporting) passes it in 7 of 40 even relative to
// its targets: a decoder's normals are the code whitened by the other
// stimuli's interference, which stationary dynamics set by elapsed time, so
// W(s+1, t+1) ~ W(s, t) and the elapsed-shifted swap re-applies the
// transform it was fitted on. The declared swap fits its rotations on the
// codes themselves (`procrustes_centroids`: class centroids fitted jointly
// with the other stimuli's codes, nearest-centroid scores); with plain class
// means (no joint fit) it had a bias against the paper's direction (0 of 10,
// mean effect -0.133) and power 3 of 10. Version 9 paired the elapsed-shifted
// swap with the time-shifted swap on the stimulus's own next cell (a target
// one elapsed step older): 4 of 40 draws at 4 frames, 5 of 40 at the study's
// 6 (over the bound). Version 10 scores both swaps on one cell (README "The
// centroid swap"): 1 of 40 at 4 frames, 0 of 40 at 6 (2026-12-05).
TEST(Calibration, Finding4SwapIgnoresDecayUnderOneFixedRotation) {
  EXPECT_TRUE(within_false_positive_bound(sub_test_passes(
      "swap", this_scenario("adversarial-null", sub_test_seeds()), kSwapSuffix, kSwapBody,
      [](std::uint64_t s) { return turning_codes(s, 0.0, 0.7); }, 7000)));
}
// A second adversarial null: the same fixed rotation every frame and no
// decay, so that every elapsed time is coded alike in strength as well as
// in rotation (the two swaps' targets are equally strong). Version 9: 2 of
// 40 draws (4 frames); version 10: 0 of 40 at 4 frames and at 6.
TEST(Calibration, Finding4SwapIgnoresOneFixedRotationWithoutDecay) {
  EXPECT_TRUE(within_false_positive_bound(sub_test_passes(
      "swap", this_scenario("adversarial-null", sub_test_seeds()), kSwapSuffix, kSwapBody,
      [](std::uint64_t s) { return turning_codes(s, 0.0, 1.0); }, 7000)));
}
// A third adversarial null: the turns of the power scenario below, but set
// by the frame at which each step happens (a clock), not by elapsed time;
// both swaps then borrow a wrong rotation. Version 9 scored them on targets
// of different strength and the same misrotation cost the weaker, one step
// older, time-shifted target relatively more accuracy: 5 of 40 draws at 4
// frames (mean effect 0.027, SD 0.070 over 20 draws; the test was disabled
// with its true bound), 0 of 40 at 6. On one cell (version 10) both swaps
// borrow the same clock step for the same target: 2 of 40 at 4 frames, 1 of
// 40 at 6 (2026-12-05).
TEST(Calibration, Finding4SwapIgnoresTurnsSetByTheFrame) {
  EXPECT_TRUE(within_false_positive_bound(sub_test_passes(
      "swap", this_scenario("adversarial-null", sub_test_seeds()), kSwapSuffix, kSwapBody,
      [](std::uint64_t s) { return turning_codes(s, 1.0, 0.7, true); }, 7000)));
}
// The positive control: a rotation per elapsed step, with the same decay,
// the turn sized from the study's decoder-weight swap (kElapsedTurn, not
// changed for the centroid swap). Version 9: 40 of 40 draws (CP 95%
// 0.912-1; x0.5: 32, x2: 40) at 4 frames, 40 of 40 at 6; the decoder-weight
// swap passed it in 24 of 40 (x0.5: 9, x2: 33). Version 10 (one cell): 30
// of 40 at 4 frames (one pair per task), 40 of 40 at 6 (2026-12-05).
TEST(Calibration, Finding4SwapDetectsElapsedTimeSpecificRotation) {
  const Count passes = sub_test_passes(
      "swap", this_scenario("power", sub_test_seeds()), kSwapSuffix, kSwapBody,
      [](std::uint64_t s) { return turning_codes(s, effect_scale(), 0.7); }, 7000);
  if (power_asserted()) {
    EXPECT_TRUE(reaches_power(passes));
  }
}

}  // namespace
}  // namespace wmgeom::testing
