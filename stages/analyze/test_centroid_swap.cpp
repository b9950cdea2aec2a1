// Finding 4's declared swap test on planted codes (README "The centroid
// swap", "Both swaps on one cell"): the centroid swap follows
// elapsed-time-specific rotations, and its two swaps share one cell.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <map>
#include <string>

#include "analyze/synthetic.h"
#include "analyze/test_analyze_fixture.h"
#include "core/artifacts.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

// Codes that turn as they age (README "The centroid swap"): stimulus i is
// held at frame f in code C S_1 ... S_e, e = f - i, decayed x0.8 a frame,
// in C's own 3-d span, every stimulus shown so far summed (interference);
// S_e = T_e(turn) F, F one fixed 90-degree rotation and T_e a turn about
// axis (e - 1) mod 3 of the span. turn = 0: one fixed rotation whatever the
// elapsed time (no elapsed-time-specific rotation).
// by_frame: the turns are set by the frame at which each step happens (a
// clock that turns every held code alike), not by the code's elapsed time.
StateSet aging_codes(double turn, std::uint64_t seed, bool by_frame = false) {
  synth::Trials t = synth::sampled_trials({"loc-2"}, 512, 4, 4, seed);
  const int units = 8;
  torch::Tensor c = synth::code(synth::kLocations, units, 1.0);
  c = c - c.mean(0, true);
  c = c / c.norm(2, 1, true) * 4.0;
  torch::Tensor basis = std::get<0>(torch::linalg_qr(c.t())).narrow(1, 0, 3);
  auto rotation = [&](int axis, double degrees) {
    torch::Tensor g = torch::eye(3, torch::kFloat64);
    const double a = degrees * M_PI / 180.0;
    const int i = (axis + 1) % 3, j = (axis + 2) % 3;
    g.index_put_({i, i}, std::cos(a));
    g.index_put_({j, j}, std::cos(a));
    g.index_put_({i, j}, -std::sin(a));
    g.index_put_({j, i}, std::sin(a));
    return torch::eye(units, torch::kFloat64) +
           torch::mm(torch::mm(basis, g - torch::eye(3, torch::kFloat64)), basis.t());
  };
  auto step = [&](int index) {
    return torch::mm(rotation((index - 1) % 3, turn), rotation(0, 90.0)).t() * 0.8;
  };
  std::vector<torch::Tensor> codes{c};
  for (int e = 1; e < t.frames; ++e) codes.push_back(torch::mm(codes.back(), step(e)));
  torch::Tensor h = torch::randn({t.m, t.frames, units}, torch::kFloat64) * 0.5;
  for (int f = 0; f < t.frames; ++f) {
    for (int i = 0; i <= f; ++i) {
      torch::Tensor code = codes[static_cast<std::size_t>(f - i)];
      if (by_frame) {  // turned by the steps of frames i + 1 .. f
        code = c;
        for (int g = i + 1; g <= f; ++g) code = torch::mm(code, step(g));
      }
      h.select(1, f) += synth::lookup(code, t.loc, i);
    }
  }
  return synth::stateset(t, h, "gru", static_cast<std::int64_t>(seed));
}

// Planted truth both ways: with a rotation per elapsed step, the centroid
// swap at the same elapsed time scores like its target (relative ~1) and
// the time-shifted one, rotated by the previous step's turn, far less; with
// one fixed rotation both score like their targets. Without the
// `procrustes_centroids` table (before the centroid swap) this fails.
TEST(Analyze, CentroidSwapFollowsElapsedTimeSpecificRotations) {
  const std::string body =
      "analyses = [\"procrustes\"]\nfeatures = [\"loc\"]\nfolds = 4\npermutations = 10";
  auto relative = [](const Table& t, const char* test) {
    return mean_where(t, "relative", {{"test", test}},
                      [&](std::size_t i) { return t.numeric.at("target_above_chance")[i] > 0; });
  };
  Analysis specific = analyze({aging_codes(90.0, 170)}, body);
  const Table& a = specific.result.tables.at("procrustes_centroids");
  EXPECT_GT(relative(a, "elapsed_shifted"), 0.85);
  EXPECT_LT(relative(a, "time_shifted"), 0.6);
  EXPECT_GT(relative(a, "elapsed_shifted") - relative(a, "elapsed_shifted_no_rotation"), 0.3);
  Analysis fixed = analyze({aging_codes(0.0, 171)}, body);
  const Table& b = fixed.result.tables.at("procrustes_centroids");
  EXPECT_GT(relative(b, "elapsed_shifted"), 0.85);
  EXPECT_GT(relative(b, "time_shifted"), 0.85);
  EXPECT_NEAR(relative(b, "elapsed_shifted"), relative(b, "time_shifted"), 0.1);
  std::cerr << "elapsed-specific: elapsed " << relative(a, "elapsed_shifted") << " time "
            << relative(a, "time_shifted") << " no rotation "
            << relative(a, "elapsed_shifted_no_rotation") << "; fixed: elapsed "
            << relative(b, "elapsed_shifted") << " time " << relative(b, "time_shifted") << "\n";
}

