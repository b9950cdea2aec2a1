// What capture costs per trial, beside what it repeats: the train stage's
// model (paper defaults, GRU/LSTM 256, MTMF cue, T = 6) on a synthetic bank
// of the built-in CNN's 112 px shape (384 images, 128 x 7 x 7), 256 trials a
// batch as the stage's default, 1 thread.
//   BM_Capture: the stage's loop body: forward, then nets::step_states (the
//     last layer stepped frame by frame, recording hidden and LSTM cell
//     states and logits), copied to the CPU;
//   BM_Forward: the same model's inference forward alone (logits, no states),
//     the least any capture could cost.
// The ratio Capture/Forward is the price of recording states.
#include <benchmark/benchmark.h>

#include <torch/torch.h>

#include "bench_main.h"
#include "nets/threads.h"
#include "nets/torch_util.h"
#include "nets/wm_model.h"

namespace {

using namespace wmgeom;

constexpr std::int64_t kImages = 384, kT = 6, kTasks = 9;

struct Setup {
  explicit Setup(const std::string& rnn, std::int64_t batch) : model(config(rnn)) {
    auto gen = nets::make_generator(1);
    model->initialise(gen);
    model->eval();
    bank = torch::relu(torch::randn({kImages, 128, 7, 7}));
    stim = torch::randint(0, kImages, {batch, kT}, torch::kLong);
    cue = torch::eye(kTasks).index_select(0, torch::arange(batch, torch::kLong) % kTasks);
  }
  static nets::WmModelConfig config(const std::string& rnn) {
    nets::WmModelConfig c;
    c.rnn = rnn;
    c.hidden = 256;
    c.embed = 256;
    c.conv_channels = 256;
    c.feature_shape = {128, 7, 7};
    c.cue_dim = kTasks;
    return c;
  }
  nets::WmModel model;
  torch::Tensor bank, stim, cue;
};

void BM_Capture(benchmark::State& state, const std::string& rnn) {
  nets::init_threads();  // as the wmgeom executable (nets/threads.h)
  Setup s(rnn, state.range(0));
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    auto out = s.model->forward(s.bank, s.stim, s.cue);
    nets::WmStates st = nets::step_states(s.model, out.embedding);
    benchmark::DoNotOptimize(st.hidden.cpu());
    if (st.cell.defined()) benchmark::DoNotOptimize(st.cell.cpu());
    benchmark::DoNotOptimize(st.logits.cpu());
    benchmark::DoNotOptimize(out.embedding.cpu());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_Forward(benchmark::State& state, const std::string& rnn) {
  nets::init_threads();
  Setup s(rnn, state.range(0));
  torch::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(s.model->forward(s.bank, s.stim, s.cue).logits);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

BENCHMARK_CAPTURE(BM_Capture, gru256, std::string("gru"))
    ->Arg(256)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Forward, gru256, std::string("gru"))
    ->Arg(256)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Capture, lstm256, std::string("lstm"))
    ->Arg(256)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Forward, lstm256, std::string("lstm"))
    ->Arg(256)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

WMGEOM_BENCHMARK_MAIN()
