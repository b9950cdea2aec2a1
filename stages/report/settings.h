// The report stage's parameters as typed values (stages/report/schema.toml
// is the single source of names, types, ranges and defaults). The fields
// start at the schema's defaults so that tests that build a page from
// ReportOptions{} see what a pipeline without the keys sees
// (Report.OptionsStartAtTheSchemaDefaults checks that they agree).
#pragma once

#include <string>

#include "core/params.h"

namespace wmgeom::report {

struct ReportOptions {
  std::string title = "wmgeom report";
  int max_models = 12;        // per-model figures drawn for at most this many models
  int sheet_identities = 16;  // contact sheet rows
  int sheet_views = 6;        // contact sheet view columns
  int thumb = 72;             // contact sheet thumbnail size, px (parameter `thumbnail`)

  static ReportOptions from_params(const Params& p);
  bool operator==(const ReportOptions&) const = default;
};

}  // namespace wmgeom::report
