// The train stage's parameters as typed values (stages/train/schema.toml is
// the single source of names, types, ranges and defaults: the fields have no
// defaults of their own and are set only by from_params). The "0 = derived"
// sizes are resolved here, once, so that the plan's estimate, the cluster
// request and the run see the same model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/params.h"
#include "nets/model_config.h"

namespace wmgeom {

struct TrainSettings {
  std::string rnn;  // "rnn" | "gru" | "lstm"
  int hidden{};     // resolved: 0 in the file is nets::default_hidden(rnn)
  int layers{};
  int conv_channels{};  // resolved: 0 in the file is hidden
  int embed{};          // resolved: 0 in the file is hidden
  bool input_relu{};
  bool readout_norm{};
  bool standardize{};
  double lr{};
  double weight_decay{};
  double lr_decay{};
  std::int64_t lr_decay_every{};
  std::vector<std::int64_t> lr_milestones;
  std::int64_t batch_size{};
  std::int64_t steps{};
  double grad_clip{};  // 0: no clipping
  std::int64_t eval_every{};
  double stop_at_accuracy{};  // 0: never stop early
  double stop_at_heldout{};
  std::int64_t checkpoint_every{};
  std::uint64_t seed{};
  int threads{};  // the parts its products split into (nets/wide.h; hashed)
  std::string device;

  static TrainSettings from_params(const Params& p);
  bool operator==(const TrainSettings&) const = default;

  // The model these settings build over a bank of feature maps {C, h, w}
  // with a task cue of `cue_dim` slots.
  nets::WmModelConfig model(const std::vector<std::int64_t>& feature_shape, int cue_dim) const;
};

}  // namespace wmgeom
