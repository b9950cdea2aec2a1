// The Procrustes rotation (analyze/procrustes.h): unique, optimal, closest
// to the identity, and equal to recompute_findings.py's.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <set>

#include "analyze/analyses.h"
#include "analyze/analyze.h"
#include "analyze/procrustes.h"
#include "analyze/synthetic.h"
#include "analyze/table_schema.h"
#include "config/diagnostics.h"
#include "core/artifacts.h"
#include "core/error.h"
#include "core/npy.h"
#include "graph/fit.h"
#include "graph/plan.h"
#include "graph/registry.h"
#include "nets/torch_util.h"
#include "stage_kit.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

// ---- The Procrustes rotation (procrustes.h): unique, closest to the identity.

// K class normals [K, H] standardised as the swap test does: centred, unit norm.
torch::Tensor class_normals(std::int64_t k, std::int64_t h) {
  torch::Tensor w = torch::randn({k, h}, torch::kFloat64);
  w = w - w.mean(0, true);
  return w / w.norm();
}
torch::Tensor random_orthogonal(std::int64_t n) {
  return std::get<0>(torch::linalg_qr(torch::randn({n, n}, torch::kFloat64)));
}
double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// The same vectors in another coordinate system (padded with zero units and
// rotated): the fitted map is the same map, conjugated, so every swap (the
// rotation applied to normals outside the row space of the source, which the
// correspondences leave undetermined) is the same. And rounding-level noise
// that breaks the centring does not move it. Before the closest-to-identity
// rule the completion was LAPACK's basis choice: swaps moved by O(1).
TEST(Analyze, ProcrustesRotationDoesNotDependOnTheBasis) {
  torch::manual_seed(11);
  const std::int64_t k = 4, h = 10, big = 16;
  for (int draw = 0; draw < 5; ++draw) {
    torch::Tensor src = class_normals(k, h), tgt = class_normals(k, h), other = class_normals(k, h);
    analyze::Rotation rot = analyze::fit_rotation(src, tgt);
    torch::Tensor swap = rot.apply(other), reconstructed = rot.apply(src);
    // Embedded in 16 units and rotated by g.
    torch::Tensor g = random_orthogonal(big);
    auto embed = [&](const torch::Tensor& w) {
      return torch::mm(torch::cat({w, torch::zeros({k, big - h}, torch::kFloat64)}, 1), g);
    };
    analyze::Rotation moved = analyze::fit_rotation(embed(src), embed(tgt));
    EXPECT_LT(max_diff(moved.apply(embed(other)), embed(swap)), 1e-9) << "draw " << draw;
    EXPECT_LT(max_diff(moved.apply(embed(src)), embed(reconstructed)), 1e-9);
    EXPECT_NEAR(moved.scale, rot.scale, 1e-12);
    // The whole map: g^T (R + I outside) g.
    torch::Tensor r_big = torch::eye(big, torch::kFloat64);
    r_big.index_put_({torch::indexing::Slice(0, h), torch::indexing::Slice(0, h)}, rot.matrix());
    EXPECT_LT(max_diff(moved.matrix(), torch::mm(torch::mm(g.t(), r_big), g)), 1e-9);
    // Rounding noise (the centring no longer exact) leaves it where it was.
    analyze::Rotation noisy =
        analyze::fit_rotation(src + 1e-14 * torch::randn({k, h}, torch::kFloat64),
                              tgt + 1e-14 * torch::randn({k, h}, torch::kFloat64));
    EXPECT_LT(max_diff(noisy.apply(other), swap), 1e-9) << "draw " << draw;
    // The class order is no basis either: the same correspondences permuted.
    torch::Tensor perm = torch::tensor({2, 0, 3, 1}, torch::kLong);
    analyze::Rotation reordered =
        analyze::fit_rotation(src.index_select(0, perm), tgt.index_select(0, perm));
    EXPECT_LT(max_diff(reordered.apply(other), swap), 1e-9);
    // The identity (times the scale) on vectors orthogonal to both spans.
    torch::Tensor span = std::get<0>(
        torch::linalg_qr(torch::cat({src, tgt}).t()));  // [h, 2k]: contains the span (rank 2k - 2)
    torch::Tensor v = torch::randn({3, h}, torch::kFloat64);
    v = v - torch::mm(torch::mm(v, span), span.t());
    EXPECT_LT(max_diff(rot.apply(v), v * rot.scale), 1e-12);
    // Orthogonal.
    EXPECT_LT(max_diff(torch::mm(rot.matrix(), rot.matrix().t()), torch::eye(h, torch::kFloat64)),
              1e-12);
  }
}

