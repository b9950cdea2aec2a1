// The `report` stage: one self-contained HTML page (inline SVG figures and
// CSS, a stimulus contact sheet as an inline PNG, no network) with the
// paper's figures, the findings table, and, once a run has finished, that
// run's stage profile and pipeline file. Parameters: stages/report/schema.toml;
// README.md beside this file says what each figure shows.
//
// Cache contents never depend on timings: the cached Report holds two
// placeholders (kProfilePlaceholder, kPipelinePlaceholder) that the stage's
// after-run hook fills from the run's record (after_run), and that
// `wmgeom export` fills with a note (export_extras).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/stage.h"
#include "report/settings.h"

namespace wmgeom {

class ReportStage final : public StageWith<report::ReportOptions> {
 public:
  std::string type() const override { return "report"; }
  // The contact sheet's PNG bytes depend on OpenCV's encoder.
  std::string key_extras_of(const report::ReportOptions& options) const override;
  // Throws InputError for inputs that cannot be reported (tables whose
  // columns disagree in type across analyses).
  Artifact compute(const report::ReportOptions& options, const StageInputs& inputs,
                   RunContext& ctx) const override;
  // Writes report.html with the placeholders replaced by a note.
  void export_extras(const Artifact& artifact, const std::filesystem::path& dir) const override;
  // After `wmgeom run`: OUT_DIR/report.html (OUT_DIR/report-<instance>.html
  // when the run has several report instances) with this run's profile and
  // pipeline file, versions included, filled in.
  bool has_after_run() const override { return true; }
  std::vector<std::filesystem::path> after_run(const Artifact& artifact, const RunSummary& run,
                                               const std::string& instance,
                                               const std::filesystem::path& out_dir) const override;
};

namespace report {

inline constexpr const char* kProfilePlaceholder = "<!--wmgeom:profile-->";
inline constexpr const char* kPipelinePlaceholder = "<!--wmgeom:pipeline-->";

// An HTML <table> of a run's per-instance stats (core/run_summary.h).
std::string profile_table_html(const RunSummary& run);

// The pipeline file's text (escaped, in <pre>), its --set overrides, the
// wmgeom version and `versions` (e.g. the "extra" lines of the cache keys:
// "torch 2.1.2", "opencv=4.6.0", "device cpu").
std::string pipeline_html(const std::string& file, const std::string& text,
                          const std::vector<std::string>& overrides,
                          const std::vector<std::string>& versions);

// `html` with both placeholders replaced (each occurrence).
std::string fill_placeholders(std::string html, const std::string& profile,
                              const std::string& pipeline);

}  // namespace report
}  // namespace wmgeom
