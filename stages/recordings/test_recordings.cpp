// The recordings stage on planted truth. The arithmetic: RDMs are 1 -
// Pearson r, Spearman handles ties, the whitened cosine's O(P) formula is the
// dense V^-1 one (full sets and bootstrap samples), a sample's pairs index
// the full RDM. The statistics (Calibration.*, scripts/test --calibration):
// recordings made as a noisy linear mixing of one model's states, at several
// noise levels and subject counts: that model beats an unrelated one with
// power >= 0.9, the unrelated one never wins, two models equally related to
// the data are called different at most at alpha (measured), a group test of
// exchangeable architectures likewise, and the noise ceiling brackets the
// true model's score. Through the engine: the planted model and architecture
// are found, from NPY and HDF5, conditions with and without frames; the
// stage kit; bad recordings exit 2 naming the file and the array.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <random>

#include <hdf5.h>

#include "analyze/stats.h"
#include "core/artifact.h"
#include "core/artifacts.h"
#include "core/npy.h"
#include "recordings/inference.h"
#include "recordings/rsa.h"
#include "stage_kit.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

namespace fs = std::filesystem;
using namespace wmgeom::recordings;

Matrix gaussian(Eigen::Index rows, Eigen::Index cols, std::mt19937& rng) {
  std::normal_distribution<double> normal;
  Matrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
  return m;
}

// ------------------------------------------------------------------ arithmetic

TEST(RsaMath, CorrelationRdmIsOneMinusPearson) {
  std::mt19937 rng(1);
  const Matrix x = gaussian(6, 9, rng);
  const Vector d = correlation_rdm(x);
  ASSERT_EQ(d.size(), 15);
  Eigen::Index n = 0;
  for (int i = 0; i < 6; ++i) {
    for (int j = i + 1; j < 6; ++j) {
      const Eigen::RowVectorXd a = x.row(i).array() - x.row(i).mean(),
                               b = x.row(j).array() - x.row(j).mean();
      EXPECT_NEAR(d[n++], 1 - a.dot(b) / (a.norm() * b.norm()), 1e-12);
    }
  }
  Matrix flat = x;
  flat.row(2).setConstant(3.0);
  EXPECT_TRUE(std::isnan(correlation_rdm(flat)[1]));  // pair (0, 2)
}

TEST(RsaMath, SpearmanSharesTiedRanks) {
  Vector a(4), b(4);
  a << 1, 2, 2, 3;
  b << 1, 3, 2, 4;
  // scipy.stats.spearmanr([1, 2, 2, 3], [1, 3, 2, 4]) = 0.9486832980505138
  EXPECT_NEAR(spearman(a, b), 0.9486832980505138, 1e-12);
  EXPECT_NEAR(spearman(a, a), 1.0, 1e-12);
}

// V = (C C')∘(C C') over the pairs of k positions, inverted densely.
Matrix dense_whitening(int k) {
  const PairSet all = PairSet::all(k);
  Matrix c = Matrix::Zero(static_cast<Eigen::Index>(all.size()), k);
  for (std::size_t p = 0; p < all.size(); ++p) {
    c(static_cast<Eigen::Index>(p), all.first[p]) = 1;
    c(static_cast<Eigen::Index>(p), all.second[p]) = -1;
  }
  const Matrix xi = c * c.transpose();
  const Matrix v = xi.cwiseProduct(xi);
  return v.ldlt().solve(Matrix::Identity(v.rows(), v.cols()));
}

double dense_cosine(const Vector& a, const Vector& b, const Matrix& w) {
  return a.dot(w * b) / std::sqrt(a.dot(w * a) * b.dot(w * b));
}

