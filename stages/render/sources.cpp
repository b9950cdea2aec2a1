#include "render/sources.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "core/hash.h"
#include "render/grammars.h"
#include "render/rng.h"

namespace wmgeom::render {
namespace fs = std::filesystem;

namespace {

using Dims = std::pair<std::uint32_t, std::uint32_t>;  // width, height

std::uint32_t be16(const std::vector<char>& b, std::size_t i) {
  return (std::uint32_t{static_cast<unsigned char>(b[i])} << 8) |
         static_cast<unsigned char>(b[i + 1]);
}

// A PNG's size: its first chunk must be IHDR, width and height big-endian.
std::optional<Dims> png_declared_size(const std::vector<char>& b) {
  if (b.size() < 24 || std::memcmp(b.data() + 12, "IHDR", 4) != 0) return std::nullopt;
  return Dims{(be16(b, 16) << 16) | be16(b, 18), (be16(b, 20) << 16) | be16(b, 22)};
}

// A JPEG's size: the first start-of-frame marker (SOF0..SOF15 but DHT, JPG
// and DAC), found by walking the marker segments after SOI the way libjpeg
// does (bytes between segments skipped, 0xFF fill bytes, RSTn/TEM without a
// length). None before the first scan, or a truncated file: no size.
std::optional<Dims> jpeg_declared_size(const std::vector<char>& b) {
  std::size_t i = 2;
  const std::size_t n = b.size();
  while (i < n) {
    if (static_cast<unsigned char>(b[i]) != 0xFF) {
      ++i;
      continue;
    }
    while (i < n && static_cast<unsigned char>(b[i]) == 0xFF) ++i;
    if (i >= n) break;
    const unsigned marker = static_cast<unsigned char>(b[i++]);
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;
    if (marker == 0xD9 || marker == 0xDA || i + 2 > n) break;  // EOI, SOS: no frame yet
    const std::size_t length = be16(b, i);
    if (length < 2) break;
    const bool sof =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (length < 7 || i + 7 > n) break;
      return Dims{be16(b, i + 5), be16(b, i + 3)};
    }
    i += length;
  }
  return std::nullopt;
}

// Decodes a .png/.jpg file only if its bytes are a PNG or a JPEG. OpenCV
// picks a decoder by the content, not the name, and some it may pick for a
// damaged or mislabelled file are not safe: its DICOM reader (GDCM) aborts
// the process on malformed input (scripts/fuzz found it: "DICM" at offset
// 128 of a .png). Its header's size is checked before any decoder runs:
// OpenCV allocates the whole image by the declared size (up to 2^30 pixels,
// and OPENCV_IO_MAX_IMAGE_PIXELS is read once, when the library loads) and
// decodes missing data as grey rows, so a 600-byte JPEG claiming 20000 x
// 20000 took 1.2 GB (scripts/fuzz found it). Throws InputError naming the
// file otherwise, OpenCV's own assertions included.
cv::Mat decode_image(const fs::path& file, int flags) {
  std::vector<char> bytes;
  {
    std::ifstream f(file, std::ios::binary);
    if (f) bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (!f && !f.eof()) throw InputError(file.string() + ": unreadable image: it cannot be read");
  }
  static constexpr unsigned char kPng[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  static constexpr unsigned char kJpeg[] = {0xff, 0xd8, 0xff};
  auto starts_with = [&](const unsigned char* magic, std::size_t n) {
    return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0;
  };
  const bool png = starts_with(kPng, sizeof kPng);
  if (!png && !starts_with(kJpeg, sizeof kJpeg)) {
    throw InputError(file.string() +
                     ": unreadable image: expected a PNG or JPEG file, found other bytes");
  }
  const auto size = png ? png_declared_size(bytes) : jpeg_declared_size(bytes);
  if (!size) {
    throw InputError(file.string() + ": unreadable image: its header declares no size");
  }
  const auto [w, h] = *size;
  if (w == 0 || h == 0 || w > kMaxImageSide || h > kMaxImageSide ||
      std::uint64_t{w} * h > kMaxImagePixels) {
    throw InputError(file.string() + ": unusable image: its header declares " + std::to_string(w) +
                     " x " + std::to_string(h) + " pixels; view and background images must have " +
                     "1 to " + std::to_string(kMaxImageSide) + " pixels a side and at most " +
                     std::to_string(kMaxImagePixels) + " in all (scale it down first)");
  }
  cv::Mat img;
  try {
    img = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, bytes.data()), flags);
  } catch (const cv::Exception& e) {  // OpenCV asserts on some malformed files
    throw InputError(file.string() + ": unreadable image: OpenCV could not decode it (" + e.msg +
                     ")");
  }
  if (img.empty())
    throw InputError(file.string() + ": unreadable image: OpenCV could not decode it");
  return img;
}

}  // namespace

