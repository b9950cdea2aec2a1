#include "nets/wm_model.h"

#include <cmath>

#include "core/error.h"
#include "nback/sampler.h"
#include "nets/torch_util.h"

namespace wmgeom::nets {

WmModelImpl::WmModelImpl(const WmModelConfig& c) : config_(c) {
  if (c.feature_shape.size() != 3) throw Error("WmModel: feature_shape must be {C, h, w}");
  std::int64_t channels = c.feature_shape[0], area = c.feature_shape[1] * c.feature_shape[2];
  conv_ = register_module(
      "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, c.conv_channels, 1)));
  image_ = register_module("image", torch::nn::Linear(c.conv_channels * area, c.embed));
  cue_ = register_module(
      "cue", torch::nn::Linear(torch::nn::LinearOptions(c.cue_dim, c.embed).bias(false)));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.embed})));
  if (c.rnn == "rnn") {
    rnn_ = register_module("rnn", torch::nn::RNN(torch::nn::RNNOptions(c.embed, c.hidden)
                                                     .num_layers(c.layers)
                                                     .batch_first(true)
                                                     .nonlinearity(torch::kTanh)));
  } else if (c.rnn == "gru") {
    gru_ = register_module(
        "rnn",
        torch::nn::GRU(
            torch::nn::GRUOptions(c.embed, c.hidden).num_layers(c.layers).batch_first(true)));
  } else if (c.rnn == "lstm") {
    lstm_ = register_module(
        "rnn",
        torch::nn::LSTM(
            torch::nn::LSTMOptions(c.embed, c.hidden).num_layers(c.layers).batch_first(true)));
  } else {
    throw Error("WmModel: unknown rnn \"" + c.rnn + "\"");
  }
  // Registered only when on, so a model without it has exactly the old
  // parameter names and loads from old weights.
  if (c.readout_norm) {
    readout_norm_ = register_module("readout_norm",
                                    torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden})));
  }
  readout_ = register_module("readout", torch::nn::Linear(c.hidden, c.outputs));
  input_mean_ = register_buffer("input_mean", torch::zeros(c.feature_shape));
  input_std_ = register_buffer("input_std", torch::ones(c.feature_shape));
}

void WmModelImpl::set_standardization(const torch::Tensor& mean, const torch::Tensor& std) {
  torch::NoGradGuard no_grad;
  input_mean_.copy_(mean.view(input_mean_.sizes()));
  input_std_.copy_(std.view(input_std_.sizes()));
}

void WmModelImpl::initialise(at::Generator& gen) {
  torch::NoGradGuard no_grad;
  for (auto& item : named_parameters()) {
    torch::Tensor& p = item.value();
    const std::string& name = item.key();
    if (name.rfind("norm.", 0) == 0 || name.rfind("readout_norm.", 0) == 0) {
      p.fill_(name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0 ? 1.0 : 0.0);
      continue;
    }
    double fan_in;
    if (name.rfind("rnn.", 0) == 0) {
      fan_in = config_.hidden;  // torch's RNN init: U(-1/sqrt(H), 1/sqrt(H)) for every tensor
    } else if (name.rfind("conv.", 0) == 0) {
      fan_in = static_cast<double>(config_.feature_shape[0]);
    } else if (name.rfind("image.", 0) == 0) {
      fan_in = static_cast<double>(config_.conv_channels * config_.feature_shape[1] *
                                   config_.feature_shape[2]);
    } else if (name.rfind("cue.", 0) == 0) {
      fan_in = config_.cue_dim;
    } else {
      fan_in = config_.hidden;
    }
    double bound = 1.0 / std::sqrt(fan_in);
    p.uniform_(-bound, bound, gen);
  }
}

torch::Tensor WmModelImpl::rnn_forward(const torch::Tensor& x,
                                       const std::vector<torch::Tensor>& state) {
  if (rnn_)
    return state.empty() ? std::get<0>(rnn_->forward(x))
                         : std::get<0>(rnn_->forward(x, state.at(0)));
  if (gru_)
    return state.empty() ? std::get<0>(gru_->forward(x))
                         : std::get<0>(gru_->forward(x, state.at(0)));
  if (state.empty()) return std::get<0>(lstm_->forward(x));
  return std::get<0>(lstm_->forward(x, std::make_tuple(state.at(0), state.at(1))));
}

WmOutput WmModelImpl::forward(const torch::Tensor& bank, const torch::Tensor& stimuli,
                              const torch::Tensor& cue) {
  // The image part of the input Linear, once per unique stimulus of the batch.
  auto [unique, inverse] = at::_unique(stimuli.flatten(), /*sorted=*/true, /*return_inverse=*/true);
  torch::Tensor maps =
      (bank.index_select(0, unique).to(torch::kFloat32) - input_mean_) / input_std_;
  torch::Tensor per_image = image_(conv_(maps).flatten(1));  // [U, E]
  torch::Tensor emb = embed(per_image, inverse, stimuli.size(0), stimuli.size(1), cue);
  torch::Tensor h = rnn_forward(emb, {});
  return {readout(h), h, emb};
}

torch::Tensor WmModelImpl::embed(const torch::Tensor& per_image, const torch::Tensor& inverse,
                                 std::int64_t batch, std::int64_t frames,
                                 const torch::Tensor& cue) {
  torch::Tensor x = per_image.index_select(0, inverse).view({batch, frames, config_.embed}) +
                    cue_(cue).unsqueeze(1);
  return norm_(config_.input_relu ? torch::relu(x) : x);
}

