// The recordings stage's parameters as typed values
// (stages/recordings/schema.toml is the single source of names, types and
// defaults).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/params.h"
#include "import/settings.h"
#include "recordings/rsa.h"

namespace wmgeom::recordings {

enum class By { kModel, kRnn, kGroup };

struct Settings {
  std::filesystem::path path;  // the recordings (source.h)
  imports::Format format{};
  Comparison comparison{};           // what the test and the ceiling use
  By by{};                           // what the test compares
  std::vector<std::int64_t> frames;  // empty: all (conditions without frames)
  std::vector<std::string> tasks;    // empty: every task's trials
  std::int64_t bootstraps{};
  std::int64_t permutations{};
  double alpha{};
  std::uint64_t seed{};

  static Settings from_params(const Params& p);
  bool operator==(const Settings&) const = default;
};

}  // namespace wmgeom::recordings
