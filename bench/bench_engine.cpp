// Engine overhead: a chain of no-op stages through plan + flow graph + cache.
// BM_HitPerStage: everything cached (the rerun case; goal < 1 ms per stage).
// BM_MissPerStage: every stage computed and stored (tiny artifacts).
// BM_Plan: parsing, validation, expansion and keys alone.
#include <benchmark/benchmark.h>

#include <sstream>

#include "cache/cache.h"
#include "config/diagnostics.h"
#include "core/log.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "graph/registry.h"
#include "test_stages.h"
#include "testing.h"

namespace {

using namespace wmgeom;

const StageRegistry& registry() { return testing::test_registry(); }

std::string chain(int n, int salt) {
  std::string t = "[pipeline]\nname = \"chain\"\nseed = " + std::to_string(salt) +
                  "\n\n[stage.s0]\ntype = \"source\"\nn = 16\n";
  for (int i = 1; i < n; ++i) {
    t += "\n[stage.s" + std::to_string(i) + "]\ntype = \"scale\"\nx = \"s" + std::to_string(i - 1) +
         "\"\nfactor = 1.0\n";
  }
  return t;
}

Plan make(const std::string& text) {
  Diagnostics d;
  auto p = make_plan_from_text("chain.toml", text, {}, registry(), d);
  if (!p) throw std::runtime_error(d.format_all());
  return *p;
}

void BM_Plan(benchmark::State& state) {
  std::string text = chain(static_cast<int>(state.range(0)), 0);
  for (auto _ : state) benchmark::DoNotOptimize(make(text));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Plan)->Arg(50)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_HitPerStage(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  testing::TempDir dir;
  Cache cache(dir / "cache");
  std::ostringstream sink;
  Logger log(sink, Logger::Level::kWarn);
  std::string text = chain(n, 0);
  {
    Plan p = make(text);
    Executor(p, cache, log).run({});
  }
  for (auto _ : state) {
    Plan p = make(text);  // a rerun plans again: included
    RunReport r = Executor(p, cache, log).run({.threads = 2, .progress = false});
    if (r.exit_code != 0) state.SkipWithError("run failed");
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["s_per_stage"] =
      benchmark::Counter(static_cast<double>(state.iterations() * n),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_HitPerStage)->Arg(50)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_MissPerStage(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  testing::TempDir dir;
  std::ostringstream sink;
  Logger log(sink, Logger::Level::kWarn);
  int salt = 0;
  for (auto _ : state) {
    Cache cache(dir / ("cache" + std::to_string(salt)));
    Plan p = make(chain(n, ++salt));
    RunReport r = Executor(p, cache, log).run({.threads = 2, .progress = false});
    if (r.exit_code != 0) state.SkipWithError("run failed");
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_MissPerStage)->Arg(50)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
