#include "import/settings.h"

#include "core/choices.h"

namespace wmgeom::imports {

Settings Settings::from_params(const Params& p) {
  static constexpr Choice<Format> kFormats[] = {
      {Format::kAuto, "auto"}, {Format::kNpy, "npy"}, {Format::kHdf5, "hdf5"}};
  Settings s;
  s.path = p.s("path");
  s.format = parse_choice(kFormats, p.s("format"), "import.format");
  return s;
}

}  // namespace wmgeom::imports
