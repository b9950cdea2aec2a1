// A stimulus set's contact sheet, composed once for every stage that shows
// one (render's contact_sheet.png, the report's Stimuli figure): one row per
// identity, grouped by category; on the left a few views of it, each cropped
// to the cell of the first location it appears at; on the right one view at
// each location, whole. Only thumbnails: each caller draws its own labels
// (OpenCV text in render's PNG, SVG text in the report) from the layout
// returned here. Shared science layer (src/README.md): core + OpenCV.
#pragma once

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "core/artifacts.h"

namespace wmgeom::sheet {

struct Options {
  int thumb = 72;           // thumbnail side, px
  int gap = 4;              // between thumbnails
  int group_gap = 16;       // extra space between the views and the locations groups
  int max_identities = 16;  // rows (the first ones, in category order)
  int max_views = 6;        // view columns, spread evenly over the set's views
  int max_locations = 6;    // location columns, spread evenly (none if the set has one location)
  cv::Scalar background{255, 255, 255};  // BGR
};

struct Tile {
  int x = 0, y = 0;        // top-left corner in Sheet::image
  std::int64_t image = 0;  // row of the StimulusSet
  bool validation = false;
};

struct Sheet {
  cv::Mat image;                    // BGR, thumbnails only; at least 1 x 1
  std::vector<int> identities;      // identity index of each row
  std::vector<int> views;           // view id of each left column
  std::vector<int> locations;       // location id of each right column (empty: one location)
  std::vector<bool> identity_held;  // per row: every image of the identity is validation
  std::vector<bool>
      view_held;  // per left column: validation for every identity not itself held out
  int distinct_views = 0, distinct_locations = 0;  // in the whole set
  int step = 0;                                    // thumb + gap: a column's (and row's) pitch
  int locations_x = 0;                             // x of the first location column
  std::vector<Tile> tiles;
};

// Throws wmgeom::Error if the set's arrays are inconsistent with its names.
Sheet compose(const StimulusSet& set, const Options& options);

// Up to `max` indices spread evenly over [0, n), first and last included.
std::vector<int> spread(int n, int max);

}  // namespace wmgeom::sheet
