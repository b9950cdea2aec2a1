// The import stage's parameters as typed values (stages/import/schema.toml
// is the single source of names, types and defaults).
#pragma once

#include <filesystem>

#include "core/params.h"

namespace wmgeom::imports {

enum class Format { kAuto, kNpy, kHdf5 };

struct Settings {
  std::filesystem::path path;  // resolved against the pipeline file's folder
  Format format{};             // as written: kAuto is resolved by format_of (states.h)

  static Settings from_params(const Params& p);
  bool operator==(const Settings&) const = default;
};

}  // namespace wmgeom::imports