TEST(RsaMath, WhitenedCosineIsTheDenseFormula) {
  std::mt19937 rng(2);
  const int k = 7;
  const Matrix w = dense_whitening(k);
  const PairSet all = PairSet::all(k);
  const Vector a = gaussian(21, 1, rng).col(0).cwiseAbs(),
               b = gaussian(21, 1, rng).col(0).cwiseAbs();
  EXPECT_NEAR(whitened_cosine(a, b, all), dense_cosine(a, b, w), 1e-12);
  EXPECT_NEAR(whitened_cosine(a, a, all), 1.0, 1e-12);
  // It is not the plain cosine.
  EXPECT_GT(std::abs(whitened_cosine(a, b, all) - a.dot(b) / (a.norm() * b.norm())), 1e-3);
  // A bootstrap sample: 7 positions, conditions 0 and 6 drawn twice. Its
  // pairs are V^-1 of 7 distinct positions with the dropped pairs at zero.
  const std::vector<int> drawn = {0, 0, 3, 5, 1, 6, 6};
  const PairSet sample = PairSet::sample(drawn, k);
  EXPECT_EQ(sample.size(), 19u);  // 21 less (0, 0) and (6, 6)
  const Vector sa = take(a, sample), sb = take(b, sample);
  Vector fa = Vector::Zero(21), fb = Vector::Zero(21);
  const PairSet positions = PairSet::all(k);
  std::size_t next = 0;
  for (std::size_t p = 0; p < positions.size(); ++p) {
    if (drawn[static_cast<std::size_t>(positions.first[p])] ==
        drawn[static_cast<std::size_t>(positions.second[p])])
      continue;
    fa[static_cast<Eigen::Index>(p)] = sa[static_cast<Eigen::Index>(next)];
    fb[static_cast<Eigen::Index>(p)] = sb[static_cast<Eigen::Index>(next)];
    ++next;
  }
  EXPECT_NEAR(whitened_cosine(sa, sb, sample), dense_cosine(fa, fb, w), 1e-12);
}

TEST(RsaMath, ASampleIndexesTheFullRdm) {
  const int k = 9;
  const PairSet all = PairSet::all(k);
  const std::vector<int> drawn = {8, 2, 2, 0, 5, 7, 1, 1, 4};
  const PairSet s = PairSet::sample(drawn, k);
  for (std::size_t p = 0; p < s.size(); ++p) {
    int a = drawn[static_cast<std::size_t>(s.first[p])],
        b = drawn[static_cast<std::size_t>(s.second[p])];
    if (a > b) std::swap(a, b);
    ASSERT_NE(a, b);
    EXPECT_EQ(all.first[static_cast<std::size_t>(s.index[p])], a);
    EXPECT_EQ(all.second[static_cast<std::size_t>(s.index[p])], b);
  }
}

TEST(RsaMath, NoiseCeilingOfIdenticalSubjectsIsOneAndOrdered) {
  std::mt19937 rng(3);
  const Matrix x = gaussian(10, 20, rng);
  const PairSet all = PairSet::all(10);
  const Vector d = correlation_rdm(x);
  for (auto c : {Comparison::kSpearman, Comparison::kWhitenedCosine}) {
    const Ceiling same = noise_ceiling(c, {d, d, d}, all);
    EXPECT_NEAR(same.lower, 1.0, 1e-12);
    EXPECT_NEAR(same.upper, 1.0, 1e-12);
    std::vector<Vector> noisy;
    for (int s = 0; s < 4; ++s) noisy.push_back(correlation_rdm(x + 1.5 * gaussian(10, 20, rng)));
    const Ceiling n = noise_ceiling(c, noisy, all);
    EXPECT_LT(n.lower, n.upper);
    EXPECT_GT(n.lower, 0.1);
    EXPECT_TRUE(std::isnan(noise_ceiling(c, {d}, all).lower));
  }
  EXPECT_EQ(holm({0.01, 0.04, 0.03}), (std::vector<double>{0.03, 0.06, 0.06}));
}

// ------------------------------------------------------------------ planted truth

// One replicate of a planted world: K images, each a point in a shared
// 8-dimensional feature space (what every model sees); a model is
// tanh(features A + G), its own readout A and its own per-image structure
// G; recordings are a random linear mixing of the true model's states into
// 50 units per subject plus independent noise of SD `noise`.
struct World {
  static constexpr int kImages = 40, kUnits = 32, kChannels = 50;
  std::mt19937 rng;
  Matrix features;
  explicit World(std::uint32_t seed) : rng(seed), features(gaussian(kImages, 8, rng)) {}
  Matrix model(const Matrix& readout, const Matrix& own) const {
    return (features * readout + own).array().tanh().matrix();
  }
  Matrix readout() { return gaussian(8, kUnits, rng) / std::sqrt(8.0); }
  Matrix own(double size) { return size * gaussian(kImages, kUnits, rng); }
  std::vector<Vector> recordings(const Matrix& truth, int subjects, double noise) {
    std::vector<Vector> out;
    for (int s = 0; s < subjects; ++s) {
      const Matrix mix = gaussian(kUnits, kChannels, rng) / std::sqrt(double{kUnits});
      out.push_back(correlation_rdm(truth * mix + noise * gaussian(kImages, kChannels, rng)));
    }
    return out;
  }
};

