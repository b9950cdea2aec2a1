// The `capture` stage: a trained model's hidden states on fixed trials.
// Parameters: stages/capture/schema.toml; README.md beside this file.
#pragma once

#include "capture/settings.h"
#include "core/stage.h"

namespace wmgeom {

class CaptureStage final : public StageWith<CaptureSettings> {
 public:
  std::string type() const override { return "capture"; }
  Resources resources_of(const CaptureSettings& s) const override;
  // Throws InputError if the model, task suite and feature bank do not belong together.
  // Per captured trial and frame: hidden (and cell, LSTM), 3 logits, the
  // perceptual map (if kept) and the embedding as float32, six int32
  // attributes. dims: trials.
  SizeEstimate estimate_of(const CaptureSettings& s, const EstimateInputs& inputs) const override;
  Artifact compute(const CaptureSettings& s, const StageInputs& inputs,
                   RunContext& ctx) const override;
};

}  // namespace wmgeom
