// The `capture` stage: a trained model's hidden states on fixed trials.
// Parameters: stages/capture/schema.toml; README.md beside this file.
#pragma once

#include "core/stage.h"

namespace wmgeom {

class CaptureStage final : public Stage {
 public:
  std::string type() const override { return "capture"; }
  Resources resources(const Params& params) const override;
  // Throws InputError if the model, task suite and feature bank do not belong together.
  // Per captured trial and frame: hidden (and cell, LSTM), 3 logits, the
  // perceptual map (if kept) and the embedding as float32, six int32
  // attributes. dims: trials.
  SizeEstimate estimate(const Params& params, const EstimateInputs& inputs) const override;
  Artifact run(const Params& params, const StageInputs& inputs, RunContext& ctx) const override;
};

}  // namespace wmgeom