struct Outcome {
  Closest test;
  double true_score, lower, upper;
  double second_score;  // the second model's
};

// Models [truth-related..., other...] as RDMs; the test by model (or by the
// labels), bootstrap over the 40 images.
Outcome decide(const std::vector<Matrix>& models, const std::vector<std::string>& labels,
               const std::vector<Vector>& subjects, std::uint64_t seed, std::int64_t resamples,
               bool by_model) {
  std::vector<std::vector<Vector>> rdms;
  std::vector<double> scores;
  const PairSet all = PairSet::all(World::kImages);
  for (const auto& m : models) {
    rdms.push_back({correlation_rdm(m)});
    scores.push_back(model_score(Comparison::kSpearman, rdms.back(), subjects, all));
  }
  const Units units = Units::of(labels);
  const Draws d = bootstrap(Comparison::kSpearman, rdms, subjects, units, resamples, seed, false);
  const Ceiling c = noise_ceiling(Comparison::kSpearman, subjects, all);
  return {test_closest(scores, units, d, by_model, 10000, seed, 0.05), scores[0], c.lower, c.upper,
          scores.size() > 1 ? scores[1] : 0.0};
}

std::string rate(int k, int n) {
  const auto [lo, hi] = analyze::stats::clopper_pearson(k, n);
  return std::to_string(k) + "/" + std::to_string(n) + " (95% CI " + std::to_string(lo) + " to " +
         std::to_string(hi) + ")";
}

// The noise levels span the reliability of real recordings: the lower noise
// ceiling (printed) runs from about 0.6 (SD 0.5) to about 0.1 (SD 1.5, where
// the data hold little geometry). Power is required where the lower ceiling
// is at least 0.3 (declared before the first run); it is printed everywhere.
TEST(Calibration, TheTrueModelWinsAndAnUnrelatedOneNeverDoes) {
  int powered = 0;  // configurations where power is required (lower ceiling >= 0.3)
  for (int subjects : {2, 4}) {
    for (double noise : {0.5, 1.0, 1.5}) {
      const int draws = 50;
      int wins = 0, wrong = 0, bracketed = 0;
      double lower = 0;
      for (int r = 0; r < draws; ++r) {
        World w(static_cast<std::uint32_t>(1000 * subjects + 100 * noise + r));
        const Matrix truth = w.model(w.readout(), w.own(0.8));
        const Matrix unrelated = w.model(w.readout(), w.own(0.8));
        const auto rec = w.recordings(truth, subjects, noise);
        const Outcome o = decide({truth, unrelated}, {"truth", "unrelated"}, rec,
                                 static_cast<std::uint64_t>(r), 299, true);
        wins += o.test.held && o.test.best == 0;
        wrong += o.test.held && o.test.best == 1;
        bracketed += o.lower <= o.true_score && o.true_score <= o.upper;
        lower += o.lower / draws;
      }
      std::cout << subjects << " subjects, noise SD " << noise << ": lower ceiling " << lower
                << ", true model held closest " << rate(wins, draws) << ", unrelated held closest "
                << rate(wrong, draws) << ", ceiling brackets " << rate(bracketed, draws) << "\n";
      if (lower >= 0.3) {
        ++powered;
        EXPECT_GE(wins, 45) << subjects << " subjects, noise " << noise;
      }
      EXPECT_EQ(wrong, 0) << subjects << " subjects, noise " << noise;
      EXPECT_GE(bracketed, 45) << subjects << " subjects, noise " << noise;
    }
  }
  // The power bound must bind somewhere: a ceiling that fell below 0.3 in
  // every configuration would otherwise switch it off unseen (the reliable
  // end, SD 0.5, sits near 0.6).
  EXPECT_GE(powered, 2);
}

