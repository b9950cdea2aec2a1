// The `train` stage: an RNN trained on N-back tasks over the feature bank.
// Parameters: schemas/train.toml; README.md beside this file.
#pragma once

#include "core/stage.h"

namespace wmgeom {

class TrainStage final : public Stage {
 public:
  std::string type() const override { return "train"; }
  void validate(const Params& params, ParamIssues& issues) const override;
  // LibTorch version and device kind change the floating-point result.
  std::string key_extras(const Params& params) const override;
  // GPU trainings take the device's token: they never overlap on one GPU.
  std::string resource(const Params& params) const override;
  // Resumes from the last checkpoint in ctx.work_dir() if one exists.
  Artifact run(const Params& params, const StageInputs& inputs, RunContext& ctx) const override;
};

}  // namespace wmgeom
