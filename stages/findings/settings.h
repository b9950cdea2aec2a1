// The findings stage's parameters as typed values
// (stages/findings/schema.toml is the single source of names, types, ranges
// and defaults: the fields have no defaults of their own and are set only
// by from_params).
#pragma once

#include "core/params.h"

namespace wmgeom {

struct FindingsSettings {
  double alpha{};            // the level of every declared test
  int min_seeds{};           // seeds per replicate group for a testable verdict
  bool verdicts_required{};  // verdicts = "required"

  static FindingsSettings from_params(const Params& p);
  bool operator==(const FindingsSettings&) const = default;
};

}  // namespace wmgeom