// The adversarial null: two models equally related to the data (each the
// true model's geometry plus its own perturbation per image of one size),
// sharing the images' features with the data and with each other. Neither
// is closer in the population of images; the test may call one closer at
// most at its level.
TEST(Calibration, ModelsEquallyRelatedToTheDataAreNotCalledDifferent) {
  const int draws = 200;
  int rejected = 0;
  double boot_sd = 0;
  std::vector<double> diffs;
  for (int r = 0; r < draws; ++r) {
    World w(static_cast<std::uint32_t>(50000 + r));
    const Matrix readout = w.readout(), own = w.own(0.8);
    const Matrix truth = w.model(readout, own);
    const Matrix b = w.model(readout, own + w.own(1.0)), c = w.model(readout, own + w.own(1.0));
    const Outcome o = decide({b, c}, {"b", "c"}, w.recordings(truth, 4, 1.0),
                             static_cast<std::uint64_t>(r), 299, true);
    rejected += o.test.held;
    // The bootstrap's SD of the difference (from its 95% interval), against
    // the difference's actual spread over the draws.
    boot_sd += (o.test.pairs[0].ci_hi - o.test.pairs[0].ci_lo) / 3.92 / draws;
    diffs.push_back(o.true_score - o.second_score);
  }
  std::cout << "equally related models called different: " << rate(rejected, draws)
            << "; the difference's SD over draws " << analyze::stats::sd(diffs)
            << ", the bootstrap's " << boot_sd << "\n";
  EXPECT_LE(rejected, draws / 20) << rate(rejected, draws);
}

// The group test with exchangeable architectures: 2 x 4 models, every one
// the truth plus its own perturbation (seeds), labelled at random.
TEST(Calibration, ExchangeableArchitecturesAreNotCalledDifferent) {
  const int draws = 200;
  int rejected = 0, power = 0;
  for (int r = 0; r < draws; ++r) {
    World w(static_cast<std::uint32_t>(70000 + r));
    const Matrix readout = w.readout(), own = w.own(0.8);
    const Matrix truth = w.model(readout, own);
    std::vector<Matrix> models, planted;
    for (int m = 0; m < 8; ++m) models.push_back(w.model(readout, own + w.own(1.0)));
    // Power beside it: architecture "x" farther from the truth (a larger
    // perturbation) than "y".
    for (int m = 0; m < 8; ++m) planted.push_back(w.model(readout, own + w.own(m < 4 ? 1.6 : 0.6)));
    const std::vector<std::string> labels = {"x", "x", "x", "x", "y", "y", "y", "y"};
    const auto rec = w.recordings(truth, 4, 1.0);
    rejected += decide(models, labels, rec, static_cast<std::uint64_t>(r), 99, false).test.held;
    const Outcome o = decide(planted, labels, rec, static_cast<std::uint64_t>(r), 99, false);
    power += o.test.held && o.test.best == 1;
  }
  std::cout << "exchangeable architectures called different: " << rate(rejected, draws)
            << "; planted difference found: " << rate(power, draws) << "\n";
  EXPECT_LE(rejected, draws / 20) << rate(rejected, draws);
  EXPECT_GE(power, draws * 9 / 10) << rate(power, draws);
}

// ------------------------------------------------------------------ through the engine

constexpr std::int64_t kTrials = 120, kFrames = 3, kImages = 12;

// Trials of loc-1 over 12 images; each architecture a geometry of its own
// (a latent point per image and frame, mixed by a squashing map of its own),
// read out by each seed through its own random map, plus noise.
Matrix geometry(int arch) {
  std::mt19937 rng(static_cast<std::uint32_t>(500 + arch));
  const Matrix latent = gaussian(kImages * kFrames, 6, rng);
  return (2.0 * latent * gaussian(6, 6, rng)).array().tanh().matrix();
}

