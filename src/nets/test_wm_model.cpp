// The working-memory model (nets/wm_model.h): its unique-image evaluation
// equals the per-frame definition, the lab's architecture (input ReLU,
// readout LayerNorm + tanh), stepping from gates equals torch's RNN step,
// load_model rebuilds the recorded architecture (old configs as plain), and
// its configuration (nets/model_config.h) reads back what it writes. These
// tests lived in stages/train until issue 24 (tests beside what they test).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "nets/model_config.h"
#include "nets/torch_util.h"
#include "nets/wm_model.h"

namespace wmgeom::testing {
namespace {

// The model in both architectures: the lab's (input ReLU, readout
// LayerNorm + tanh) and the plain one (flags off, models trained before the
// flags existed).
nets::WmModelConfig small_config(bool lab) {
  nets::WmModelConfig c;
  c.rnn = "lstm";
  c.hidden = 16;
  c.embed = 12;
  c.conv_channels = 3;
  c.feature_shape = {5, 2, 2};
  c.cue_dim = 4;
  c.input_relu = lab;
  c.readout_norm = lab;
  return c;
}

TEST(WmModel, UniqueImageEvaluationEqualsPerFrameDefinition) {
  for (bool lab : {false, true}) {
    SCOPED_TRACE(lab ? "lab architecture" : "plain architecture");
    nets::WmModel model(small_config(lab));
    auto gen = nets::make_generator(1);
    model->initialise(gen);
    torch::manual_seed(3);
    torch::Tensor bank = torch::randn({10, 5, 2, 2});
    torch::Tensor stim = torch::randint(0, 10, {7, 6}, torch::kLong);
    torch::Tensor cue = torch::eye(4).index_select(0, torch::randint(0, 4, {7}, torch::kLong));
    auto out = model->forward(bank, stim, cue);
    // Per frame: concat(flattened conv map, cue) -> one Linear -> [ReLU] -> LayerNorm -> LSTM
    // -> readout.
    auto params = model->named_parameters();
    torch::Tensor maps = torch::conv2d(bank.index_select(0, stim.flatten()), params["conv.weight"],
                                       params["conv.bias"]);
    torch::Tensor x = torch::cat({maps.flatten(1), cue.repeat_interleave(6, 0)}, 1);
    torch::Tensor w = torch::cat({params["image.weight"], params["cue.weight"]}, 1);
    torch::Tensor pre = torch::addmm(params["image.bias"], x, w.t());
    torch::Tensor emb = torch::layer_norm(lab ? torch::relu(pre) : pre, {12}, params["norm.weight"],
                                          params["norm.bias"]);
    EXPECT_TRUE(torch::allclose(emb.view({7, 6, 12}), out.embedding, 1e-5, 1e-6));
    auto again =
        model->run_from(out.embedding, {torch::zeros({1, 7, 16}), torch::zeros({1, 7, 16})});
    EXPECT_TRUE(torch::allclose(again.logits, out.logits, 1e-5, 1e-6));
    // Gradients through the gather equal those of the per-frame form.
    torch::Tensor g1 =
        torch::autograd::grad({out.logits.sum()}, {params["image.weight"]}, {}, true)[0];
    torch::Tensor per_frame =
        model->run_from(emb.view({7, 6, 12}), {torch::zeros({1, 7, 16}), torch::zeros({1, 7, 16})})
            .logits.sum();
    torch::Tensor g2 = torch::autograd::grad({per_frame}, {params["image.weight"]})[0];
    EXPECT_TRUE(torch::allclose(g1, g2, 1e-4, 1e-6));
  }
}

TEST(WmModel, LabArchitectureHasInputReluAndReadoutLayerNormTanh) {
  torch::NoGradGuard no_grad;
  nets::WmModel lab(small_config(true)), plain(small_config(false));
  auto g1 = nets::make_generator(5), g2 = nets::make_generator(5);
  lab->initialise(g1);
  plain->initialise(g2);
  // The plain model's parameters are exactly the old ones; the lab model
  // adds readout_norm (initialised as torch's: weight 1, bias 0) and draws
  // every other parameter identically.
  auto lp = lab->named_parameters(), pp = plain->named_parameters();
  EXPECT_EQ(lp.size(), pp.size() + 2);
  EXPECT_EQ(pp.find("readout_norm.weight"), nullptr);
  for (const auto& item : pp) EXPECT_TRUE(torch::equal(item.value(), lp[item.key()])) << item.key();
  EXPECT_TRUE(torch::equal(lp["readout_norm.weight"], torch::ones({16})));
  EXPECT_TRUE(torch::equal(lp["readout_norm.bias"], torch::zeros({16})));
  // Non-trivial LayerNorm parameters, so the check below cannot pass by accident.
  lp["readout_norm.weight"].uniform_(0.5, 1.5);
  lp["readout_norm.bias"].uniform_(-0.5, 0.5);

  torch::manual_seed(4);
  torch::Tensor bank = torch::randn({10, 5, 2, 2});
  torch::Tensor stim = torch::randint(0, 10, {7, 6}, torch::kLong);
  torch::Tensor cue = torch::eye(4).index_select(0, torch::randint(0, 4, {7}, torch::kLong));
  auto a = lab->forward(bank, stim, cue);
  auto b = plain->forward(bank, stim, cue);
  // Input: the pre-activation has negative units, and they are zeroed before
  // the LayerNorm: LayerNorm's input is relu(pre), recovered from its output.
  torch::Tensor maps =
      torch::conv2d(bank.index_select(0, stim.flatten()), lp["conv.weight"], lp["conv.bias"]);
  torch::Tensor x = torch::cat({maps.flatten(1), cue.repeat_interleave(6, 0)}, 1);
  torch::Tensor pre =
      torch::addmm(lp["image.bias"], x, torch::cat({lp["image.weight"], lp["cue.weight"]}, 1).t());
  ASSERT_GT(pre.lt(0).sum().item<std::int64_t>(), 100);
  torch::Tensor relu_ln =
      torch::layer_norm(torch::relu(pre), {12}, lp["norm.weight"], lp["norm.bias"])
          .view({7, 6, 12});
  torch::Tensor plain_ln =
      torch::layer_norm(pre, {12}, lp["norm.weight"], lp["norm.bias"]).view({7, 6, 12});
  EXPECT_TRUE(torch::allclose(a.embedding, relu_ln, 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(a.embedding, plain_ln, 1e-3, 1e-3));
  EXPECT_TRUE(torch::allclose(b.embedding, plain_ln, 1e-5, 1e-6));  // flags off: the old input path
  // Zeroed units all map to one value per row: the LayerNorm of a zero input unit.
  torch::Tensor row_mean = torch::relu(pre).mean(1, true),
                row_var = torch::relu(pre).var({1}, false, true);
  torch::Tensor at_zero =
      (-row_mean / torch::sqrt(row_var + 1e-5)) * lp["norm.weight"] + lp["norm.bias"];
  torch::Tensor neg = pre.lt(0);
  EXPECT_TRUE(torch::allclose(relu_ln.view({42, 12}).masked_select(neg), at_zero.masked_select(neg),
                              1e-4, 1e-5));
  // Readout: LayerNorm -> tanh -> Linear on the hidden states, computed by hand.
  torch::Tensor h = a.hidden;
  torch::Tensor manual = torch::nn::functional::linear(
      torch::tanh(torch::layer_norm(h, {16}, lp["readout_norm.weight"], lp["readout_norm.bias"])),
      lp["readout.weight"], lp["readout.bias"]);
  EXPECT_TRUE(torch::allclose(a.logits, manual, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(lab->readout(h), manual, 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(
      a.logits, torch::nn::functional::linear(h, lp["readout.weight"], lp["readout.bias"]), 1e-3,
      1e-3));
  // Plain: RNN -> Linear.
  EXPECT_TRUE(torch::allclose(
      b.logits, torch::nn::functional::linear(b.hidden, pp["readout.weight"], pp["readout.bias"]),
      1e-5, 1e-6));
  // Every path to logits applies the whole readout: run_from (the causal
  // analysis) and step_states (capture).
  auto from = lab->run_from(a.embedding, {torch::zeros({1, 7, 16}), torch::zeros({1, 7, 16})});
  EXPECT_TRUE(torch::allclose(from.logits, manual, 1e-5, 1e-6));
  nets::WmStates st = nets::step_states(lab, a.embedding);
  EXPECT_TRUE(torch::allclose(st.hidden, h, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(st.logits, manual, 1e-5, 1e-6));
}

TEST(WmModel, StepFromGatesEqualsTorchsStepForEveryRnn) {
  // The causal analysis runs ~100 shifted states per trial through one step,
  // computing the input half once: it must be torch's step, for each cell.
  torch::NoGradGuard no_grad;
  for (const std::string rnn : {"rnn", "gru", "lstm"}) {
    nets::WmModelConfig c = small_config(true);
    c.rnn = rnn;
    nets::WmModel model(c);
    auto gen = nets::make_generator(11);
    model->initialise(gen);
    torch::manual_seed(4);
    torch::Tensor x = torch::randn({5, 1, 12});
    std::vector<torch::Tensor> state{torch::randn({1, 5, 16})};
    if (rnn == "lstm") state.push_back(torch::randn({1, 5, 16}));
    auto want = model->step(x, state);
    std::vector<torch::Tensor> flat;
    for (const auto& t : state) flat.push_back(t[0]);
    torch::Tensor gates = model->input_gates(x.select(1, 0));
    auto got = model->step_from_halves(gates, model->recurrent(flat[0]), flat);
    ASSERT_EQ(got.size(), want.size()) << rnn;
    // A shifted state: the recurrent half is linear in h.
    torch::Tensor shift = torch::randn({5, 16});
    auto moved = flat;
    moved[0] = moved[0] + shift;
    auto want_moved = model->step(
        x, {moved[0].unsqueeze(0), rnn == "lstm" ? moved[1].unsqueeze(0) : torch::Tensor()});
    torch::Tensor rec_moved = model->recurrent(flat[0]) + model->recurrent(shift, false);
    auto got_moved = model->step_from_halves(gates, rec_moved, moved);
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(torch::allclose(got[i], want[i][0], 1e-5, 1e-6)) << rnn << " state " << i;
      EXPECT_TRUE(torch::allclose(got_moved[i], want_moved[i][0], 1e-5, 1e-6))
          << rnn << " state " << i;
      EXPECT_FALSE(torch::allclose(got_moved[i], got[i], 1e-3, 1e-3)) << rnn << " state " << i;
    }
  }
  nets::WmModelConfig two = small_config(true);
  two.layers = 2;
  nets::WmModel deep(two);
  EXPECT_THROW(deep->input_gates(torch::zeros({1, 12})), Error);
}

TEST(WmModel, LoadModelRebuildsTheRecordedArchitectureAndOldConfigsAsPlain) {
  torch::NoGradGuard no_grad;
  nets::WmModel lab(small_config(true));
  auto gen = nets::make_generator(2);
  lab->initialise(gen);
  lab->named_parameters()["readout_norm.bias"].uniform_(-0.5, 0.5);
  const nets::WmModelConfig& c = lab->config();
  nlohmann::json config = {{"rnn", c.rnn},         {"hidden", c.hidden},
                           {"layers", c.layers},   {"conv_channels", c.conv_channels},
                           {"embed", c.embed},     {"feature_shape", c.feature_shape},
                           {"cue_dim", c.cue_dim}, {"input_relu", true},
                           {"readout_norm", true}};
  std::map<std::string, Array> weights;
  for (const auto& item : lab->named_parameters())
    weights[item.key()] = nets::to_array(item.value());
  for (const auto& item : lab->named_buffers()) weights[item.key()] = nets::to_array(item.value());
  torch::manual_seed(6);
  torch::Tensor bank = torch::randn({10, 5, 2, 2});
  torch::Tensor stim = torch::randint(0, 10, {3, 6}, torch::kLong);
  torch::Tensor cue = torch::eye(4).index_select(0, torch::tensor({0, 2, 3}, torch::kLong));
  lab->eval();
  nets::WmModel again = nets::load_model(config, weights, torch::kCPU);
  EXPECT_TRUE(again->config().input_relu);
  EXPECT_TRUE(again->config().readout_norm);
  EXPECT_TRUE(
      torch::equal(again->forward(bank, stim, cue).logits, lab->forward(bank, stim, cue).logits));
  // A lab config whose weights lack the readout LayerNorm is rejected.
  std::map<std::string, Array> no_norm = weights;
  no_norm.erase("readout_norm.weight");
  EXPECT_THROW(nets::load_model(config, no_norm, torch::kCPU), Error);

  // A config from before the flags: the plain architecture, loading the old weight names.
  nets::WmModel plain(small_config(false));
  auto g2 = nets::make_generator(2);
  plain->initialise(g2);
  nlohmann::json old = config;
  old.erase("input_relu");
  old.erase("readout_norm");
  std::map<std::string, Array> old_weights;
  for (const auto& item : plain->named_parameters())
    old_weights[item.key()] = nets::to_array(item.value());
  for (const auto& item : plain->named_buffers())
    old_weights[item.key()] = nets::to_array(item.value());
  nets::WmModel loaded = nets::load_model(old, old_weights, torch::kCPU);
  EXPECT_FALSE(loaded->config().input_relu);
  EXPECT_FALSE(loaded->config().readout_norm);
  plain->eval();
  EXPECT_TRUE(torch::equal(loaded->forward(bank, stim, cue).logits,
                           plain->forward(bank, stim, cue).logits));
}

// The configuration's JSON (the TrainedModel's `config`) reads back what it
// writes, keeps the training record beside it, names a missing or mistyped
// key, and reads a config from before input_relu / readout_norm as plain.
TEST(WmModelConfig, JsonRoundTripAndOldConfigs) {
  nets::WmModelConfig c = small_config(true);
  nlohmann::json j = c.to_json();
  j["tasks"] = {"loc-1"};  // the train stage's record beside the architecture
  EXPECT_TRUE(nets::WmModelConfig::from_json(j) == c);
  for (const char* key : {"rnn", "hidden", "layers", "conv_channels", "embed", "feature_shape",
                          "cue_dim", "input_relu", "readout_norm"}) {
    EXPECT_TRUE(c.to_json().contains(key)) << key;
  }
  nlohmann::json missing = c.to_json();
  missing.erase("hidden");
  try {
    nets::WmModelConfig::from_json(missing);
    ADD_FAILURE() << "a config without hidden was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("lacks \"hidden\""), std::string::npos) << e.what();
  }
  nlohmann::json wrong = c.to_json();
  wrong["hidden"] = "wide";
  EXPECT_THROW(nets::WmModelConfig::from_json(wrong), InputError);
  nlohmann::json old = c.to_json();
  old.erase("input_relu");
  old.erase("readout_norm");
  const nets::WmModelConfig plain = nets::WmModelConfig::from_json(old);
  EXPECT_FALSE(plain.input_relu);
  EXPECT_FALSE(plain.readout_norm);
  EXPECT_EQ(plain.hidden, c.hidden);
}

}  // namespace
}  // namespace wmgeom::testing
