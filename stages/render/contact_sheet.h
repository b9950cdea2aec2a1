// contact_sheet.png: a picture of a StimulusSet for people. One row per
// identity (up to kMaxRows); on the left the identity's views, each cropped to
// its location-0 cell, then view 0 at every location as full images. Labels
// name identities, categories and views; held-out (validation) views and
// identities are marked.
#pragma once

#include <filesystem>

#include "core/artifacts.h"

namespace wmgeom::render {

inline constexpr int kMaxSheetRows = 64;
inline constexpr int kMaxSheetViews = 12;
inline constexpr int kMaxSheetLocations = 9;

// Throws wmgeom::Error if the file cannot be written.
void write_contact_sheet(const StimulusSet& set, const std::filesystem::path& file);

}  // namespace wmgeom::render
