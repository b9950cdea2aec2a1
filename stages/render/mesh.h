// Triangle meshes for the renderer: the procedural grammars build them from
// parts, OBJ files are loaded into them, and the rasterizer draws them.
// Vertices carry their own normal and colour so that flat parts (boxes) and
// smooth parts (ellipsoids, tori) live in one mesh without a face/vertex split.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <vector>

#include <Eigen/Geometry>

namespace wmgeom::render {

using Vec2 = Eigen::Vector2f;
using Vec3 = Eigen::Vector3f;
using Rgb = Eigen::Vector3f;  // linear RGB in [0, 1]

struct Mesh {
  std::vector<Vec3> positions;
  std::vector<Vec3> normals;  // unit, one per position
  std::vector<Rgb> colors;    // one per position
  std::vector<std::array<std::uint32_t, 3>> triangles;

  bool empty() const { return triangles.empty(); }
  void append(const Mesh& other);
  // Points move by `t`, normals by its inverse transpose (renormalised), so
  // non-uniform scaling keeps shading right.
  void transform(const Eigen::Affine3f& t);
  void set_color(const Rgb& color);
};

// Curved parts use this many segments around their axis: enough for smooth
// silhouettes at the sprite sizes used (<= ~200 px), cheap to rasterise.
inline constexpr int kSegments = 28;

// Primitives, centred on the origin unless stated otherwise; y is up.
Mesh make_box(const Vec3& size, const Rgb& color);
// Frustum along y from y = 0 (radius r_bottom) to y = height (radius r_top);
// r_top = 0 gives a cone. Caps are optional (open shades, tubes).
Mesh make_frustum(float r_bottom, float r_top, float height, const Rgb& color,
                  bool bottom_cap = true, bool top_cap = true);
// Cylinder (or tapered tube) from point a to point b (legs, stems, struts).
Mesh make_tube(const Vec3& a, const Vec3& b, float radius, const Rgb& color);
Mesh make_tube(const Vec3& a, const Vec3& b, float radius_a, float radius_b, const Rgb& color);
Mesh make_ellipsoid(const Vec3& radii, const Rgb& color);
// Torus around the z axis (ring in the xy plane), `sweep` radians of arc
// starting at angle `start` (from +x towards +y); a full ring for 2 pi.
Mesh make_torus(float major, float minor, const Rgb& color, float start = 0.0f,
                float sweep = 6.2831853f);
// A convex outline in the xy plane at z = 0, extruded to z = depth where it
// is scaled by end_scale about the origin (tapered hulls, wings, sails).
Mesh make_prism(const std::vector<Vec2>& outline, float depth, const Rgb& color,
                float end_scale = 1.0f);

struct Bounds {
  Vec3 lo, hi;
};
Bounds bounds(const Mesh& mesh);
double surface_area(const Mesh& mesh);

// Centres the bounding box on the origin and scales so the farthest vertex is
// at distance 1: every object then fits the same camera frustum at every view.
// Returns false (and leaves the mesh) if it has no extent.
bool normalise_to_unit_sphere(Mesh& mesh);

// Loads every OBJ file in `files` into one mesh (colours from the materials'
// diffuse colour, else light grey; normals from the file, else per face).
// Throws wmgeom::InputError naming the file for a malformed, empty or
// degenerate (zero-area) mesh.
Mesh load_obj_meshes(const std::vector<std::filesystem::path>& files);

}  // namespace wmgeom::render
