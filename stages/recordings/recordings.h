// The `recordings` stage: models compared with neural recordings by RSA:
// model RDMs per frame against each subject's RDM (Spearman, whitened
// cosine), the noise ceiling, bootstrap CIs over conditions and a test of
// which model or group is closest. Parameters: stages/recordings/schema.toml;
// the science: rsa.h; the input layout: source.h; README.md beside this file.
#pragma once

#include "core/stage.h"
#include "recordings/settings.h"

namespace wmgeom {

class RecordingsStage final : public StageWith<recordings::Settings> {
 public:
  std::string type() const override { return "recordings"; }
  // At plan time, from meta.json and the arrays' headers (source.h).
  void check(const recordings::Settings& s, ParamIssues& issues) const override;
  // Throws InputError when no model comes, when a model never shows a
  // condition's image at its frame on the chosen tasks' trials, or when a
  // listed frame or task is not the models'.
  Artifact compute(const recordings::Settings& s, const StageInputs& inputs,
                   RunContext& ctx) const override;
  bool has_after_run() const override { return true; }
  // findings.json and tables/, as an analysis writes them.
  std::vector<std::filesystem::path> after_run(const Artifact& artifact, const RunSummary& run,
                                               const std::string& instance,
                                               const std::filesystem::path& out_dir) const override;
};

}  // namespace wmgeom
