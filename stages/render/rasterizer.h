// A small deterministic software rasterizer: perspective camera on a sphere
// around the object, z-buffer, per-vertex normals interpolated per pixel,
// ambient + directional (+ a little specular) light, supersampled and reduced
// with cv::resize(INTER_AREA) for anti-aliasing. It draws one object into a
// square "sprite" that the stage then composites into location cells.
//
// Thread-safety: render_sprite touches only its arguments; call it from many
// threads at once. Results are bit-identical for the same inputs.
#pragma once

#include <opencv2/core.hpp>

#include "render/mesh.h"

namespace wmgeom::render {

struct Camera {
  double azimuth_deg = 0.0;     // rotation about the object's up (y) axis; 0 = looking at +z face
  double elevation_deg = 20.0;  // above the horizontal plane
  double fov_deg = 30.0;        // full vertical field of view
};

struct Lighting {
  // Directional light fixed relative to the camera (from the upper left), so
  // the visible side of an object is lit at every view.
  double azimuth_deg = -40.0;
  double elevation_deg = 45.0;
  double ambient = 0.35;
  double diffuse = 0.75;
  double specular = 0.15;
  int shininess = 24;  // Blinn-Phong exponent (an integer: powered by squaring, cheaply)
  bool operator==(const Lighting&) const = default;
};

// rgb: CV_8UC3 in RGB order, premultiplied by coverage (the object on black);
// alpha: CV_8UC1 coverage. Both size x size.
struct Sprite {
  cv::Mat rgb;
  cv::Mat alpha;
};

// Draws `mesh` (normalised to the unit sphere) so that the unit sphere just
// fits the sprite at any view: the object's scale does not change with view.
// The scene is rendered at size * supersample pixels and reduced by area.
Sprite render_sprite(const Mesh& mesh, const Camera& camera, const Lighting& lighting, int size,
                     int supersample);

}  // namespace wmgeom::render
