// The decoder engine: planted structure is recovered; folds are stratified
// and seeded; accuracies agree with scikit-learn on the same folds.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "core/error.h"
#include "core/npy.h"
#include "decoders/linear.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

using decoders::kModels;
using decoders::Model;
using decoders::Options;
using decoders::Solver;

// P problems: K Gaussian classes whose means lie along a random direction
// per problem, separated by `gap` standard deviations, in d dimensions.
struct Data {
  torch::Tensor x, y, direction;
};
Data make_data(std::int64_t p, std::int64_t n, std::int64_t d, std::int64_t k, double gap,
               std::uint64_t seed) {
  torch::manual_seed(static_cast<std::int64_t>(seed));
  Data out;
  out.direction = torch::nn::functional::normalize(
      torch::randn({p, d}, torch::kFloat64), torch::nn::functional::NormalizeFuncOptions().dim(1));
  out.y = torch::arange(n, torch::kLong).remainder(k).repeat({p, 1});
  torch::Tensor centre = (out.y.to(torch::kFloat64) - (k - 1) / 2.0) * gap;
  out.x =
      torch::randn({p, n, d}, torch::kFloat64) + centre.unsqueeze(2) * out.direction.unsqueeze(1);
  out.x = out.x * 3.0 + 1.5;  // scale and offset: standardisation must undo them
  return out;
}

TEST(Decoders, RecoversAPlantedDirection) {
  Data data = make_data(3, 300, 12, 2, 3.0, 1);
  for (const char* model : {"logistic", "svm"}) {
    auto f = decoders::fit(data.x, data.y, torch::ones({3, 300}, torch::kBool), 2,
                           {.model = parse_choice(kModels, model, "model")});
    // The class-1-vs-0 normal (in raw units) points along the planted direction.
    torch::Tensor normal = (f.weight.select(2, 1) - f.weight.select(2, 0)) / f.scale;
    torch::Tensor cos = torch::cosine_similarity(normal, data.direction, 1);
    EXPECT_GT(cos.min().item<double>(), 0.9) << model;
    double acc = decoders::predict(f, data.x).eq(data.y).to(torch::kFloat64).mean().item<double>();
    EXPECT_GT(acc, 0.9) << model;  // Bayes accuracy at 3 SD separation: 93%
  }
}

TEST(Decoders, NewtonSolvesTheSameSvmAsLbfgs) {
  Data data = make_data(5, 120, 16, 4, 1.0, 2);
  torch::Tensor mask = torch::rand({5, 120}, torch::kFloat64).lt(0.8);
  auto cd =
      decoders::fit(data.x, data.y, mask, 4, {.model = Model::kSvm, .solver = Solver::kNewton});
  auto lb = decoders::fit(data.x, data.y, mask, 4,
                          {.model = Model::kSvm, .max_iter = 2000, .solver = Solver::kLbfgs});
  // One strictly convex problem: the same minimiser.
  EXPECT_LT((cd.weight - lb.weight).abs().max().item<double>(), 1e-3);
  EXPECT_LT((cd.bias - lb.bias).abs().max().item<double>(), 1e-3);
  EXPECT_TRUE(decoders::predict(cd, data.x).equal(decoders::predict(lb, data.x)));
  // Deterministic, and independent of how many threads solve the batch.
  auto again =
      decoders::fit(data.x, data.y, mask, 4, {.model = Model::kSvm, .solver = Solver::kNewton});
  EXPECT_TRUE(cd.weight.equal(again.weight));
  EXPECT_THROW(decoders::fit(data.x, data.y, mask, 4,
                             {.model = Model::kLogistic, .solver = Solver::kNewton}),
               Error);
  // More features than samples: the Gram-matrix path gives the same optimum.
  Data wide = make_data(2, 40, 60, 3, 1.0, 5);
  torch::Tensor all = torch::ones({2, 40}, torch::kBool);
  auto kw =
      decoders::fit(wide.x, wide.y, all, 3, {.model = Model::kSvm, .solver = Solver::kNewton});
  auto lw = decoders::fit(wide.x, wide.y, all, 3,
                          {.model = Model::kSvm, .max_iter = 5000, .solver = Solver::kLbfgs});
  EXPECT_LT((kw.weight - lw.weight).abs().max().item<double>(), 1e-3);
  // fit_shared: several label sets on one sample matrix equal separate fits.
  torch::Tensor labels = torch::stack({data.y[0], data.y[0].flip(0)});
  auto shared = decoders::fit_shared(data.x[0], labels, 4, {.model = Model::kSvm});
  for (int l = 0; l < 2; ++l) {
    auto one = decoders::fit(data.x[0].unsqueeze(0), labels[l].unsqueeze(0),
                             torch::ones({1, 120}, torch::kBool), 4, {.model = Model::kSvm});
    EXPECT_LT((shared.weight[l] - one.weight[0]).abs().max().item<double>(), 1e-9);
  }
}

