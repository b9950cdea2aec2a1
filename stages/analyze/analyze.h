// The `analyze` stage: every geometry analysis of the study on captured
// states. Parameters: stages/analyze/schema.toml; README.md beside this file; the
// analyses themselves in analyses.h (one function each).
#pragma once

#include "core/stage.h"

namespace wmgeom {

class AnalyzeStage final : public Stage {
 public:
  std::string type() const override { return "analyze"; }
  void validate(const Params& params, ParamIssues& issues) const override;
  std::string key_extras(const Params& params) const override;
  std::string resource(const Params& params) const override;
  Resources resources(const Params& params) const override;
  // Throws InputError, before fitting anything, if the state sets disagree
  // (trial length, attribute value sets), a feature is not in the stimuli, a
  // frame is beyond the trial, a class has fewer trials than folds, or the
  // causal analysis lacks its trained models.
  Artifact run(const Params& params, const StageInputs& inputs, RunContext& ctx) const override;

 private:
  Artifact run_in_arena(const Params& params, const StageInputs& inputs, RunContext& ctx) const;
};

}  // namespace wmgeom
