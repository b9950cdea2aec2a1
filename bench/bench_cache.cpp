// Cache write/read throughput against raw zstd on the same bytes (goal: the
// cache at >= 0.8x raw zstd). The payload imitates a feature bank: float32
// activations after a ReLU (about half exact zeros), 64 MiB.
#include <benchmark/benchmark.h>

#include <random>

#include <zstd.h>

#include "cache/cache.h"
#include "core/artifact.h"
#include "core/hash.h"
#include "testing.h"

namespace {

using namespace wmgeom;

const Artifact& payload() {
  static Artifact a = [] {
    Artifact x;
    x.kind = "FeatureBank";
    Array f = Array::zeros<float>({256, 64, 32, 32});
    std::mt19937 rng(1);
    std::normal_distribution<float> g(0.f, 1.f);
    for (auto& v : f.values<float>()) {
      float y = g(rng);
      v = y > 0 ? y : 0.f;
    }
    x.arrays["features"] = f;
    return x;
  }();
  return a;
}

constexpr int kLevel = 3;

void BM_RawZstdCompress(benchmark::State& state) {
  const Array& f = payload().arrays.at("features");
  for (auto _ : state) benchmark::DoNotOptimize(zstd_compress(f.raw(), f.nbytes(), kLevel));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.nbytes()));
}
BENCHMARK(BM_RawZstdCompress)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_CacheStore(benchmark::State& state) {
  testing::TempDir dir;
  Cache cache(dir / "cache", kLevel);
  int k = 0;
  for (auto _ : state) {
    std::string key = hash128_hex(std::to_string(k++));
    cache.store(key, payload(), {});
    state.PauseTiming();
    cache.remove(key);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload().nbytes()));
}
BENCHMARK(BM_CacheStore)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RawZstdDecompress(benchmark::State& state) {
  const Array& f = payload().arrays.at("features");
  auto packed = zstd_compress(f.raw(), f.nbytes(), kLevel);
  std::vector<char> out(f.nbytes());
  for (auto _ : state) {
    std::size_t n = ZSTD_decompress(out.data(), out.size(), packed.data(), packed.size());
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.nbytes()));
}
BENCHMARK(BM_RawZstdDecompress)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_CacheLoad(benchmark::State& state) {
  testing::TempDir dir;
  Cache cache(dir / "cache", kLevel);
  std::string key = hash128_hex("load");
  cache.store(key, payload(), {});
  for (auto _ : state) {
    auto a = cache.load(key);
    if (!a) state.SkipWithError("miss");
    benchmark::DoNotOptimize(a);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload().nbytes()));
}
BENCHMARK(BM_CacheLoad)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
