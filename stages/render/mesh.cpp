#include "render/mesh.h"

#include <cmath>
#include <numbers>
#include <string>

#include <tiny_obj_loader.h>

#include "core/error.h"

namespace wmgeom::render {
namespace {

constexpr float kTwoPi = 2.0f * std::numbers::pi_v<float>;

std::uint32_t add_vertex(Mesh& m, const Vec3& p, const Vec3& n, const Rgb& c) {
  m.positions.push_back(p);
  m.normals.push_back(n.normalized());
  m.colors.push_back(c);
  return static_cast<std::uint32_t>(m.positions.size() - 1);
}

// A flat quad a-b-c-d (counter-clockwise seen from outside) with its own
// vertices, so its normal does not bleed into neighbouring faces.
void add_quad(Mesh& m, const Vec3& a, const Vec3& b, const Vec3& c, const Vec3& d,
              const Rgb& color) {
  Vec3 n = (b - a).cross(c - a);
  if (n.squaredNorm() == 0.0f) n = (c - a).cross(d - a);
  const auto i0 = add_vertex(m, a, n, color);
  const auto i1 = add_vertex(m, b, n, color);
  const auto i2 = add_vertex(m, c, n, color);
  const auto i3 = add_vertex(m, d, n, color);
  m.triangles.push_back({i0, i1, i2});
  m.triangles.push_back({i0, i2, i3});
}

// A flat convex polygon fanned around its centroid.
void add_polygon(Mesh& m, const std::vector<Vec3>& pts, const Vec3& normal, const Rgb& color) {
  Vec3 centre = Vec3::Zero();
  for (const auto& p : pts) centre += p;
  centre /= static_cast<float>(pts.size());
  const auto c = add_vertex(m, centre, normal, color);
  const auto first = static_cast<std::uint32_t>(m.positions.size());
  for (const auto& p : pts) add_vertex(m, p, normal, color);
  const auto n = static_cast<std::uint32_t>(pts.size());
  for (std::uint32_t i = 0; i < n; ++i) {
    m.triangles.push_back({c, first + i, first + (i + 1) % n});
  }
}

}  // namespace

void Mesh::append(const Mesh& other) {
  const auto base = static_cast<std::uint32_t>(positions.size());
  positions.insert(positions.end(), other.positions.begin(), other.positions.end());
  normals.insert(normals.end(), other.normals.begin(), other.normals.end());
  colors.insert(colors.end(), other.colors.begin(), other.colors.end());
  for (const auto& t : other.triangles)
    triangles.push_back({t[0] + base, t[1] + base, t[2] + base});
}

void Mesh::transform(const Eigen::Affine3f& t) {
  const Eigen::Matrix3f normal_matrix = t.linear().inverse().transpose();
  for (auto& p : positions) p = t * p;
  for (auto& n : normals) {
    Vec3 m = normal_matrix * n;
    const float len = m.norm();
    n = len > 0.0f ? Vec3(m / len) : n;
  }
}

void Mesh::set_color(const Rgb& color) {
  for (auto& c : colors) c = color;
}

Mesh make_box(const Vec3& size, const Rgb& color) {
  const Vec3 h = size / 2.0f;
  auto p = [&](float x, float y, float z) { return Vec3(x * h.x(), y * h.y(), z * h.z()); };
  Mesh m;
  add_quad(m, p(-1, -1, 1), p(1, -1, 1), p(1, 1, 1), p(-1, 1, 1), color);      // +z
  add_quad(m, p(1, -1, -1), p(-1, -1, -1), p(-1, 1, -1), p(1, 1, -1), color);  // -z
  add_quad(m, p(1, -1, 1), p(1, -1, -1), p(1, 1, -1), p(1, 1, 1), color);      // +x
  add_quad(m, p(-1, -1, -1), p(-1, -1, 1), p(-1, 1, 1), p(-1, 1, -1), color);  // -x
  add_quad(m, p(-1, 1, 1), p(1, 1, 1), p(1, 1, -1), p(-1, 1, -1), color);      // +y
  add_quad(m, p(-1, -1, -1), p(1, -1, -1), p(1, -1, 1), p(-1, -1, 1), color);  // -y
  return m;
}

Mesh make_frustum(float r_bottom, float r_top, float height, const Rgb& color, bool bottom_cap,
                  bool top_cap) {
  Mesh m;
  // Side normals tilt by the cone's slope so that shading is smooth around.
  const float slope = height > 0.0f ? (r_bottom - r_top) / height : 0.0f;
  for (int i = 0; i <= kSegments; ++i) {
    const float a = kTwoPi * static_cast<float>(i) / kSegments;
    const float c = std::cos(a), s = std::sin(a);
    const Vec3 n(c, slope, s);
    add_vertex(m, Vec3(r_bottom * c, 0.0f, r_bottom * s), n, color);
    add_vertex(m, Vec3(r_top * c, height, r_top * s), n, color);
  }
  for (std::uint32_t i = 0; i < kSegments; ++i) {
    const std::uint32_t b0 = 2 * i, t0 = 2 * i + 1, b1 = 2 * i + 2, t1 = 2 * i + 3;
    m.triangles.push_back({b0, t0, t1});
    m.triangles.push_back({b0, t1, b1});
  }
  auto ring = [&](float r, float y) {
    std::vector<Vec3> pts;
    for (int i = 0; i < kSegments; ++i) {
      const float a = kTwoPi * static_cast<float>(i) / kSegments;
      pts.emplace_back(r * std::cos(a), y, r * std::sin(a));
    }
    return pts;
  };
  if (bottom_cap && r_bottom > 0.0f) add_polygon(m, ring(r_bottom, 0.0f), Vec3(0, -1, 0), color);
  if (top_cap && r_top > 0.0f) add_polygon(m, ring(r_top, height), Vec3(0, 1, 0), color);
  return m;
}

Mesh make_tube(const Vec3& a, const Vec3& b, float radius, const Rgb& color) {
  return make_tube(a, b, radius, radius, color);
}

Mesh make_tube(const Vec3& a, const Vec3& b, float radius_a, float radius_b, const Rgb& color) {
  const Vec3 axis = b - a;
  const float length = axis.norm();
  Mesh m = make_frustum(radius_a, radius_b, length, color);
  if (length > 0.0f) {
    Eigen::Affine3f t = Eigen::Affine3f::Identity();
    t.translate(a);
    t.rotate(Eigen::Quaternionf::FromTwoVectors(Vec3::UnitY(), axis / length));
    m.transform(t);
  }
  return m;
}

Mesh make_ellipsoid(const Vec3& radii, const Rgb& color) {
  constexpr int kRings = kSegments / 2;
  Mesh m;
  for (int r = 0; r <= kRings; ++r) {
    const float phi = std::numbers::pi_v<float> * static_cast<float>(r) / kRings;
    for (int i = 0; i <= kSegments; ++i) {
      const float theta = kTwoPi * static_cast<float>(i) / kSegments;
      const Vec3 u(std::sin(phi) * std::cos(theta), std::cos(phi), std::sin(phi) * std::sin(theta));
      // The normal of an ellipsoid at point p is p / radii^2.
      const Vec3 p = u.cwiseProduct(radii);
      const Vec3 n = u.cwiseQuotient(radii);
      add_vertex(m, p, n.squaredNorm() > 0 ? n : u, color);
    }
  }
  const std::uint32_t w = kSegments + 1;
  for (std::uint32_t r = 0; r < kRings; ++r) {
    for (std::uint32_t i = 0; i < kSegments; ++i) {
      const std::uint32_t a = r * w + i, b = a + 1, c = a + w, d = c + 1;
      if (r != 0) m.triangles.push_back({a, b, d});
      if (r != kRings - 1) m.triangles.push_back({a, d, c});
    }
  }
  return m;
}

Mesh make_torus(float major, float minor, const Rgb& color, float start, float sweep) {
  constexpr int kSides = 12;
  const bool closed = sweep >= kTwoPi - 1e-4f;
  const int steps = std::max(4, static_cast<int>(std::ceil(kSegments * sweep / kTwoPi)));
  Mesh m;
  for (int i = 0; i <= steps; ++i) {
    const float a = start + sweep * static_cast<float>(i) / steps;
    const Vec3 dir(std::cos(a), std::sin(a), 0.0f);
    for (int j = 0; j <= kSides; ++j) {
      const float b = kTwoPi * static_cast<float>(j) / kSides;
      const Vec3 n = dir * std::cos(b) + Vec3::UnitZ() * std::sin(b);
      add_vertex(m, dir * major + n * minor, n, color);
    }
  }
  const std::uint32_t w = kSides + 1;
  for (std::uint32_t i = 0; i < static_cast<std::uint32_t>(steps); ++i) {
    for (std::uint32_t j = 0; j < kSides; ++j) {
      const std::uint32_t a = i * w + j, b = a + 1, c = a + w, d = c + 1;
      m.triangles.push_back({a, c, d});
      m.triangles.push_back({a, d, b});
    }
  }
  if (!closed) {
    // Round the open ends so an arc (a mug handle) does not look hollow.
    const float a0 = start, a1 = start + sweep;
    for (float a : {a0, a1}) {
      Mesh cap = make_ellipsoid(Vec3::Constant(minor), color);
      Eigen::Affine3f t = Eigen::Affine3f::Identity();
      t.translate(Vec3(std::cos(a), std::sin(a), 0.0f) * major);
      cap.transform(t);
      m.append(cap);
    }
  }
  return m;
}

Mesh make_prism(const std::vector<Vec2>& outline, float depth, const Rgb& color, float end_scale) {
  Mesh m;
  const std::size_t n = outline.size();
  std::vector<Vec3> near_pts, far_pts;
  for (const auto& p : outline) {
    near_pts.emplace_back(p.x(), p.y(), 0.0f);
    far_pts.emplace_back(p.x() * end_scale, p.y() * end_scale, depth);
  }
  // Orientation of the outline decides which side is "outside".
  float area2 = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& a = outline[i];
    const auto& b = outline[(i + 1) % n];
    area2 += a.x() * b.y() - b.x() * a.y();
  }
  const bool ccw = area2 > 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t j = (i + 1) % n;
    if (ccw) {
      add_quad(m, near_pts[j], near_pts[i], far_pts[i], far_pts[j], color);
    } else {
      add_quad(m, near_pts[i], near_pts[j], far_pts[j], far_pts[i], color);
    }
  }
  const float dz = depth >= 0.0f ? 1.0f : -1.0f;
  add_polygon(m, near_pts, Vec3(0, 0, -dz), color);
  add_polygon(m, far_pts, Vec3(0, 0, dz), color);
  return m;
}

