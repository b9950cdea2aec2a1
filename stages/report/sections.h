// The report's sections: each turns ReportData into HTML (figures, tables,
// captions) or, when its table is absent, into a one-line omission note.
// build_html assembles them into the page.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "report/data.h"
#include "report/settings.h"

namespace wmgeom::report {

// ReportOptions (the stage's settings): report/settings.h.

struct Section {
  std::string id, title;
  std::string body;     // HTML; empty when omitted
  std::string omitted;  // why the section is not drawn ("" if drawn)
  int figures = 0;      // <svg class="figure"> elements in body
};

// Stimulus contact sheet (contact.cpp; OpenCV encodes the PNG).
Section stimuli_section(const ReportData& data, const ReportOptions& options);
// Everything else: one file per section in sections/ (page.cpp assembles them).
Section training_section(const ReportData& data, const ReportOptions& options);
Section decoding_section(const ReportData& data, const ReportOptions& options);
Section cross_task_section(const ReportData& data, const ReportOptions& options);
Section orthogonality_section(const ReportData& data, const ReportOptions& options);
Section temporal_section(const ReportData& data, const ReportOptions& options);
Section causal_section(const ReportData& data, const ReportOptions& options);
Section rsa_section(const ReportData& data, const ReportOptions& options);
Section dimensionality_section(const ReportData& data, const ReportOptions& options);
// Model-vs-model distances and their MDS (the compare stage's tables).
Section models_section(const ReportData& data, const ReportOptions& options);
// Models against recordings: RSA scores, noise ceiling, tests (the
// recordings stage's tables).
Section recordings_section(const ReportData& data, const ReportOptions& options);
Section findings_section(const ReportData& data, const ReportOptions& options);

// The whole page. `info` receives {"sections": [{"id", "title", "drawn",
// "note", "figures"}], "figures": N}. Deterministic: same data, same bytes.
std::string build_html(const ReportData& data, const ReportOptions& options, nlohmann::json& info);

}  // namespace wmgeom::report