PlanarSprite to_planar(const Sprite& sprite) {
  PlanarSprite out;
  out.size = sprite.rgb.cols;
  const std::size_t n = static_cast<std::size_t>(out.size) * out.size;
  out.planes.resize(4 * n);
  for (int y = 0; y < out.size; ++y) {
    const auto* rgb = sprite.rgb.ptr<cv::Vec3b>(y);
    const auto* a = sprite.alpha.ptr<std::uint8_t>(y);
    for (int x = 0; x < out.size; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * out.size + x;
      out.planes[i] = rgb[x][0];
      out.planes[n + i] = rgb[x][1];
      out.planes[2 * n + i] = rgb[x][2];
      out.planes[3 * n + i] = a[x];
    }
  }
  return out;
}

std::uint64_t shape_seed(const Settings& s, const std::string& category, int local_identity) {
  return hash_combine(
      hash_combine(s.seed, hash_string("shape")),
      hash_combine(hash_string(category), static_cast<std::uint64_t>(local_identity)));
}

std::uint64_t color_seed(const Settings& s, const std::string& category, int local_identity) {
  const std::uint64_t k =
      s.color_mode == ColorMode::kCategory ? 0 : static_cast<std::uint64_t>(local_identity) + 1;
  return hash_combine(hash_combine(s.seed, hash_string("color")),
                      hash_combine(hash_string(category), k));
}

Mesh identity_mesh(const Settings& s, const CategoryEntry& category,
                   const IdentityEntry& identity) {
  if (s.source == Source::kProcedural) {
    return build_object(category.name, shape_seed(s, category.name, identity.local_index),
                        color_seed(s, category.name, identity.local_index), s.color_mode);
  }
  Mesh mesh = load_obj_meshes(identity.files);
  if (!normalise_to_unit_sphere(mesh)) {
    throw InputError(identity.files.front().string() + ": degenerate mesh: it has no extent");
  }
  if (s.color_mode == ColorMode::kGrey) mesh.set_color(Rgb::Constant(0.72f));
  return mesh;
}

