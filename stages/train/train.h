// The `train` stage: an RNN trained on N-back tasks over the feature bank.
// Parameters: stages/train/schema.toml; README.md beside this file.
#pragma once

#include <cstdint>
#include <vector>

#include "core/stage.h"
#include "train/settings.h"

namespace wmgeom {

// The learning rate of optimisation step `step` (0-based): with milestones
// (strictly ascending), lr x decay^(number of milestones <= step), as
// torch's MultiStepLR stepped once per step; without, lr x
// decay^(step / decay_every).
double scheduled_lr(double lr, double decay, std::int64_t decay_every,
                    const std::vector<std::int64_t>& milestones, std::int64_t step);

// The early-stopping rule: every task's accuracy on training-split trials
// reaches on_train, every task's held-out accuracy reaches on_heldout, and
// so does every held-out hard-non-match accuracy (identity tasks). NaN
// entries (no trials of that split; no hard non-match frames; a task without
// a parent feature) take no part.
bool reaches_stopping_bar(const std::vector<float>& train_acc,
                          const std::vector<float>& heldout_acc,
                          const std::vector<float>& heldout_hard_acc, double on_train,
                          double on_heldout);

class TrainStage final : public StageWith<TrainSettings> {
 public:
  std::string type() const override { return "train"; }
  void check(const TrainSettings& s, ParamIssues& issues) const override;
  // Non-empty at threads >= 2: those trainings split their matrix products
  // (nets/wide.h), which changes their bits from train version 3's.
  std::string key_extras_of(const TrainSettings& s) const override;
  // The device (schema.toml `device`) is the engine's: LibTorch version and
  // device kind are keyed (they change the floating-point result), and GPU
  // trainings take the device's token, so they never overlap on one GPU.
  Resources resources_of(const TrainSettings& s) const override;
  // The weights (1x1 conv, image embedding, gates x layers, readout) as
  // float32 and their curves; working memory: AdamW's two moments and the
  // gradients (3x the weights) plus a batch's activations over T frames.
  // dims: hidden, embed, cell (1 for an LSTM).
  SizeEstimate estimate_of(const TrainSettings& s, const EstimateInputs& inputs) const override;
  // Resumes from the last checkpoint in ctx.work_dir() if one exists.
  Artifact compute(const TrainSettings& s, const StageInputs& inputs,
                   RunContext& ctx) const override;
};

}  // namespace wmgeom
