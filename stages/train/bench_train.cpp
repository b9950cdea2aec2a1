// One training step of the train stage's model at its defaults (the paper's:
// 1x1 conv and input layer as wide as the RNN) on a synthetic feature bank
// of the built-in CNN's 112 px shape (384 images, 128 x 7 x 7), MTMF (9
// tasks, one-hot cue), T = 6, batch 256. Reports trials/s and the
// achieved GFLOP/s of the step's floating-point work, beside the machine's
// measured float32 matrix-multiply rate (BM_MatmulRate). The step is the
// stage's: products split over the training's `threads` (nets/wide.h; the
// second argument), LibTorch's own ops on one thread.
// compare_train.py runs a straightforward PyTorch-Python loop of the same
// model on the same machine.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <thread>

#include <torch/torch.h>

#include "bench_main.h"
#include "nets/adamw.h"
#include "nets/threads.h"
#include "nets/torch_util.h"
#include "nets/wide.h"
#include "nets/wm_model.h"

namespace {

using namespace wmgeom;

constexpr std::int64_t kImages = 384, kT = 6, kTasks = 9;

// Multiply-adds of one forward pass; a training step is ~3x (backward 2x).
double step_flops(const nets::WmModelConfig& c, std::int64_t batch, std::int64_t unique) {
  double area = static_cast<double>(c.feature_shape[1] * c.feature_shape[2]);
  double conv = unique * area * c.feature_shape[0] * c.conv_channels;
  double image = unique * (c.conv_channels * area) * c.embed;
  double gates = c.rnn == "rnn" ? 1 : c.rnn == "gru" ? 3 : 4;
  double rnn = batch * kT * gates * c.hidden * (c.embed + c.hidden);
  double readout = batch * kT * c.hidden * 3.0;
  return 2.0 * 3.0 * (conv + image + rnn + readout);
}

// A model with its optimiser and a fixed synthetic batch; step() is one
// training step as the stage runs it: at width >= 2 its products split over
// `width` threads (nets/wide.h), at width 1 the model's own LibTorch modules
// (nn::GRU ...) on one thread, as before issue 23.
struct Trainer {
  nets::WmModelConfig c;
  nets::WmModel model{nullptr};
  std::unique_ptr<nets::MultiTensorAdamW> opt;
  std::unique_ptr<nets::WideForward> forward;
  torch::Tensor bank, stim, target, cue;
  std::int64_t batch = 0, unique = 0;
  int width = 1;