StateSet model_states(int arch, int seed) {
  std::mt19937 own(static_cast<std::uint32_t>(seed * 7919 + arch));
  const Matrix g = geometry(arch);
  const Eigen::Index units = 10 + seed;
  const Matrix readout = gaussian(6, units, own);
  StateSet s;
  s.model = {
      {"rnn", std::string(1, static_cast<char>('a' + arch))}, {"tasks", {"loc-1"}}, {"seed", seed}};
  s.hidden = Array::zeros<float>({kTrials, kFrames, units});
  for (auto* a : {&s.targets, &s.stimulus, &s.location, &s.category, &s.identity, &s.view})
    *a = Array::zeros<std::int32_t>({kTrials, kFrames});
  s.task = Array::zeros<std::int32_t>({kTrials});
  std::normal_distribution<double> noise(0, 0.05);
  for (std::int64_t i = 0; i < kTrials; ++i) {
    for (std::int64_t t = 0; t < kFrames; ++t) {
      const auto image = static_cast<std::int32_t>((i * 5 + t * 7) % kImages);
      const std::int64_t f = i * kFrames + t;
      s.stimulus.data<std::int32_t>()[f] = image;
      s.location.data<std::int32_t>()[f] = image % 4;
      s.identity.data<std::int32_t>()[f] = image / 4;
      s.category.data<std::int32_t>()[f] = image / 8;
      const Eigen::RowVectorXd h = g.row(image * kFrames + t) * readout;
      for (Eigen::Index u = 0; u < units; ++u)
        s.hidden.data<float>()[f * units + u] = static_cast<float>(h(u) + noise(own));
      const auto* loc = s.location.data<std::int32_t>();
      s.targets.data<std::int32_t>()[f] = t < 1 ? 0 : loc[f] == loc[f - 1] ? 2 : 1;
    }
  }
  return s;
}

// Recordings of architecture `arch`'s geometry: per subject a random mixing
// into 40 channels plus noise; conditions (image, frame) when `frames`, else
// the images at frame 1.
std::map<std::string, Array> planted_recordings(int arch, int subjects, bool frames) {
  std::mt19937 rng(77);
  const Matrix g = geometry(arch);
  const std::int64_t k = frames ? kImages * kFrames : kImages;
  Array image = Array::zeros<std::int32_t>({k}), frame = Array::zeros<std::int32_t>({k});
  Array responses = Array::zeros<double>({subjects, k, 40});
  for (int s = 0; s < subjects; ++s) {
    const Matrix mix = gaussian(6, 40, rng), noise = 0.3 * gaussian(k, 40, rng);
    for (std::int64_t c = 0; c < k; ++c) {
      const std::int64_t img = frames ? c / kFrames : c, t = frames ? c % kFrames : 1;
      image.data<std::int32_t>()[c] = static_cast<std::int32_t>(img);
      frame.data<std::int32_t>()[c] = static_cast<std::int32_t>(t);
      const Eigen::RowVectorXd r = g.row(img * kFrames + t) * mix + noise.row(c);
      for (int u = 0; u < 40; ++u) responses.data<double>()[(s * k + c) * 40 + u] = r(u);
    }
  }
  std::map<std::string, Array> out = {{"image", image}, {"responses", responses}};
  if (frames) out["frame"] = frame;
  return out;
}

void write_npy_folder(const fs::path& dir, const std::map<std::string, Array>& arrays,
                      const nlohmann::json& doc = {{"kind", "Recordings"},
                                                   {"meta", nlohmann::json::object()}}) {
  fs::create_directories(dir);
  write_file(dir / "meta.json", doc.dump());
  for (const auto& [name, a] : arrays) write_npy(dir / (name + ".npy"), a);
}

void write_h5_file(const fs::path& file, const std::map<std::string, Array>& arrays) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const hid_t f = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  for (const auto& [name, arr] : arrays) {
    std::vector<hsize_t> dims(arr.shape().begin(), arr.shape().end());
    const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    const hid_t mem = arr.dtype() == DType::kF64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT32;
    const hid_t set =
        H5Dcreate2(f, name.c_str(), mem, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(H5Dwrite(set, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, arr.raw()), 0);
    H5Dclose(set);
    H5Sclose(space);
  }
  const std::string meta = R"({"kind": "Recordings", "meta": {"subjects": ["m1", "m2", "m3"]}})";
  const hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, H5T_VARIABLE);
  const hid_t scalar = H5Screate(H5S_SCALAR);
  const hid_t attr = H5Acreate2(f, "meta", str, scalar, H5P_DEFAULT, H5P_DEFAULT);
  const char* text = meta.c_str();
  ASSERT_GE(H5Awrite(attr, str, &text), 0);
  H5Aclose(attr);
  H5Sclose(scalar);
  H5Tclose(str);
  H5Fclose(f);
}

