// The N-back sampler and the tasks stage in isolation, items = trials.
// BM_SamplerBatch/B: one streamed training batch of B trials of the nine
//   tasks (T = 6) over the paper's 384-stimulus table: what the train stage
//   pays per step.
// BM_SamplerBatchParallel: 64 batches of 256 trials on all cores, each
//   batch on its own thread (the sampler is shared and const).
// BM_TasksStage: the stage with its defaults (9 tasks x 256 trials x 2
//   splits), including the info tables.
#include <benchmark/benchmark.h>

#include <thread>

#include "core/artifacts.h"
#include "nback/sampler.h"
#include "tasks/tasks.h"
#include "testing.h"

namespace {

using namespace wmgeom;

const std::vector<std::string> kNine = {"loc-1", "loc-2", "loc-3", "cat-1", "cat-2",
                                        "cat-3", "id-1",  "id-2",  "id-3"};

// 4 categories x 2 identities x 12 views x 4 locations, views 3, 7, 11 held out.
StimulusSet paper_set() {
  std::vector<std::int32_t> loc, cat, id, view, split;
  for (int c = 0; c < 4; ++c)
    for (int k = 0; k < 2; ++k)
      for (int v = 0; v < 12; ++v)
        for (int l = 0; l < 4; ++l) {
          loc.push_back(l);
          cat.push_back(c);
          id.push_back(c * 2 + k);
          view.push_back(v);
          split.push_back(v % 4 == 3 ? kSplitValidation : kSplitTrain);
        }
  StimulusSet s;
  s.images = Array::zeros<std::uint8_t>({static_cast<std::int64_t>(loc.size()), 3, 1, 1});
  s.location = Array::from_vector(loc);
  s.category = Array::from_vector(cat);
  s.identity = Array::from_vector(id);
  s.view = Array::from_vector(view);
  s.split = Array::from_vector(split);
  s.category_names = {"a", "b", "c", "d"};
  s.identity_names = {"a0", "a1", "b0", "b1", "c0", "c1", "d0", "d1"};
  s.identity_category = {0, 0, 1, 1, 2, 2, 3, 3};
  s.n_locations = 4;
  s.n_views = 12;
  return s;
}

void BM_SamplerBatch(benchmark::State& state) {
  const nback::Sampler s(nback::StimulusTable::from(paper_set()), nback::parse_tasks(kNine), 6, 0.5,
                         kSplitTrain);
  std::uint64_t b = 0;
  for (auto _ : state) {
    const nback::Batch batch = s.batch(1, b++, state.range(0));
    benchmark::DoNotOptimize(batch.stimuli.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_SamplerBatch)->Arg(64)->Arg(256)->Arg(4096)->UseRealTime();

void BM_SamplerBatchParallel(benchmark::State& state) {
  const nback::Sampler s(nback::StimulusTable::from(paper_set()), nback::parse_tasks(kNine), 6, 0.5,
                         kSplitTrain);
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  constexpr int kBatches = 64;
  for (auto _ : state) {
    std::vector<std::thread> pool;
    for (unsigned w = 0; w < threads; ++w) {
      pool.emplace_back([&, w] {
        for (unsigned b = w; b < kBatches; b += threads) {
          const nback::Batch batch = s.batch(1, b, 256);
          benchmark::DoNotOptimize(batch.stimuli.data());
        }
      });
    }
    for (auto& t : pool) t.join();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBatches * 256);
}
BENCHMARK(BM_SamplerBatchParallel)->UseRealTime();

void BM_TasksStage(benchmark::State& state) {
  // The schema's defaults (the paper's nine tasks, 256 trials each, both splits).
  const Params p =
      testing::stage_params(testing::real_registry(), "tasks",
                            "seed = 1\nstimuli = \"img\"\n[stage.img]\ntype = \"render\"\n");
  StageInputs inputs;
  inputs.add("stimuli", {"stimuli", {}, std::make_shared<Artifact>(paper_set().to_artifact())});
  const TasksStage stage;
  std::int64_t trials = 0;
  for (auto _ : state) {
    RunContext ctx("tasks", "/tmp/wmgeom-bench-tasks", 1);
    const Artifact a = stage.run(p, inputs, ctx);
    trials = a.array("task").dim(0);
    benchmark::DoNotOptimize(a.array("stimuli").raw());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * trials);
}
BENCHMARK(BM_TasksStage)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