  Trainer(const std::string& rnn, int hidden, std::vector<std::int64_t> shape,
          std::int64_t batch_size, int threads)
      : batch(batch_size), width(threads) {
    c.rnn = rnn;
    c.hidden = hidden;
    c.embed = hidden;
    c.conv_channels = hidden;  // the stage's default (the paper's): conv to the RNN size
    c.feature_shape = shape;
    c.cue_dim = kTasks;
    model = nets::WmModel(c);
    auto gen = nets::make_generator(1);
    model->initialise(gen);
    model->train();
    opt = std::make_unique<nets::MultiTensorAdamW>(
        model->parameters(), nets::AdamWOptions{.lr = 1e-3, .weight_decay = 0.01});
    forward = std::make_unique<nets::WideForward>(model, std::max(1, threads));
    bank = torch::relu(torch::randn({kImages, shape[0], shape[1], shape[2]}));
    stim = torch::randint(0, kImages, {batch, kT}, torch::kLong);
    target = torch::randint(0, 3, {batch, kT}, torch::kLong);
    cue = torch::eye(kTasks).index_select(0, torch::arange(batch, torch::kLong) % kTasks);
    unique = std::get<0>(at::_unique(stim.flatten())).numel();
  }
  void step() {
    const bool before = width <= 1;
    auto out = before ? model->forward(bank, stim, cue) : (*forward)(bank, stim, cue);
    torch::Tensor loss =
        torch::nn::functional::cross_entropy(out.logits.reshape({-1, 3}), target.reshape({-1}));
    opt->zero_grad(/*set_to_none=*/!before);
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    opt->step(before ? nullptr : &forward->workers());
  }
};

void train_steps(benchmark::State& state, const std::string& rnn, int hidden,
                 std::vector<std::int64_t> shape) {
  nets::init_threads();  // as the wmgeom executable (nets/threads.h)
  Trainer t(rnn, hidden, std::move(shape), state.range(0), static_cast<int>(state.range(1)));
  for (auto _ : state) t.step();
  state.SetItemsProcessed(state.iterations() * t.batch);
  state.counters["GFLOPs"] = benchmark::Counter(
      step_flops(t.c, t.batch, t.unique) * static_cast<double>(state.iterations()) / 1e9,
      benchmark::Counter::kIsRate);
}
void BM_TrainStep(benchmark::State& state, const std::string& rnn, int hidden) {
  train_steps(state, rnn, hidden, {128, 7, 7});
}
// Batch 256 (state.range(0)) at 2 and 1 threads (state.range(1)), wall time.
void batch256_at_2_and_1(benchmark::internal::Benchmark* b) {
  b->Args({256, 2})->Args({256, 1})->UseRealTime()->Unit(benchmark::kMillisecond);
}
BENCHMARK_CAPTURE(BM_TrainStep, gru256, std::string("gru"), 256)->Apply(batch256_at_2_and_1);
BENCHMARK_CAPTURE(BM_TrainStep, gru64, std::string("gru"), 64)->Apply(batch256_at_2_and_1);
BENCHMARK_CAPTURE(BM_TrainStep, rnn512, std::string("rnn"), 512)->Apply(batch256_at_2_and_1);
BENCHMARK_CAPTURE(BM_TrainStep, lstm256, std::string("lstm"), 256)->Apply(batch256_at_2_and_1);

// Two trainings side by side (a sweep's members, GRU 256, batch 256), each
// at `threads` = state.range(0), each on its own thread as the executor
// runs them: total trials/s of both.
void BM_TwoTrainings(benchmark::State& state) {
  nets::init_threads();
  const int width = static_cast<int>(state.range(0));
  Trainer a("gru", 256, {128, 7, 7}, 256, width), b("gru", 256, {128, 7, 7}, 256, width);
  for (auto _ : state) {
    std::thread other([&] { b.step(); });
    a.step();
    other.join();
  }
  state.SetItemsProcessed(state.iterations() * (a.batch + b.batch));
}
BENCHMARK(BM_TwoTrainings)
    ->Arg(1)
    ->Arg(2)
    ->MinTime(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The paper's scale (issue 23): GRU 256 and vanilla RNN 512 on the built-in
// CNN's 224 px map (256 x 14 x 14) and on ResNet-50's layer4 (2048 x 7 x 7),
// batch 256, at 1 and 2 threads here (a 16-CPU job: threads = 16).
void BM_PaperStep(benchmark::State& state, const std::string& rnn, int hidden,
                  std::vector<std::int64_t> shape) {
  train_steps(state, rnn, hidden, shape);
  state.counters["s_per_step"] =
      benchmark::Counter(static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
// Batch 256 at 1 and 2 threads, 3 steps each (a paper-scale step takes seconds).
void paper_at_1_and_2(benchmark::internal::Benchmark* b) {
  b->Args({256, 1})->Args({256, 2})->Iterations(3)->UseRealTime()->Unit(benchmark::kMillisecond);
}
BENCHMARK_CAPTURE(BM_PaperStep, gru256_cnn224, std::string("gru"), 256,
                  std::vector<std::int64_t>{256, 14, 14})
    ->Apply(paper_at_1_and_2);
BENCHMARK_CAPTURE(BM_PaperStep, gru256_resnet50, std::string("gru"), 256,
                  std::vector<std::int64_t>{2048, 7, 7})
    ->Apply(paper_at_1_and_2);
BENCHMARK_CAPTURE(BM_PaperStep, rnn512_cnn224, std::string("rnn"), 512,
                  std::vector<std::int64_t>{256, 14, 14})
    ->Apply(paper_at_1_and_2);

// The optimiser step alone, on the parameters of a GRU model (the paper's
// sizes: state.range(0) hidden units) with fixed random gradients:
// nets::MultiTensorAdamW (torch's _foreach_ kernels over all tensors) vs
// torch::optim::AdamW (one tensor at a time), same hyper-parameters, 1 thread.
// Issue 13: keep ours only if this shows a gain (figure in nets/adamw.h).
std::vector<torch::Tensor> gru_parameters(int hidden) {
  nets::WmModelConfig c;
  c.rnn = "gru";
  c.hidden = hidden;
  c.embed = hidden;
  c.conv_channels = hidden;
  c.feature_shape = {128, 7, 7};
  c.cue_dim = kTasks;
  nets::WmModel model(c);
  std::vector<torch::Tensor> params;
  for (const auto& p : model->parameters()) {
    torch::Tensor q = p.detach().clone().requires_grad_(true);
    q.mutable_grad() = torch::randn_like(q) * 1e-2;
    params.push_back(q);
  }
  return params;
}

template <typename Optimizer, typename Make>
void adamw_steps(benchmark::State& state, Make make) {
  nets::init_threads();
  auto params = gru_parameters(static_cast<int>(state.range(0)));
  Optimizer opt = make(params);
  for (auto _ : state) opt.step();
  std::int64_t n = 0;
  for (const auto& p : params) n += p.numel();
  state.SetItemsProcessed(state.iterations() * n);
}
void BM_AdamWStep_Ours(benchmark::State& state) {
  adamw_steps<nets::MultiTensorAdamW>(
      state, [](auto& p) { return nets::MultiTensorAdamW(p, {.lr = 1e-3, .weight_decay = 0.01}); });
}
void BM_AdamWStep_Torch(benchmark::State& state) {
  adamw_steps<torch::optim::AdamW>(state, [](auto& p) {
    return torch::optim::AdamW(p, torch::optim::AdamWOptions(1e-3).weight_decay(0.01));
  });
}
BENCHMARK(BM_AdamWStep_Ours)->Arg(256)->Arg(64)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AdamWStep_Torch)->Arg(256)->Arg(64)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The machine's float32 GEMM rate through the same LibTorch/OpenBLAS, split
// over `threads` as the training's products are (nets/wide.h).
void BM_MatmulRate(benchmark::State& state) {
  nets::init_threads();  // as the wmgeom executable (nets/threads.h)
  nets::Workers workers(static_cast<int>(state.range(1)));
  std::int64_t n = state.range(0);
  torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::empty({n, n});
  for (auto _ : state) {
    nets::split_mm(a, b, c, workers);
    benchmark::DoNotOptimize(c.data_ptr());
  }
  state.counters["GFLOPs"] = benchmark::Counter(
      2.0 * n * n * n * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MatmulRate)
    ->Args({1024, 2})
    ->Args({1024, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

WMGEOM_BENCHMARK_MAIN()
