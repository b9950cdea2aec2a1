// The render stage in isolation (no graph, no cache), items = images.
// BM_RenderPaperSet/S: the paper's design (4 categories x 2 identities x
//   12 views x 4 locations = 384 images) at S = 224 and 64 px; goal >= 1000
//   images/s at 224 px on 2 cores.
// BM_RenderUniqueViews: 1 location, 48 views: every image is a fresh
//   rasterisation (the worst case; no sprite reuse across locations).
// BM_RenderSprite: one 90 px object sprite (the paper's cell), 3x supersampled.
// Threads: all cores unless WMGEOM_BENCH_THREADS is set.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "core/artifacts.h"
#include "render/grammars.h"
#include "render/rasterizer.h"
#include "render/render.h"
#include "testing.h"

namespace {

using namespace wmgeom;

int bench_threads() {
  if (const char* t = std::getenv("WMGEOM_BENCH_THREADS")) return std::max(1, std::atoi(t));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void run_stage(benchmark::State& state, const std::string& body) {
  const Params params = testing::stage_params(testing::real_registry(), "render", body);
  const RenderStage stage;
  testing::TempDir work;
  std::int64_t images = 0;
  for (auto _ : state) {
    RunContext ctx("stimuli", work / "work", bench_threads());
    const Artifact a = stage.run(params, StageInputs{}, ctx);
    images = a.array("images").dim(0);
    benchmark::DoNotOptimize(a.array("images").raw());
  }
  state.SetItemsProcessed(state.iterations() * images);
  state.counters["images"] = static_cast<double>(images);
  state.counters["threads"] = bench_threads();
}

void BM_RenderPaperSet(benchmark::State& state) {
  run_stage(state, "seed = 1\nimage_size = " + std::to_string(state.range(0)));
}
BENCHMARK(BM_RenderPaperSet)->Arg(224)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_RenderUniqueViews(benchmark::State& state) {
  run_stage(state, "seed = 1\nviews = 48\nlocations = 1\nholdout_every = 0\nimage_size = " +
                       std::to_string(state.range(0)));
}
BENCHMARK(BM_RenderUniqueViews)->Arg(224)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_RenderSprite(benchmark::State& state) {
  const render::Mesh mesh = render::build_object("chair", 1, 2, render::ColorMode::kIdentity);
  double az = 0;
  for (auto _ : state) {
    const render::Sprite s = render::render_sprite(
        mesh, render::Camera{az, 20, 30}, render::Lighting{}, static_cast<int>(state.range(0)), 3);
    benchmark::DoNotOptimize(s.rgb.data);
    az += 7.0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderSprite)->Arg(90)->Arg(26)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
