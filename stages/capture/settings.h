// The capture stage's parameters as typed values (stages/capture/schema.toml
// is the single source of names, types, ranges and defaults: the fields
// have no defaults of their own and are set only by from_params).
#pragma once

#include <cstdint>
#include <string>

#include "core/params.h"

namespace wmgeom {

struct CaptureSettings {
  std::string split;  // "validation" | "train" | "both"
  int split_code{};   // its TrialSet::split code; -1 for "both"
  bool perceptual{};  // keep each frame's perceptual map
  std::int64_t batch{};
  int threads{};  // LibTorch's width; 0: the run's width for this instance
  std::string device;

  static CaptureSettings from_params(const Params& p);
  bool operator==(const CaptureSettings&) const = default;
};

}  // namespace wmgeom
