// fuzz_image: image bytes through the render stage's image-folder paths
// (render/sources.h): as the one view image of an identity under
// `source = "images"` (make_catalog's readability check, load_view_image,
// to_planar, composite) and as the one file of a `background = "images"`
// folder (load_backgrounds, fill_background's random crop). OpenCV decodes;
// the code under test is what we do with whatever it decodes (any depth,
// channel count, 1-pixel or very wide images). Contract: an unusable image
// throws wmgeom::InputError naming the file; a usable one composites.
//
// The first byte picks the file extension (.png, .jpg, .jpeg; OpenCV decodes
// by content either way); the rest is the file.
#include <opencv2/core/utility.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "fuzz_util.h"
#include "render/settings.h"
#include "render/sources.h"
#include "render_catalog.h"

using namespace wmgeom;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // No OPENCV_IO_MAX_IMAGE_PIXELS here: OpenCV reads it when the library
  // loads, before this runs, so setting it bounded nothing (a JPEG claiming
  // 30000 x 30000 was an out-of-memory in CI). The render stage bounds what a
  // header may ask for itself (render::kMaxImageSide, kMaxImagePixels), as
  // it must for users.
  cv::setNumThreads(0);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const fuzz::fs::path scratch = fuzz::scratch_dir("image");
  static const char* const kExt[] = {".png", ".jpg", ".jpeg"};
  const std::string name = std::string("view0") + kExt[data[0] % 3];
  const std::uint8_t* bytes = data + 1;
  const std::size_t n = size - 1;

  // 1. A view image of the images source.
  const auto root = fuzz::fresh_dir(scratch, "images");
  const auto ident = root / "cat" / "id0";
  fuzz::fs::create_directories(ident);
  fuzz::write_file(ident / name, bytes, n);
  render::Settings s;
  std::string problems;
  const render::Catalog cat =
      fuzz::one_identity_catalog(s, render::Source::kImages, root, problems);
  if (problems.empty()) {
    WMGEOM_FUZZ_CHECK(cat.views == 1 && cat.categories.size() == 1);
    const auto& files = cat.categories[0].identities.at(0).files;
    WMGEOM_FUZZ_CHECK(files.size() == 1);
    try {
      const render::Sprite sprite = render::load_view_image(files[0], 20);
      WMGEOM_FUZZ_CHECK(sprite.rgb.rows == 20 && sprite.rgb.cols == 20 && sprite.alpha.rows == 20);
      const render::PlanarSprite planar = render::to_planar(sprite);
      std::vector<std::uint8_t> canvas(3 * 32 * 32, 7);
      render::composite(canvas.data(), 32, planar, 12, 0, false);
      render::composite(canvas.data(), 32, planar, 0, 12, true);
    } catch (const InputError& e) {
      WMGEOM_FUZZ_CHECK(std::string_view(e.what()).find(name) != std::string_view::npos);
    }
  }

  // 2. The one file of a background folder.
  const auto bg = fuzz::fresh_dir(scratch, "backgrounds");
  fuzz::write_file(bg / name, bytes, n);
  std::vector<cv::Mat> backgrounds;
  try {
    backgrounds = render::load_backgrounds(bg);
  } catch (const InputError& e) {
    WMGEOM_FUZZ_CHECK(std::string_view(e.what()).find(name) != std::string_view::npos);
    return 0;
  }
  WMGEOM_FUZZ_CHECK(backgrounds.size() == 1);
  std::vector<std::uint8_t> image(3 * 16 * 16);
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    render::fill_background(image.data(), 16, render::Background::kImages, backgrounds, seed);
  }
  return 0;
}