Bounds bounds(const Mesh& mesh) {
  Bounds b{Vec3::Constant(INFINITY), Vec3::Constant(-INFINITY)};
  for (const auto& p : mesh.positions) {
    b.lo = b.lo.cwiseMin(p);
    b.hi = b.hi.cwiseMax(p);
  }
  return b;
}

double surface_area(const Mesh& mesh) {
  double area = 0.0;
  for (const auto& t : mesh.triangles) {
    const Vec3& a = mesh.positions[t[0]];
    const Vec3& b = mesh.positions[t[1]];
    const Vec3& c = mesh.positions[t[2]];
    area += 0.5 * static_cast<double>((b - a).cross(c - a).norm());
  }
  return area;
}

bool normalise_to_unit_sphere(Mesh& mesh) {
  if (mesh.positions.empty()) return false;
  const Bounds b = bounds(mesh);
  const Vec3 centre = (b.lo + b.hi) / 2.0f;
  float radius = 0.0f;
  for (const auto& p : mesh.positions) radius = std::max(radius, (p - centre).norm());
  if (!(radius > 0.0f) || !std::isfinite(radius)) return false;
  for (auto& p : mesh.positions) p = (p - centre) / radius;
  return true;
}

Mesh load_obj_meshes(const std::vector<std::filesystem::path>& files) {
  constexpr float kDefaultGrey = 0.72f;
  Mesh mesh;
  for (const auto& file : files) {
    const std::string where = file.string();
    tinyobj::ObjReaderConfig config;
    config.triangulate = true;
    config.vertex_color = false;
    tinyobj::ObjReader reader;
    if (!reader.ParseFromFile(where, config)) {
      std::string why = reader.Error();
      while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
      throw InputError(where + ": malformed OBJ mesh: " + (why.empty() ? "unreadable" : why));
    }
    const auto& attrib = reader.GetAttrib();
    const auto& materials = reader.GetMaterials();
    const std::size_t n_vertices = attrib.vertices.size() / 3;
    const std::size_t n_normals = attrib.normals.size() / 3;
    for (float v : attrib.vertices) {
      if (!std::isfinite(v)) {
        throw InputError(where +
                         ": malformed OBJ mesh: a vertex coordinate is not a finite number");
      }
    }
    std::size_t faces = 0;
    for (const auto& shape : reader.GetShapes()) {
      const auto& idx = shape.mesh.indices;
      const auto& fv = shape.mesh.num_face_vertices;
      std::size_t offset = 0;
      for (std::size_t f = 0; f < fv.size(); ++f) {
        const std::size_t count = fv[f];
        if (count != 3 || offset + 3 > idx.size()) {
          throw InputError(where + ": malformed OBJ mesh: face " + std::to_string(faces + 1) +
                           " has " + std::to_string(count) + " vertices after triangulation");
        }
        Vec3 p[3];
        Vec3 n[3];
        bool have_normals = true;
        for (int k = 0; k < 3; ++k) {
          const auto& ix = idx[offset + k];
          if (ix.vertex_index < 0 || static_cast<std::size_t>(ix.vertex_index) >= n_vertices) {
            throw InputError(where + ": malformed OBJ mesh: face " + std::to_string(faces + 1) +
                             " refers to vertex " + std::to_string(ix.vertex_index + 1) +
                             " but the file defines " + std::to_string(n_vertices));
          }
          const float* v = &attrib.vertices[3 * static_cast<std::size_t>(ix.vertex_index)];
          p[k] = Vec3(v[0], v[1], v[2]);
          if (ix.normal_index >= 0 && static_cast<std::size_t>(ix.normal_index) < n_normals) {
            const float* q = &attrib.normals[3 * static_cast<std::size_t>(ix.normal_index)];
            n[k] = Vec3(q[0], q[1], q[2]);
            if (!(n[k].squaredNorm() > 0.0f) || !n[k].allFinite()) have_normals = false;
          } else {
            have_normals = false;
          }
        }
        Rgb color = Rgb::Constant(kDefaultGrey);
        const int mat = f < shape.mesh.material_ids.size() ? shape.mesh.material_ids[f] : -1;
        if (mat >= 0 && static_cast<std::size_t>(mat) < materials.size()) {
          const auto& kd = materials[static_cast<std::size_t>(mat)].diffuse;
          color = Rgb(kd[0], kd[1], kd[2]).cwiseMax(0.0f).cwiseMin(1.0f);
        }
        const Vec3 face_n = (p[1] - p[0]).cross(p[2] - p[0]);
        for (int k = 0; k < 3; ++k) {
          const Vec3 nk = have_normals ? n[k] : face_n;
          add_vertex(mesh, p[k], nk.squaredNorm() > 0.0f ? nk : Vec3::UnitY(), color);
        }
        const auto base = static_cast<std::uint32_t>(mesh.positions.size() - 3);
        mesh.triangles.push_back({base, base + 1, base + 2});
        offset += 3;
        ++faces;
      }
    }
    if (faces == 0) {
      throw InputError(where + ": malformed OBJ mesh: it defines no faces ('f' lines)");
    }
  }
  if (mesh.empty()) throw InputError("no OBJ faces found");
  // Degenerate: every face has (numerically) zero area relative to the mesh's size.
  const Bounds b = bounds(mesh);
  const double extent = static_cast<double>((b.hi - b.lo).norm());
  const double area = surface_area(mesh);
  if (!(extent > 0.0) || !(area > 1e-9 * extent * extent)) {
    throw InputError(files.front().string() +
                     ": degenerate mesh: its faces have no area (all vertices coincide or are "
                     "collinear)");
  }
  return mesh;
}

}  // namespace wmgeom::render
