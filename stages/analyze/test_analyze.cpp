// The analyze stage on synthetic states with planted structure (what should
// be found is known), its agreement with scikit-learn on the same folds, its
// errors, and one run through the engine on a trained model.
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

// Trials of `tasks` (trials_per_task each) over 4 x 4 x `views` images, T
// frames, H units. The state at frame t holds the stimulus at t in an
// "encoding" code and the stimulus at t - 1 in a different "memory" code,
// for the features in `encoded`; plus unit Gaussian noise per trial.
StateSet synthetic(const std::vector<std::string>& tasks, int trials_per_task, int frames,
                   int units, const std::vector<std::string>& encoded, std::uint64_t seed,
                   double gap = 6.0, int views = 4) {
  synth::Trials t = synth::trials(tasks, trials_per_task, frames, views, seed);
  torch::Tensor h = torch::randn({t.m, frames, units}, torch::kFloat64);
  auto labels = t.labels();
  for (const auto& f : encoded) {
    torch::Tensor enc = synth::code(static_cast<int>(synth::values_of(f)), units, gap);
    torch::Tensor mem = synth::code(static_cast<int>(synth::values_of(f)), units, gap);
    for (int fr = 0; fr < frames; ++fr) {
      h.select(1, fr) += synth::lookup(enc, labels[f], fr);
      if (fr > 0) h.select(1, fr) += synth::lookup(mem, labels[f], fr - 1);
    }
  }
  return synth::stateset(t, h, "gru", static_cast<std::int64_t>(seed), 20);
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
  Params p = stage_params(real_registry(), "analyze",
                          body + "\nseed = 3\nstates = [\"up\"]\n" + kUpstream);
  StageInputs in;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    in.add("states", InputItem{"states" + std::to_string(i),
                               {},
                               std::make_shared<const Artifact>(sets[i].to_artifact())});
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
double mean_where(
    const Table& t, const std::string& column, const std::map<std::string, std::string>& text,
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

// The enum tables and the schema name the same choices: each schema choice
// parses, and each table entry is a schema choice (no silent fallback either way).
TEST(Analyze, ChoiceTablesMatchTheSchema) {
  const auto& schema = real_registry().find("analyze")->schema;
  auto choices_of = [&](const std::string& name) {
    for (const auto& spec : schema.params) {
      if (spec.name == name) return spec.choices;
    }
    return std::vector<std::string>{};
  };
  auto check = [&](const auto& table, const std::string& param) {
    const auto choices = choices_of(param);
    EXPECT_EQ(choices.size(), std::size(table)) << param;
    for (const auto& c : choices)
      EXPECT_NO_THROW(parse_choice(table, c, param)) << param << " = " << c;
    EXPECT_THROW(parse_choice(table, "no-such", param), Error) << param;
  };
  check(analyze::kCvs, "cv");
  check(analyze::kSpaces, "space");
  check(analyze::kOrthoPreps, "ortho_space");
  check(decoders::kModels, "decoder");
}

TEST(Analyze, OrthogonalityIndexOfOrthogonalAndParallelDirections) {
  EXPECT_DOUBLE_EQ(analyze::orthogonality_index(torch::eye(4, torch::kFloat64) * 3.0), 1.0);
  torch::Tensor v = torch::randn({1, 7}, torch::kFloat64);
  EXPECT_NEAR(analyze::orthogonality_index(torch::cat({v, 2 * v, -v})), 0.0, 1e-12);
  // Two directions at 60 degrees: 1 - cos = 0.5.
  torch::Tensor a = torch::tensor({{1.0, 0.0}, {0.5, std::sqrt(3.0) / 2}}, torch::kFloat64);
  EXPECT_NEAR(analyze::orthogonality_index(a), 0.5, 1e-12);
}

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
  if (std::system("/usr/bin/python3 -c 'import sklearn' 2>/dev/null") != 0)
    GTEST_SKIP() << "python3-sklearn missing";
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

TEST(Analyze, StatisticsMatchKnownValues) {
  namespace st = analyze::stats;
  // scipy.stats.ttest_ind(a, b, equal_var=False) and its confidence_interval().
  auto t = st::welch_t({1, 2, 3, 4, 5}, {2, 4, 6, 8, 10, 12}, st::Alternative::kTwoSided);
  EXPECT_NEAR(t.statistic, -2.376354, 1e-5);
  EXPECT_NEAR(t.df, 6.972256, 1e-5);
  EXPECT_NEAR(t.p, 0.049284, 1e-5);
  EXPECT_NEAR(t.ci_lo, -7.983469, 1e-5);
  EXPECT_NEAR(t.ci_hi, -0.016531, 1e-5);
  auto less = st::welch_t({1, 2, 3, 4, 5}, {2, 4, 6, 8, 10, 12}, st::Alternative::kLess);
  EXPECT_NEAR(less.p, 0.024642, 1e-5);
  // scipy.stats.ttest_1samp([0.1, 0.4, -0.2, 0.5, 0.3], 0, alternative="greater").
  auto one = st::one_sample_t({0.1, 0.4, -0.2, 0.5, 0.3}, 0.0, st::Alternative::kGreater);
  EXPECT_NEAR(one.statistic, 1.772811, 1e-5);
  EXPECT_NEAR(one.p, 0.075472, 1e-5);
  EXPECT_NEAR(st::t_p_value(2.0, 10.0, st::Alternative::kTwoSided), 0.073388, 1e-5);
  EXPECT_NEAR(st::spearman({1, 2, 3, 4}, {10, 20, 30, 25}), 0.8, 1e-12);
  // Permutation p-values count the observation itself: never 0.
  EXPECT_DOUBLE_EQ(st::permutation_p(1.0, {0.1, 0.2, 0.3}, st::Alternative::kGreater), 0.25);
  EXPECT_DOUBLE_EQ(st::permutation_p(0.2, {0.1, 0.2, 0.3}, st::Alternative::kGreater), 0.75);
  EXPECT_DOUBLE_EQ(st::quantile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_FALSE(st::one_sample_t({1.0}, 0.0, st::Alternative::kGreater).defined());
  // Clopper-Pearson: scipy.stats.beta.ppf(0.025, k, n - k + 1) and
  // beta.ppf(0.975, k + 1, n - k).
  auto [lo4, hi4] = st::clopper_pearson(4, 40);
  EXPECT_NEAR(lo4, 0.0279254, 1e-6);
  EXPECT_NEAR(hi4, 0.2366374, 1e-6);
  auto [lo36, hi36] = st::clopper_pearson(36, 40);
  EXPECT_NEAR(lo36, 0.7633626, 1e-6);
  EXPECT_NEAR(hi36, 0.9720746, 1e-6);
  EXPECT_EQ(st::clopper_pearson(0, 40).first, 0.0);
  EXPECT_NEAR(st::clopper_pearson(0, 40).second, 0.0880973, 1e-6);
  EXPECT_EQ(st::clopper_pearson(40, 40).second, 1.0);
  EXPECT_NEAR(st::clopper_pearson(5, 100).first, 0.0164319, 1e-6);
}

TEST(Analyze, RecoversPlantedCodes) {
  // loc and cat are encoded, id only through cat (its parity is not).
  StateSet s = synthetic({"loc-1", "cat-1"}, 160, 4, 24, {"loc", "cat"}, 1);
  Analysis r = analyze({s},
                       "analyses = [\"decoding\", \"cross_temporal\", \"cross_task\", "
                       "\"orthogonality\", \"procrustes\", "
                       "\"rsa\", \"dimensionality\"]\nnull_shuffles = 3\nrandom_directions = 200");
  const Table& dec = r.result.tables.at("decoding");
  auto at = [&](const std::string& feature, int stim, int t) {
    return mean_where(dec, "accuracy", {{"feature", feature}}, [&](std::size_t i) {
      return dec.numeric.at("stim_frame")[i] == stim && dec.numeric.at("train_frame")[i] == t;
    });
  };
  EXPECT_GT(at("loc", 1, 1), 0.9);   // encoding
  EXPECT_GT(at("loc", 1, 2), 0.9);   // memory, one frame later
  EXPECT_LT(at("loc", 1, 3), 0.45);  // gone two frames later: chance 0.25
  EXPECT_GT(at("cat", 2, 2), 0.9);
  // id is half-decodable (its category): about 0.5, against chance 0.25.
  EXPECT_NEAR(at("id", 2, 2), 0.5, 0.12);
  // Chance: 1/K on every held-out trial; 1/(K - 1) where the lag rule
  // scores the row (t - s a multiple of the task's N).
  EXPECT_DOUBLE_EQ(mean_where(dec, "chance", {{"feature", "loc"}, {"scoring", "all"}}), 0.25);
  EXPECT_DOUBLE_EQ(mean_where(dec, "chance", {{"feature", "loc"}, {"scoring", "differ"}}),
                   1.0 / 3.0);
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
  auto pr_at = [&](const std::string& test, const std::string& column = "accuracy") {
    return mean_where(pr, column, {{"feature", "loc"}, {"test", test}}, [&](std::size_t i) {
      return pr.numeric.at("source_frame")[i] == pr.numeric.at("source_stim")[i];
    });
  };
  EXPECT_GT(pr_at("reconstructed"), 0.85);
  // The same rotation one stimulus later: far above chance and above the
  // same weights unrotated. (Its target, the fitted decoder, scores 0.98;
  // the rotation is fitted from 4 class normals in 24 units, so the swap
  // reads 0.83-0.85 depending on the machine's BLAS: a fixed 0.85 failed on
  // one machine at c28516e with 0.846.)
  EXPECT_GT(pr_at("elapsed_shifted"), 0.75)
      << "fitted " << pr_at("elapsed_shifted", "fitted_accuracy");
  EXPECT_GT(pr_at("elapsed_shifted"), pr_at("elapsed_shifted_no_rotation") + 0.3);
  EXPECT_LT(pr_at("time_shifted"), 0.5);  // memory -> gone: no rotation predicts it
  // The rotation's own null: rotations fitted on permuted class
  // correspondences score far below the fitted one.
  EXPECT_GT(pr_at("elapsed_shifted"), pr_at("elapsed_shifted_permuted_rotation") + 0.3);
  EXPECT_GT(pr_at("elapsed_shifted", "relative"), 0.7);

  const Table& orth = r.result.tables.at("orthogonality");
  EXPECT_GT(orth.rows(), 0u);
  // Matched dimensionality: both spaces in the same number of PCs (the RNN's 24 units).
  for (std::size_t i = 0; i < orth.rows(); ++i) EXPECT_EQ(orth.numeric.at("dims")[i], 20.0);
  EXPECT_TRUE(r.result.tables.count("orthogonality_summary"));
  const Table& rsa = r.result.tables.at("rsa");
  EXPECT_NEAR(mean_where(rsa, "cka", {{"space_a", "hidden"}, {"space_b", "hidden"}},
                         [&](std::size_t i) {
                           return rsa.numeric.at("frame_a")[i] == rsa.numeric.at("frame_b")[i];
                         }),
              1.0, 1e-9);
  // The same space at the same frame: every permutation scores lower.
  EXPECT_NEAR(mean_where(rsa, "cka_p", {{"space_a", "hidden"}, {"space_b", "hidden"}},
                         [&](std::size_t i) {
                           return rsa.numeric.at("frame_a")[i] == rsa.numeric.at("frame_b")[i];
                         }),
              1.0 / 1001.0, 1e-12);
  const Table& dim = r.result.tables.at("dimensionality");
  int inside = 0;
  for (std::size_t i = 0; i < dim.rows(); ++i) {
    double pr = dim.numeric.at("participation_ratio")[i];
    inside += dim.numeric.at("ci_lo")[i] <= pr * 1.05 && pr <= dim.numeric.at("ci_hi")[i] * 1.05;
  }
  EXPECT_GT(inside, static_cast<int>(dim.rows() * 9 / 10));
  // One model: no finding can be decided, and each says what to add.
  for (const char* k : {"1", "2", "3", "4", "5"}) {
    ASSERT_TRUE(r.result.findings.contains(k));
    EXPECT_EQ(r.result.findings[k]["verdict"], "not testable") << r.result.findings[k].dump(2);
    EXPECT_TRUE(r.result.findings[k]["held"].is_null());
    // The same keys as a decided finding: test and unit given, n, CI, p null.
    EXPECT_FALSE(r.result.findings[k]["test"].get<std::string>().empty());
    EXPECT_EQ(r.result.findings[k]["unit"], "model (seed)");
    for (const char* key : {"n", "effect", "ci", "p"})
      EXPECT_TRUE(r.result.findings[k][key].is_null()) << key;
    EXPECT_FALSE(r.result.findings[k]["to_make_testable"].get<std::string>().empty());
  }
  EXPECT_NE(r.result.findings["4"]["reason"].get<std::string>().find("fewer than 3 seeds"),
            std::string::npos);
  // Folds exported for refitting elsewhere.
  EXPECT_EQ(r.result.arrays.at("folds.states0").shape(), (std::vector<std::int64_t>{320, 3, 4}));
}

// ---- The one leak rule (SCIENCE.md section 6; issue 20 items 1 and 2) ----

// States on trials of the real N-back sampler (64 images, repeated across
// trials and frames): at every frame a random code per image shown
// (`image_gap`), plus a location code shared by every task (`loc_gap`),
// plus noise.
StateSet image_coded(const std::vector<std::string>& tasks, int per_task, int frames,
                     std::uint64_t seed, double image_gap, double loc_gap, int units = 32) {
  synth::Trials t = synth::sampled_trials(tasks, per_task, frames, 4, seed);
  torch::Tensor images = torch::randn({t.images(), units}, torch::kFloat64) * image_gap;
  torch::Tensor loc = synth::code(synth::kLocations, units, loc_gap);
  torch::Tensor h = torch::randn({t.m, frames, units}, torch::kFloat64) * 0.3;
  for (int f = 0; f < frames; ++f) {
    h.select(1, f) +=
        images.index_select(0, t.stimulus.select(1, f)) + synth::lookup(loc, t.loc, f);
  }
  return synth::stateset(t, h, "gru", static_cast<std::int64_t>(seed));
}

// Mean of (accuracy - chance_empirical) over the rows that `keep` selects.
double above_chance(const Table& t, const std::function<bool(std::size_t)>& keep) {
  double sum = 0;
  int n = 0;
  for (std::size_t i = 0; i < t.rows(); ++i) {
    if (!keep(i)) continue;
    sum += t.numeric.at("accuracy")[i] - t.numeric.at("chance_empirical")[i];
    ++n;
  }
  EXPECT_GT(n, 0);
  return sum / n;
}

// Finding 2's leak: a code per image and none per feature. Before the fix,
// fold q's decoder was scored on every trial of the other task, most of
// which show images of fold q's training set at the encoding frame (near
// twins): generalisation scored about 0.5 above its empirical chance. Scored
// only on images unseen by the fold, it is at chance; a location code shared
// by the tasks (the positive control) still generalises.
TEST(Analyze, CrossTaskScoresOnlyImagesUnseenByTheFold) {
  const std::string body =
      "analyses = [\"cross_task\"]\nfeatures = [\"loc\"]\nframes = [0]\nfolds = 4\npermutations = "
      "10";
  double leak = 0, shared = 0;
  const int draws = 4;
  for (int d = 0; d < draws; ++d) {
    const std::uint64_t seed = 70 + static_cast<std::uint64_t>(d);
    Analysis none = analyze({image_coded({"loc-1", "id-1"}, 128, 2, seed, 3.0, 0.0)}, body);
    const Table& ct = none.result.tables.at("cross_task");
    auto gen = [&](std::size_t i) { return ct.text.at("kind")[i] == "generalisation"; };
    leak += above_chance(ct, gen) / draws;
    for (std::size_t i = 0; i < ct.rows(); ++i) {
      if (!gen(i)) continue;
      // n: trials scored per fold (mean over folds): B's trials whose image
      // at frame 0 no training trial of the fold showed, about a quarter of
      // B's 128; n_total: summed over the 4 folds.
      EXPECT_GT(ct.numeric.at("n")[i], 10.0);
      EXPECT_LT(ct.numeric.at("n")[i], 64.0);
      EXPECT_NEAR(ct.numeric.at("n_total")[i], ct.numeric.at("n")[i] * ct.numeric.at("folds")[i],
                  1e-9);
      EXPECT_EQ(ct.numeric.at("folds")[i], 4.0);
      // The null and the task-centred variant follow the same rule.
      EXPECT_NEAR(
          ct.numeric.at("accuracy_centred")[i] - ct.numeric.at("chance_empirical_centred")[i], 0.0,
          0.2);
    }
    Analysis some = analyze({image_coded({"loc-1", "id-1"}, 128, 2, seed, 3.0, 8.0)}, body);
    const Table& cs = some.result.tables.at("cross_task");
    shared +=
        above_chance(cs, [&](std::size_t i) { return cs.text.at("kind")[i] == "generalisation"; }) /
        draws;
  }
  EXPECT_NEAR(leak, 0.0, 0.06) << "image codes alone must not generalise across tasks";
  EXPECT_GT(shared, 0.4) << "a shared feature code must";
}

// The unseen() mask itself: fold q's training images are those shown at the
// family's frame by the trials of the other folds.
TEST(Analyze, UnseenMasksTheFoldsTrainingImages) {
  analyze::Family f;
  f.folds = 2;
  f.images = torch::tensor({5, 6, 7, 5}, torch::kLong);
  f.fold = torch::tensor({0, 0, 1, 1}, torch::kLong);
  torch::Tensor probe = torch::tensor({5, 6, 7, 8}, torch::kLong);
  EXPECT_TRUE(analyze::unseen(f, 0, probe)
                  .equal(torch::tensor({false, true, false, true})));  // trains on 7, 5
  EXPECT_TRUE(analyze::unseen(f, 1, probe)
                  .equal(torch::tensor({false, false, true, true})));  // trains on 5, 6
  EXPECT_THROW(analyze::unseen(f, 2, probe), InputError);
}

// States in which the encoding code E holds the stimulus shown now and
// (`held`) still the one shown a frame earlier at 0.6 of its strength, or
// (not held) the earlier one only in a memory code in other units.
StateSet encoding_holds_previous(std::uint64_t seed, bool held) {
  // Multi-task (finding 4 decides from the multi-task replicate groups).
  synth::Trials t = synth::sampled_trials({"loc-1", "loc-2"}, 256, 3, 4, seed);
  const int units = 24;
  torch::Tensor e = torch::zeros({synth::kLocations, units}, torch::kFloat64);
  torch::Tensor mem = torch::zeros({synth::kLocations, units}, torch::kFloat64);
  e.narrow(1, 0, units / 2).copy_(synth::code(synth::kLocations, units / 2, 5.0));
  mem.narrow(1, units / 2, units / 2).copy_(synth::code(synth::kLocations, units / 2, 5.0));
  torch::Tensor h = torch::randn({t.m, t.frames, units}, torch::kFloat64);
  for (int f = 0; f < t.frames; ++f) {
    h.select(1, f) += synth::lookup(e, t.loc, f);
    if (f > 0)
      h.select(1, f) +=
          held ? synth::lookup(e, t.loc, f - 1) * 0.6 : synth::lookup(mem, t.loc, f - 1);
  }
  return synth::stateset(t, h, "gru", static_cast<std::int64_t>(seed));
}

// Finding 4's coupling. The encoding decoder of s on the state at j = s + 1,
// where the encoding code holds j at full strength: on trials whose labels
// differ it reads y_j, which scored 0 on s before the fix, and finding 4
// compared that with half the all-trial validation ("H1 fails") even when
// s is still held there. H1 is now the argmax over the classes other than
// y_j (chance 1/3 for 4 locations): above its chance and halfway when s is
// held, at chance when it is not.
TEST(Analyze, H1ScoresStimulusSOverTheClassesOtherThanJ) {
  const std::string body =
      "analyses = [\"cross_temporal\", \"procrustes\"]\nfeatures = [\"loc\"]\nframes = [0, 1]\n"
      "folds = 4\npermutations = 10";
  for (bool held : {true, false}) {
    std::vector<StateSet> sets;
    for (std::uint64_t k = 0; k < 3; ++k) sets.push_back(encoding_holds_previous(90 + k, held));
    Analysis r = analyze(sets, body);
    const Table& hyp = r.result.tables.at("temporal_hypotheses");
    double h1 = 0, chance = 0, halfway = 0;
    int n = 0;
    for (std::size_t i = 0; i < hyp.rows(); ++i) {
      if (hyp.text.at("hypothesis")[i] != "H1_slot" ||
          hyp.numeric.at("other_frame")[i] != hyp.numeric.at("stim_frame")[i] + 1)
        continue;
      EXPECT_NEAR(hyp.numeric.at("chance")[i], 1.0 / 3.0, 1e-12);
      const double c = hyp.numeric.at("chance_empirical")[i];
      h1 += hyp.numeric.at("accuracy")[i];
      chance += c;
      halfway += c + 0.5 * (hyp.numeric.at("validation")[i] - c);
      ++n;
    }
    ASSERT_GT(n, 0);
    h1 /= n, chance /= n, halfway /= n;
    EXPECT_NEAR(chance, 1.0 / 3.0, 0.07) << "held " << held;
    if (held) {
      EXPECT_GT(h1, halfway) << "s is held in the encoding subspace";
    } else {
      EXPECT_NEAR(h1, chance, 0.08) << "s is not held in the encoding subspace";
    }
    // Finding 4's H1 sub-test (below halfway) passes only when s is not held.
    bool found = false;
    for (const auto& t : r.result.findings.at("4").at("tests")) {
      const std::string name = t.at("name");
      if (name.size() < 18 || name.compare(name.size() - 18, 18, ": H1 below halfway") != 0)
        continue;
      found = true;
      EXPECT_EQ(t.at("passed").get<bool>(), !held) << t.dump(2);
    }
    EXPECT_TRUE(found) << r.result.findings.at("4").dump(2);
  }
}

// H2's leak: E(s, s) scored on the image shown at j, where folds are grouped
// by the image at s. A code per image and none per feature: before the fix
// most images at j were training images at s and H2 read their memorised
// labels (far above chance); scored only on images at j the fold never
// trained on, H2 is at chance.
TEST(Analyze, H2ScoresOnlyImagesAtJUnseenByTheFold) {
  const std::string body =
      "analyses = [\"cross_temporal\"]\nfeatures = [\"loc\"]\nframes = [0, 1]\nfolds = "
      "4\npermutations = 10";
  double h2 = 0;
  const int draws = 3;
  for (int d = 0; d < draws; ++d) {
    Analysis r = analyze(
        {image_coded({"loc-2"}, 384, 3, 110 + static_cast<std::uint64_t>(d), 3.0, 0.0)}, body);
    const Table& hyp = r.result.tables.at("temporal_hypotheses");
    h2 += above_chance(hyp,
                       [&](std::size_t i) { return hyp.text.at("hypothesis")[i] == "H2_shared"; }) /
          draws;
    for (std::size_t i = 0; i < hyp.rows(); ++i) EXPECT_GT(hyp.numeric.at("n")[i], 3.0);
  }
  EXPECT_NEAR(h2, 0.0, 0.08);
}

// ---- The lag rule (issue 20 item 3): labels N frames apart agree ----

// The task's N from its name ("loc-2" -> 2).
int n_of(const std::string& task) { return std::stoi(task.substr(task.find('-') + 1)); }

// Whether a row scores its decoder at a frame whose lag from the decoded
// stimulus is a positive multiple of the task's N.
bool at_lag_kn(const Table& t, std::size_t i, const char* frame_column) {
  const int lag = static_cast<int>(t.numeric.at(frame_column)[i] - t.numeric.at("stim_frame")[i]);
  return lag > 0 && lag % n_of(t.text.at("task")[i]) == 0;
}

// The frames the lag rule reads for a fit at train frame t scored at u
// (README "Correlated labels at lags kN"): u, and u - (t - s) (the stimulus
// at the same elapsed time as s at t), those at a lag from s that is a
// positive multiple of the task's N (either side of s).
std::set<int> read_frames(const Table& tb, std::size_t i, const char* train, const char* test) {
  const int s = static_cast<int>(tb.numeric.at("stim_frame")[i]),
            t = static_cast<int>(tb.numeric.at(train)[i]),
            u = static_cast<int>(tb.numeric.at(test)[i]), n = n_of(tb.text.at("task")[i]);
  std::set<int> out;
  for (int r : {u, u - (t - s)}) {
    if (r >= 0 && r != s && std::abs(r - s) % n == 0) out.insert(r);
  }
  return out;
}

// The `scoring` cell of row i, or "" where the table has no such column.
std::string scoring_of(const Table& t, std::size_t i) {
  return t.text.count("scoring") ? t.text.at("scoring")[i] : std::string();
}

// States with a random code per image shown now and nothing per feature,
// on the real sampler's trials: at u - s = kN the label at u agrees with the
// label at s about half the time, so a decoder that reads the image at u
// (memorised at s, or learnt at u) scored on the label at s was above its
// permutation null (labels permuted by the image at s: no such agreement).
// Scored on trials whose labels differ, over the classes other than the
// label at u, every such cross-temporal and Procrustes row is at chance; a
// 2-class feature has no score there. Positive control: a memory code of the
// stimulus one frame back (in units of its own) is still read at lag 1.
TEST(Analyze, LagRuleScoresDifferTrialsAtLagsThatAreMultiplesOfN) {
  const std::string body =
      "analyses = [\"cross_temporal\", \"procrustes\"]\nfeatures = [\"loc\", \"cat\"]\n"
      "frames = [0, 1]\nfolds = 4\npermutations = 10";
  double ct_leak = 0, pr_leak = 0;
  const int draws = 2;
  for (int d = 0; d < draws; ++d) {
    Analysis r = analyze(
        {image_coded({"loc-1", "loc-2"}, 256, 4, 130 + static_cast<std::uint64_t>(d), 3.0, 0.0)},
        body);
    const Table& ct = r.result.tables.at("cross_temporal");
    const Table& pr = r.result.tables.at("procrustes");
    auto feature_is = [](const Table& t, std::size_t i, const char* f) {
      return t.text.at("feature")[i] == f;
    };
    ct_leak += above_chance(ct,
                            [&](std::size_t i) {
                              return feature_is(ct, i, "loc") &&
                                     !read_frames(ct, i, "train_frame", "test_frame").empty();
                            }) /
               draws;
    pr_leak += above_chance(pr,
                            [&](std::size_t i) {
                              return feature_is(pr, i, "loc") &&
                                     pr.text.at("test")[i] == "fitted" && at_lag_kn(pr, i, "frame");
                            }) /
               draws;
    for (const Table* t : {&ct, &pr}) {
      const char* train = t == &ct ? "train_frame" : "frame";
      const char* frame = t == &ct ? "test_frame" : "frame";
      for (std::size_t i = 0; i < t->rows(); ++i) {
        const auto read = read_frames(*t, i, train, frame);
        const bool lag = !read.empty(), two = feature_is(*t, i, "cat");
        EXPECT_EQ(scoring_of(*t, i), !lag ? "all" : two ? "none" : "differ");
        if (lag && two) {
          EXPECT_TRUE(std::isnan(t->numeric.at("accuracy")[i]));
          EXPECT_EQ(t->numeric.at("n_total")[i], 0.0);
        } else if (lag && read.size() == 1) {
          EXPECT_NEAR(t->numeric.at("chance")[i], 1.0 / 3.0, 1e-12);
        } else if (lag) {
          // Two frames read: 1/3 where their labels agree, 1/2 where not.
          EXPECT_GT(t->numeric.at("chance")[i], 1.0 / 3.0);
          EXPECT_LT(t->numeric.at("chance")[i], 0.5);
        }
      }
    }
  }
  EXPECT_NEAR(ct_leak, 0.0, 0.05) << "cross-temporal rows at lags kN read the image shown there";
  EXPECT_NEAR(pr_leak, 0.0, 0.05) << "Procrustes targets at lags kN read the image shown there";

  // Positive control: the location shown one frame back, in a memory code.
  synth::Trials t = synth::sampled_trials({"loc-1", "loc-2"}, 256, 4, 4, 140);
  const int units = 32;
  torch::Tensor images = torch::randn({t.images(), units}, torch::kFloat64) * 3.0;
  torch::Tensor mem = torch::zeros({synth::kLocations, units}, torch::kFloat64);
  mem.narrow(1, units / 2, units / 2).copy_(synth::code(synth::kLocations, units / 2, 5.0));
  torch::Tensor h = torch::randn({t.m, t.frames, units}, torch::kFloat64) * 0.3;
  for (int f = 0; f < t.frames; ++f) {
    h.select(1, f) += images.index_select(0, t.stimulus.select(1, f));
    if (f > 0) h.select(1, f) += synth::lookup(mem, t.loc, f - 1);
  }
  Analysis r = analyze({synth::stateset(t, h, "gru", 140)}, body);
  const Table& ct = r.result.tables.at("cross_temporal");
  auto one_back = [&](std::size_t i) {
    return ct.text.at("task")[i] == "loc-1" && ct.text.at("feature")[i] == "loc" &&
           ct.numeric.at("test_frame")[i] == ct.numeric.at("stim_frame")[i] + 1 &&
           ct.numeric.at("train_frame")[i] == ct.numeric.at("test_frame")[i];
  };
  EXPECT_GT(above_chance(ct, one_back), 0.45) << "a memory of s at s + 1 is read on differ trials";
  const Table& pr = r.result.tables.at("procrustes");
  EXPECT_GT(above_chance(pr,
                         [&](std::size_t i) {
                           return pr.text.at("task")[i] == "loc-1" &&
                                  pr.text.at("feature")[i] == "loc" &&
                                  pr.text.at("test")[i] == "fitted" &&
                                  pr.numeric.at("frame")[i] == pr.numeric.at("stim_frame")[i] + 1;
                         }),
            0.45);
}

// States that hold the image shown e frames ago in block e of the units
// (blocks of `block` units, e = 0 .. frames - 1: one fixed rotation per
// elapsed frame), a random code per image (`image_gap`) plus a location code
// (`loc_gap`), on the real sampler's trials.
StateSet elapsed_blocks(const std::vector<std::string>& tasks, int per_task, int frames,
                        std::uint64_t seed, double image_gap, double loc_gap, int block = 32,
                        int views = 4) {
  synth::Trials t = synth::sampled_trials(tasks, per_task, frames, views, seed);
  torch::Tensor images = torch::randn({t.images(), block}, torch::kFloat64) * image_gap;
  torch::Tensor loc = synth::code(synth::kLocations, block, loc_gap);
  torch::Tensor h = torch::randn({t.m, frames, block * frames}, torch::kFloat64) * 0.3;
  for (int f = 0; f < frames; ++f) {
    for (int e = 0; e <= f; ++e) {
      h.select(1, f).narrow(1, e * block, block) +=
          images.index_select(0, t.stimulus.select(1, f - e)) + synth::lookup(loc, t.loc, f - e);
    }
  }
  return synth::stateset(t, h, "gru", static_cast<std::int64_t>(seed));
}

// The elapsed-shifted swap's leak (issue 20 item 1): it rotates the next
// stimulus's decoder W(s+1, t+1) by R fitted from family s's decoders, which
// memorised the images fold q trained on at s; scored on the next
// stimulus's held-out trials, those whose image at s + 1 was among them
// were read through R: with a code per image and none per feature the swap
// scored about 0.1 above its empirical chance (32 images, 4 folds: the more
// the two families' training images overlap, the larger the leak). Scored
// only on images unseen by both folds (about a quarter of the trials the
// time-shifted swap scores), the swap, its controls and its target are at
// chance; a location code carried the same way (the positive control) is
// still swapped. The elapsed-shifted rows of loc-3 over 4 frames are at lags
// 1 and 2: the lag rule plays no part.
TEST(Analyze, ElapsedShiftedSwapScoresOnlyImagesUnseenBySourceFolds) {
  const std::string body =
      "analyses = [\"procrustes\"]\nfeatures = [\"loc\"]\nframes = [0, 1, 2]\nfolds = 4\n"
      "permutations = 10";
  double leak = 0, controls = 0, target = 0, n_es = 0, n_ts = 0;
  const int draws = 6;
  for (int d = 0; d < draws; ++d) {
    Analysis r = analyze(
        {elapsed_blocks({"loc-3"}, 512, 4, 150 + static_cast<std::uint64_t>(d), 3.0, 0.0, 32, 2)},
        body);
    const Table& pr = r.result.tables.at("procrustes");
    auto test_is = [&](std::size_t i, const char* name) { return pr.text.at("test")[i] == name; };
    leak += above_chance(pr, [&](std::size_t i) { return test_is(i, "elapsed_shifted"); }) / draws;
    controls += above_chance(pr,
                             [&](std::size_t i) {
                               return test_is(i, "elapsed_shifted_no_rotation") ||
                                      test_is(i, "elapsed_shifted_permuted_rotation");
                             }) /
                draws;
    target += (mean_where(pr, "fitted_accuracy", {{"test", "elapsed_shifted"}}) -
               mean_where(pr, "chance_empirical", {{"test", "elapsed_shifted"}})) /
              draws;
    n_es += mean_where(pr, "n", {{"test", "elapsed_shifted"}}) / draws;
    n_ts += mean_where(pr, "n", {{"test", "time_shifted"}}) / draws;
    for (std::size_t i = 0; i < pr.rows(); ++i) {
      if (pr.text.at("test")[i].rfind("elapsed_shifted", 0) == 0) {
        EXPECT_EQ(scoring_of(pr, i), "all");
      }
    }
  }
  EXPECT_NEAR(leak, 0.0, 0.05)
      << "the rotated next-stimulus decoder read images the source folds trained on";
  // Its controls and its target, on the same trials, at chance too.
  EXPECT_NEAR(controls, 0.0, 0.06);
  EXPECT_NEAR(target, 0.0, 0.06);
  EXPECT_LT(n_es, 0.5 * n_ts);
  // Positive control: a location code held in the same elapsed blocks.
  Analysis r = analyze({elapsed_blocks({"loc-3"}, 512, 4, 160, 0.0, 8.0)}, body);
  const Table& pr = r.result.tables.at("procrustes");
  EXPECT_GT(
      above_chance(pr, [&](std::size_t i) { return pr.text.at("test")[i] == "elapsed_shifted"; }),
      0.3);
  EXPECT_GT(mean_where(pr, "relative", {{"test", "elapsed_shifted"}},
                       [&](std::size_t i) { return pr.numeric.at("target_above_chance")[i] > 0; }),
            0.5);
}

// ---- The lag rule in every table (issue 20 leftovers) ----

// The decoding table (t = u: finding 1's cells) follows the lag rule too: a
// decoder of s fitted at t can read the image shown at t, whose label
// agrees with the label at s about half the time when t - s is a multiple of
// N. A random code per image shown now and none per feature, on the real
// sampler's trials: those rows were scored on every held-out trial and were
// above their empirical chance; under the rule (`scoring` differ, or none
// for 2 categories) they are at chance, and every decoding row equals the
// cross-temporal row of the same fit at its own frame.
TEST(Analyze, DecodingTableFollowsTheLagRule) {
  const std::string body =
      "analyses = [\"decoding\", \"cross_temporal\"]\nfeatures = [\"loc\", \"cat\"]\n"
      "frames = [0, 1]\nfolds = 4\npermutations = 10";
  double lag = 0, other = 0;
  const int draws = 2;
  for (int d = 0; d < draws; ++d) {
    Analysis r = analyze(
        {image_coded({"loc-1", "loc-2"}, 256, 4, 170 + static_cast<std::uint64_t>(d), 3.0, 0.0)},
        body);
    const Table& dt = r.result.tables.at("decoding");
    const Table& ct = r.result.tables.at("cross_temporal");
    EXPECT_TRUE(dt.text.count("scoring"));
    auto loc = [&](std::size_t i) { return dt.text.at("feature")[i] == "loc"; };
    lag +=
        above_chance(dt, [&](std::size_t i) { return loc(i) && at_lag_kn(dt, i, "test_frame"); }) /
        draws;
    other += above_chance(dt,
                          [&](std::size_t i) {
                            return loc(i) && !at_lag_kn(dt, i, "test_frame") &&
                                   dt.numeric.at("test_frame")[i] > dt.numeric.at("stim_frame")[i];
                          }) /
             draws;
    std::map<std::tuple<std::string, std::string, double, double>, std::size_t> diagonal;
    for (std::size_t i = 0; i < ct.rows(); ++i) {
      if (ct.numeric.at("train_frame")[i] != ct.numeric.at("test_frame")[i]) continue;
      diagonal[{ct.text.at("task")[i], ct.text.at("feature")[i], ct.numeric.at("stim_frame")[i],
                ct.numeric.at("test_frame")[i]}] = i;
    }
    for (std::size_t i = 0; i < dt.rows(); ++i) {
      const bool at_lag = at_lag_kn(dt, i, "test_frame");
      EXPECT_EQ(scoring_of(dt, i), !at_lag ? "all" : loc(i) ? "differ" : "none");
      const std::size_t j =
          diagonal.at({dt.text.at("task")[i], dt.text.at("feature")[i],
                       dt.numeric.at("stim_frame")[i], dt.numeric.at("test_frame")[i]});
      EXPECT_EQ(scoring_of(ct, j), scoring_of(dt, i));
      for (const char* c : {"accuracy", "chance", "chance_empirical", "n_total"}) {
        const double a = dt.numeric.at(c)[i], b = ct.numeric.at(c)[j];
        EXPECT_TRUE((std::isnan(a) && std::isnan(b)) || a == b) << c << " " << a << " " << b;
      }
    }
  }
  std::cout << "[ measured ] decoding rows above empirical chance: at lags kN " << lag
            << ", other lags " << other << "\n";
  EXPECT_NEAR(lag, 0.0, 0.05) << "decoding rows at lags kN read the image shown there";
  EXPECT_NEAR(other, 0.0, 0.05);
}

// A fit at t may read stimulus s where the state at t holds it. In a code
// per elapsed time (elapsed_blocks: block e holds the stimulus shown e
// frames ago) the same block holds at u the stimulus at r = u - (t - s),
// whose label agrees with the label at s about half the time when r - s is
// a multiple of N. Cross-temporal rows read only the label at u before:
// with a random code per image (a fit memorised the training images at s
// and reads their labels when they are shown at r: the leak of item 2) and
// with a location code (read as it is) they were above their empirical
// chance. The rule now reads r too, and those rows are at chance, as the
// planted truth says (the code of s moved). Rows with no frame read at a
// lag kN (u > s) are the image code's reference, although most images
// there were training images of the fold: a memorised image gives its own
// label, independent of the label at s, so the leak rule drops no trial in
// cross-temporal rows (README). Positive control: a code of s in units of
// its own at every later frame (a slot) is read at every u.
TEST(Analyze, LagRuleReadsTheStimulusAtTheSameElapsedTime) {
  const std::string body =
      "analyses = [\"cross_temporal\"]\nfeatures = [\"loc\"]\nframes = [0, 1]\nfolds = 4\n"
      "permutations = 10";
  auto same_elapsed = [](const Table& ct, std::size_t i) {
    const int s = static_cast<int>(ct.numeric.at("stim_frame")[i]),
              t = static_cast<int>(ct.numeric.at("train_frame")[i]),
              u = static_cast<int>(ct.numeric.at("test_frame")[i]), n = n_of(ct.text.at("task")[i]);
    const int r = u - (t - s);
    return t != s && t != u && r >= 0 && r != s && std::abs(r - s) % n == 0;
  };
  auto off_diagonal = [](const Table& ct, std::size_t i) {
    return ct.numeric.at("train_frame")[i] != ct.numeric.at("test_frame")[i];
  };
  for (double image_gap : {3.0, 0.0}) {
    double read = 0, unread = 0;
    const int draws = 4;
    for (int d = 0; d < draws; ++d) {
      Analysis r =
          analyze({elapsed_blocks({"loc-1", "loc-2"}, 256, 5, 180 + static_cast<std::uint64_t>(d),
                                  image_gap, image_gap > 0 ? 0.0 : 5.0, 16, 2)},
                  body);
      const Table& ct = r.result.tables.at("cross_temporal");
      read += above_chance(ct, [&](std::size_t i) { return same_elapsed(ct, i); }) / draws;
      unread +=
          above_chance(ct,
                       [&](std::size_t i) {
                         return off_diagonal(ct, i) &&
                                read_frames(ct, i, "train_frame", "test_frame").empty() &&
                                ct.numeric.at("test_frame")[i] > ct.numeric.at("stim_frame")[i];
                       }) /
          draws;
      for (std::size_t i = 0; i < ct.rows(); ++i) {
        if (same_elapsed(ct, i)) {
          EXPECT_EQ(scoring_of(ct, i), "differ");
        }
      }
    }
    std::cout << "[ measured ] image gap " << image_gap << ": same elapsed time " << read
              << ", no frame read at a lag kN " << unread << "\n";
    if (image_gap > 0) {
      // Rows that read no frame at a lag kN are the reference: about 0.04
      // above their empirical chance here, about half of it the null's own
      // pessimism (README "Not covered"). Measured (4 draws): these rows
      // 0.061 before the rule read r, 0.029 after, the reference 0.043.
      EXPECT_LT(read, unread + 0.01)
          << "the image at the same elapsed time was read as a training image";
    } else {
      EXPECT_NEAR(read, 0.0, 0.05) << "the location at the same elapsed time was read";
    }
  }
  // Positive control: a slot per stimulus frame, held at every later frame.
  synth::Trials t = synth::sampled_trials({"loc-1", "loc-2"}, 256, 5, 2, 190);
  const int units = 48;
  torch::Tensor h = torch::randn({t.m, t.frames, units}, torch::kFloat64);
  std::vector<torch::Tensor> slot;
  for (int g = 0; g < t.frames; ++g) slot.push_back(synth::code(synth::kLocations, units, 5.0));
  for (int f = 0; f < t.frames; ++f) {
    for (int g = 0; g <= f; ++g) h.select(1, f) += synth::lookup(slot[g], t.loc, g);
  }
  Analysis r = analyze({synth::stateset(t, h, "gru", 190)}, body);
  const Table& ct = r.result.tables.at("cross_temporal");
  EXPECT_GT(above_chance(ct, [&](std::size_t i) { return same_elapsed(ct, i); }), 0.4);
}

// Hard non-matches (SCIENCE.md section 6). In id-N tasks a non-match is,
// half the time, the other identity of the same category: on trials whose
// identities at s and s + N differ, the identity at s is the sibling of the
// one at s + N in about 2/3 of them (4 identities, 2 per category), not 1/3.
// A decoder that reads the stimulus shown at u in a code where siblings are
// alike (objects of one category look alike) ranks the sibling second, so
// excluding only the label at u it scored above 1/(K - 1) and above its
// empirical chance: the permuted-label fits (labels permuted by image) have
// no such preference, so the null does not absorb it. The rule excludes
// the label at u's whole category for identity (chance 1/2 here): decoding,
// cross-temporal and H1 rows are at chance, while H2 (the encoding decoder
// of s on the stimulus shown at j, in the code they share) still reads j.
// Positive control: a memory of the identity one frame back, in units of
// its own, is read.
TEST(Analyze, LagRuleExcludesTheSiblingIdentityOfHardNonMatches) {
  const std::string body =
      "analyses = [\"decoding\", \"cross_temporal\"]\nfeatures = [\"id\"]\nframes = [0, 1]\n"
      "folds = 4\npermutations = 10";
  auto states = [](std::uint64_t seed, double memory) {
    synth::Trials t = synth::sampled_trials({"id-1", "id-2"}, 256, 4, 4, seed);
    const int units = 32;
    torch::Tensor cat = synth::code(2, units / 2, 4.0),
                  id = synth::code(synth::kIdentities, units / 2, 1.5);
    torch::Tensor mem = synth::code(synth::kIdentities, units / 2, 5.0);
    torch::Tensor h = torch::randn({t.m, t.frames, units}, torch::kFloat64) * 0.5;
    for (int f = 0; f < t.frames; ++f) {
      h.select(1, f).narrow(1, 0, units / 2) +=
          synth::lookup(cat, t.cat, f) + synth::lookup(id, t.id, f);
      if (f > 0)
        h.select(1, f).narrow(1, units / 2, units / 2) += synth::lookup(mem, t.id, f - 1) * memory;
    }
    return std::make_pair(t, synth::stateset(t, h, "gru", static_cast<std::int64_t>(seed)));
  };
  // The premise: the sampler's hard non-matches.
  {
    auto [t, set] = states(200, 0.0);
    torch::Tensor a = t.id.select(1, 0), b = t.id.select(1, 1), first = t.task.eq(0);
    torch::Tensor differ = a.ne(b).logical_and(first);
    const double sibling =
        a.div(2, "floor").eq(b.div(2, "floor")).logical_and(differ).sum().item<double>() /
        differ.sum().item<double>();
    EXPECT_GT(sibling, 0.55)
        << "id-1: the sibling's share among differing identities one frame apart";
  }
  double dec = 0, ct_lag = 0, h1 = 0, h2 = 0;
  const int draws = 2;
  for (int d = 0; d < draws; ++d) {
    Analysis r = analyze({states(210 + static_cast<std::uint64_t>(d), 0.0).second}, body);
    const Table& dt = r.result.tables.at("decoding");
    const Table& ct = r.result.tables.at("cross_temporal");
    const Table& hy = r.result.tables.at("temporal_hypotheses");
    auto differ = [](const Table& tb, std::size_t i) { return scoring_of(tb, i) == "differ"; };
    dec += above_chance(dt, [&](std::size_t i) { return at_lag_kn(dt, i, "test_frame"); }) / draws;
    ct_lag +=
        above_chance(ct, [&](std::size_t i) { return at_lag_kn(ct, i, "test_frame"); }) / draws;
    h1 += above_chance(hy,
                       [&](std::size_t i) {
                         return hy.text.at("hypothesis")[i] == "H1_slot" &&
                                at_lag_kn(hy, i, "other_frame");
                       }) /
          draws;
    h2 += above_chance(hy,
                       [&](std::size_t i) {
                         return hy.text.at("hypothesis")[i] == "H2_shared" &&
                                at_lag_kn(hy, i, "other_frame");
                       }) /
          draws;
    for (const Table* tb : {&dt, &ct}) {
      for (std::size_t i = 0; i < tb->rows(); ++i) {
        if (differ(*tb, i) && read_frames(*tb, i, "train_frame", "test_frame").size() == 1) {
          EXPECT_NEAR(tb->numeric.at("chance")[i], 0.5, 1e-12);
        }
      }
    }
    for (std::size_t i = 0; i < hy.rows(); ++i) EXPECT_NEAR(hy.numeric.at("chance")[i], 0.5, 1e-12);
  }
  std::cout << "[ measured ] id rows above empirical chance: decoding " << dec
            << ", cross-temporal " << ct_lag << ", H1 " << h1 << ", H2 " << h2 << "\n";
  EXPECT_NEAR(dec, 0.0, 0.05)
      << "decoding rows at lags kN ranked the sibling of the identity shown";
  EXPECT_NEAR(ct_lag, 0.0, 0.05) << "cross-temporal rows at lags kN";
  EXPECT_NEAR(h1, 0.0, 0.06) << "H1 at lags kN";
  EXPECT_GT(h2, 0.3) << "H2 reads the stimulus at j in the encoding code it shares with s";
  // Positive control: identity s held one frame on, in a memory code.
  Analysis r = analyze({states(220, 1.0).second}, body);
  const Table& dt = r.result.tables.at("decoding");
  EXPECT_GT(above_chance(dt,
                         [&](std::size_t i) {
                           return dt.text.at("task")[i] == "id-1" &&
                                  dt.numeric.at("train_frame")[i] ==
                                      dt.numeric.at("stim_frame")[i] + 1;
                         }),
            0.3);
}

// The cross-temporal arrays (NPY on export) average rows of both rules over
// tasks; beside each, `cross_temporal_chance` holds the same rows' mean
// empirical chance and `cross_temporal_differ` the share of them scored by
// the lag rule, so a cell's accuracy is read against its own chance.
TEST(Analyze, CrossTemporalArraysCarryTheirScoring) {
  const std::string body =
      "analyses = [\"cross_temporal\"]\nfeatures = [\"loc\", \"cat\"]\nframes = [0, 1]\nfolds = 4\n"
      "permutations = 5";
  Analysis r = analyze({image_coded({"loc-1", "loc-2"}, 128, 4, 230, 3.0, 4.0)}, body);
  const Table& ct = r.result.tables.at("cross_temporal");
  for (const std::string feature : {"loc", "cat"}) {
    const std::string key = "states0." + feature;
    for (const char* name :
         {"cross_temporal.", "cross_temporal_chance.", "cross_temporal_differ."}) {
      ASSERT_TRUE(r.result.arrays.count(name + key)) << name << key;
    }
    torch::Tensor acc = nets::view(r.result.arrays.at("cross_temporal." + key));
    torch::Tensor chance = nets::view(r.result.arrays.at("cross_temporal_chance." + key));
    torch::Tensor differ = nets::view(r.result.arrays.at("cross_temporal_differ." + key));
    ASSERT_EQ(acc.sizes(), chance.sizes());
    ASSERT_EQ(acc.sizes(), differ.sizes());
    std::map<std::tuple<int, int, int>, std::vector<std::size_t>> cells;
    for (std::size_t i = 0; i < ct.rows(); ++i) {
      if (ct.text.at("feature")[i] != feature || !std::isfinite(ct.numeric.at("accuracy")[i]))
        continue;
      cells[{static_cast<int>(ct.numeric.at("stim_frame")[i]),
             static_cast<int>(ct.numeric.at("train_frame")[i]),
             static_cast<int>(ct.numeric.at("test_frame")[i])}]
          .push_back(i);
    }
    int mixed = 0;
    for (const auto& [cell, rows] : cells) {
      const auto [a, b, c] = cell;
      double sa = 0, sc = 0, sd = 0;
      for (std::size_t i : rows) {
        sa += ct.numeric.at("accuracy")[i];
        sc += ct.numeric.at("chance_empirical")[i];
        sd += scoring_of(ct, i) == "differ" ? 1.0 : 0.0;
      }
      const double n = static_cast<double>(rows.size());
      EXPECT_NEAR(acc[a][b][c].item<double>(), sa / n, 1e-9);
      EXPECT_NEAR(chance[a][b][c].item<double>(), sc / n, 1e-9);
      EXPECT_NEAR(differ[a][b][c].item<double>(), sd / n, 1e-9);
      mixed += sd > 0 && sd < n;
    }
    if (feature == "loc") {
      EXPECT_GT(mixed, 0) << "loc-1 and loc-2 rows of one cell under different rules";
    }
  }
}

// Codes that turn as they age (README "The centroid swap"): stimulus i is
// held at frame f in code C S_1 ... S_e, e = f - i, decayed x0.8 a frame,
// in C's own 3-d span, every stimulus shown so far summed (interference);
// S_e = T_e(turn) F, F one fixed 90-degree rotation and T_e a turn about
// axis (e - 1) mod 3 of the span. turn = 0: one fixed rotation whatever the
// elapsed time (no elapsed-time-specific rotation).
StateSet aging_codes(double turn, std::uint64_t seed) {
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
  std::vector<torch::Tensor> codes{c};
  for (int e = 1; e < t.frames; ++e) {
    codes.push_back(
        torch::mm(codes.back(), torch::mm(rotation((e - 1) % 3, turn), rotation(0, 90.0)).t()) *
        0.8);
  }
  torch::Tensor h = torch::randn({t.m, t.frames, units}, torch::kFloat64) * 0.5;
  for (int f = 0; f < t.frames; ++f) {
    for (int i = 0; i <= f; ++i)
      h.select(1, f) += synth::lookup(codes[static_cast<std::size_t>(f - i)], t.loc, i);
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

// The views scheme: fit on the training-view trials, test on the novel-view
// ones; planted codes generalise across views, and every row has one fold.
TEST(Analyze, FitsOnTrainingViewsTestsOnNovelViews) {
  StateSet s = synthetic({"loc-1"}, 160, 3, 24, {"loc"}, 8);
  Analysis r = analyze(
      {s}, "analyses = [\"decoding\"]\nfeatures = [\"loc\"]\ncv = \"views\"\npermutations = 5");
  const Table& dec = r.result.tables.at("decoding");
  for (double f : dec.numeric.at("folds")) EXPECT_EQ(f, 1.0);
  EXPECT_GT(mean_where(dec, "accuracy", {{"feature", "loc"}},
                       [&](std::size_t i) {
                         return dec.numeric.at("train_frame")[i] == dec.numeric.at("stim_frame")[i];
                       }),
            0.9);
  EXPECT_LT(mean_where(dec, "chance_empirical", {{"feature", "loc"}}), 0.4);
  // Held-out = the novel-view trials: the exported folds mark the training views -1.
  torch::Tensor folds = nets::view(r.result.arrays.at("folds.states0")).to(torch::kLong);
  torch::Tensor split = nets::view(s.split).to(torch::kLong);
  EXPECT_TRUE(folds.select(1, 0).select(1, 0).eq(-1).equal(split.eq(0)));
}

TEST(Analyze, IsDeterministic) {
  StateSet s = synthetic({"loc-1"}, 60, 3, 8, {"loc"}, 2);
  const std::string body =
      "analyses = [\"decoding\", \"orthogonality\"]\nnull_shuffles = 2\nrandom_directions = 50";
  Analysis a = analyze({s}, body), b = analyze({s}, body);
  // Bit-identical, NaN where NaN.
  for (const char* name : {"decoding", "orthogonality"}) {
    const Table &ta = a.result.tables.at(name), &tb = b.result.tables.at(name);
    for (const auto& [column, values] : ta.numeric) {
      const auto& other = tb.numeric.at(column);
      ASSERT_EQ(values.size(), other.size());
      for (std::size_t i = 0; i < values.size(); ++i) {
        EXPECT_TRUE(values[i] == other[i] || (std::isnan(values[i]) && std::isnan(other[i])))
            << name << "." << column;
      }
    }
  }
}

void expect_input_error(const std::vector<StateSet>& sets, const std::string& body,
                        const std::string& substring) {
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
  expect_input_error({no_id}, "features = [\"id\"]",
                     "feature \"id\" (identity) is not in the stimuli");
  StateSet few = synthetic({"loc-1"}, 12, 3, 8, {"loc"}, 3);
  expect_input_error({few}, "features = [\"loc\"]\nfolds = 10", "distinct images at frame");
  expect_input_error({s}, "features = [\"loc\"]\nverdicts = \"required\"",
                     "fewer than min_seeds = 3");
  StateSet no_split = s;
  no_split.split = Array();
  expect_input_error({no_split}, "features = [\"loc\"]\ncv = \"views\"", "does not record it");
  StateSet longer = synthetic({"loc-1"}, 40, 4, 8, {"loc"}, 3);
  expect_input_error({s, longer}, "", "different trial lengths");
  expect_input_error({s}, "analyses = [\"causal\"]\nfeatures = [\"loc\"]",
                     "needs the trained models");
  expect_input_error({s}, "space = \"cell\"", "needs LSTM cell states");
}

// verdicts = "required" counts seeds per replicate group (the configuration
// minus the seed), not per architecture: two multi-task and two single-task
// GRUs are two groups of two, and the error names the group.
TEST(Analyze, RequiredVerdictsCountSeedsPerReplicateGroup) {
  std::vector<StateSet> sets;
  for (std::uint64_t seed = 1; seed <= 2; ++seed) {
    sets.push_back(synthetic({"loc-1", "loc-2"}, 40, 3, 8, {"loc"}, seed));
    sets.push_back(synthetic({"loc-1"}, 40, 3, 8, {"loc"}, 10 + seed));
  }
  expect_input_error(sets,
                     "analyses = [\"decoding\"]\nfeatures = [\"loc\"]\nfolds = 3\npermutations = "
                     "1\nverdicts = \"required\"",
                     "replicate group GRU, multi-task MTMF (loc-1, loc-2) has 2 model(s) (seeds), "
                     "fewer than min_seeds = 3");
}

// Real state sets (train.cpp) record no seed in their configuration, but
// the steps trained before the accuracy bar stopped training and whether it
// did: outcomes that differ between seeds of one configuration. The seed is
// a sweep label. Three such seeds are one replicate group; a sweep label
// other than the seed (here lr) tells groups apart.
TEST(Analyze, ReplicateGroupsIgnoreTrainingOutcomesAndUseSweepLabels) {
  auto run = [](const std::vector<std::string>& lrs) {
    AnalyzeStage stage;
    Params p = stage_params(
        real_registry(), "analyze",
        "analyses = [\"decoding\"]\nfeatures = [\"loc\"]\nfolds = 3\npermutations = 1\n"
        "verdicts = \"required\"\nseed = 3\nstates = [\"up\"]\n" +
            kUpstream);
    StageInputs in;
    for (std::size_t i = 0; i < lrs.size(); ++i) {
      StateSet s = synthetic({"loc-1", "loc-2"}, 40, 3, 8, {"loc"}, 20 + i);
      s.model.erase("seed");
      s.model["steps"] = 1000 + 250 * static_cast<int>(i);
      s.model["stopped_early"] = i != 2;
      const std::string seed = std::to_string(i % 3 + 1);
      in.add("states", InputItem{"net[lr=" + lrs[i] + ",seed=" + seed + "]",
                                 {{"lr", lrs[i]}, {"seed", seed}},
                                 std::make_shared<const Artifact>(s.to_artifact())});
    }
    TempDir dir;
    RunContext ctx("analyze", dir / "work", 1);
    return AnalysisResult::from_artifact(stage.run(p, in, ctx));
  };
  AnalysisResult r = run({"0.001", "0.001", "0.001"});
  ASSERT_EQ(r.params["models"].size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r.params["models"][i]["seed"], i + 1);
  // Two groups of three seeds: no error.
  EXPECT_NO_THROW(run({"0.001", "0.001", "0.001", "0.002", "0.002", "0.002"}));
  try {
    run({"0.001", "0.001", "0.001", "0.002", "0.002"});
    ADD_FAILURE() << "no error; expected the lr = 0.002 group to lack seeds";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "GRU, multi-task MTMF (loc-1, loc-2) with sweep lr = 0.002 has 2 model(s)"),
              std::string::npos)
        << e.what();
  }
}

// A one-sided test reports the one-sided bound, so that its interval
// excludes 0 exactly when p < alpha: [lo, +inf) for "greater",
// (-inf, hi] for "less". Checked on many random samples, including many
// with p between alpha / 2 and alpha (where a two-sided interval disagrees).
TEST(Analyze, OneSidedIntervalsAgreeWithTheirP) {
  namespace st = analyze::stats;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int> size(2, 9);
  int between = 0, significant = 0, checked = 0;
  for (int draw = 0; draw < 4000; ++draw) {
    const double shift = normal(rng) * 1.5;
    std::vector<double> a(static_cast<std::size_t>(size(rng))),
        b(static_cast<std::size_t>(size(rng)));
    for (double& x : a) x = shift + normal(rng);
    for (double& x : b) x = normal(rng) * 2.0;
    for (auto alt : {st::Alternative::kGreater, st::Alternative::kLess}) {
      for (const auto& r : {st::one_sample_t(a, 0.0, alt), st::welch_t(a, b, alt)}) {
        ASSERT_TRUE(r.defined());
        const bool excludes = alt == st::Alternative::kGreater ? r.ci_lo > 0 : r.ci_hi < 0;
        EXPECT_EQ(r.p < 0.05, excludes)
            << r.test << " p = " << r.p << " [" << r.ci_lo << ", " << r.ci_hi << "]";
        EXPECT_TRUE(alt == st::Alternative::kGreater ? std::isinf(r.ci_hi) && r.ci_hi > 0
                                                     : std::isinf(r.ci_lo) && r.ci_lo < 0);
        EXPECT_TRUE(std::isfinite(alt == st::Alternative::kGreater ? r.ci_lo : r.ci_hi));
        between += r.p >= 0.025 && r.p < 0.05;
        significant += r.p < 0.05;
        ++checked;
      }
    }
  }
  EXPECT_GT(between, 100)
      << "too few draws near the boundary to tell one-sided from two-sided intervals";
  EXPECT_GT(significant, checked / 10);
  EXPECT_LT(significant, checked * 9 / 10);
  // Two-sided tests keep the two-sided interval (scipy's, tested above).
  auto two = st::one_sample_t({0.1, 0.4, -0.2, 0.5, 0.3}, 0.0, st::Alternative::kTwoSided);
  EXPECT_TRUE(std::isfinite(two.ci_lo) && std::isfinite(two.ci_hi));
  // scipy.stats.ttest_1samp([0.1, 0.4, -0.2, 0.5, 0.3], 0, alternative="greater")
  //     .confidence_interval(0.95): (-0.044555, inf).
  auto one = st::one_sample_t({0.1, 0.4, -0.2, 0.5, 0.3}, 0.0, st::Alternative::kGreater);
  EXPECT_NEAR(one.ci_lo, -0.044555, 1e-5);
}

// The participation ratio's bootstrap resamples images, not trials: trials
// that show one image share it. In a space whose variance is all between
// 8 images (400 trials, each the code of its image), an interval from
// resampled trials is far too narrow; resampling images gives a wide one.
TEST(Analyze, ParticipationRatioBootstrapResamplesImages) {
  torch::manual_seed(21);
  const std::int64_t n = 400, images = 8, units = 6;
  analyze::ModelData m;
  m.name = "images";
  m.rnn = "gru";
  m.regime = "STSF";
  m.tasks = nback::parse_tasks({"loc-1"});
  m.task = torch::zeros({n}, torch::kLong);
  torch::Tensor image = torch::randint(images, {n}, torch::kLong);
  m.stimulus = image.unsqueeze(1);
  torch::Tensor codes = torch::randn({images, units}, torch::kFloat64);
  m.states = codes.index_select(0, image).unsqueeze(1);
  analyze::Settings s;
  s.bootstrap = 400;
  s.seed = 5;
  analyze::Tables tables;
  analyze::dimensionality(m, s, tables);
  Table dim = tables.at("dimensionality").build();
  std::size_t row = dim.rows();
  for (std::size_t i = 0; i < dim.rows(); ++i) {
    if (dim.text.at("task")[i] == "all") row = i;
  }
  ASSERT_LT(row, dim.rows());
  const double width = dim.numeric.at("ci_hi")[row] - dim.numeric.at("ci_lo")[row];
  // The same basic bootstrap over trials.
  auto ratio = [](const torch::Tensor& x) {
    torch::Tensor c = x - x.mean(0, true);
    torch::Tensor l = torch::linalg_eigvalsh(torch::mm(c.t(), c));
    return (l.sum().pow(2) / l.pow(2).sum()).item<double>();
  };
  const double pr = ratio(m.states.select(1, 0));
  EXPECT_NEAR(dim.numeric.at("participation_ratio")[row], pr, 1e-6);
  std::vector<double> boot;
  for (int b = 0; b < 400; ++b)
    boot.push_back(
        ratio(m.states.select(1, 0).index_select(0, torch::randint(n, {n}, torch::kLong))));
  const double trial_width =
      analyze::stats::quantile(boot, 0.975) - analyze::stats::quantile(boot, 0.025);
  EXPECT_GT(width, 2.0 * trial_width)
      << "image bootstrap " << width << ", trial bootstrap " << trial_width;
}

// Decoding accuracies agree with scikit-learn's LinearSVC and
// LogisticRegression on the same folds (the goal: within 2 points on every
// decoder), and every orthogonality index and null mean with scikit-learn's
// normals on the same trials, labels and PCs (within 0.02).
TEST(Analyze, AgreesWithScikitLearnOnEveryDecoder) {
  if (std::system("/usr/bin/python3 -c 'import sklearn' 2>/dev/null") != 0)
    GTEST_SKIP() << "python3-sklearn missing";
  StateSet s =
      synthetic({"loc-1", "id-2"}, 80, 3, 12, {"loc", "id"}, 5, 1.6);  // overlapping classes
  TempDir dir;
  for (const char* model : {"svm", "logistic"}) {
    // Orthogonality too (always SVM normals), in each defensible preparation.
    const std::string prep = std::string(model) == "svm" ? "standardize" : "raw";
    Analysis r = analyze(
        {s}, std::string("analyses = [\"decoding\", \"cross_temporal\", \"orthogonality\"]\n"
                         "null_shuffles = 3\nrandom_directions = 20\northo_space = \"") +
                 prep + "\"\ndecoder = \"" + model + "\"");
    Artifact states = s.to_artifact(), result = r.result.to_artifact();
    export_artifact(states, dir / "states");
    export_artifact(result, dir / model);
    std::string cmd = std::string("/usr/bin/python3 ") + WMGEOM_SOURCE_DIR +
                      "/stages/analyze/compare_analyze.py --check " + (dir / "states").string() +
                      " " + (dir / model).string() + " --decoder " + model;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
}

// A small trained LSTM, captured, and every analysis with few shuffles.
std::string tiny_pipeline(const std::string& analyze_extra = "") {
  return "[pipeline]\nname = \"a\"\nseed = 4\n\n"
         "[stage.stimuli]\ntype = \"render\"\ncategories = 2\nidentities_per_category = 2\nviews = "
         "6\n"
         "image_size = 32\nholdout_views = [2]\n\n"
         "[stage.cnn]\ntype = \"features\"\nstimuli = \"stimuli\"\nmodel = \"random\"\ninput_size "
         "= 32\n\n"
         "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"stimuli\"\ntasks = [\"loc-1\", "
         "\"cat-1\"]\neval_trials_per_task = 64\n\n"
         "[stage.net]\ntype = \"train\"\nfeatures = \"cnn\"\ntasks = \"tasks\"\nrnn = \"lstm\"\n"
         "hidden = 16\nconv_channels = 8\nembed = 16\nbatch_size = 32\nlr = 0.003\nsteps = "
         "100\neval_every = 100\n"
         "device = \"cpu\"\n\n"
         "[stage.states]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\nfeatures = "
         "\"cnn\"\n\n"
         "[stage.geometry]\ntype = \"analyze\"\nstates = [\"states\"]\nmodels = [\"net\"]\nfolds = "
         "3\nnull_shuffles = 2\n"
         "random_directions = 50\n" +
         analyze_extra;
}

// Through the engine: a small trained LSTM, captured and analysed with every
// analysis; causal runs the RNN on from shifted states.
// threads = 0: the run's width, so the kit's 1- and 2-thread runs differ in it.
// device: "cpu" is the default, so the kit moves it to "auto" (the CPU on a
// machine without CUDA: the key stays, as an unhashed parameter's must).
TEST(Analyze, PassesTheStageKit) {
  expect_stage_kit({tiny_pipeline("threads = 0\n"), "geometry", {}, {{"device", "\"auto\""}}});
}

TEST(Analyze, ThroughTheEngineWithCausal) {
  const std::string text = tiny_pipeline();
  InProcess run;
  auto r = run.get_as<AnalysisResult>(text, "geometry");
  // Every analysis ran, so every declared table is written (tables.toml, the
  // single source), each with exactly its declared columns and types.
  for (const auto& [name, spec] : analyze::table_specs()) EXPECT_TRUE(r.tables.count(name)) << name;
  for (const auto& [name, t] : r.tables)
    EXPECT_NO_THROW(analyze::check_table(name, t, "the result")) << name;
  const Table& c = r.tables.at("causal");
  ASSERT_GT(c.rows(), 0u);
  // The shift is in SDs of the states' projection on the direction: at +50
  // SD the decoder reads the probe's class on most held-out trials (not all:
  // with K > 2 classes a third class can lie further along the direction),
  // which a random direction of the same norm does not do; at -50 SD almost
  // never. (Before the fix, the shift was 0.03-0.7 class-mean distances and
  // never moved anything.)
  auto at_sd = [&](const std::string& column, double sd) {
    double sum = 0;
    int n = 0;
    for (std::size_t i = 0; i < c.rows(); ++i) {
      if (c.numeric.at("sd")[i] == sd) sum += c.numeric.at(column)[i], ++n;
    }
    return sum / n;
  };
  EXPECT_GT(at_sd("flip_rate", 50.0), 0.7);
  EXPECT_GT(at_sd("flip_rate", 50.0), at_sd("flip_rate_random", 50.0) + 0.4);
  EXPECT_LT(at_sd("flip_rate", -50.0), 0.1);
  // Applied just before the probe.
  for (std::size_t i = 0; i < c.rows(); ++i)
    EXPECT_EQ(c.numeric.at("shift_frame")[i], c.numeric.at("probe_frame")[i] - 1);
  EXPECT_EQ(r.tables.at("decoding").text.at("model").front(), "states");
  EXPECT_EQ(r.tables.at("decoding").text.at("rnn").front(), "lstm");
  // A trained model's exports (wmgeom export of the states and of the
  // analysis) agree with scikit-learn: every decoder, every orthogonality
  // index and null (compare_analyze.py --check, as a user would run it).
  if (std::system("/usr/bin/python3 -c 'import sklearn' 2>/dev/null") != 0)
    GTEST_SKIP() << "python3-sklearn missing";
  TempDir dir;
  export_artifact(*run.get(text, "states"), dir / "states");
  export_artifact(r.to_artifact(), dir / "geometry");
  const std::string cmd = std::string("/usr/bin/python3 ") + WMGEOM_SOURCE_DIR +
                          "/stages/analyze/compare_analyze.py --check " +
                          (dir / "states").string() + " " + (dir / "geometry").string();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  // Findings 2 and 4's per-model numbers, recomputed with scikit-learn from
  // the exported states alone (recompute_findings.py --check, within 0.03),
  // the swap tests included: the declared centroid swap agrees within 0.001
  // (4 of 4 pairs) and the decoder-weight swap within 0.003 (7 of 7 pairs),
  // with the tables' permutation draw (the script's default --null-rule wmgeom);
  // with 5 numpy draws of its own it differed by 0.06 before the lag and
  // leak rules and by 0.21 after (the null's draw, not the decoders: README).
  const std::string recompute =
      std::string("/usr/bin/python3 ") + WMGEOM_SOURCE_DIR +
      "/stages/analyze/recompute_findings.py --check --folds 3 --seed 4 " +
      (dir / "geometry").string() + " " + (dir / "states").string() + " --model states";
  EXPECT_EQ(std::system(recompute.c_str()), 0) << recompute;
}

// Issue 22 item 6: analyze estimates its artifact and working memory at plan
// time, so the fit check covers it: the tables' estimate is near what the
// run stores, and an analysis whose states and working memory cannot fit is
// refused before anything runs, naming its estimate.
TEST(Analyze, EstimatesItsSizeAndIsRefusedWhenItCannotFit) {
  const std::string text = tiny_pipeline();
  Diagnostics d;
  auto plan = make_plan_from_text("/tmp/a.toml", text, {}, real_registry(), d);
  ASSERT_TRUE(plan) << d.format_all();
  const std::size_t g = plan->select("geometry").front(), states = plan->select("states").front();
  const SizeEstimate& e = plan->instances[g].estimate;
  ASSERT_TRUE(e.known);
  EXPECT_EQ(e.working, 6 * plan->instances[states].estimate.bytes);
  // 2 tasks x 6 frames x 6 train frames x 3 features x 12 rows x 200 bytes.
  EXPECT_EQ(e.bytes, 2 * 6 * 6 * 3 * 12 * 200);
  InProcess run;
  const auto artifact = run.get(text, "geometry");
  const double ratio = static_cast<double>(e.bytes) / static_cast<double>(artifact->nbytes());
  EXPECT_GT(ratio, 0.5) << e.bytes << " estimated, " << artifact->nbytes() << " stored";
  EXPECT_LT(ratio, 2.0) << e.bytes << " estimated, " << artifact->nbytes() << " stored";
  // Everything but the analysis cached: its states (an input) and working
  // memory against 1 MB free.
  std::vector<bool> compute(plan->instances.size(), false);
  compute[g] = true;
  const FreeSpace tight{
      .memory = 1000000, .disk = std::int64_t{1} << 40, .memory_from = "the test", .disk_at = "/t"};
  const FitReport refused = check_fit(*plan, compute, tight);
  ASSERT_EQ(refused.errors.size(), 1u);
  EXPECT_NE(refused.errors[0].find("stage geometry (analyze) needs about"), std::string::npos)
      << refused.errors[0];
  const FreeSpace ample{.memory = std::int64_t{1} << 40,
                        .disk = std::int64_t{1} << 40,
                        .memory_from = "",
                        .disk_at = "/t"};
  EXPECT_TRUE(check_fit(*plan, compute, ample).errors.empty());
  // One more model is one more instance (issue 22: two in one instance are
  // refused at plan time), each with its own model's estimate.
  std::string two = text;
  two.replace(two.find("states = [\"states\"]"), std::string("states = [\"states\"]").size(),
              "states = [\"states\", \"states2\"]");
  two +=
      "\n[stage.states2]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\nfeatures = "
      "\"cnn\"\nbatch = 7\n";
  Diagnostics d2;
  EXPECT_FALSE(make_plan_from_text("/tmp/a.toml", two, {}, real_registry(), d2));
  EXPECT_NE(d2.format_all().find("takes at most 1 per instance"), std::string::npos)
      << d2.format_all();
  std::string each = two;
  each.replace(each.find("states = [\"states\", \"states2\"]"),
               std::string("states = [\"states\", \"states2\"]").size(),
               "states = { each = [\"states\", \"states2\"] }");
  Diagnostics d3;
  auto plan3 = make_plan_from_text("/tmp/a.toml", each, {}, real_registry(), d3);
  ASSERT_TRUE(plan3) << d3.format_all();
  ASSERT_EQ(plan3->select("geometry").size(), 2u);
  for (std::size_t g3 : plan3->select("geometry")) {
    EXPECT_EQ(plan3->instances[g3].estimate.bytes, e.bytes);
    EXPECT_EQ(plan3->instances[g3].estimate.working, e.working);
  }
}

// Issue 20: the train stage's configuration holds no seed, so two seeds
// that train for the same number of steps have equal configurations, and
// the causal analysis matched by configuration alone ran every seed's
// states on the last seed's network. Each state set must run on the network
// that produced it: the unshifted replay of the probe step, p_match_baseline,
// equals what the captured network said on the same trials (its captured
// logits at the probe), for every seed.
TEST(Analyze, CausalRunsEachStateSetOnTheNetworkThatProducedIt) {
  std::string text = tiny_pipeline("analyses = [\"causal\"]\ncausal_sds = [1.0]\n");
  const std::string from = "rnn = \"lstm\"\n";
  text.replace(text.find(from), from.size(), from + "sweep = { seed = [1, 2] }\n");
  // One analysis per seed (issue 22), merged by a findings stage.
  const std::string states = "states = [\"states\"]";
  text.replace(text.find(states), states.size(), "states = { each = \"states\" }");
  text += "\n[stage.verdicts]\ntype = \"findings\"\nanalysis = [\"geometry\"]\n";
  InProcess run;
  auto r = run.get_as<AnalysisResult>(text, "verdicts");
  const Table& c = r.tables.at("causal");
  std::map<std::string, int> checked;
  for (const char* seed : {"1", "2"}) {
    const std::string name = std::string("states[seed=") + seed + "]";
    StateSet ss = StateSet::from_artifact(*run.get(text, name));
    torch::Tensor task = nets::view(ss.task).to(torch::kLong),
                  targets = nets::view(ss.targets).to(torch::kLong);
    torch::Tensor p_match =
        torch::softmax(nets::view(ss.logits).to(torch::kFloat64), -1).select(-1, nback::kMatch);
    const auto names = ss.model.at("tasks").get<std::vector<std::string>>();
    for (std::size_t i = 0; i < c.rows(); ++i) {
      if (c.text.at("model")[i] != name) continue;
      const auto k = std::find(names.begin(), names.end(), c.text.at("task")[i]) - names.begin();
      const std::string feature = c.text.at("feature")[i];
      torch::Tensor labels = nets::view(feature == "loc"   ? ss.location
                                        : feature == "cat" ? ss.category
                                                           : ss.identity)
                                 .to(torch::kLong);
      const auto stim = static_cast<std::int64_t>(c.numeric.at("stim_frame")[i]);
      const auto probe = static_cast<std::int64_t>(c.numeric.at("probe_frame")[i]);
      torch::Tensor use = task.eq(k)
                              .logical_and(targets.select(1, probe).eq(nback::kNonMatch))
                              .logical_and(labels.select(1, probe).ne(labels.select(1, stim)));
      const double want = p_match.select(1, probe).masked_select(use).mean().item<double>();
      EXPECT_NEAR(c.numeric.at("p_match_baseline")[i], want, 1e-4)
          << name << " " << c.text.at("task")[i] << " s = " << stim;
      ++checked[name];
    }
  }
  EXPECT_GT(checked["states[seed=1]"], 0);
  EXPECT_GT(checked["states[seed=2]"], 0);
  // Which network each state set ran on is recorded.
  for (const auto& m : r.params.at("models")) {
    const std::string name = m.at("name").get<std::string>();
    EXPECT_EQ(m.value("network", ""), "net" + name.substr(name.find('['))) << m.dump();
  }
}

// The declared test: one row per task at the declared dose and stimulus
// frame (parameters, even when the frame is not analysed), beside the
// dose-response rows, which carry no CI over trials; finding 5 is decided
// only from the declared rows (here: not testable, one model).
TEST(Analyze, CausalDeclaresOneDoseAndFrameForItsVerdict) {
  const std::string text = tiny_pipeline(
      "analyses = [\"causal\"]\nframes = [1]\ncausal_sds = [-2.0, 2.0]\n"
      "causal_dose = 3.0\ncausal_frame = 0\n");
  InProcess run;
  auto r = run.get_as<AnalysisResult>(text, "geometry");
  const Table& c = r.tables.at("causal");
  const Table& t = r.tables.at("causal_test");
  ASSERT_GT(c.rows(), 0u);
  ASSERT_EQ(t.rows(), 2u);  // loc-1 and cat-1 at s = 0
  for (std::size_t i = 0; i < c.rows(); ++i) EXPECT_EQ(c.numeric.at("stim_frame")[i], 1.0);
  for (std::size_t i = 0; i < t.rows(); ++i) {
    EXPECT_EQ(t.numeric.at("stim_frame")[i], 0.0);
    EXPECT_EQ(t.numeric.at("sd")[i], 3.0);
    EXPECT_NEAR(t.numeric.at("z")[i], t.numeric.at("effect")[i] / t.numeric.at("null_rms")[i],
                1e-12);
    EXPECT_LE(t.numeric.at("null_lo")[i], 0.0);
    EXPECT_GE(t.numeric.at("null_hi")[i], 0.0);
  }
  for (const char* gone : {"ci_lo", "ci_hi", "p_trials", "p_vs_random"})
    EXPECT_FALSE(c.numeric.count(gone)) << gone;
  // The +-a rows mirror each other (one computation, signs swapped).
  std::map<std::string, std::vector<double>> effect;
  for (std::size_t i = 0; i < c.rows(); ++i)
    effect[c.text.at("task")[i]].push_back(c.numeric.at("effect")[i]);
  for (const auto& [task, e] : effect) {
    ASSERT_EQ(e.size(), 2u);
    EXPECT_NEAR(e[0], -e[1], 1e-12) << task;
  }
  const auto& f = r.findings.at("5");
  EXPECT_EQ(f.at("verdict"), "not testable") << f.dump(2);
  EXPECT_EQ(f.at("dose"), 3.0);
  EXPECT_EQ(f.at("stim_frame"), 0);
  EXPECT_NE(f.at("test").get<std::string>().find("dose 3 SD, stimulus frame 0"), std::string::npos);
}

}  // namespace
}  // namespace wmgeom::testing

namespace wmgeom::testing {
namespace {

// After a run, findings.json and the tables land beside report.html in the
// run's output folder (one analyze instance), or suffixed by instance (several).
TEST(Analyze, AfterARunFindingsAndTablesAreInTheOutputFolder) {
  AnalysisResult a;
  Table t;
  t.add("model", std::vector<std::string>{"gru", "lstm"});
  t.add("accuracy", std::vector<double>{0.75, 0.5});
  a.tables["decoding"] = t;
  a.findings = {{"verdicts", {{"orthogonal", "held"}}}};
  const Artifact art = a.to_artifact();
  RunSummary run;
  InstanceSummary one;
  one.instance = "geometry";
  one.type = "analyze";
  one.kind = "AnalysisResult";  // what decides who writes (findings_suffix), with the run's inputs
  one.cache = CacheStatus::kHit;
  run.instances = {one};
  TempDir out;
  const auto files = AnalyzeStage().after_run(art, run, "geometry", out.path());
  EXPECT_EQ(files, (std::vector<std::filesystem::path>{out / "findings.json", out / "tables"}));
  EXPECT_NE(read_file(out / "findings.json").find("\"orthogonal\": \"held\""), std::string::npos);
  EXPECT_EQ(read_file(out / "tables" / "decoding.csv"), "model,accuracy\ngru,0.75\nlstm,0.5\n");
  // A sweep of two analyses: one set of files each, named by instance.
  one.instance = "geometry[rnn=gru]";
  InstanceSummary two = one;
  two.instance = "geometry[rnn=lstm]";
  run.instances = {one, two};
  const auto swept = AnalyzeStage().after_run(art, run, "geometry[rnn=lstm]", out.path());
  EXPECT_EQ(swept.front(), out / "findings-geometry.rnn=lstm.json");
  EXPECT_TRUE(std::filesystem::exists(out / "tables-geometry.rnn=lstm" / "decoding.csv"));
  // A failed or skipped instance does not count: one in the run, no suffix.
  two.cache = CacheStatus::kCancelled;
  run.instances = {one, two};
  EXPECT_EQ(AnalyzeStage().after_run(art, run, "geometry[rnn=gru]", out.path()).front(),
            out / "findings.json");
}

}  // namespace
}  // namespace wmgeom::testing
