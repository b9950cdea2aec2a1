// Science libraries in src/nets: the multi-tensor AdamW against torch's own,
// Array <-> tensor bridges, device parsing, deterministic CNN initialisation.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <ATen/Parallel.h>

#include "core/error.h"
#include "nets/adamw.h"
#include "nets/cnn.h"
#include "nets/threads.h"
#include "nets/torch_util.h"

namespace wmgeom::nets {
namespace {

TEST(MultiTensorAdamW, MatchesTorchAdamWStepForStep) {
  torch::manual_seed(3);
  auto make = [] {
    torch::nn::Sequential net(torch::nn::Linear(5, 7), torch::nn::Tanh(), torch::nn::Linear(7, 3));
    return net;
  };
  auto a = make();
  auto b = make();
  {
    torch::NoGradGuard g;
    for (std::size_t i = 0; i < a->parameters().size(); ++i)
      b->parameters()[i].copy_(a->parameters()[i]);
  }
  torch::optim::AdamW ref(a->parameters(), torch::optim::AdamWOptions(0.01).weight_decay(0.05));
  MultiTensorAdamW ours(b->parameters(), {.lr = 0.01, .weight_decay = 0.05});
  torch::Tensor x = torch::randn({16, 5}), y = torch::randint(0, 3, {16}, torch::kLong);
  for (int step = 0; step < 20; ++step) {
    for (auto [net, is_ref] : {std::pair{a, true}, {b, false}}) {
      torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(x), y);
      if (is_ref) {
        ref.zero_grad();
        loss.backward();
        ref.step();
      } else {
        ours.zero_grad();
        loss.backward();
        ours.step();
      }
    }
  }
  for (std::size_t i = 0; i < a->parameters().size(); ++i) {
    EXPECT_TRUE(torch::allclose(a->parameters()[i], b->parameters()[i], 1e-5, 1e-6))
        << "parameter " << i;
  }
  EXPECT_EQ(ours.steps(), 20);
}

TEST(TorchUtil, ViewSharesAndToArrayCopies) {
  Array a = Array::from_vector<float>({1, 2, 3, 4, 5, 6}).reshaped({2, 3});
  torch::Tensor t = view(a);
  EXPECT_EQ(t.sizes(), (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(t.data_ptr(), static_cast<void*>(a.raw()));
  Array b = to_array(t * 2);
  EXPECT_EQ(b.shape(), a.shape());
  EXPECT_EQ(b.values<float>()[5], 12.f);
  Array h = to_array(t.to(torch::kHalf));
  EXPECT_EQ(h.dtype(), DType::kF16);
}

TEST(TorchUtil, DeviceParsing) {
  EXPECT_EQ(resolve_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_EQ(device_resource("cpu"), "");
  EXPECT_THROW(resolve_device("tpu"), InputError);
  for (const char* ok : {"auto", "cpu", "cuda", "cuda:0", "cuda:12"})
    EXPECT_TRUE(valid_device_spec(ok)) << ok;
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "CPU", "cuda0", ""})
    EXPECT_FALSE(valid_device_spec(bad)) << bad;
  if (!torch::cuda::is_available()) {
    EXPECT_EQ(resolve_device("auto"), torch::Device(torch::kCPU));
    EXPECT_EQ(device_kind("auto"), "cpu");
    EXPECT_THROW(resolve_device("cuda:0"), InputError);
  } else {
    EXPECT_EQ(device_resource("auto"), "cuda:0");
    EXPECT_EQ(device_resource("cuda:1"), "cuda:1");
  }
}

TEST(BuiltinCnn, DeterministicInitAndShapes) {
  CnnConfig c;
  c.input_size = 64;
  BuiltinCnn a(c), b(c);
  auto g1 = make_generator(5), g2 = make_generator(5);
  a->initialise(g1);
  b->initialise(g2);
  for (std::size_t i = 0; i < a->parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(a->parameters()[i], b->parameters()[i]));
  }
  EXPECT_EQ(a->feature_shape(), (std::vector<std::int64_t>{128, 4, 4}));
  a->eval();
  torch::NoGradGuard g;
  torch::Tensor f = a->features(torch::randn({2, 3, 64, 64}));
  EXPECT_EQ(f.sizes(), (std::vector<std::int64_t>{2, 128, 4, 4}));
  auto h = a->heads(f);
  EXPECT_EQ(h.identity.sizes(), (std::vector<std::int64_t>{2, 8}));
  EXPECT_EQ(h.location.sizes(), (std::vector<std::int64_t>{2, 4}));
}

// The thread policy of nets/threads.h: two stages side by side, one at
// LibTorch width 1 and one at width 2, each get their own width, at the same
// time, and each thread returns to the process default afterwards.
TEST(Threads, EachStageThreadKeepsItsOwnIntraOpWidth) {
  init_threads();
  EXPECT_EQ(intra_op_threads(), 1);
  if (blas_threads() != 0) {
    EXPECT_EQ(blas_threads(), 1);  // OpenBLAS: single-threaded
  }
  std::atomic<int> ready{0};
  auto stage = [&](int width, int* seen_width, int* seen_workers) {
    IntraOpThreads guard(width);
    ++ready;
    while (ready.load() < 2) std::this_thread::yield();  // both guards held at once
    *seen_width = intra_op_threads();
    std::mutex mutex;
    std::set<int> workers;
    // Enough work per item that LibTorch uses every thread it may.
    at::parallel_for(0, 64, 1, [&](std::int64_t, std::int64_t) {
      volatile double x = 0;
      for (int i = 0; i < 200000; ++i) x = x + 1e-9 * i;
      std::lock_guard<std::mutex> lock(mutex);
      workers.insert(at::get_thread_num());
    });
    *seen_workers = static_cast<int>(workers.size());
  };
  int width1 = 0, width2 = 0, workers1 = 0, workers2 = 0;
  std::thread a(stage, 1, &width1, &workers1), b(stage, 2, &width2, &workers2);
  a.join();
  b.join();
  EXPECT_EQ(width1, 1);
  EXPECT_EQ(width2, 2);
  EXPECT_EQ(workers1, 1);
  EXPECT_EQ(workers2, 2);
  // Here (the test's thread) the process default is untouched.
  EXPECT_EQ(intra_op_threads(), 1);
  {
    IntraOpThreads guard(3);
    EXPECT_EQ(intra_op_threads(), 3);
  }
  EXPECT_EQ(intra_op_threads(), 1);
}

// A hashed training width beyond the CPUs the process may use is kept (the
// result depends on it) and said in the log.
TEST(Threads, AWidthBeyondTheCpusIsNotedNotChanged) {
  EXPECT_EQ(width_note(1), "");
  const std::string note = width_note(100000);
  EXPECT_NE(note.find("training at its hashed width of 100000 threads on "), std::string::npos)
      << note;
  EXPECT_NE(note.find("the same result, more slowly"), std::string::npos) << note;
}

}  // namespace
}  // namespace wmgeom::nets