torch::Tensor WmModelImpl::readout(const torch::Tensor& h) {
  return readout_(readout_norm_ ? torch::tanh(readout_norm_(h)) : h);
}

WmOutput WmModelImpl::run_from(const torch::Tensor& embedding,
                               const std::vector<torch::Tensor>& state) {
  torch::Tensor h = rnn_forward(embedding, state);
  return {readout(h), h, embedding};
}

}  // namespace wmgeom::nets

namespace wmgeom::nets {

std::vector<torch::Tensor> WmModelImpl::step(const torch::Tensor& x,
                                             const std::vector<torch::Tensor>& state) {
  if (rnn_) return {std::get<1>(rnn_->forward(x, state.at(0)))};
  if (gru_) return {std::get<1>(gru_->forward(x, state.at(0)))};
  auto [out, hc] = lstm_->forward(x, std::make_tuple(state.at(0), state.at(1)));
  return {std::get<0>(hc), std::get<1>(hc)};
}

namespace {

torch::Tensor layer0(torch::nn::Module& rnn, const std::string& name) {
  return rnn.named_parameters(false)[name + "_l0"];
}

}  // namespace

torch::nn::Module& WmModelImpl::one_layer_rnn(const char* caller) {
  if (config_.layers != 1) {
    throw Error(std::string("WmModel::") + caller + ": one-layer models only (this one has " +
                std::to_string(config_.layers) + ")");
  }
  if (rnn_) return *rnn_;
  if (gru_) return *gru_;
  return *lstm_;
}

torch::Tensor WmModelImpl::input_gates(const torch::Tensor& x) {
  torch::nn::Module& rnn = one_layer_rnn("input_gates");
  return torch::addmm(layer0(rnn, "bias_ih"), x, layer0(rnn, "weight_ih").t());
}

torch::Tensor WmModelImpl::recurrent(const torch::Tensor& h, bool with_bias) {
  torch::nn::Module& rnn = one_layer_rnn("recurrent");
  if (!with_bias) return torch::mm(h, layer0(rnn, "weight_hh").t());
  return torch::addmm(layer0(rnn, "bias_hh"), h, layer0(rnn, "weight_hh").t());
}

std::vector<torch::Tensor> WmModelImpl::step_from_halves(const torch::Tensor& gates,
                                                         const torch::Tensor& rec,
                                                         const std::vector<torch::Tensor>& state) {
  one_layer_rnn("step_from_halves");
  if (rnn_) return {torch::tanh(gates + rec)};
  if (gru_) {
    // torch's gate order r, z, n; n = tanh(i_n + r * (W_hn h + b_hn)).
    auto gi = gates.chunk(3, -1), gh = rec.chunk(3, -1);
    torch::Tensor r = torch::sigmoid(gi[0] + gh[0]), z = torch::sigmoid(gi[1] + gh[1]);
    torch::Tensor n = torch::tanh(gi[2] + r * gh[2]);
    return {(1 - z) * n + z * state.at(0)};
  }
  // LSTM: gate order i, f, g, o.
  auto g = (gates + rec).chunk(4, -1);
  torch::Tensor c = torch::sigmoid(g[1]) * state.at(1) + torch::sigmoid(g[0]) * torch::tanh(g[2]);
  return {torch::sigmoid(g[3]) * torch::tanh(c), c};
}

WmStates step_states(WmModel& model, const torch::Tensor& embedding) {
  const auto& c = model->config();
  std::int64_t b = embedding.size(0), t = embedding.size(1);
  auto opts = embedding.options();
  std::vector<torch::Tensor> state = {torch::zeros({c.layers, b, c.hidden}, opts)};
  if (c.rnn == "lstm") state.push_back(torch::zeros({c.layers, b, c.hidden}, opts));
  std::vector<torch::Tensor> hs, cs;
  for (std::int64_t k = 0; k < t; ++k) {
    state = model->step(embedding.narrow(1, k, 1), state);
    hs.push_back(state[0][c.layers - 1]);
    if (c.rnn == "lstm") cs.push_back(state[1][c.layers - 1]);
  }
  WmStates out;
  out.hidden = torch::stack(hs, 1);
  if (!cs.empty()) out.cell = torch::stack(cs, 1);
  out.logits = model->readout(out.hidden);
  return out;
}

WmModel load_model(const nlohmann::json& config, const std::map<std::string, Array>& weights,
                   const torch::Device& device) {
  const WmModelConfig c = WmModelConfig::from_json(config);
  WmModel model(c);
  torch::NoGradGuard no_grad;
  auto assign = [&](const std::string& name, torch::Tensor& target) {
    auto it = weights.find(name);
    if (it == weights.end()) throw Error("trained model lacks weight \"" + name + "\"");
    torch::Tensor w = view(it->second);
    if (w.sizes() != target.sizes())
      throw Error("trained model weight \"" + name + "\" has another shape");
    target.copy_(w);
  };
  for (auto& p : model->named_parameters()) assign(p.key(), p.value());
  for (auto& p : model->named_buffers()) assign(p.key(), p.value());
  model->to(device);
  model->eval();
  return model;
}

torch::Tensor cue_matrix(const std::vector<std::string>& task_names, const std::string& kind) {
  std::vector<nback::Task> tasks = nback::parse_tasks(task_names);
  std::int64_t n = static_cast<std::int64_t>(tasks.size());
  torch::Tensor cue = torch::zeros({n, nback::cue_dim(tasks, kind)});
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int32_t slot : nback::cue_slots(tasks, kind, static_cast<std::size_t>(i)))
      cue[i][slot] = 1.0;
  }
  return cue;
}

}  // namespace wmgeom::nets
