// What the recordings stage's comparisons cost, beside the alternative:
//   BM_WhitenedCosine/K: the stage's closed form of the whitened cosine
//     (V^-1 = (I - B'B / K + 2 11' / K^2) / 2 applied in O(K^2), rsa.h) of
//     two RDMs of K conditions;
//   BM_WhitenedCosineDense/K: the same number the direct way, as the
//     reference script computes it: V = (C C')∘(C C') built over the
//     K(K-1)/2 pairs and factorised (LDLT), then a'V^-1 b. A bootstrap
//     sample has its own pairs, so the direct way pays this per resample;
//   BM_Bootstrap/K: the stage's bootstrap, 100 resamples of 9 models
//     against 4 subjects (Spearman, noise ceilings of both comparisons).
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "bench_main.h"
#include "recordings/inference.h"
#include "recordings/rsa.h"

namespace {

using namespace wmgeom::recordings;

Vector random_rdm(int k, std::mt19937& rng) {
  std::normal_distribution<double> normal;
  Matrix x(k, 20);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
  return correlation_rdm(x);
}

void BM_WhitenedCosine(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  std::mt19937 rng(1);
  const Vector a = random_rdm(k, rng), b = random_rdm(k, rng);
  const PairSet all = PairSet::all(k);
  double v = 0;
  for (auto _ : state) benchmark::DoNotOptimize(v = whitened_cosine(a, b, all));
  state.counters["pairs"] = static_cast<double>(all.size());
}
BENCHMARK(BM_WhitenedCosine)->Arg(20)->Arg(40)->Arg(60)->Unit(benchmark::kMicrosecond);

void BM_WhitenedCosineDense(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  std::mt19937 rng(1);
  const Vector a = random_rdm(k, rng), b = random_rdm(k, rng);
  const PairSet all = PairSet::all(k);
  const auto p = static_cast<Eigen::Index>(all.size());
  double v = 0;
  for (auto _ : state) {
    Matrix c = Matrix::Zero(p, k);
    for (Eigen::Index i = 0; i < p; ++i) {
      c(i, all.first[static_cast<std::size_t>(i)]) = 1;
      c(i, all.second[static_cast<std::size_t>(i)]) = -1;
    }
    const Matrix xi = c * c.transpose();
    const Eigen::LDLT<Matrix> v_inv(xi.cwiseProduct(xi));
    const Vector wa = v_inv.solve(a), wb = v_inv.solve(b);
    benchmark::DoNotOptimize(v = a.dot(wb) / std::sqrt(a.dot(wa) * b.dot(wb)));
  }
  state.counters["pairs"] = static_cast<double>(p);
}
BENCHMARK(BM_WhitenedCosineDense)->Arg(20)->Arg(40)->Arg(60)->Unit(benchmark::kMicrosecond);

void BM_Bootstrap(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  std::mt19937 rng(2);
  std::vector<std::vector<Vector>> models;
  std::vector<std::string> labels;
  for (int m = 0; m < 9; ++m) {
    models.push_back({random_rdm(k, rng)});
    labels.push_back("m" + std::to_string(m));
  }
  std::vector<Vector> subjects;
  for (int s = 0; s < 4; ++s) subjects.push_back(random_rdm(k, rng));
  const Units units = Units::of(labels);
  for (auto _ : state) {
    const Draws d = bootstrap(Comparison::kSpearman, models, subjects, units, 100, 7, true);
    benchmark::DoNotOptimize(d.unit.data());
  }
  state.SetItemsProcessed(state.iterations() * 100);  // resamples
}
BENCHMARK(BM_Bootstrap)->Arg(40)->Arg(80)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

WMGEOM_BENCHMARK_MAIN()
