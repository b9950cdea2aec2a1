// The compare stage on planted truth: CKA and the Procrustes angle are 1
// and 0 for rotated, scaled, shifted and zero-padded copies and far from
// them for unrelated representations; MDS recovers planted points; the
// group test's false-positive rate on exchangeable models (measured) and
// its power on architecture-specific geometry; through the engine with
// imported states, models differing only by rotation and scale are not
// called different, models with another geometry are; the stage kit; bad
// input exits 2.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <random>

#include "analyze/stats.h"
#include "compare/geometry.h"
#include "core/artifacts.h"
#include "stage_kit.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

namespace fs = std::filesystem;
using compare::Matrix;

Matrix gaussian(Eigen::Index rows, Eigen::Index cols, std::mt19937& rng) {
  std::normal_distribution<double> normal;
  Matrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
  return m;
}

// A random orthonormal basis of `cols` columns in `rows` dimensions (rows >= cols).
Matrix orthonormal(Eigen::Index rows, Eigen::Index cols, std::mt19937& rng) {
  Eigen::HouseholderQR<Matrix> qr(gaussian(rows, cols, rng));
  return qr.householderQ() * Matrix::Identity(rows, cols);
}

TEST(CompareGeometry, RotatedScaledShiftedAndPaddedCopiesAreTheSame) {
  std::mt19937 rng(1);
  const Matrix x = gaussian(200, 10, rng);
  const Matrix rotated = 3.5 * x * orthonormal(10, 10, rng);
  const Matrix shifted = rotated.rowwise() + Eigen::RowVectorXd::Constant(10, 7.0);
  const Matrix wider = x * orthonormal(24, 10, rng).transpose();  // 10 dims embedded in 24 units
  for (const Matrix* y : {&rotated, &shifted, &wider}) {
    EXPECT_NEAR(compare::linear_cka(x, *y), 1.0, 1e-9);
    EXPECT_NEAR(compare::procrustes_angle(x, *y), 0.0, 1e-6);
    EXPECT_NEAR(compare::procrustes_angle(*y, x), 0.0, 1e-6);
  }
}

TEST(CompareGeometry, UnrelatedRepresentationsAreFarAndTheAngleIsAMetric) {
  std::mt19937 rng(2);
  const Matrix x = gaussian(2000, 8, rng), y = gaussian(2000, 8, rng), z = gaussian(2000, 12, rng);
  EXPECT_LT(compare::linear_cka(x, y), 0.05);
  EXPECT_GT(compare::procrustes_angle(x, y), 1.2);  // near pi/2
  // Symmetric, and the triangle inequality holds (Williams et al. 2021).
  const Matrix xy = 0.7 * x + 0.3 * y;
  const double dxy = compare::procrustes_angle(x, xy), dyz = compare::procrustes_angle(xy, z),
               dxz = compare::procrustes_angle(x, z);
  EXPECT_NEAR(dxy, compare::procrustes_angle(xy, x), 1e-12);
  EXPECT_LE(dxz, dxy + dyz + 1e-12);
  // A partial relation sits between: the angle between x and x + y (both
  // unit-normalised after centring) is about 45 degrees for independent x, y.
  EXPECT_NEAR(compare::procrustes_angle(x, x + y), std::acos(1 / std::sqrt(2.0)), 0.05);
  // Constant states: no geometry, NaN rather than a number.
  EXPECT_TRUE(std::isnan(compare::linear_cka(x, Matrix::Ones(2000, 3))));
  EXPECT_TRUE(std::isnan(compare::procrustes_angle(Matrix::Ones(2000, 3), y)));
}

TEST(CompareGeometry, MdsRecoversPlantedPoints) {
  std::mt19937 rng(3);
  const Matrix p = gaussian(7, 2, rng);
  Matrix d(7, 7);
  for (int i = 0; i < 7; ++i)
    for (int j = 0; j < 7; ++j) d(i, j) = (p.row(i) - p.row(j)).norm();
  const Matrix e = compare::classical_mds(d, 2);
  for (int i = 0; i < 7; ++i)
    for (int j = 0; j < 7; ++j) EXPECT_NEAR((e.row(i) - e.row(j)).norm(), d(i, j), 1e-9);
}

