// The `analyze` stage: every geometry analysis of the study on captured
// states. Parameters: stages/analyze/schema.toml; README.md beside this file; the
// analyses themselves in analyses.h (one function each).
#pragma once

#include <optional>
#include <string>

#include "analyze/settings.h"
#include "core/stage.h"

namespace wmgeom {

class AnalyzeStage final : public StageWith<AnalyzeSettings> {
 public:
  std::string type() const override { return "analyze"; }
  void check(const AnalyzeSettings& settings, ParamIssues& issues) const override;
  // No key extras of its own: CPU and GPU fits differ in the last digits
  // (different solvers), and the engine keys the device kind (schema.toml's
  // `device`, core/device.h). The calibration table is not part of an
  // analysis (the findings stage attaches and keys it).
  Resources resources_of(const AnalyzeSettings& settings) const override;
  // Plan-time size (graph/fit.h), from the state sets' shapes and the
  // analyses it runs: each analysis' tables (bytes per feature x task x
  // frame x train frame cell) and arrays (per trial), and the working memory
  // (a multiple of the largest state set: the decoder families', the other
  // analyses', or both), all measured on the study (README, "Its size, at
  // plan time"); unknown when a state set's estimate is.
  SizeEstimate estimate_of(const AnalyzeSettings& settings,
                           const EstimateInputs& inputs) const override;
  // Plan time: a frame (or causal_frame) beyond the trial of the state sets,
  // where their estimates know its length.
  void check_inputs_of(const AnalyzeSettings& settings, const PlanInputs& inputs,
                       ParamIssues& issues) const override;
  // Throws InputError, before fitting anything, if the state sets disagree
  // (trial length, attribute value sets), a feature is not in the stimuli, a
  // frame is beyond the trial, a class has fewer trials than folds, or the
  // causal analysis lacks its trained models.
  Artifact compute(const AnalyzeSettings& settings, const StageInputs& inputs,
                   RunContext& ctx) const override;

  // After a run: the findings and every table where a user looks first,
  // beside report.html in the run's output folder: findings.json and
  // tables/<name>.csv (with several analyze instances in the run:
  // findings-<instance>.json and tables-<instance>/; with a findings stage in
  // the run, nothing: it writes them for all the models). `wmgeom export`
  // writes the same files with the arrays.
  bool has_after_run() const override { return true; }
  std::vector<std::filesystem::path> after_run(const Artifact& artifact, const RunSummary& run,
                                               const std::string& instance,
                                               const std::filesystem::path& out_dir) const override;

 private:
  Artifact run_in_arena(const AnalyzeSettings& settings, const StageInputs& inputs,
                        RunContext& ctx) const;
};

// Where an AnalysisResult instance of a run writes its findings.json and
// tables/ (the after_run of analyze and of findings): nothing (nullopt) when
// another AnalysisResult instance of the run reads it (a findings stage,
// which decides across the models it merges and writes for all of them);
// else "" when it is the run's only writer, or "-<instance folder>".
std::optional<std::string> findings_suffix(const RunSummary& run, const std::string& instance);

// findings.json and tables/<name>.csv of an AnalysisResult artifact (the
// findings written through a temporary file), and tables/meta.json: the
// artifact's kind and parameters (each model's name and states key, which
// seeds its own draws), so the folder alone lets recompute_findings.py
// redraw the tables' permutations. The paths written.
std::vector<std::filesystem::path> write_findings_and_tables(const Artifact& artifact,
                                                             const std::filesystem::path& findings,
                                                             const std::filesystem::path& tables);

// The after_run of analyze and of findings: an AnalysisResult instance's
// findings.json and tables/ in the run's output folder, named by
// findings_suffix (nothing when another AnalysisResult of the run reads it).
std::vector<std::filesystem::path> write_analysis_outputs(const Artifact& artifact,
                                                          const RunSummary& run,
                                                          const std::string& instance,
                                                          const std::filesystem::path& out_dir);

}  // namespace wmgeom
