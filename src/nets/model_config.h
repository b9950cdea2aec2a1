// The working-memory model's configuration (nets/wm_model.h builds the
// model from it): one struct that the train stage fills from its settings
// and writes into the TrainedModel's `config` (to_json), and that capture,
// analyze and load_model read back (from_json). No LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wmgeom::nets {

struct WmModelConfig {
  std::string rnn = "gru";  // "rnn" | "gru" | "lstm"
  int hidden = 256;
  int layers = 1;
  int conv_channels = 32;
  int embed = 256;
  std::vector<std::int64_t> feature_shape;  // {C, h, w} of the bank
  int cue_dim = 9;
  int outputs = 3;
  bool input_relu = true;    // Linear -> ReLU -> LayerNorm (else Linear -> LayerNorm)
  bool readout_norm = true;  // RNN -> LayerNorm -> tanh -> Linear (else RNN -> Linear)

  // The architecture's keys of a TrainedModel's `config` (rnn, hidden,
  // layers, conv_channels, embed, input_relu, readout_norm, feature_shape,
  // cue_dim); the train stage adds its training record beside them.
  nlohmann::json to_json() const;
  // Reads those keys back; a config without "input_relu" / "readout_norm"
  // (trained before they existed) is the old architecture (both false), so
  // cached models keep loading. Throws wmgeom::InputError naming a missing
  // or mistyped key.
  static WmModelConfig from_json(const nlohmann::json& config);
  bool operator==(const WmModelConfig&) const = default;
};

// Default hidden size per RNN type (the paper's: similar parameter counts).
int default_hidden(const std::string& rnn);

}  // namespace wmgeom::nets