// Distances among `groups` x `per` models: exchangeable (every pair's
// distance from one law) under the null; with `effect`, pairs in different
// groups are that much farther.
Matrix planted_distances(int groups, int per, double effect, std::mt19937& rng) {
  const int n = groups * per;
  // Models as points: a shared cloud, plus a group offset of size `effect`.
  Matrix centre = gaussian(groups, 6, rng) * effect;
  Matrix points = gaussian(n, 6, rng);
  for (int i = 0; i < n; ++i) points.row(i) += centre.row(i / per);
  Matrix d(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) d(i, j) = (points.row(i) - points.row(j)).norm();
  return d;
}

std::vector<std::string> labels_of(int groups, int per) {
  std::vector<std::string> l;
  for (int i = 0; i < groups * per; ++i) l.push_back("arch" + std::to_string(i / per));
  return l;
}

// The permutation test's false-positive rate, measured: 400 exchangeable
// draws at alpha 0.05 (3 groups of 3 seeds, the study's shape, and 2 of 4);
// the rate must be within the 99.9% binomial bound of 0.05 (<= 0.083).
TEST(CompareGroupTest, FalsePositiveRateOnExchangeableModels) {
  for (const auto& [groups, per] : std::vector<std::pair<int, int>>{{3, 3}, {2, 4}}) {
    std::mt19937 rng(10 + groups);
    int rejected = 0, covered = 0;
    const int draws = 400;
    for (int k = 0; k < draws; ++k) {
      const auto t = compare::group_test(planted_distances(groups, per, 0.0, rng),
                                         labels_of(groups, per), 199, 1000 + k);
      ASSERT_TRUE(t.testable);
      rejected += t.p < 0.05;
      // The CI brackets the statistic, and (under this null) mostly 0.
      EXPECT_LE(t.ci_lo, t.statistic + 1e-12);
      EXPECT_GE(t.ci_hi, t.statistic - 1e-12);
      covered += t.ci_lo <= 0 && 0 <= t.ci_hi;
    }
    const auto [lo, hi] = analyze::stats::clopper_pearson(rejected, draws);
    std::cout << groups << " groups of " << per << ": " << rejected << " of " << draws
              << " rejected at 0.05 (Clopper-Pearson 95% " << lo << " to " << hi
              << "); the 95% CI covers 0 in " << covered << "\n";
    EXPECT_GE(covered, draws * 8 / 10) << "a CI of the models' bootstrap that misses the null";
    EXPECT_LE(rejected, 33) << groups << " groups of " << per << ": " << rejected << " of "
                            << draws;
    EXPECT_GE(rejected, 6) << "a test that never rejects is not calibrated either";
  }
}

// Power: group offsets as large as the spread within a group.
TEST(CompareGroupTest, PowerWhenGroupsDiffer) {
  std::mt19937 rng(5);
  int rejected = 0;
  for (int k = 0; k < 100; ++k) {
    const auto t = compare::group_test(planted_distances(3, 3, 1.5, rng), labels_of(3, 3), 199, k);
    rejected += t.p < 0.05;
  }
  const auto [lo, hi] = analyze::stats::clopper_pearson(rejected, 100);
  std::cout << "power: " << rejected << " of 100 (Clopper-Pearson 95% " << lo << " to " << hi
            << ")\n";
  EXPECT_GE(rejected, 90);
}

