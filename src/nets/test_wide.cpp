// A training's split matrix products (nets/wide.h): split products equal
// whole ones; the model's split forward equals its own forward, outputs and
// gradients, for every RNN, both architectures, one and two layers, at
// widths 1 to 3; and at a given width the bits never depend on how many
// threads actually run the parts (the machine's cores, the run's --threads).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <tbb/global_control.h>
#include <torch/torch.h>

#include "nets/adamw.h"
#include "nets/torch_util.h"
#include "nets/wide.h"
#include "nets/wm_model.h"

namespace wmgeom::testing {
namespace {

TEST(Wide, SplitProductsEqualWholeOnes) {
  torch::manual_seed(3);
  // Tall (split along rows), wide (along columns), transposed operands, and
  // shapes too small to split.
  const std::vector<std::vector<std::int64_t>> shapes = {
      {67, 13, 20}, {20, 13, 67}, {8, 5, 9}, {130, 40, 130}};
  for (const auto& s : shapes) {
    torch::Tensor a = torch::randn({s[0], s[1]}), b = torch::randn({s[1], s[2]});
    torch::Tensor bt = torch::randn({s[2], s[1]});
    for (int width : {1, 2, 3, 5}) {
      nets::Workers workers(width);
      torch::Tensor out = torch::full({s[0], s[2]}, NAN);
      nets::split_mm(a, b, out, workers);
      EXPECT_TRUE(torch::allclose(out, torch::mm(a, b), 1e-5, 1e-5))
          << s[0] << "x" << s[1] << "x" << s[2] << " width " << width;
      torch::Tensor out_t = torch::full({s[0], s[2]}, NAN);
      nets::split_mm(a, bt.t(), out_t, workers);
      EXPECT_TRUE(torch::allclose(out_t, torch::mm(a, bt.t()), 1e-5, 1e-5));
    }
  }
}

TEST(Wide, LinearGradientsEqualTorchs) {
  torch::manual_seed(4);
  for (int width : {1, 2, 3}) {
    nets::Workers workers(width);
    for (bool bias : {true, false}) {
      torch::Tensor x = torch::randn({45, 17}, torch::requires_grad());
      torch::Tensor w = torch::randn({33, 17}, torch::requires_grad());
      torch::Tensor b = bias ? torch::randn({33}, torch::requires_grad()) : torch::Tensor();
      torch::Tensor r = torch::randn({45, 33});
      torch::Tensor ours = nets::linear(x, w, b, workers);
      torch::Tensor theirs = torch::nn::functional::linear(x, w, b);
      ASSERT_TRUE(torch::allclose(ours, theirs, 1e-5, 1e-5));
      std::vector<torch::Tensor> inputs = {x, w};
      if (bias) inputs.push_back(b);
      auto g1 = torch::autograd::grad({(ours * r).sum()}, inputs);
      auto g2 = torch::autograd::grad({(theirs * r).sum()}, inputs);
      for (std::size_t i = 0; i < g1.size(); ++i)
        EXPECT_TRUE(torch::allclose(g1[i], g2[i], 1e-4, 1e-5)) << "input " << i;
    }
  }
}

nets::WmModelConfig config(const std::string& rnn, int layers, bool lab) {
  nets::WmModelConfig c;
  c.rnn = rnn;
  c.hidden = 24;
  c.embed = 20;
  c.layers = layers;
  c.conv_channels = 6;
  c.feature_shape = {5, 3, 3};
  c.cue_dim = 4;
  c.input_relu = lab;
  c.readout_norm = lab;
  return c;
}

struct Outcome {
  nets::WmOutput out;
  std::vector<torch::Tensor> grads;
};

// A forward and the gradients of a fixed random functional of all three
// outputs, through `forward`.
template <typename Forward>
Outcome run(nets::WmModel& model, Forward&& forward) {
  torch::manual_seed(11);
  torch::Tensor bank = torch::randn({30, 5, 3, 3});
  torch::Tensor stim = torch::randint(0, 30, {37, 5}, torch::kLong);
  torch::Tensor cue = torch::eye(4).index_select(0, torch::randint(0, 4, {37}, torch::kLong));
  Outcome r;
  r.out = forward(bank, stim, cue);
  // Drawn in sequence (the order of a sum's operands is unspecified), by
  // size (randn_like follows the strides, and torch's RNN output is a
  // transposed view).
  const torch::Tensor wl = torch::randn(r.out.logits.sizes()),
                      wh = torch::randn(r.out.hidden.sizes());
  const torch::Tensor we = torch::randn(r.out.embedding.sizes());
  torch::Tensor loss =
      (r.out.logits * wl).sum() + (r.out.hidden * wh).sum() + (r.out.embedding * we).sum();
  r.grads = torch::autograd::grad({loss}, model->parameters());
  return r;
}

TEST(Wide, ForwardAndGradientsEqualTheModelsOwn) {
  for (const std::string rnn : {"rnn", "gru", "lstm"}) {
    for (int layers : {1, 2}) {
      for (bool lab : {false, true}) {
        nets::WmModel model(config(rnn, layers, lab));
        auto gen = nets::make_generator(5);
        model->initialise(gen);
        model->set_standardization(torch::rand({5, 3, 3}), torch::rand({5, 3, 3}) + 0.5);
        const Outcome want = run(model, [&](auto&&... a) { return model->forward(a...); });
        for (int width : {1, 2, 3}) {
          nets::WideForward wide(model, width);
          const Outcome got = run(model, wide);
          const std::string what =
              rnn + " layers " + std::to_string(layers) + " width " + std::to_string(width);
          EXPECT_TRUE(torch::allclose(got.out.logits, want.out.logits, 1e-4, 1e-5)) << what;
          EXPECT_TRUE(torch::allclose(got.out.hidden, want.out.hidden, 1e-4, 1e-5)) << what;
          EXPECT_TRUE(torch::allclose(got.out.embedding, want.out.embedding, 1e-4, 1e-5)) << what;
          ASSERT_EQ(got.grads.size(), want.grads.size());
          for (std::size_t i = 0; i < got.grads.size(); ++i) {
            EXPECT_TRUE(torch::allclose(got.grads[i], want.grads[i], 1e-3, 1e-5))
                << what << ", gradient " << i << ": max difference "
                << (got.grads[i] - want.grads[i]).abs().max().item<double>();
          }
        }
      }
    }
  }
}

TEST(Wide, AtOneWidthTheBitsDoNotDependOnTheThreadsThatRun) {
  nets::WmModel model(config("gru", 1, true));
  auto gen = nets::make_generator(6);
  model->initialise(gen);
  for (int width : {2, 3}) {
    std::vector<Outcome> runs;
    for (int threads : {1, width, 8}) {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
      nets::WideForward wide(model, width);
      runs.push_back(run(model, wide));
    }
    for (std::size_t k = 1; k < runs.size(); ++k) {
      EXPECT_TRUE(torch::equal(runs[k].out.logits, runs[0].out.logits)) << "width " << width;
      for (std::size_t i = 0; i < runs[0].grads.size(); ++i)
        EXPECT_TRUE(torch::equal(runs[k].grads[i], runs[0].grads[i])) << "width " << width;
    }
  }
}

TEST(Wide, AdamWStepsOverWorkersAreTheSameBits) {
  // The update is elementwise: ranges cut anywhere, even inside a tensor,
  // give the same bits as one update over whole tensors.
  torch::manual_seed(8);
  auto make = [] {
    torch::manual_seed(8);
    std::vector<torch::Tensor> ps;
    for (std::int64_t n : {1001, 7, 64 * 33, 5}) ps.push_back(torch::randn({n}).requires_grad_());
    return ps;
  };
  std::vector<std::vector<torch::Tensor>> finals;
  for (int width : {1, 2, 3, 7}) {
    std::vector<torch::Tensor> ps = make();
    nets::MultiTensorAdamW opt(ps, {.lr = 1e-2, .weight_decay = 0.1});
    nets::Workers workers(width);
    for (int step = 0; step < 3; ++step) {
      torch::manual_seed(100 + step);
      for (auto& p : ps) p.mutable_grad() = torch::randn_like(p);
      opt.step(&workers);
    }
    finals.push_back(ps);
  }
  for (std::size_t k = 1; k < finals.size(); ++k) {
    for (std::size_t i = 0; i < finals[0].size(); ++i)
      EXPECT_TRUE(torch::equal(finals[k][i], finals[0][i]))
          << "width case " << k << ", tensor " << i;
  }
  // And the updates did something.
  EXPECT_FALSE(torch::equal(finals[0][0], make()[0]));
}

}  // namespace
}  // namespace wmgeom::testing
