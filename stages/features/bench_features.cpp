// The built-in CNN at the features stage's defaults (width 32, 3 stages,
// 112 px, batch 64 for inference, 32 for training): inference images/s and
// one training step (forward, backward, AdamW). compare_features.py runs the
// same network in Python PyTorch on the same machine and prints the ratio.
#include <benchmark/benchmark.h>

#include <torch/torch.h>

#include "bench_main.h"
#include "nets/adamw.h"
#include "nets/cnn.h"
#include "nets/threads.h"
#include "nets/torch_util.h"

namespace {

using namespace wmgeom;

nets::BuiltinCnn make_cnn() {
  nets::CnnConfig c;  // defaults of stages/features/schema.toml
  c.input_size = 112;
  auto gen = nets::make_generator(1);
  nets::BuiltinCnn cnn(c);
  cnn->initialise(gen);
  return cnn;
}

void BM_FeaturesInference(benchmark::State& state) {
  nets::init_threads();  // as the wmgeom executable (nets/threads.h)
  nets::IntraOpThreads width(static_cast<int>(state.range(1)));
  auto cnn = make_cnn();
  cnn->eval();
  torch::NoGradGuard no_grad;
  std::int64_t batch = state.range(0);
  torch::Tensor x = torch::randn({batch, 3, 112, 112});
  for (auto _ : state) benchmark::DoNotOptimize(cnn->features(x));
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_FeaturesInference)
    ->Args({64, 2})
    ->Args({64, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_FeaturesTrainStep(benchmark::State& state) {
  nets::init_threads();  // as the wmgeom executable (nets/threads.h)
  nets::IntraOpThreads width(static_cast<int>(state.range(1)));
  auto cnn = make_cnn();
  cnn->train();
  nets::MultiTensorAdamW opt(cnn->parameters(), {.lr = 2e-3, .weight_decay = 1e-4});
  std::int64_t batch = state.range(0);
  torch::Tensor x = torch::randn({batch, 3, 112, 112});
  torch::Tensor yc = torch::randint(0, 4, {batch}, torch::kLong);
  torch::Tensor yi = torch::randint(0, 8, {batch}, torch::kLong);
  torch::Tensor yl = torch::randint(0, 4, {batch}, torch::kLong);
  for (auto _ : state) {
    auto h = cnn->heads(cnn->features(x));
    torch::Tensor loss = torch::nn::functional::cross_entropy(h.category, yc) +
                         torch::nn::functional::cross_entropy(h.identity, yi) +
                         torch::nn::functional::cross_entropy(h.location, yl);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_FeaturesTrainStep)
    ->Args({32, 2})
    ->Args({32, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

WMGEOM_BENCHMARK_MAIN()
