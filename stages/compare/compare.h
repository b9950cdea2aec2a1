// The `compare` stage: distances between models' representations on the
// trials they share (linear CKA, Procrustes shape distance, per frame), an
// MDS embedding, and a permutation test of "groups differ more than the
// models within a group". Parameters: stages/compare/schema.toml; the
// science: geometry.h; README.md beside this file.
#pragma once

#include "compare/settings.h"
#include "core/stage.h"

namespace wmgeom {

class CompareStage final : public StageWith<compare::Settings> {
 public:
  std::string type() const override { return "compare"; }
  // Throws InputError when fewer than two models come, when two models share
  // no trials (another task suite) or have another trial length, or when a
  // listed frame is beyond the trials.
  Artifact compute(const compare::Settings& s, const StageInputs& inputs,
                   RunContext& ctx) const override;
  bool has_after_run() const override { return true; }
  // findings.json and tables/ (as an analysis writes them; with a suffix
  // when the run has several analysis results).
  std::vector<std::filesystem::path> after_run(const Artifact& artifact, const RunSummary& run,
                                               const std::string& instance,
                                               const std::filesystem::path& out_dir) const override;
};

}  // namespace wmgeom