// Finding 4's declared swaps land on one cell (analyze version 10): beside
// each elapsed-shifted swap of source cell (s, t), the next stimulus's own
// time-shifted swap (`time_shifted_same_cell`) scored on the same target
// (s+1, t+2), on the same trials, against the same fitted centroids and
// chance, so that the two differ only in the rotation they borrow. Under
// turns set by the frame (a clock) both borrow the same wrong rotation and
// score alike; under turns set by the elapsed time the younger one is wrong.
// Before version 10 the table had no such row (and the test paired swaps on
// targets of different strength: README "The centroid swap").
TEST(Analyze, CentroidSwapsOfOnePairShareTheirCell) {
  const std::string body =
      "analyses = [\"procrustes\"]\nfeatures = [\"loc\"]\nfolds = 4\npermutations = 10";
  auto pairs_of = [](const Table& t) {
    // (source_stim, source_frame) -> test -> row
    std::map<std::pair<double, double>, std::map<std::string, std::size_t>> out;
    for (std::size_t i = 0; i < t.rows(); ++i) {
      out[{t.numeric.at("source_stim")[i], t.numeric.at("source_frame")[i]}][t.text.at("test")[i]] =
          i;
    }
    return out;
  };
  auto mean_difference = [&](const Table& t) {
    double sum = 0;
    int n = 0;
    for (const auto& [cell, tests] : pairs_of(t)) {
      if (!tests.count("elapsed_shifted") || !tests.count("time_shifted_same_cell")) continue;
      const std::size_t e = tests.at("elapsed_shifted"), ts = tests.at("time_shifted_same_cell");
      if (t.numeric.at("target_above_chance")[e] <= 0) continue;
      sum += t.numeric.at("relative")[e] - t.numeric.at("relative")[ts];
      ++n;
    }
    return n == 0 ? std::nan("") : sum / n;
  };
  Analysis clock = analyze({aging_codes(60.0, 172, true)}, body);
  const Table& c = clock.result.tables.at("procrustes_centroids");
  int paired = 0;
  for (const auto& [cell, tests] : pairs_of(c)) {
    const auto [s, t] = cell;
    const bool expected = t >= s + 1 && t + 2 < 4;  // s + 1 shown at t; a frame t + 2
    ASSERT_EQ(tests.count("time_shifted_same_cell"), expected ? 1u : 0u)
        << "source (" << s << ", " << t << ")";
    if (!expected) continue;
    ++paired;
    const std::size_t e = tests.at("elapsed_shifted"), ts = tests.at("time_shifted_same_cell");
    for (const char* col : {"stim_frame", "frame", "n", "fitted_accuracy", "chance_empirical"})
      EXPECT_EQ(c.numeric.at(col)[e], c.numeric.at(col)[ts]) << col;
  }
  EXPECT_EQ(paired, 1);  // 4 frames: (s, t) = (0, 1) only
  EXPECT_NEAR(mean_difference(c), 0.0, 0.1);
  Analysis specific = analyze({aging_codes(90.0, 170)}, body);
  EXPECT_GT(mean_difference(specific.result.tables.at("procrustes_centroids")), 0.3);
  std::cerr << "clock: " << mean_difference(c) << "; elapsed-specific: "
            << mean_difference(specific.result.tables.at("procrustes_centroids")) << "\n";
}

}  // namespace
}  // namespace wmgeom::testing