// The gradient of the one-vs-rest L2-loss SVM objective (SCIENCE.md 4;
// linear.h) at a fit, per problem and class, relative to ||w||: zero at the
// minimiser, whatever solver found it.
double worst_gradient(const decoders::Fit& f, const torch::Tensor& x, const torch::Tensor& y,
                      double c) {
  double worst = 0;
  for (std::int64_t p = 0; p < x.size(0); ++p) {
    torch::Tensor z = (x[p] - f.mean[p]) / f.scale[p];
    z = torch::cat({z, torch::ones({z.size(0), 1}, torch::kFloat64)},
                   1);  // the intercept as a feature
    for (std::int64_t k = 0; k < f.weight.size(2); ++k) {
      torch::Tensor w = torch::cat({f.weight[p].select(1, k), f.bias[p][k].unsqueeze(0)});
      torch::Tensor sign = torch::where(y[p].eq(k), torch::ones({z.size(0)}, torch::kFloat64),
                                        -torch::ones({z.size(0)}, torch::kFloat64));
      torch::Tensor slack = (1 - sign * torch::mv(z, w)).clamp_min(0);
      torch::Tensor grad = w - 2 * c * torch::mv(z.t(), sign * slack);
      worst = std::max(worst, (grad.norm() / w.norm()).item<double>());
    }
  }
  return worst;
}

TEST(Decoders, NewtonReachesTheOptimumOnNoiseLabelsInEveryRegime) {
  // Permutation nulls: labels unrelated to the states, the case where the
  // active set changes most from step to step (and the carried Cholesky
  // factors are updated most). Samples per feature from 0.5 to 4 cover both
  // solver forms (sample space up to n = 3d) and both step forms (few
  // inactive / few active samples).
  for (auto [n, d] : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {40, 80}, {170, 128}, {300, 120}, {400, 100}}) {
    torch::manual_seed(n + d);
    torch::Tensor x = torch::randn({3, n, d}, torch::kFloat64) * 2.0 + 0.5;
    torch::Tensor y = torch::randint(0, 8, {3, n}, torch::kLong);
    for (double c : {0.1, 1.0, 10.0}) {
      Options o{.model = Model::kSvm, .c = c, .max_iter = 1000, .solver = Solver::kNewton};
      auto f = decoders::fit(x, y, torch::ones({3, n}, torch::kBool), 8, o);
      EXPECT_LT(worst_gradient(f, x, y, c), 1e-7) << "n " << n << " d " << d << " C " << c;
    }
  }
  // The test can fail: a fit stopped early is not at the optimum.
  torch::manual_seed(1);
  torch::Tensor x = torch::randn({1, 170, 128}, torch::kFloat64);
  torch::Tensor y = torch::randint(0, 8, {1, 170}, torch::kLong);
  auto early = decoders::fit(x, y, torch::ones({1, 170}, torch::kBool), 8,
                             {.model = Model::kSvm, .max_iter = 2, .solver = Solver::kNewton});
  EXPECT_GT(worst_gradient(early, x, y, 1.0), 1e-3);
}