// Imports of the given (arch, seed) models, and a recordings stage over
// them with `extra` parameter lines.
std::string pipeline(const fs::path& dir, const std::vector<std::pair<int, int>>& models,
                     const fs::path& recordings, const std::string& extra) {
  std::string text = "[pipeline]\nname = \"rec\"\nseed = 4\n\n", names;
  for (const auto& [arch, seed] : models) {
    const std::string name = std::string(1, static_cast<char>('a' + arch)) + std::to_string(seed);
    if (!fs::exists(dir / name))
      export_artifact(model_states(arch, seed).to_artifact(), dir / name);
    text += "[stage." + name + "]\ntype = \"import\"\npath = \"" + (dir / name).string() + "\"\n\n";
    names += (names.empty() ? "\"" : ", \"") + name + "\"";
  }
  return text + "[stage.rsa]\ntype = \"recordings\"\nstates = [" + names + "]\npath = \"" +
         recordings.string() + "\"\nbootstraps = 199\n" + extra;
}

TEST(Recordings, FindsThePlantedModelPerFrame) {
  TempDir dir;
  write_npy_folder(dir / "rec", planted_recordings(0, 4, false));
  InProcess run;
  const auto r = run.get_as<AnalysisResult>(
      pipeline(dir.path(), {{0, 0}, {1, 0}, {2, 0}}, dir / "rec", ""), "rsa");
  const auto& f = r.findings.at("recordings");
  EXPECT_EQ(f.at("verdict"), "held") << f.dump(1);
  EXPECT_EQ(f.at("closest"), "a0");
  EXPECT_EQ(f.at("subjects"), 4);
  EXPECT_EQ(f.at("conditions"), 12);
  // The scores per model and frame; at frame 1 (the recordings' own) a0's
  // RDM is the data's up to noise: near the ceiling.
  const auto& scores = r.tables.at("recordings_scores");
  EXPECT_EQ(scores.rows(), 3u * kFrames);
  const auto& ceiling = r.tables.at("recordings_ceiling");
  ASSERT_EQ(ceiling.rows(), 2u);
  const double lower = ceiling.numeric.at("lower")[0], upper = ceiling.numeric.at("upper")[0];
  EXPECT_LT(lower, upper);
  int checked = 0;
  for (std::size_t i = 0; i < scores.rows(); ++i) {
    if (scores.text.at("model")[i] == "a0" && scores.numeric.at("frame")[i] == 1) {
      ++checked;
      EXPECT_GT(scores.numeric.at("spearman")[i], lower - 0.1);
      EXPECT_LE(scores.numeric.at("spearman")[i], upper + 1e-9);
    }
  }
  EXPECT_EQ(checked, 1) << "the row of a0 at frame 1";
  EXPECT_EQ(r.arrays.at("model_rdms").shape(), (std::vector<std::int64_t>{3, kFrames, 66}));
  EXPECT_EQ(r.arrays.at("recording_rdms").shape(), (std::vector<std::int64_t>{4, 66}));
  EXPECT_EQ(r.tables.at("recordings_pairs").rows(), 2u);
}

TEST(Recordings, FramedConditionsFromHdf5AndTheWhitenedCosine) {
  TempDir dir;
  write_h5_file(dir / "rec.h5", planted_recordings(1, 3, true));
  InProcess run;
  const auto r =
      run.get_as<AnalysisResult>(pipeline(dir.path(), {{0, 0}, {1, 0}, {2, 0}}, dir / "rec.h5",
                                          "comparison = \"whitened_cosine\"\n"),
                                 "rsa");
  const auto& f = r.findings.at("recordings");
  EXPECT_EQ(f.at("verdict"), "held") << f.dump(1);
  EXPECT_EQ(f.at("closest"), "b0");
  EXPECT_EQ(f.at("comparison"), "whitened_cosine");
  EXPECT_EQ(f.at("conditions"), kImages * kFrames);
  EXPECT_EQ(r.tables.at("recordings_scores").rows(), 3u);  // one view: frame -1
  EXPECT_EQ(r.tables.at("recordings_scores").numeric.at("frame")[0], -1);
}

