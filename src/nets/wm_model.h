// The working-memory model of SCIENCE.md section 3: a frozen CNN feature map
// per frame -> trainable 1x1 conv -> flatten -> concat task cue -> Linear ->
// [ReLU] -> LayerNorm -> RNN (vanilla tanh, GRU or LSTM) -> [LayerNorm ->
// tanh] -> Linear -> 3 logits (no-action, non-match, match). The bracketed
// steps are the lab's CCNGRU ([lab code]: input_relu, readout_norm, on by
// default); without them it is the architecture of the paper's sentence,
// and of models trained before the flags existed.
//
// Two equivalences keep it fast without changing the maths:
// - the Linear over [flattened map, cue] is split into an image part and a
//   cue part, W [x; c] = W_x x + W_c c, so the image part is computed once per
//   *unique* stimulus of a batch (a few hundred) instead of once per frame
//   (batch x T), then gathered; gradients flow back through the gather;
// - the frozen feature bank stays on the device; batches carry indices.
#pragma once

#include <string>
#include <vector>

#include <map>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "core/array.h"
#include "nets/model_config.h"

namespace wmgeom::nets {

struct WmOutput {
  torch::Tensor logits;     // [B, T, 3]
  torch::Tensor hidden;     // [B, T, H]: last layer's hidden state per frame
  torch::Tensor embedding;  // [B, T, E]: the RNN's input (after LayerNorm)
};

class WmModelImpl : public torch::nn::Module {
 public:
  explicit WmModelImpl(const WmModelConfig& config);
  // bank: [N, C, h, w] float (the whole feature bank, on the model's device);
  // stimuli: [B, T] long indices into it; cue: [B, cue_dim] float.
  WmOutput forward(const torch::Tensor& bank, const torch::Tensor& stimuli,
                   const torch::Tensor& cue);
  // Runs the RNN from explicit initial states on precomputed embeddings
  // [B, T, E] (used by analyses that perturb states and run on). For LSTM,
  // state = {h0, c0}; otherwise {h0}. Each [layers, B, H].
  WmOutput run_from(const torch::Tensor& embedding, const std::vector<torch::Tensor>& state);
  // One recurrent step from `state` ({h} or {h, c}, each [layers, B, H]) on
  // x [B, 1, E]; returns the new state.
  std::vector<torch::Tensor> step(const torch::Tensor& x, const std::vector<torch::Tensor>& state);
  // The same step in two halves, for analyses that run many perturbed
  // states on one input (the causal test: ~100 shifts per trial):
  // input_gates(x) = W_ih x + b_ih for x [B, E], and recurrent(h) =
  // W_hh h + b_hh for h [B, H] (without b_hh if !with_bias), both [B, G]
  // (G = H, 3H or 4H for rnn, gru, lstm). recurrent is linear in h, so
  // recurrent(h + d) = recurrent(h) + recurrent(d, false): a shift along a
  // few directions costs elementwise work, not a matrix product per shift.
  // step_from_halves(gates, rec, state) finishes the step for states {h} or
  // {h, c} ([B, H] each; rec must be recurrent(h) of the same h) and returns
  // the new {h} or {h, c}; its arguments may carry leading dimensions that
  // broadcast ([S, B, G] shifted halves with [B, G] gates). Equal to step()
  // up to rounding (tested).
  // One-layer models only (throws wmgeom::Error).
  torch::Tensor input_gates(const torch::Tensor& x);
  torch::Tensor recurrent(const torch::Tensor& h, bool with_bias = true);
  std::vector<torch::Tensor> step_from_halves(const torch::Tensor& gates, const torch::Tensor& rec,
                                              const std::vector<torch::Tensor>& state);
  // The RNN's input [B, T, E] from the image part of each unique stimulus
  // (per_image [U, E]; inverse [B * T] picks each frame's row) plus the task
  // cue's projection, through the input ReLU (if configured) and the
  // LayerNorm. forward() and the multi-threaded WideForward both end here.
  torch::Tensor embed(const torch::Tensor& per_image, const torch::Tensor& inverse,
                      std::int64_t batch, std::int64_t frames, const torch::Tensor& cue);
  // Logits from last-layer hidden states h [..., H]: the whole readout path
  // (LayerNorm -> tanh -> Linear with readout_norm, else Linear). forward,
  // run_from and step_states all go through it.
  torch::Tensor readout(const torch::Tensor& h);
  // Deterministic initialisation from `gen` (uniform +-1/sqrt(fan_in), as torch).
  void initialise(at::Generator& gen);
  // Fixed per-feature standardisation of the bank (buffers saved with the
  // weights): maps enter as (map - mean) / std. Without it, CNN features
  // share a large common component and the tasks' match/non-match signal
  // (an interaction of two frames) sits on a long plateau: measured on
  // loc-1/cat-1 with a random CNN, loss stuck at chance for 4,000 steps vs
  // solved in 1,000 with it.
  void set_standardization(const torch::Tensor& mean, const torch::Tensor& std);
  const WmModelConfig& config() const { return config_; }

 private:
  torch::nn::Module& one_layer_rnn(
      const char* caller);  // the recurrent module; throws unless one layer
  torch::Tensor rnn_forward(const torch::Tensor& x, const std::vector<torch::Tensor>& state);

  WmModelConfig config_;
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::Linear image_{nullptr}, cue_{nullptr}, readout_{nullptr};
  torch::nn::LayerNorm norm_{nullptr}, readout_norm_{nullptr};
  torch::nn::RNN rnn_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
  torch::Tensor input_mean_, input_std_;
};
TORCH_MODULE(WmModel);

// Per-frame states of the last recurrent layer, stepping through time.
struct WmStates {
  torch::Tensor hidden;  // [B, T, H]
  torch::Tensor cell;    // [B, T, H] for LSTM, undefined otherwise
  torch::Tensor logits;  // [B, T, 3]
};
WmStates step_states(WmModel& model, const torch::Tensor& embedding);

// Rebuilds a trained model (config, read by WmModelConfig::from_json, and
// weights, standardisation included). Throws wmgeom::Error if a weight is
// missing or has another shape.
WmModel load_model(const nlohmann::json& config, const std::map<std::string, Array>& weights,
                   const torch::Device& device);

// One cue row per task in the suite's layout (nback::cue_slots): [tasks, cue_dim].
torch::Tensor cue_matrix(const std::vector<std::string>& task_names, const std::string& kind);

}  // namespace wmgeom::nets
