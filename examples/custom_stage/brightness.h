// An example stage written outside the tree: mean brightness of every image
// of a StimulusSet, as a table (one row per image) in an AnalysisResult.
// Everything a stage needs: a class, a schema (brightness.toml), and one
// registry.add() call (main.cpp).
#pragma once

#include "core/stage.h"

namespace example {

class BrightnessStage final : public wmgeom::Stage {
 public:
  std::string type() const override { return "brightness"; }
  void validate(const wmgeom::Params& params, wmgeom::ParamIssues& issues) const override;
  wmgeom::Artifact run(const wmgeom::Params& params, const wmgeom::StageInputs& inputs,
                       wmgeom::RunContext& ctx) const override;
};

}  // namespace example
