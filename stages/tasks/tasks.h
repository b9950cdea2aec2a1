// The `tasks` stage: the N-back task suite (SCIENCE.md section 2). From a
// StimulusSet's attributes it makes a TrialSet: the task definitions, fixed
// evaluation trials per task drawn from the training and/or held-out split,
// and the stimulus attribute table from which the train stage streams
// training trials with the same sampler (src/nback). Parameters:
// stages/tasks/schema.toml; README.md beside this file.
//
// Determinism: every trial is a pure function of (seed, split, task name,
// trial index) and the attribute table; the thread count plays no part.
#pragma once

#include "core/stage.h"
#include "tasks/settings.h"

namespace wmgeom {

class TasksStage final : public StageWith<TasksSettings> {
 public:
  std::string type() const override { return "tasks"; }
  // Task names (loc|cat|id-N, N >= 1, no duplicates), trial_length > the
  // largest N, no duplicate eval_splits.
  void check(const TasksSettings& s, ParamIssues& issues) const override;
  // Plan time, from the stimuli's estimate (render's dims): "validation" in
  // eval_splits when no image is held out (validation_stimuli = 0), which
  // compute() would otherwise refuse only when the tasks run.
  void check_inputs_of(const TasksSettings& s, const PlanInputs& inputs,
                       ParamIssues& issues) const override;
  // Throws wmgeom::InputError for what only the stimuli can show: an empty
  // training split, an empty split requested in eval_splits, a task's
  // feature with a single value in a split.
  // Evaluation trials M = tasks x eval_trials_per_task x splits, four int32
  // arrays of [M, T] or [M], plus five int32 attributes per stimulus. dims:
  // trials, trials_per_split, trial_length.
  SizeEstimate estimate_of(const TasksSettings& s, const EstimateInputs& inputs) const override;
  Artifact compute(const TasksSettings& s, const StageInputs& inputs,
                   RunContext& ctx) const override;
};

}  // namespace wmgeom
