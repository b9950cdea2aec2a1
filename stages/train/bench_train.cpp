// One training step of the train stage's model at its defaults (the paper's:
// 1x1 conv and input layer as wide as the RNN) on a synthetic feature bank
// of the built-in CNN's 112 px shape (384 images, 128 x 7 x 7), MTMF (9
// tasks, one-hot cue), T = 6, batch 256. Reports trials/s and the
// achieved GFLOP/s of the step's floating-point work, beside the machine's
// measured float32 matrix-multiply rate (BM_MatmulRate).
// compare_train.py runs a straightforward PyTorch-Python loop of the same
// model on the same machine.
#include <benchmark/benchmark.h>

#include <torch/torch.h>

#include "bench_main.h"
#include "nets/adamw.h"
#include "nets/threads.h"
#include "nets/torch_util.h"
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

void BM_TrainStep(benchmark::State& state, const std::string& rnn, int hidden) {
  nets::init_threads();  // as the wmgeom executable (nets/threads.h)
  nets::IntraOpThreads width(static_cast<int>(state.range(1)));
  nets::WmModelConfig c;
  c.rnn = rnn;
  c.hidden = hidden;
  c.embed = hidden;
  c.conv_channels = hidden;  // the stage's default (the paper's): conv to the RNN size
  c.feature_shape = {128, 7, 7};
  c.cue_dim = kTasks;
  nets::WmModel model(c);
  auto gen = nets::make_generator(1);
  model->initialise(gen);
  model->train();
  nets::MultiTensorAdamW opt(model->parameters(), {.lr = 1e-3, .weight_decay = 0.01});
  std::int64_t batch = state.range(0);
  torch::Tensor bank = torch::relu(torch::randn({kImages, 128, 7, 7}));
  torch::Tensor stim = torch::randint(0, kImages, {batch, kT}, torch::kLong);
  torch::Tensor target = torch::randint(0, 3, {batch, kT}, torch::kLong);
  torch::Tensor cue =
      torch::eye(kTasks).index_select(0, torch::arange(batch, torch::kLong) % kTasks);
  std::int64_t unique = std::get<0>(at::_unique(stim.flatten())).numel();
  for (auto _ : state) {
    auto out = model->forward(bank, stim, cue);
    torch::Tensor loss =
        torch::nn::functional::cross_entropy(out.logits.reshape({-1, 3}), target.reshape({-1}));
    opt.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    opt.step();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["GFLOPs"] = benchmark::Counter(
      step_flops(c, batch, unique) * static_cast<double>(state.iterations()) / 1e9,
      benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_TrainStep, gru256, std::string("gru"), 256)
    ->Args({256, 2})
    ->Args({256, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TrainStep, gru64, std::string("gru"), 64)
    ->Args({256, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TrainStep, rnn512, std::string("rnn"), 512)
    ->Args({256, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TrainStep, lstm256, std::string("lstm"), 256)
    ->Args({256, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

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

// The machine's float32 GEMM rate through the same LibTorch/OpenBLAS.
void BM_MatmulRate(benchmark::State& state) {
  nets::init_threads();  // as the wmgeom executable (nets/threads.h)
  nets::IntraOpThreads width(static_cast<int>(state.range(1)));
  std::int64_t n = state.range(0);
  torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(torch::mm(a, b));
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