// standardize = false: the model alone on x as it is (scikit-learn's
// LinearSVC without a StandardScaler), so the weights are normals in x's own
// units. The Newton solver and L-BFGS reach the same optimum of that
// objective (KKT: gradient ~0 in x's units), and with features of unequal
// scales the normals differ from the standardised fit's mapped back by w / sd.
TEST(Decoders, WithoutStandardisationTheModelFitsTheInputsAsTheyAre) {
  Data data = make_data(3, 200, 10, 4, 1.0, 9);
  data.x = data.x * torch::linspace(0.2, 5.0, 10, torch::kFloat64);  // unequal feature scales
  torch::Tensor all = torch::ones({3, 200}, torch::kBool);
  Options raw{.model = Model::kSvm, .solver = Solver::kNewton, .standardize = false};
  auto f = decoders::fit(data.x, data.y, all, 4, raw);
  EXPECT_TRUE(f.mean.eq(0).all().item<bool>());
  EXPECT_TRUE(f.scale.eq(1).all().item<bool>());
  EXPECT_LT(worst_gradient(f, data.x, data.y, 1.0), 1e-7);
  Options raw_lbfgs = raw;
  raw_lbfgs.solver = Solver::kLbfgs;
  raw_lbfgs.max_iter = 5000;
  auto lb = decoders::fit(data.x, data.y, all, 4, raw_lbfgs);
  EXPECT_LT((f.weight - lb.weight).abs().max().item<double>(), 1e-3);
  // fit_shared and fit_sets follow the option.
  auto shared = decoders::fit_shared(data.x[0], data.y[0].unsqueeze(0), 4, raw);
  EXPECT_LT((shared.weight[0] - f.weight[0]).abs().max().item<double>(), 1e-9);
  // Where the regulariser shapes the solution (fewer samples than features,
  // unequal scales), the standardised fit's normals mapped back to x's units
  // are other directions than the normals fitted in x's units.
  Data wide = make_data(3, 40, 30, 4, 1.0, 10);
  wide.x = wide.x * torch::linspace(0.2, 5.0, 30, torch::kFloat64);
  torch::Tensor all_wide = torch::ones({3, 40}, torch::kBool);
  auto in_units = decoders::fit(wide.x, wide.y, all_wide, 4, raw);
  auto st =
      decoders::fit(wide.x, wide.y, all_wide, 4, {.model = Model::kSvm, .solver = Solver::kNewton});
  torch::Tensor back = st.weight / st.scale.unsqueeze(2);
  torch::Tensor cos = torch::cosine_similarity(back, in_units.weight, 1);  // per problem and class
  std::cout << "cosine of the two fits' normals: min " << cos.min().item<double>() << "\n";
  EXPECT_LT(cos.min().item<double>(), 0.9);
}

TEST(Decoders, StratifiedSeededFolds) {
  std::vector<std::int64_t> labels;
  for (int i = 0; i < 103; ++i) labels.push_back(i % 3 == 0 ? 0 : (i % 3 == 1 ? 1 : 2));
  auto a = decoders::stratified_folds(labels, 5, 9), b = decoders::stratified_folds(labels, 5, 9);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, decoders::stratified_folds(labels, 5, 10));
  for (int fold = 0; fold < 5; ++fold) {
    for (int c = 0; c < 3; ++c) {
      int count = 0, total = 0;
      for (std::size_t i = 0; i < labels.size(); ++i) {
        total += labels[i] == c;
        count += labels[i] == c && a[i] == fold;
      }
      EXPECT_NEAR(count, total / 5.0, 1.0) << "fold " << fold << " class " << c;
    }
  }
  EXPECT_THROW(decoders::stratified_folds({0, 0, 0, 1, 1}, 3, 1), InputError);
}

TEST(Decoders, AgreeWithScikitLearnOnTheSameFolds) {
  WMGEOM_REQUIRE_SKLEARN();
  const int k = 5;
  // Three classes, and two (where scikit-learn's logistic model is binary).
  for (std::int64_t classes : {3, 2}) {
    Data data =
        make_data(4, 150, 10, classes, 1.2, 3);  // overlapping classes: accuracies well below 100%
    std::vector<std::int64_t> labels(data.y[0].data_ptr<std::int64_t>(),
                                     data.y[0].data_ptr<std::int64_t>() + 150);
    auto folds = decoders::stratified_folds(labels, k, 4);
    TempDir dir;
    auto save = [&](const std::string& name, const torch::Tensor& t) {
      torch::Tensor c = t.contiguous();
      Array a = c.scalar_type() == torch::kFloat64 ? Array::zeros<double>(c.sizes().vec())
                                                   : Array::zeros<std::int64_t>(c.sizes().vec());
      std::memcpy(a.raw(), c.data_ptr(), a.nbytes());
      write_npy(dir / name, a);
    };
    save("x.npy", data.x);
    save("y.npy", data.y);
    save("folds.npy", torch::tensor(folds, torch::kInt32).to(torch::kLong));
    std::string cmd = std::string("/usr/bin/python3 ") + WMGEOM_SOURCE_DIR +
                      "/src/decoders/sklearn_reference.py " + dir.path().string();
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    for (const char* model : {"logistic", "svm"}) {
      // svm: the default solver on the CPU (newton).
      torch::Tensor ours = decoders::cross_validate(
          data.x, data.y, folds, k, classes, {.model = parse_choice(kModels, model, "model")});
      Array ref = read_npy(dir / (std::string(model) + ".npy"));
      torch::Tensor theirs = torch::from_blob(ref.raw(), {4, k}, torch::kFloat64);
      double worst = (ours - theirs).abs().max().item<double>();
      std::cout << model << ", " << classes << " classes: worst |wmgeom - scikit-learn| over "
                << 4 * k << " decoders = " << worst << "\n";
      EXPECT_LE(worst, 0.02) << model << "\nours:\n" << ours << "\nscikit-learn:\n" << theirs;
      double mean = ours.mean().item<double>();
      EXPECT_GT(mean, 0.5) << model;
      EXPECT_LT(mean, 0.98) << model;
    }
  }
}

