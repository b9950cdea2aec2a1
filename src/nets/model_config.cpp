#include "nets/model_config.h"

#include "core/error.h"

namespace wmgeom::nets {

int default_hidden(const std::string& rnn) { return rnn == "rnn" ? 512 : 256; }

nlohmann::json WmModelConfig::to_json() const {
  return {{"rnn", rnn},
          {"hidden", hidden},
          {"layers", layers},
          {"conv_channels", conv_channels},
          {"embed", embed},
          {"input_relu", input_relu},
          {"readout_norm", readout_norm},
          {"feature_shape", feature_shape},
          {"cue_dim", cue_dim}};
}

WmModelConfig WmModelConfig::from_json(const nlohmann::json& config) {
  auto read = [&](const char* key, auto& field) {
    if (!config.is_object() || !config.contains(key)) {
      throw InputError(std::string("the trained model's config lacks \"") + key +
                       "\" (is it a TrainedModel?)");
    }
    try {
      config.at(key).get_to(field);
    } catch (const nlohmann::json::exception&) {
      throw InputError(std::string("the trained model's config has \"") + key +
                       "\" = " + config.at(key).dump() + ", of the wrong type");
    }
  };
  WmModelConfig c;
  read("rnn", c.rnn);
  read("hidden", c.hidden);
  read("layers", c.layers);
  read("conv_channels", c.conv_channels);
  read("embed", c.embed);
  read("feature_shape", c.feature_shape);
  read("cue_dim", c.cue_dim);
  c.input_relu = false;  // absent: trained before the flag existed
  c.readout_norm = false;
  if (config.contains("input_relu")) read("input_relu", c.input_relu);
  if (config.contains("readout_norm")) read("readout_norm", c.readout_norm);
  return c;
}

}  // namespace wmgeom::nets