// Optimal: maps the K sources onto the targets as well as any orthogonal map
// can, a planted rotation exactly; and of all such maps the closest to the
// identity (largest trace), so a minimal plane rotation is found as itself.
TEST(Analyze, ProcrustesRotationIsOptimalAndClosestToTheIdentity) {
  torch::manual_seed(12);
  const std::int64_t k = 4, h = 10;
  for (int draw = 0; draw < 5; ++draw) {
    // Planted: tgt = src g exactly (g orthogonal): recovered on the sources, scale 1.
    torch::Tensor src = class_normals(k, h), g = random_orthogonal(h);
    analyze::Rotation rot = analyze::fit_rotation(src, torch::mm(src, g));
    EXPECT_NEAR(rot.scale, 1.0, 1e-12);
    EXPECT_LT(max_diff(rot.apply(src), torch::mm(src, g)), 1e-9);
    // Planted with a scale: recovered too.
    analyze::Rotation scaled = analyze::fit_rotation(src, 0.5 * torch::mm(src, g));
    EXPECT_NEAR(scaled.scale, 0.5, 1e-12);
    EXPECT_LT(max_diff(scaled.apply(src), 0.5 * torch::mm(src, g)), 1e-9);
    // Any other optimal map (ours followed by a rotation s fixing the image of
    // the sources' row space, turning the rest of the span) fits as well and
    // is no closer to the identity.
    torch::Tensor tgt = class_normals(k, h);
    rot = analyze::fit_rotation(src, tgt);
    const double loss = (rot.apply(src) - tgt).norm().item<double>();
    const double trace = rot.matrix().trace().item<double>();
    using torch::indexing::Slice;
    torch::Tensor span = std::get<0>(torch::linalg_svd(torch::cat({src, tgt}).t(), false))
                             .index({Slice(), Slice(0, 2 * k - 2)});
    torch::Tensor image = std::get<0>(torch::linalg_qr(torch::mm(src, rot.matrix()).t()))
                              .index({Slice(), Slice(0, k - 1)});
    torch::Tensor off = std::get<0>(torch::linalg_qr(torch::cat({image, span}, 1)))
                            .index({Slice(), Slice(k - 1, 2 * k - 2)});
    for (int other = 0; other < 20; ++other) {
      torch::Tensor s = torch::eye(h, torch::kFloat64) - torch::mm(off, off.t()) +
                        torch::mm(torch::mm(off, random_orthogonal(k - 1)), off.t());
      torch::Tensor r2 = torch::mm(rot.matrix(), s);
      EXPECT_NEAR((torch::mm(src, r2) * rot.scale - tgt).norm().item<double>(), loss, 1e-9);
      EXPECT_LE(r2.trace().item<double>(), trace + 1e-9);
    }
  }
  // A minimal rotation: two classes at +-e0 turned by 40 degrees towards e2,
  // in 5 units. The correspondences fix e0 -> (cos, 0, sin); the closest
  // completion is the plane rotation itself (e2 -> (-sin, 0, cos)), the
  // identity on e1, e3, e4; a reflection would fit the classes equally.
  const double th = 40.0 * M_PI / 180.0;
  torch::Tensor plane = torch::eye(5, torch::kFloat64);
  plane.index_put_({0, 0}, std::cos(th));
  plane.index_put_({0, 2}, std::sin(th));
  plane.index_put_({2, 0}, -std::sin(th));
  plane.index_put_({2, 2}, std::cos(th));
  torch::Tensor two = torch::zeros({2, 5}, torch::kFloat64);
  two.index_put_({0, 0}, 1.0 / std::sqrt(2.0));
  two.index_put_({1, 0}, -1.0 / std::sqrt(2.0));
  analyze::Rotation minimal = analyze::fit_rotation(two, torch::mm(two, plane));
  EXPECT_LT(max_diff(minimal.matrix(), plane), 1e-12) << minimal.matrix();
  // Three classes in the (e0, e1) plane turned within it: fully determined there.
  torch::Tensor three = torch::zeros({3, 5}, torch::kFloat64);
  for (int c = 0; c < 3; ++c) {
    three.index_put_({c, 0}, std::cos(2 * M_PI * c / 3) / std::sqrt(1.5));
    three.index_put_({c, 1}, std::sin(2 * M_PI * c / 3) / std::sqrt(1.5));
  }
  torch::Tensor turn = torch::eye(5, torch::kFloat64);
  turn.index_put_({0, 0}, std::cos(th));
  turn.index_put_({0, 1}, std::sin(th));
  turn.index_put_({1, 0}, -std::sin(th));
  turn.index_put_({1, 1}, std::cos(th));
  EXPECT_LT(max_diff(analyze::fit_rotation(three, torch::mm(three, turn)).matrix(), turn), 1e-12);
}

// The same rule as the independent recomputation's (recompute_findings.py,
// Rotation with the default completion "closest"): the same map.
TEST(Analyze, ProcrustesRotationAgreesWithRecomputeFindings) {
  WMGEOM_REQUIRE_SKLEARN();
  torch::manual_seed(13);
  TempDir dir;
  const std::int64_t k = 4, h = 12;
  torch::Tensor src = class_normals(k, h), tgt = class_normals(k, h),
                probe = torch::cat({class_normals(k, h), torch::eye(h, torch::kFloat64)});
  write_npy(dir / "src.npy", nets::to_array(src));
  write_npy(dir / "tgt.npy", nets::to_array(tgt));
  write_npy(dir / "probe.npy", nets::to_array(probe));
  const std::string d = dir.path().string();
  const std::string cmd = std::string("cd ") + WMGEOM_SOURCE_DIR +
                          "/stages/analyze && /usr/bin/python3 -c \"import numpy as np; "
                          "from recompute_findings import Rotation; d = '" +
                          d +
                          "'; "
                          "r = Rotation(np.load(d + '/src.npy'), np.load(d + '/tgt.npy')); "
                          "np.save(d + '/out.npy', r.apply(np.load(d + '/probe.npy')))\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  torch::Tensor python = nets::view(read_npy(dir / "out.npy")).clone();
  EXPECT_LT(max_diff(analyze::fit_rotation(src, tgt).apply(probe), python), 1e-9);
}

}  // namespace
}  // namespace wmgeom::testing