TEST(CompareGroupTest, NotTestableWithoutGroupsOrReplicates) {
  std::mt19937 rng(6);
  const Matrix d = planted_distances(1, 3, 0, rng);
  EXPECT_FALSE(compare::group_test(d, {"a", "a", "a"}, 99, 1).testable);
  EXPECT_FALSE(compare::group_test(d, {"a", "b", "c"}, 99, 1).testable);
  // 3 models in groups of 2 and 1: 3 partitions, p >= 1/3.
  EXPECT_FALSE(compare::group_test(d, {"a", "a", "b"}, 99, 1).testable);
  EXPECT_TRUE(compare::group_test(d, {"a", "a", "b"}, 99, 1, 0.5).testable);
  // 2 architectures x 3 seeds: 10 partitions (not 20: the two names swap),
  // never below alpha 0.05; x 4 seeds: 35.
  const auto six = compare::group_test(planted_distances(2, 3, 5.0, rng), labels_of(2, 3), 999, 1);
  EXPECT_FALSE(six.testable);
  EXPECT_EQ(six.distinct_labellings, 10);
  EXPECT_NE(six.why.find("1/10"), std::string::npos) << six.why;
  const auto eight =
      compare::group_test(planted_distances(2, 4, 5.0, rng), labels_of(2, 4), 999, 1);
  EXPECT_TRUE(eight.testable);
  EXPECT_EQ(eight.distinct_labellings, 35);
  EXPECT_LT(eight.p, 0.05);
  EXPECT_GE(eight.p, 1.0 / 35 - 0.02);  // a permutation p cannot beat its partitions
  EXPECT_EQ(compare::group_test(planted_distances(3, 3, 0, rng), labels_of(3, 3), 99, 1)
                .distinct_labellings,
            280);
}

// ------------------------------------------------------------------ through the engine

constexpr std::int64_t kTrials = 96, kFrames = 3, kLatent = 6;

// Trials of one task (loc-1) over 12 images; a latent state per image and
// frame shared by every model (the "task"), read out by each model through
// its own map: `rotation` (a random orthonormal map, times a random scale:
// the same geometry) or a squashing nonlinearity of a group-specific
// mixing (another geometry), plus independent noise.
StateSet model_states(const std::string& rnn, int seed, bool other_geometry) {
  std::mt19937 shared(99), own(static_cast<std::uint32_t>(seed * 7919 + rnn.size()));
  const Matrix latent = gaussian(12 * kFrames, kLatent, shared);  // per (image, frame)
  std::mt19937 group_rng(static_cast<std::uint32_t>(rnn.size() * 31 + rnn[0]));
  const Matrix mixing = gaussian(kLatent, kLatent, group_rng);
  const Eigen::Index units = 10 + seed;
  const Matrix readout = orthonormal(units, kLatent, own).transpose() * (1.0 + seed);
  StateSet s;
  s.model = {{"rnn", rnn}, {"tasks", {"loc-1"}}, {"seed", seed}};
  s.hidden = Array::zeros<float>({kTrials, kFrames, units});
  for (auto* a : {&s.targets, &s.stimulus, &s.location, &s.category, &s.identity, &s.view})
    *a = Array::zeros<std::int32_t>({kTrials, kFrames});
  s.task = Array::zeros<std::int32_t>({kTrials});
  std::mt19937 trials(5);  // the same trials in every model
  std::normal_distribution<double> noise(0, 0.05);
  for (std::int64_t i = 0; i < kTrials; ++i) {
    for (std::int64_t t = 0; t < kFrames; ++t) {
      const auto image = static_cast<std::int32_t>(trials() % 12);
      const std::int64_t f = i * kFrames + t;
      s.stimulus.data<std::int32_t>()[f] = image;
      s.location.data<std::int32_t>()[f] = image % 4;
      s.identity.data<std::int32_t>()[f] = image / 4;
      s.category.data<std::int32_t>()[f] = image / 8;
      Eigen::RowVectorXd z = latent.row(image * kFrames + t);
      if (other_geometry) z = (3.0 * z * mixing).array().tanh().matrix();
      const Eigen::RowVectorXd h = z * readout;
      for (Eigen::Index u = 0; u < units; ++u)
        s.hidden.data<float>()[f * units + u] = static_cast<float>(h(u) + noise(own));
      const auto* loc = s.location.data<std::int32_t>();
      s.targets.data<std::int32_t>()[f] = t < 1 ? 0 : loc[f] == loc[f - 1] ? 2 : 1;
    }
  }
  return s;
}

