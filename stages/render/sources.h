// What each source turns into: one object sprite per (identity, view), and
// the backgrounds the sprites are composited on. Loaders throw
// wmgeom::InputError naming the file for anything they cannot use.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include <opencv2/core.hpp>

#include "render/mesh.h"
#include "render/rasterizer.h"
#include "render/settings.h"

namespace wmgeom::render {

// The largest view or background image the loaders accept, checked from the
// file's header before it is decoded (OpenCV allocates by the declared
// size, never by the file's): 1 to kMaxImageSide pixels a side and at most
// kMaxImagePixels in all. Anything larger is bad input, to be scaled down.
inline constexpr std::uint32_t kMaxImageSide = 8192;
inline constexpr std::uint64_t kMaxImagePixels = std::uint64_t{1} << 24;

// A sprite split into planes (R, G, B premultiplied by coverage, then A),
// so compositing into channel-first images copies whole rows.
struct PlanarSprite {
  int size = 0;
  std::vector<std::uint8_t> planes;  // 4 * size * size
  const std::uint8_t* plane(int c) const {
    return planes.data() + static_cast<std::size_t>(c) * size * size;
  }
};
PlanarSprite to_planar(const Sprite& sprite);

// Seeds of one identity's grammar draw: shape per identity; colour per
// identity or, with color_mode = "category", per category.
std::uint64_t shape_seed(const Settings& s, const std::string& category, int local_identity);
std::uint64_t color_seed(const Settings& s, const std::string& category, int local_identity);

// The identity's mesh, normalised to the unit sphere (procedural or OBJ).
Mesh identity_mesh(const Settings& s, const CategoryEntry& category, const IdentityEntry& identity);

// A pre-rendered view image fitted (aspect kept, centred) into size x size.
// An alpha channel, if present, becomes the sprite's coverage; otherwise the
// whole image rectangle is opaque.
Sprite load_view_image(const std::filesystem::path& file, int size);

// Every image under `dir` (recursive, sorted), as RGB.
std::vector<cv::Mat> load_backgrounds(const std::filesystem::path& dir);

// Fills one channel-first S x S image with the background of image `index`.
// Black needs nothing (the array starts zeroed).
void fill_background(std::uint8_t* chw, int size, Background background,
                     const std::vector<cv::Mat>& backgrounds, std::uint64_t image_seed);

// Composites `sprite` at (x, y) over what `chw` holds.
void composite(std::uint8_t* chw, int image_size, const PlanarSprite& sprite, int x, int y,
               bool over_black);

}  // namespace wmgeom::render
