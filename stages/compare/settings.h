// The compare stage's parameters as typed values (stages/compare/schema.toml
// is the single source of names, types and defaults).
#pragma once

#include <cstdint>
#include <vector>

#include "core/params.h"

namespace wmgeom::compare {

enum class Space { kImageMeans, kStates };
enum class Metric { kProcrustes, kCka };
enum class By { kRnn, kGroup };

struct Settings {
  Space space{};
  Metric metric{};
  By by{};
  std::vector<std::int64_t> frames;  // empty: all
  std::int64_t permutations{};
  double alpha{};
  std::uint64_t seed{};

  static Settings from_params(const Params& p);
  bool operator==(const Settings&) const = default;
};

}  // namespace wmgeom::compare
