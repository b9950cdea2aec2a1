// The `report` stage: one self-contained HTML page (inline SVG figures and
// CSS, a stimulus contact sheet as an inline PNG, no network) with the
// paper's figures, the findings table, and, once a run has finished, that
// run's stage profile and pipeline file. Parameters: schemas/report.toml;
// README.md beside this file says what each figure shows.
//
// Cache contents never depend on timings: the cached Report holds two
// placeholders (kProfilePlaceholder, kPipelinePlaceholder) that the CLI fills
// after `wmgeom run` (write_run_reports), and that `wmgeom export` fills with
// a note (export_extras).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/stage.h"

namespace wmgeom {

class Executor;
struct Plan;

class ReportStage final : public Stage {
 public:
  std::string type() const override { return "report"; }
  // The contact sheet's PNG bytes depend on OpenCV's encoder.
  std::string key_extras(const Params& params) const override;
  // Throws InputError for inputs that cannot be reported (tables whose
  // columns disagree in type across analyses).
  Artifact run(const Params& params, const StageInputs& inputs, RunContext& ctx) const override;
  // Writes report.html with the placeholders replaced by a note.
  void export_extras(const Artifact& artifact, const std::filesystem::path& dir) const override;
};

namespace report {

inline constexpr const char* kProfilePlaceholder = "<!--wmgeom:profile-->";
inline constexpr const char* kPipelinePlaceholder = "<!--wmgeom:pipeline-->";

// An HTML <table> of a run's per-instance stats from the JSON the CLI writes
// as run.json ({"seconds", "stages": [{"stage", "type", "cache", "seconds",
// "compute_seconds", "items", "items_unit", "items_per_s", "bytes"}]}).
// Missing fields show as blanks; never throws for odd JSON.
std::string profile_table_html(const nlohmann::json& run);

// The pipeline file's text (escaped, in <pre>), its --set overrides, the
// wmgeom version and `versions` (e.g. the "extra" lines of the cache keys:
// "torch 2.1.2", "opencv=4.6.0", "device cpu").
std::string pipeline_html(const std::string& file, const std::string& text,
                          const std::vector<std::string>& overrides,
                          const std::vector<std::string>& versions);

// `html` with both placeholders replaced (each occurrence).
std::string fill_placeholders(std::string html, const std::string& profile,
                              const std::string& pipeline);

// After `wmgeom run`: for every instance of `plan` whose output kind is
// Report and that this run computed or found cached (`run` holds the
// statuses), writes OUT_DIR/report.html, or OUT_DIR/report-<instance>.html
// when the plan has several, with this run's profile and pipeline filled in.
// Returns the files written. Throws wmgeom::Error on I/O failure.
std::vector<std::filesystem::path> write_run_reports(const Plan& plan, Executor& exec,
                                                     const nlohmann::json& run,
                                                     const std::filesystem::path& out_dir,
                                                     int threads);

}  // namespace report
}  // namespace wmgeom
