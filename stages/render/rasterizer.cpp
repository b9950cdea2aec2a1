#include "render/rasterizer.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include <opencv2/imgproc.hpp>

namespace wmgeom::render {
namespace {

constexpr double kDegToRad = std::numbers::pi / 180.0;
constexpr float kEdgeEps = 1e-5f;
// 16 bytes per pixel: up to 16 MiB of scratch stays allocated per thread.
constexpr std::size_t kKeptScratchPixels = std::size_t{1} << 20;

Vec3 direction(double azimuth_deg, double elevation_deg) {
  const double az = azimuth_deg * kDegToRad, el = elevation_deg * kDegToRad;
  return Vec3(static_cast<float>(std::cos(el) * std::sin(az)), static_cast<float>(std::sin(el)),
              static_cast<float>(std::cos(el) * std::cos(az)));
}

struct ScreenVertex {
  float x, y;   // pixel coordinates
  float inv_w;  // 1 / depth, interpolated linearly in screen space
  Vec3 pos;     // camera space (for the view vector)
  Vec3 normal;  // camera space
  Rgb color;
};

float int_pow(float x, int e) {
  float result = 1.0f;
  for (; e > 0; e >>= 1, x *= x) {
    if (e & 1) result *= x;
  }
  return result;
}

struct Scratch {
  std::vector<float> zbuf, bary0, bary1;
  std::vector<std::int32_t> tri_of;
  void reset(std::size_t n) {
    zbuf.assign(n, 0.0f);
    tri_of.assign(n, -1);
    bary0.resize(n);
    bary1.resize(n);
  }
};

}  // namespace

Sprite render_sprite(const Mesh& mesh, const Camera& camera, const Lighting& lighting, int size,
                     int supersample) {
  const int w = size * supersample;
  const double half_fov = 0.5 * camera.fov_deg * kDegToRad;
  // The unit sphere subtends exactly the field of view at this distance; a
  // small margin keeps anti-aliased edges inside the sprite.
  const double distance = 1.0 / std::sin(half_fov) * 1.04;
  const float focal = static_cast<float>(0.5 * w / std::tan(half_fov));
  const float centre = 0.5f * static_cast<float>(w);

  // Camera frame: eye on a sphere, looking at the origin, y up.
  const Vec3 eye =
      direction(camera.azimuth_deg, camera.elevation_deg) * static_cast<float>(distance);
  const Vec3 forward = (-eye).normalized();
  Vec3 right = forward.cross(Vec3::UnitY());
  if (right.squaredNorm() < 1e-12f) right = Vec3::UnitX();  // looking straight down or up
  right.normalize();
  const Vec3 up = right.cross(forward);
  Eigen::Matrix3f rot;
  rot.row(0) = right;
  rot.row(1) = up;
  rot.row(2) = -forward;  // camera looks down -z

  const Vec3 light = direction(lighting.azimuth_deg, lighting.elevation_deg);  // camera space
  const float ambient = static_cast<float>(lighting.ambient);
  const float diffuse = static_cast<float>(lighting.diffuse);
  const float specular = static_cast<float>(lighting.specular);
  const int shininess = std::max(1, lighting.shininess);

  std::vector<ScreenVertex> sv(mesh.positions.size());
  for (std::size_t i = 0; i < sv.size(); ++i) {
    const Vec3 p = rot * (mesh.positions[i] - eye);
    const float depth = -p.z();  // > 0: the object lies within the unit sphere
    sv[i] = {centre + focal * p.x() / depth,
             centre - focal * p.y() / depth,
             1.0f / depth,
             p,
             rot * mesh.normals[i],
             mesh.colors[i]};
  }

  // Deferred shading: pass 1 keeps, per pixel, the nearest triangle and its
  // barycentrics; pass 2 shades each visible pixel once, so overdraw costs
  // only a depth test.
  const std::size_t npix = static_cast<std::size_t>(w) * w;
  // Per-thread scratch, reset on every call: avoids page-faulting fresh
  // megabytes for each sprite. Contents never carry over between calls.
  // Huge rasters get their own buffers so no thread keeps them afterwards.
  thread_local Scratch kept;
  Scratch own;
  Scratch& scratch = npix <= kKeptScratchPixels ? kept : own;
  scratch.reset(npix);
  float* zbuf = scratch.zbuf.data();  // 1/depth; 0 = empty
  std::int32_t* tri_of = scratch.tri_of.data();
  float* bary0 = scratch.bary0.data();
  float* bary1 = scratch.bary1.data();

  for (std::size_t t = 0; t < mesh.triangles.size(); ++t) {
    const auto& tri = mesh.triangles[t];
    const ScreenVertex& a = sv[tri[0]];
    const ScreenVertex& b = sv[tri[1]];
    const ScreenVertex& c = sv[tri[2]];
    const float area = (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
    if (std::fabs(area) < 1e-8f) continue;
    const int x0 = std::max(0, static_cast<int>(std::floor(std::min({a.x, b.x, c.x}))));
    const int x1 = std::min(w - 1, static_cast<int>(std::ceil(std::max({a.x, b.x, c.x}))));
    const int y0 = std::max(0, static_cast<int>(std::floor(std::min({a.y, b.y, c.y}))));
    const int y1 = std::min(w - 1, static_cast<int>(std::ceil(std::max({a.y, b.y, c.y}))));
    if (x0 > x1 || y0 > y1) continue;
    const float inv_area = 1.0f / area;
    // Barycentrics as edge functions l_i(x, y) = A_i x + B_i y + C_i, scaled
    // so that inside pixels have all three >= 0 whatever the winding.
    const float ea[3] = {(b.y - c.y) * inv_area, (c.y - a.y) * inv_area, (a.y - b.y) * inv_area};
    const float eb[3] = {(c.x - b.x) * inv_area, (a.x - c.x) * inv_area, (b.x - a.x) * inv_area};
    const float ec[3] = {(b.x * c.y - c.x * b.y) * inv_area, (c.x * a.y - a.x * c.y) * inv_area,
                         (a.x * b.y - b.x * a.y) * inv_area};
    float inv_ea[3];
    for (int i = 0; i < 3; ++i) inv_ea[i] = ea[i] != 0.0f ? 1.0f / ea[i] : 0.0f;
    for (int y = y0; y <= y1; ++y) {
      const float py = static_cast<float>(y) + 0.5f;
      // The row's span where every l_i >= 0, widened by a pixel; the exact
      // test below decides, so the span only saves work on thin triangles.
      float lo = static_cast<float>(x0), hi = static_cast<float>(x1);
      for (int i = 0; i < 3; ++i) {
        const float cross = (-kEdgeEps - eb[i] * py - ec[i]) * inv_ea[i] - 0.5f;
        if (ea[i] > 0.0f) {
          lo = std::max(lo, cross - 1.0f);
        } else if (ea[i] < 0.0f) {
          hi = std::min(hi, cross + 1.0f);
        }
      }
      if (!(lo <= hi)) continue;
      // 0 <= lo <= hi here, so truncation is floor (std::floor is a libm
      // call on baseline x86-64 and showed up in profiles).
      const int xs = static_cast<int>(lo);
      const int xe = std::min(x1, static_cast<int>(hi) + 1);
      const std::size_t row = static_cast<std::size_t>(y) * w;
      for (int x = xs; x <= xe; ++x) {
        const float px = static_cast<float>(x) + 0.5f;
        const float l0 = ea[0] * px + eb[0] * py + ec[0];
        const float l1 = ea[1] * px + eb[1] * py + ec[1];
        const float l2 = 1.0f - l0 - l1;
        // A tiny tolerance closes cracks along shared edges from rounding.
        if (l0 < -kEdgeEps || l1 < -kEdgeEps || l2 < -kEdgeEps) continue;
        const float inv_w = l0 * a.inv_w + l1 * b.inv_w + l2 * c.inv_w;
        if (inv_w <= zbuf[row + x]) continue;
        zbuf[row + x] = inv_w;
        tri_of[row + x] = static_cast<std::int32_t>(t);
        bary0[row + x] = l0;
        bary1[row + x] = l1;
      }
    }
  }

  cv::Mat rgb_ss(w, w, CV_8UC3, cv::Scalar::all(0));
  cv::Mat alpha_ss(w, w, CV_8UC1, cv::Scalar::all(0));
  for (int y = 0; y < w; ++y) {
    auto* out = rgb_ss.ptr<cv::Vec3b>(y);
    auto* mask = alpha_ss.ptr<std::uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * w + x;
      if (tri_of[i] < 0) continue;
      const auto& tri = mesh.triangles[static_cast<std::size_t>(tri_of[i])];
      const ScreenVertex& a = sv[tri[0]];
      const ScreenVertex& b = sv[tri[1]];
      const ScreenVertex& c = sv[tri[2]];
      const float l0 = bary0[i], l1 = bary1[i], l2 = 1.0f - l0 - l1;
      // Perspective-correct weights.
      const float q0 = l0 * a.inv_w, q1 = l1 * b.inv_w, q2 = l2 * c.inv_w;
      const float s = 1.0f / (q0 + q1 + q2);
      const Vec3 pos = (a.pos * q0 + b.pos * q1 + c.pos * q2) * s;
      Vec3 n = (a.normal * q0 + b.normal * q1 + c.normal * q2);
      const float len2 = n.squaredNorm();
      n = len2 > 0.0f ? Vec3(n / std::sqrt(len2)) : Vec3(0, 0, 1);
      const Vec3 view = (-pos).normalized();
      // Two-sided: open meshes (OBJ files, shades) show their inside too.
      if (n.dot(view) < 0.0f) n = -n;
      const float ndl = std::max(0.0f, n.dot(light));
      float spec = 0.0f;
      if (specular > 0.0f && ndl > 0.0f) {
        const Vec3 h = (light + view).normalized();
        spec = specular * int_pow(std::max(0.0f, n.dot(h)), shininess);
      }
      const Rgb albedo = (a.color * q0 + b.color * q1 + c.color * q2) * s;
      const Rgb col = albedo * (ambient + diffuse * ndl) + Rgb::Constant(spec);
      // Colours are RGB; byte order in the Mat is R, G, B (not OpenCV's BGR).
      for (int k = 0; k < 3; ++k) {
        out[x][k] = static_cast<std::uint8_t>(std::clamp(col[k], 0.0f, 1.0f) * 255.0f + 0.5f);
      }
      mask[x] = 255;
    }
  }

  Sprite sprite;
  if (supersample == 1) {
    sprite.rgb = rgb_ss;
    sprite.alpha = alpha_ss;
  } else {
    cv::resize(rgb_ss, sprite.rgb, cv::Size(size, size), 0, 0, cv::INTER_AREA);
    cv::resize(alpha_ss, sprite.alpha, cv::Size(size, size), 0, 0, cv::INTER_AREA);
  }
  return sprite;
}

}  // namespace wmgeom::render