Sprite load_view_image(const fs::path& file, int size) {
  cv::Mat img = decode_image(file, cv::IMREAD_UNCHANGED);
  if (img.depth() == CV_16U) {
    img.convertTo(img, CV_8U, 1.0 / 257.0);
  } else if (img.depth() != CV_8U) {
    cv::normalize(img, img, 0, 255, cv::NORM_MINMAX);
    img.convertTo(img, CV_8U);
  }
  cv::Mat rgb, alpha;
  switch (img.channels()) {
    case 1:
      cv::cvtColor(img, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4: {
      cv::cvtColor(img, rgb, cv::COLOR_BGRA2RGB);
      cv::extractChannel(img, alpha, 3);
      // Premultiply so that compositing matches the rendered sprites.
      cv::Mat a3;
      cv::cvtColor(alpha, a3, cv::COLOR_GRAY2RGB);
      cv::multiply(rgb, a3, rgb, 1.0 / 255.0);
      break;
    }
    default:
      throw InputError(file.string() + ": unsupported image with " +
                       std::to_string(img.channels()) + " channels");
  }
  if (alpha.empty()) alpha = cv::Mat(rgb.size(), CV_8UC1, cv::Scalar(255));

  const double scale = static_cast<double>(size) / std::max(rgb.cols, rgb.rows);
  const int w = std::max(1, static_cast<int>(std::lround(rgb.cols * scale)));
  const int h = std::max(1, static_cast<int>(std::lround(rgb.rows * scale)));
  const int interp = scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR;
  cv::Mat rgb_fit, alpha_fit;
  cv::resize(rgb, rgb_fit, cv::Size(w, h), 0, 0, interp);
  cv::resize(alpha, alpha_fit, cv::Size(w, h), 0, 0, interp);
  Sprite sprite{cv::Mat(size, size, CV_8UC3, cv::Scalar::all(0)),
                cv::Mat(size, size, CV_8UC1, cv::Scalar(0))};
  const cv::Rect roi((size - w) / 2, (size - h) / 2, w, h);
  rgb_fit.copyTo(sprite.rgb(roi));
  alpha_fit.copyTo(sprite.alpha(roi));
  return sprite;
}

std::vector<cv::Mat> load_backgrounds(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (hidden_name(it->path())) {  // not data (core/hash.h), nor what is under it
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && is_image_file(it->path())) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw InputError(dir.string() + ": no .png/.jpg background images");
  std::vector<cv::Mat> out;
  for (const auto& f : files) {
    cv::Mat img = decode_image(f, cv::IMREAD_COLOR);
    cv::cvtColor(img, img, cv::COLOR_BGR2RGB);
    out.push_back(img);
  }
  return out;
}

void fill_background(std::uint8_t* chw, int size, Background background,
                     const std::vector<cv::Mat>& backgrounds, std::uint64_t image_seed) {
  const std::size_t plane = static_cast<std::size_t>(size) * size;
  switch (background) {
    case Background::kBlack:
      return;
    case Background::kGrey:
      std::memset(chw, kGreyLevel, 3 * plane);
      return;
    case Background::kNoise: {
      // Independent uniform bytes, 8 per hash: cheap and the same at any thread count.
      Rng rng(hash_combine(image_seed, hash_string("noise")));
      std::size_t i = 0;
      const std::size_t n = 3 * plane;
      while (i < n) {
        std::uint64_t bits = rng.next();
        for (int k = 0; k < 8 && i < n; ++k, ++i, bits >>= 8)
          chw[i] = static_cast<std::uint8_t>(bits);
      }
      return;
    }
    case Background::kImages: {
      // A random square crop (half to all of the shorter side) of a random image.
      Rng rng(hash_combine(image_seed, hash_string("background")));
      const cv::Mat& src = backgrounds[rng.next() % backgrounds.size()];
      const int side_max = std::min(src.cols, src.rows);
      const int side = std::max(1, static_cast<int>(side_max * rng.uniform(0.5, 1.0)));
      const int x = static_cast<int>(rng.next() % static_cast<std::uint64_t>(src.cols - side + 1));
      const int y = static_cast<int>(rng.next() % static_cast<std::uint64_t>(src.rows - side + 1));
      cv::Mat crop;
      cv::resize(src(cv::Rect(x, y, side, side)), crop, cv::Size(size, size), 0, 0,
                 side > size ? cv::INTER_AREA : cv::INTER_LINEAR);
      cv::Mat planes[3] = {cv::Mat(size, size, CV_8UC1, chw),
                           cv::Mat(size, size, CV_8UC1, chw + plane),
                           cv::Mat(size, size, CV_8UC1, chw + 2 * plane)};
      cv::split(crop, planes);
      return;
    }
  }
}

void composite(std::uint8_t* chw, int image_size, const PlanarSprite& sprite, int x, int y,
               bool over_black) {
  const int n = sprite.size;
  const std::size_t plane = static_cast<std::size_t>(image_size) * image_size;
  const std::uint8_t* alpha = sprite.plane(3);
  for (int c = 0; c < 3; ++c) {
    const std::uint8_t* src = sprite.plane(c);
    std::uint8_t* dst = chw + c * plane + static_cast<std::size_t>(y) * image_size + x;
    for (int row = 0; row < n; ++row, src += n, dst += image_size) {
      if (over_black) {
        // Premultiplied colour over black is the colour itself.
        std::memcpy(dst, src, static_cast<std::size_t>(n));
        continue;
      }
      const std::uint8_t* a = alpha + static_cast<std::size_t>(row) * n;
      for (int i = 0; i < n; ++i) {
        const int under = dst[i] * (255 - a[i]);
        dst[i] = static_cast<std::uint8_t>(std::min(255, src[i] + (under + 127) / 255));
      }
    }
  }
}

}  // namespace wmgeom::render
