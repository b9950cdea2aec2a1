// The render stage's parameters as typed values, and what they imply before
// any pixel is drawn: the location grid, the view angles and the catalogue of
// categories and identities (grammars or folders). validate() and run() both
// go through these functions, so plan time sees exactly the problems run time
// would hit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/params.h"
#include "render/grammars.h"
#include "render/rasterizer.h"

namespace wmgeom::render {

enum class Source { kProcedural, kMeshes, kImages };
enum class Background { kBlack, kGrey, kNoise, kImages };

// Smallest location cell, in pixels, that still shows an object.
inline constexpr int kMinCellSize = 8;
// Largest supersampled object raster side, in pixels (memory: ~20 bytes per pixel).
inline constexpr int kMaxRasterSize = 4096;
// Grey background level (and the grey of `background = "grey"`).
inline constexpr std::uint8_t kGreyLevel = 128;

// Initialised to the schema's defaults (stages/render/schema.toml, the single
// source; test_render_core.cpp checks that Settings{} equals from_params of
// the defaults), so code and tests that start from Settings{} see what a
// pipeline file without the key sees.
struct Settings {
  Source source = Source::kProcedural;
  std::filesystem::path path;
  int categories = 4;
  std::vector<std::string> category_names;
  int identities_per_category = 2;
  int views = 12;
  bool random_views = false;
  std::vector<double> elevations{20.0};
  double azimuth_start = 15.0;
  double azimuth_span = 360.0;
  std::vector<std::int64_t> holdout_views;
  int holdout_every = 4;
  std::vector<std::int64_t> holdout_identities;
  int image_size = 224;
  int locations = 4;
  double jitter = 0.0;
  double object_scale = 0.8;
  Background background = Background::kBlack;
  std::filesystem::path background_path;
  ColorMode color_mode = ColorMode::kIdentity;
  int supersample = 3;
  double fov_deg = 30.0;
  Lighting lighting;
  std::uint64_t seed = 0;

  static Settings from_params(const Params& params);
  bool operator==(const Settings&) const = default;
};

std::string source_name(Source source);
std::string background_name(Background background);
std::string color_mode_name(ColorMode mode);

// Square cells on a cols x rows grid (cols = ceil(sqrt(locations))), centred
// on the canvas, numbered row-major; the object sprite is object_scale of a cell.
struct Cell {
  int x = 0, y = 0;
};
struct Layout {
  int cols = 0, rows = 0;
  int cell_size = 0;
  int sprite_size = 0;
  std::vector<Cell> cells;
};
Layout make_layout(int image_size, int locations, double object_scale);

struct ViewAngle {
  double azimuth_deg = 0.0;
  double elevation_deg = 0.0;
};
// Grid: elevation-major, views / |elevations| azimuths evenly spaced over the
// span. Random: seeded uniform draws over the span and the elevations' range.
std::vector<ViewAngle> make_views(const Settings& s);

// One identity: a grammar draw (procedural) or a folder (meshes, images).
struct IdentityEntry {
  std::string name;                          // "chair-0", "03001627-1a2b"
  int local_index = 0;                       // within its category
  std::filesystem::path dir;                 // folder sources
  std::vector<std::filesystem::path> files;  // OBJ files, or view images in view order
};
struct CategoryEntry {
  std::string name;
  std::filesystem::path dir;
  std::vector<IdentityEntry> identities;
};
struct Catalog {
  std::vector<CategoryEntry> categories;
  int views = 0;  // images source: images per identity folder; else Settings::views
  std::vector<std::string> view_names;  // images source: file stems of the first identity
};

// Reports a problem with a parameter: (key, "what was expected, what was found").
using Report = std::function<void(const std::string& key, const std::string& message)>;

// Builds the catalogue, reporting every problem it finds (missing or empty
// folders, missing categories, non-image files, ...). A catalogue built with
// problems is incomplete and must not be rendered.
Catalog make_catalog(const Settings& s, const Report& report);

// Plan-time checks of everything (catalogue included); reports each problem.
void check_settings(const Settings& s, const Report& report);

// Validation split membership, from holdout_views / holdout_every / holdout_identities.
bool view_held_out(const Settings& s, int view);
bool identity_held_out(const Settings& s, int local_identity);

// Image files a folder source or the background folder accepts.
bool is_image_file(const std::filesystem::path& path);

}  // namespace wmgeom::render