// Three seeds each of "a", "b" and "c"; b's and c's geometries differ from
// a's (and from each other) or not.
std::string write_models(const fs::path& dir, bool others_differ) {
  std::string text = "[pipeline]\nname = \"cmp\"\nseed = 3\n\n";
  std::string names;
  for (const std::string rnn : {"a", "b", "c"}) {
    for (int seed = 0; seed < 3; ++seed) {
      const std::string name = rnn + std::to_string(seed);
      export_artifact(model_states(rnn, seed, rnn != "a" && others_differ).to_artifact(),
                      dir / name);
      text +=
          "[stage." + name + "]\ntype = \"import\"\npath = \"" + (dir / name).string() + "\"\n\n";
      names += (names.empty() ? "\"" : ", \"") + name + "\"";
    }
  }
  return text + "[stage.distances]\ntype = \"compare\"\nstates = [" + names +
         "]\npermutations = 999\n";
}

TEST(Compare, SameGeometryUpToRotationAndScaleIsNotCalledDifferent) {
  TempDir dir;
  InProcess run;
  const auto r = run.get_as<AnalysisResult>(write_models(dir.path(), false), "distances");
  const auto& pairs = r.tables.at("model_pairs");
  ASSERT_EQ(pairs.rows(), 36u * kFrames);  // 9 models: 36 pairs, per frame
  for (double c : pairs.numeric.at("cka")) EXPECT_GT(c, 0.99);
  for (double a : pairs.numeric.at("procrustes_angle")) EXPECT_LT(a, 0.1);
  for (double n : pairs.numeric.at("conditions")) EXPECT_EQ(n, 12);  // the images
  EXPECT_EQ(r.findings.at("models").at("verdict"), "not held");
  EXPECT_EQ(r.tables.at("model_mds").rows(), 9u);
}

TEST(Compare, AnotherGeometryIsCalledDifferent) {
  TempDir dir;
  InProcess run;
  const auto r = run.get_as<AnalysisResult>(write_models(dir.path(), true), "distances");
  const auto& f = r.findings.at("models");
  EXPECT_EQ(f.at("verdict"), "held") << f.dump(1);
  // 3 groups of 3: 280 partitions, the smallest p 1/280 (about 0.0046
  // under 999 draws).
  EXPECT_EQ(f.at("distinct_labellings"), 280);
  EXPECT_LT(f.at("p").get<double>(), 0.02);
  // Between-architecture pairs are farther than within.
  EXPECT_GT(f.at("between").get<double>(), 2 * f.at("within").get<double>());
  // Its CI (a bootstrap of the models within groups) excludes 0.
  EXPECT_GT(f.at("ci")[0].get<double>(), 0) << f.dump(1);
  EXPECT_LE(f.at("ci")[0].get<double>(), f.at("statistic").get<double>());
  EXPECT_GE(f.at("ci")[1].get<double>(), f.at("statistic").get<double>());
  const Array& d = r.arrays.at("model_distance");
  EXPECT_EQ(d.shape(), (std::vector<std::int64_t>{9, 9}));
  EXPECT_EQ(d.data<double>()[0], 0.0);
}

TEST(Compare, PassesTheStageKit) {
  TempDir dir;
  expect_stage_kit({write_models(dir.path(), true), "distances", {}, {}});
}

TEST(Compare, BadInputExitsTwo) {
  TempDir dir;
  const std::string models = write_models(dir.path(), false);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {models + "frames = [7]\n", "frames lists 7"},
      {"[pipeline]\nname = \"c\"\nseed = 1\n[stage.a0]\ntype = \"import\"\npath = \"" +
           (dir / "a0").string() + "\"\n[stage.d]\ntype = \"compare\"\nstates = [\"a0\"]\n",
       "at least two models"},
  };
  for (const auto& [text, expect] : cases) {
    write_file(dir / "p.toml", text);
    expect_refused(run_pipeline_in(dir / "p.toml", dir.path()), expect, expect);
  }
}

}  // namespace
}  // namespace wmgeom::testing
