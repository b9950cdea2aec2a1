// The analyze stage on the quickstart's states: the full analysis suite
// (every analysis but causal, which needs the trained models) and each
// analysis alone.
//
// States: WMGEOM_BENCH_STATES=DIR[,DIR...], each a `wmgeom export` of a
// capture instance (e.g. `wmgeom export pipelines/quickstart.toml
// 'gated_states[rnn=gru]' /tmp/gru`); without it, synthetic states of the
// quickstart's shape (9 tasks x 128 trials, 6 frames, 128 units, 2048-d
// perceptual vectors) with planted codes. stages/analyze/compare_analyze.py times
// scikit-learn on the same decoders (see stages/analyze/README.md).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "analyze/analyze.h"
#include "analyze/participation.h"
#include "bench_main.h"
#include "core/artifacts.h"
#include "core/npy.h"
#include "nets/threads.h"
#include "nets/torch_util.h"
#include "testing.h"

namespace wmgeom {
namespace {

StateSet load_exported(const std::filesystem::path& dir) {
  std::ifstream f(dir / "meta.json");
  nlohmann::json meta = nlohmann::json::parse(f);
  // The export's own layout (core/artifact.h): kind, metadata, an NPY per array.
  Artifact a;
  a.kind = meta.at("kind").get<std::string>();
  a.meta = meta.at("meta");
  for (const auto& [name, info] : meta.at("arrays").items())
    a.arrays[name] = read_npy(dir / info.at("file").get<std::string>());
  return StateSet::from_artifact(a);
}

// 128 images (4 locations x 8 identities x 4 views), each trial frame shows
// one; perceptual vectors are one per image, as CNN features are.
// `per_task` trials of each of the first `ntasks` tasks, `units` hidden units
// (the defaults: the quickstart's shape).
StateSet synthetic(std::uint64_t seed, std::int64_t per_task = 128, std::int64_t units = 128,
                   std::int64_t ntasks = 9) {
  const std::vector<std::string> all{"loc-1", "cat-1", "id-1",  "loc-2", "cat-2",
                                     "id-2",  "loc-3", "cat-3", "id-3"};
  const std::vector<std::string> tasks(all.begin(), all.begin() + ntasks);
  const std::int64_t m = per_task * ntasks, frames = 6, dims = 2048, images = 128;
  torch::manual_seed(static_cast<std::int64_t>(seed));
  torch::Tensor stimulus = torch::randint(images, {m, frames}, torch::kLong);
  torch::Tensor loc = stimulus.div(32, "floor"), id = stimulus.div(4, "floor").remainder(8),
                view = stimulus.remainder(4);
  torch::Tensor cat = id.div(2, "floor");
  torch::Tensor h = torch::randn({m, frames, units}), per_image = torch::randn({images, dims});
  torch::Tensor image = torch::arange(images, torch::kLong);
  for (const auto& [lab, image_lab] : {std::pair{loc, image.div(32, "floor")},
                                       {cat, image.div(8, "floor").remainder(4)},
                                       {id, image.div(4, "floor").remainder(8)}}) {
    h += (torch::randn({8, units}) * 0.4).index_select(0, lab.flatten()).view({m, frames, units});
    h.narrow(1, 1, frames - 1) += (torch::randn({8, units}) * 0.3)
                                      .index_select(0, lab.narrow(1, 0, frames - 1).flatten())
                                      .view({m, frames - 1, units});
    per_image += (torch::randn({8, dims}) * 0.2).index_select(0, image_lab);
  }
  StateSet s;
  s.model = {{"rnn", "gru"}, {"tasks", tasks}, {"layers", 1}};
  s.hidden = nets::to_array(h);
  s.logits = nets::to_array(torch::zeros({m, frames, 3}));
  s.targets = nets::to_array(torch::randint(3, {m, frames}, torch::kInt32));
  s.task = nets::to_array(torch::arange(m, torch::kLong).remainder(ntasks).to(torch::kInt32));
  s.stimulus = nets::to_array(stimulus.to(torch::kInt32));
  s.location = nets::to_array(loc.to(torch::kInt32));
  s.category = nets::to_array(cat.to(torch::kInt32));
  s.identity = nets::to_array(id.to(torch::kInt32));
  s.view = nets::to_array(view.to(torch::kInt32));
  s.perceptual =
      nets::to_array(per_image.index_select(0, stimulus.flatten()).view({m, frames, dims}));
  s.embedding = nets::to_array(torch::randn({m, frames, 64}));
  return s;
}

const std::vector<std::shared_ptr<const Artifact>>& states() {
  static const std::vector<std::shared_ptr<const Artifact>> all = [] {
    std::vector<std::shared_ptr<const Artifact>> out;
    if (const char* env = std::getenv("WMGEOM_BENCH_STATES"); env != nullptr && *env != 0) {
      std::stringstream list(env);
      for (std::string dir; std::getline(list, dir, ',');)
        out.push_back(std::make_shared<const Artifact>(load_exported(dir).to_artifact()));
    } else {
      out.push_back(std::make_shared<const Artifact>(synthetic(1).to_artifact()));
    }
    return out;
  }();
  return all;
}

const std::string kUpstream =
    "states = [\"up\"]\nseed = 1\n[stage.img]\ntype = \"render\"\n[stage.cnn]\ntype = "
    "\"features\"\nstimuli = \"img\"\n"
    "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"img\"\n[stage.net]\ntype = \"train\"\nfeatures = "
    "\"cnn\"\ntasks = \"tasks\"\n"
    "[stage.up]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\nfeatures = \"cnn\"\n";

// WMGEOM_BENCH_PARAMS: extra analyze parameters, TOML lines separated by ';'
// (e.g. "permutations = 1;bootstrap = 1"), to measure what each costs.
std::string extra_params() {
  std::string out;
  if (const char* env = std::getenv("WMGEOM_BENCH_PARAMS"); env != nullptr) {
    std::stringstream list(env);
    for (std::string line; std::getline(list, line, ';');) out += line + "\n";
  }
  return out;
}

void run_analyses(benchmark::State& state, const std::string& analyses,
                  const std::vector<std::shared_ptr<const Artifact>>& models = states(),
                  const std::string& more = "") {
  nets::init_threads();  // as the wmgeom executable (nets/threads.h): BLAS single-threaded under
                         // TBB
  AnalyzeStage stage;
  Params p =
      testing::stage_params(testing::real_registry(), "analyze",
                            "analyses = " + analyses + "\n" + more + extra_params() + kUpstream);
  StageInputs in;
  for (std::size_t i = 0; i < models.size(); ++i)
    in.add("states", InputItem{std::string("m").append(std::to_string(i)), {}, models[i]});
  testing::TempDir dir;
  std::int64_t decoders = 0;
  for (auto _ : state) {
    RunContext ctx("analyze", dir / "work", 2);
    // The stage's log (its seconds per analysis, one line per model) on stderr.
    ctx.on_log = [](const std::string& line, bool) { std::cerr << "  " << line << "\n"; };
    Artifact a = stage.run(p, in, ctx);
    decoders = ctx.items();
    benchmark::DoNotOptimize(a);
  }
  state.counters["models"] = static_cast<double>(models.size());
  state.counters["decoders"] = static_cast<double>(decoders);
  state.counters["decoders/s"] = benchmark::Counter(
      static_cast<double>(decoders) * state.iterations(), benchmark::Counter::kIsRate);
}

void BM_Suite(benchmark::State& s) {
  run_analyses(s,
               "[\"decoding\", \"cross_task\", \"orthogonality\", \"cross_temporal\", "
               "\"procrustes\", \"rsa\", \"dimensionality\"]");
}
void BM_CrossValidated(benchmark::State& s) {
  run_analyses(s, "[\"decoding\", \"cross_task\", \"cross_temporal\", \"procrustes\"]");
}
void BM_Decoding(benchmark::State& s) { run_analyses(s, "[\"decoding\"]"); }
// Both swap tables (`procrustes` runs the decoder-weight and the centroid swap).
void BM_Swaps(benchmark::State& s) { run_analyses(s, "[\"procrustes\"]"); }
void BM_Orthogonality(benchmark::State& s) { run_analyses(s, "[\"orthogonality\"]"); }
void BM_RsaAndDimensionality(benchmark::State& s) {
  run_analyses(s, "[\"rsa\", \"dimensionality\"]");
}

// The dimensionality analysis's image bootstrap on one unit of the study's
// largest kind (a multi-task model's "all" group: 2,304 trials, 128 units,
// 100 draws): every draw's ratio from the Gram matrix, one draw at a time
// (Arg 0: two matrix-vector products per draw, as before) or the draws
// taken together (Arg 1: matrix products over blocks of 64 draws, as the
// analysis does now). Same Gram matrix and draws in both.
void BM_ParticipationRatio(benchmark::State& state) {
  const std::int64_t u = 2304, d = 128, draws = 100;
  torch::manual_seed(3);
  torch::Tensor x = torch::randn({u, d}, torch::kFloat64);
  torch::Tensor gram = torch::mm(x, x.t()).contiguous();
  analyze::ParticipationRatio ratio(
      Eigen::Map<const Eigen::MatrixXd>(gram.data_ptr<double>(), u, u));
  torch::Tensor w = torch::randint(0, 3, {draws, u}, torch::kFloat64).contiguous();
  const analyze::ParticipationRatio::Draws all =
      Eigen::Map<const analyze::ParticipationRatio::Draws>(w.data_ptr<double>(), draws, u);
  double sum = 0;
  for (auto _ : state) {
    if (state.range(0) == 0) {
      for (std::int64_t b = 0; b < draws; ++b)
        sum += ratio(Eigen::VectorXd(all.row(b).transpose()));
    } else {
      for (double r : ratio(all)) sum += r;
    }
  }
  benchmark::DoNotOptimize(sum);
  state.counters["draws/s"] = benchmark::Counter(static_cast<double>(draws) * state.iterations(),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ParticipationRatio)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Issue 22: how one model's analysis grows with its size. Synthetic states
// (planted codes, as above), the study's 3 folds, every analysis but causal;
// one factor at a time from the base (128 trials per task, 128 units, 9
// tasks): trials per task x1, x2, x4; units 128, 256, 512; tasks 1, 3, 9.
// Args: trials per task, units, tasks. The exponents: README.
void BM_Growth(benchmark::State& s) {
  const std::vector<std::shared_ptr<const Artifact>> one = {std::make_shared<const Artifact>(
      synthetic(1, s.range(0), s.range(1), s.range(2)).to_artifact())};
  run_analyses(s,
               "[\"decoding\", \"cross_task\", \"orthogonality\", \"cross_temporal\", "
               "\"procrustes\", \"rsa\", \"dimensionality\"]",
               one, "folds = 3\n");
  s.counters["trials"] = static_cast<double>(s.range(0) * s.range(2));
}
BENCHMARK(BM_Growth)
    ->Args({128, 128, 9})
    ->Args({256, 128, 9})
    ->Args({512, 128, 9})
    ->Args({128, 256, 9})
    ->Args({128, 512, 9})
    ->Args({128, 128, 3})
    ->Args({128, 128, 1})
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->Iterations(1);

BENCHMARK(BM_Suite)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
BENCHMARK(BM_CrossValidated)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
BENCHMARK(BM_Decoding)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
BENCHMARK(BM_Swaps)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
BENCHMARK(BM_Orthogonality)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
BENCHMARK(BM_RsaAndDimensionality)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

}  // namespace
}  // namespace wmgeom

WMGEOM_BENCHMARK_MAIN();