TEST(Decoders, GroupedFoldsKeepEveryGroupInOneFold) {
  // 8 groups per class, 3 classes, 1-4 samples per group.
  std::vector<std::int64_t> labels, groups;
  for (std::int64_t g = 0; g < 24; ++g) {
    for (std::int64_t r = 0; r <= g % 4; ++r) {
      labels.push_back(g % 3);
      groups.push_back(g);
    }
  }
  auto folds = decoders::grouped_folds(labels, groups, 4, 7);
  std::map<std::int64_t, std::int32_t> fold_of;
  std::map<std::pair<std::int64_t, std::int32_t>, std::set<std::int64_t>>
      per;  // (class, fold) -> groups
  for (std::size_t i = 0; i < labels.size(); ++i) {
    auto [it, fresh] = fold_of.emplace(groups[i], folds[i]);
    EXPECT_EQ(it->second, folds[i]) << "group " << groups[i] << " split across folds";
    per[{labels[i], folds[i]}].insert(groups[i]);
  }
  for (std::int64_t c = 0; c < 3; ++c) {
    for (std::int32_t q = 0; q < 4; ++q)
      EXPECT_EQ((per[std::make_pair(c, q)].size()), 2u) << "class " << c << " fold " << q;
  }
  EXPECT_EQ(folds, decoders::grouped_folds(labels, groups, 4, 7));
  EXPECT_NE(folds, decoders::grouped_folds(labels, groups, 4, 8));
  EXPECT_THROW(decoders::grouped_folds(labels, groups, 9, 7), InputError);  // 8 groups per class
  auto bad = labels;
  bad[1] = (bad[1] + 1) % 3;  // group 1 now carries two labels
  EXPECT_THROW(decoders::grouped_folds(bad, groups, 4, 7), InputError);
}

TEST(Decoders, LabelSetsShareAFactorisationAndEqualSeparateFits) {
  Data data = make_data(3, 60, 20, 3, 1.0, 9);  // n < d: the sample-space form
  torch::Tensor mask = torch::rand({3, 60}, torch::kFloat64).lt(0.8);
  torch::Tensor shuffled = data.y.index_select(1, torch::randperm(60, torch::kLong));
  torch::Tensor sets = torch::stack({data.y, shuffled}, 1);  // [P, 2, n]
  auto both = decoders::fit_sets(data.x, sets, mask, 3, {.model = Model::kSvm});
  for (int l = 0; l < 2; ++l) {
    auto one = decoders::fit(data.x, sets.select(1, l), mask, 3, {.model = Model::kSvm});
    torch::Tensor idx = torch::arange(3, torch::kLong) * 2 + l;
    EXPECT_LT((both.weight.index_select(0, idx) - one.weight).abs().max().item<double>(), 1e-9);
    EXPECT_TRUE(decoders::predict(one, data.x)
                    .equal(decoders::predict(
                        {both.weight.index_select(0, idx), both.bias.index_select(0, idx),
                         both.mean.index_select(0, idx), both.scale.index_select(0, idx)},
                        data.x)));
  }
  // predict_shared: every problem on the same samples, one product.
  torch::Tensor x0 = data.x[0];
  EXPECT_TRUE(decoders::predict_shared(both, x0).equal(
      decoders::predict(both, x0.unsqueeze(0).expand({6, 60, 20}))));
}

}  // namespace
}  // namespace wmgeom::testing
