// The `findings` stage: the reduce of a map-reduce analysis. Per-model
// analyses (analyze instances) in, one result out: their tables, arrays and
// models merged in input order, the five findings decided across them.
// Parameters: stages/findings/schema.toml; README.md beside this file.
#pragma once

#include "core/stage.h"
#include "findings/settings.h"

namespace wmgeom {

class FindingsStage final : public StageWith<FindingsSettings> {
 public:
  std::string type() const override { return "findings"; }
  // The calibration table's SHA-256 (stages/analyze/calibration.h): its
  // entries are part of this stage's findings, so a new calibration.json
  // reruns this stage (seconds) and the report, never the analyses it reads.
  std::string key_extras_of(const FindingsSettings& settings) const override;
  // Plan time, before anything runs (exit 2, at the `analysis` line): the
  // analyses read must be alike in every parameter their numbers depend on
  // (analyze::unlike_parameters), and no model may be analysed by the same
  // analysis in two of them (a model is its states' cache key; one model's
  // analyses may be split across instances with `analyses`). compute()
  // checks the same on the artifacts, for inputs a plan cannot see.
  void check_inputs_of(const FindingsSettings& settings, const PlanInputs& inputs,
                       ParamIssues& issues) const override;
  SizeEstimate estimate_of(const FindingsSettings& s, const EstimateInputs& inputs) const override;
  // Throws InputError, before deciding anything, when the analyses differ in
  // a parameter (they would not be comparable), name a model twice, come
  // from an analyze stage older than this stage (no replicate group
  // recorded), or verdicts = "required" meets a group with fewer than
  // min_seeds seeds.
  Artifact compute(const FindingsSettings& s, const StageInputs& inputs,
                   RunContext& ctx) const override;
  // findings.json and tables/ in the run's output folder (with several
  // findings instances, findings-<instance>.json and tables-<instance>/).
  bool has_after_run() const override { return true; }
  std::vector<std::filesystem::path> after_run(const Artifact& artifact, const RunSummary& run,
                                               const std::string& instance,
                                               const std::filesystem::path& out_dir) const override;
};

}  // namespace wmgeom