TEST(Recordings, ArchitecturesAsReplicatedGroups) {
  TempDir dir;
  write_npy_folder(dir / "rec", planted_recordings(0, 4, false));
  InProcess run;
  // 4 seeds each: 70 splits, the smallest two-sided p 2/70.
  const std::vector<std::pair<int, int>> eight = {{0, 0}, {0, 1}, {0, 2}, {0, 3},
                                                  {1, 0}, {1, 1}, {1, 2}, {1, 3}};
  const auto r =
      run.get_as<AnalysisResult>(pipeline(dir.path(), eight, dir / "rec", "by = \"rnn\"\n"), "rsa");
  const auto& f = r.findings.at("recordings");
  EXPECT_EQ(f.at("verdict"), "held") << f.dump(1);
  EXPECT_EQ(f.at("closest"), "a");
  EXPECT_EQ(f.at("unit"), "model");
  EXPECT_NEAR(f.at("p").get<double>(), 2.0 / 70, 1e-12);
  // 3 seeds each: 20 splits, p >= 0.1: not testable, and it says so.
  const auto six = run.get_as<AnalysisResult>(
      pipeline(dir.path(), {{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}, {1, 2}}, dir / "rec",
               "by = \"rnn\"\n"),
      "rsa");
  EXPECT_EQ(six.findings.at("recordings").at("verdict"), "not testable");
  EXPECT_NE(six.findings.at("recordings").at("detail").get<std::string>().find("more models"),
            std::string::npos);
}

TEST(Recordings, PassesTheStageKit) {
  TempDir dir;
  write_npy_folder(dir / "rec", planted_recordings(0, 3, false));
  write_npy_folder(dir / "other", planted_recordings(1, 3, false));
  expect_stage_kit({pipeline(dir.path(), {{0, 0}, {1, 0}}, dir / "rec", ""),
                    "rsa",
                    {},
                    {{"path", "\"" + (dir / "other").string() + "\""}, {"format", "\"npy\""}}});
}

TEST(Recordings, BadRecordingsExitTwo) {
  TempDir dir;
  const auto good = planted_recordings(0, 3, false);
  auto with = [&](const std::string& name,
                  const std::function<void(std::map<std::string, Array>&)>& edit,
                  const nlohmann::json& doc = {{"kind", "Recordings"},
                                               {"meta", nlohmann::json::object()}}) {
    auto arrays = good;
    edit(arrays);
    write_npy_folder(dir / name, arrays, doc);
    return dir / name;
  };
  const Array rdm3 = Array::zeros<double>({3, kImages, kImages});
  Array asym = rdm3.clone();
  asym.data<double>()[1] = 0.5;  // (0, 1) but not (1, 0)
  Array nan = good.at("responses").clone();
  nan.data<double>()[17] = std::nan("");
  Array far = good.at("image").clone();
  far.data<std::int32_t>()[3] = 99;
  Array repeat = good.at("image").clone();
  repeat.data<std::int32_t>()[3] = 2;
  const std::vector<std::pair<fs::path, std::string>> cases = {
      {with("noimage", [](auto& a) { a.erase("image"); }), "array image is missing"},
      {with("both", [&](auto& a) { a["rdms"] = rdm3; }), "exactly one of responses"},
      {with("kind", [](auto&) {}, {{"kind", "StateSet"}}), "\"kind\": \"Recordings\""},
      {with("shape",
            [](auto& a) {
              a["responses"] = Array::zeros<double>({3, 5, 40});
            }),
       "responses.npy: expected a float array of shape [S, 12, U]"},
      {with("nan", [&](auto& a) { a["responses"] = nan; }), "entry 17 is not finite"},
      {with("asym",
            [&](auto& a) {
              a.erase("responses");
              a["rdms"] = asym;
            }),
       "an RDM is symmetric"},
      {with("extra", [](auto& a) { a["notes"] = Array::zeros<double>({2}); }), "unknown array"},
      {with("unseen", [&](auto& a) { a["image"] = far; }), "never shows image 99"},
      {with("repeat", [&](auto& a) { a["image"] = repeat; }), "repeats image 2"},
      {with("subjects", [](auto&) {}, {{"kind", "Recordings"}, {"meta", {{"subjects", {"x"}}}}}),
       "meta.subjects must list 3"},
  };
  for (const auto& [path, expect] : cases) {
    write_file(dir / "p.toml", pipeline(dir.path(), {{0, 0}, {1, 0}}, path, ""));
    expect_refused(run_pipeline_in(dir / "p.toml", dir.path()), path.filename().string(), expect);
  }
}

}  // namespace
}  // namespace wmgeom::testing
