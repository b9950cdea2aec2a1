// The `import` stage: another model's hidden states, read from a folder in
// `wmgeom export`'s StateSet layout or from one HDF5 file, checked, and given
// to the analyses as the StateSet `capture` would make. Parameters:
// stages/import/schema.toml; the layout: README.md beside this file and
// states.h.
#pragma once

#include "core/stage.h"
#include "import/settings.h"

namespace wmgeom {

class ImportStage final : public StageWith<imports::Settings> {
 public:
  std::string type() const override { return "import"; }
  // At plan time, from meta.json and the arrays' headers (no data read): a
  // path of the wrong kind for the format, a meta.json that is missing or
  // lacks the model's tasks and label, missing or unknown arrays, dtypes,
  // and shapes that disagree (states.h, check_inventory).
  void check(const imports::Settings& s, ParamIssues& issues) const override;
  // The arrays' sizes as stored in the StateSet (floats as float32, labels as
  // int32), from the headers. dims: trials, frames, tasks, hidden.
  SizeEstimate estimate_of(const imports::Settings& s, const EstimateInputs& inputs) const override;
  // Reads and checks the values (states.h, check_contents); throws
  // wmgeom::InputError naming the file and the array.
  Artifact compute(const imports::Settings& s, const StageInputs& inputs,
                   RunContext& ctx) const override;
};

}  // namespace wmgeom
