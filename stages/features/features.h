// The `features` stage: a feature map per unique image of a StimulusSet,
// computed once and cached (never per trial). Models: the built-in CNN
// trained on the stimuli (default), a user's TorchScript module, or the
// built-in architecture with seeded random weights (a control).
// Parameters: stages/features/schema.toml; README.md beside this file.
#pragma once

#include "core/stage.h"
#include "features/settings.h"

namespace wmgeom {

class FeaturesStage final : public StageWith<FeaturesSettings> {
 public:
  std::string type() const override { return "features"; }
  // path/layer for TorchScript (the module is loaded to check the layer).
  // The device (schema.toml `device`) is the engine's: checked, keyed with
  // the LibTorch version (both change the floating-point result), claimed.
  void check(const FeaturesSettings& settings, ParamIssues& issues) const override;
  Resources resources_of(const FeaturesSettings& settings) const override;
  // Built-in and random CNN: [N, C, h, w] (C = width << (blocks - 1), h = w =
  // input size halved blocks + 1 times) in `dtype`; working memory: the
  // resized images as floats and a batch's activations (a rough x16 of its
  // input, forward and backward). TorchScript: unknown (the layer's shape is
  // only known by running the module).
  SizeEstimate estimate_of(const FeaturesSettings& settings,
                           const EstimateInputs& inputs) const override;
  Artifact compute(const FeaturesSettings& settings, const StageInputs& inputs,
                   RunContext& ctx) const override;
};

}  // namespace wmgeom
