#include "render/grammars.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>
#include <stdexcept>

#include "render/rng.h"

namespace wmgeom::render {
namespace {

constexpr float kPi = std::numbers::pi_v<float>;

// Units are arbitrary (roughly "a chair seat is 1 wide"); every object is
// normalised to the unit sphere afterwards. Axes: y up, objects face +z or +x.

Rgb hsv(double h_deg, double s, double v) {
  const double h = std::fmod(std::fmod(h_deg, 360.0) + 360.0, 360.0) / 60.0;
  const double c = v * s;
  const double x = c * (1.0 - std::fabs(std::fmod(h, 2.0) - 1.0));
  double r = 0, g = 0, b = 0;
  switch (static_cast<int>(h)) {
    case 0:
      r = c, g = x;
      break;
    case 1:
      r = x, g = c;
      break;
    case 2:
      g = c, b = x;
      break;
    case 3:
      g = x, b = c;
      break;
    case 4:
      r = x, b = c;
      break;
    default:
      r = c, b = x;
      break;
  }
  const double m = v - c;
  return Rgb(static_cast<float>(r + m), static_cast<float>(g + m), static_cast<float>(b + m));
}

Rgb grey(double v) { return Rgb::Constant(static_cast<float>(v)); }

// Draws hue, saturation and value in that order. (Never pass several draws as
// arguments of one call: their order is unspecified, so another compiler
// would give other colours.)
struct Range {
  double lo, hi;
};
Rgb hsv_draw(Rng& c, Range h, Range s, Range v) {
  const double hh = c.uniform(h.lo, h.hi);
  const double ss = c.uniform(s.lo, s.hi);
  const double vv = c.uniform(v.lo, v.hi);
  return hsv(hh, ss, vv);
}

// Common colour families.
Rgb wood(Rng& c) { return hsv_draw(c, {18, 38}, {0.45, 0.75}, {0.35, 0.75}); }
Rgb paint(Rng& c) { return hsv_draw(c, {0, 360}, {0.55, 0.9}, {0.5, 0.9}); }
Rgb pastel(Rng& c) { return hsv_draw(c, {0, 360}, {0.2, 0.5}, {0.8, 0.95}); }
Rgb metal(Rng& c) {
  return c.chance(0.3) ? hsv_draw(c, {38, 50}, {0.45, 0.65}, {0.55, 0.8})
                       : grey(c.uniform(0.25, 0.8));
}

// Collects parts: each added part is moved into place by a transform.
class Parts {
 public:
  void add(Mesh part) { mesh_.append(part); }
  void add(Mesh part, const Vec3& at) {
    Eigen::Affine3f t = Eigen::Affine3f::Identity();
    t.translate(at);
    part.transform(t);
    mesh_.append(part);
  }
  void add(Mesh part, const Eigen::Affine3f& t) {
    part.transform(t);
    mesh_.append(part);
  }
  Mesh take() { return std::move(mesh_); }

 private:
  Mesh mesh_;
};

Eigen::Affine3f translation(const Vec3& at) {
  Eigen::Affine3f t = Eigen::Affine3f::Identity();
  t.translate(at);
  return t;
}

Eigen::Affine3f rotation(float radians, const Vec3& axis) {
  Eigen::Affine3f t = Eigen::Affine3f::Identity();
  t.rotate(Eigen::AngleAxisf(radians, axis));
  return t;
}

// A box whose min corner is `lo` and max corner `hi` (legs, rails, panels).
Mesh box_between(const Vec3& lo, const Vec3& hi, const Rgb& color) {
  Mesh m = make_box(hi - lo, color);
  m.transform(translation((lo + hi) / 2.0f));
  return m;
}

// ---------------------------------------------------------------- chair
// Four legs, a seat, a backrest (panel, vertical slats or horizontal rails),
// sometimes arms and stretchers. Faces +z.
Mesh chair(Rng& r, Rng& c) {
  const float w = r.uniformf(0.85, 1.15), d = r.uniformf(0.8, 1.0);
  const float seat_t = r.uniformf(0.07, 0.14), seat_h = r.uniformf(0.8, 1.0);
  const float leg = r.uniformf(0.06, 0.11), inset = r.uniformf(0.0, 0.06);
  const bool round_legs = r.chance(0.4);
  const float back_h = r.uniformf(0.85, 1.25), back_t = r.uniformf(0.05, 0.09);
  const float tilt = r.uniformf(0.0, 0.24);
  const int back_style = r.range(0, 2);
  const int slats = r.range(3, 5);
  const int rails = r.range(2, 3);
  const bool arms = r.chance(0.3);
  const float arm_h = r.uniformf(0.25, 0.35);
  const bool stretchers = r.chance(0.35);

  const Rgb frame = c.chance(0.6) ? wood(c) : paint(c);
  const Rgb seat_color = c.chance(0.5) ? frame : paint(c);

  Parts p;
  const float leg_top = seat_h - seat_t / 2;
  const float lx = w / 2 - leg / 2 - inset, lz = d / 2 - leg / 2 - inset;
  for (float sx : {-1.0f, 1.0f}) {
    for (float sz : {-1.0f, 1.0f}) {
      const Vec3 base(sx * lx, 0.0f, sz * lz);
      if (round_legs) {
        p.add(make_tube(base, base + Vec3(0, leg_top, 0), leg / 2, frame));
      } else {
        p.add(box_between(base - Vec3(leg / 2, 0, leg / 2), base + Vec3(leg / 2, leg_top, leg / 2),
                          frame));
      }
    }
  }
  if (stretchers) {
    const float y = leg_top * 0.3f, t = leg * 0.5f;
    for (float sx : {-1.0f, 1.0f}) {
      p.add(box_between(Vec3(sx * lx - t / 2, y - t / 2, -lz), Vec3(sx * lx + t / 2, y + t / 2, lz),
                        frame));
    }
  }
  p.add(make_box(Vec3(w, seat_t, d), seat_color), Vec3(0, seat_h, 0));

  // The back is built upright around its bottom edge, then leaned back.
  Parts back;
  const float bx = w / 2 - leg / 2 - inset;
  if (back_style == 0) {
    back.add(box_between(Vec3(-w / 2 + inset, 0, -back_t / 2),
                         Vec3(w / 2 - inset, back_h, back_t / 2), seat_color));
  } else {
    for (float sx : {-1.0f, 1.0f}) {
      back.add(box_between(Vec3(sx * bx - leg / 2, 0, -leg / 2),
                           Vec3(sx * bx + leg / 2, back_h, leg / 2), frame));
    }
    const float rail_h = back_style == 1 ? back_h * 0.18f : back_h * 0.1f;
    back.add(
        box_between(Vec3(-bx, back_h - rail_h, -back_t / 2), Vec3(bx, back_h, back_t / 2), frame));
    if (back_style == 1) {
      for (int i = 0; i < slats; ++i) {
        const float x = -bx + 2 * bx * static_cast<float>(i + 1) / static_cast<float>(slats + 1);
        back.add(box_between(Vec3(x - leg * 0.3f, 0, -back_t * 0.3f),
                             Vec3(x + leg * 0.3f, back_h - rail_h, back_t * 0.3f), frame));
      }
    } else {
      for (int i = 1; i < rails; ++i) {
        const float y = (back_h - rail_h) * static_cast<float>(i) / static_cast<float>(rails);
        back.add(box_between(Vec3(-bx, y, -back_t / 2), Vec3(bx, y + rail_h, back_t / 2), frame));
      }
    }
  }
  p.add(back.take(), translation(Vec3(0, seat_h + seat_t / 2, -d / 2 + back_t / 2)) *
                         rotation(-tilt, Vec3::UnitX()));

  if (arms) {
    const float y = seat_h + seat_t / 2 + arm_h;
    for (float sx : {-1.0f, 1.0f}) {
      const float x = sx * (w / 2 - leg / 2);
      p.add(box_between(Vec3(x - leg * 0.7f, y, -d / 2),
                        Vec3(x + leg * 0.7f, y + leg * 0.7f, d / 2), frame));
      p.add(box_between(Vec3(x - leg / 2, seat_h, d / 2 - leg * 1.5f),
                        Vec3(x + leg / 2, y, d / 2 - leg * 0.5f), frame));
    }
  }
  return p.take();
}

// ---------------------------------------------------------------- car
// Side profile extruded across the width, a glass cabin with a roof, four
// wheels, head- and tail-lights. Faces +x.
Mesh car(Rng& r, Rng& c) {
  const float len = r.uniformf(2.1, 2.6), wid = r.uniformf(0.95, 1.1);
  const float clear = r.uniformf(0.1, 0.16), body_h = r.uniformf(0.34, 0.46);
  const float nose = r.uniformf(0.1, 0.3), tail = r.uniformf(0.05, 0.2);
  const int style = r.range(0, 2);  // sedan, hatchback, pickup
  const float cab_h = r.uniformf(0.3, 0.42);
  const float wheel_r = r.uniformf(0.19, 0.25), wheel_w = r.uniformf(0.14, 0.2);
  const float axle = len / 2 - r.uniformf(0.35, 0.5);

  const Rgb body = c.chance(0.25)
                       ? grey(c.chance(0.5) ? c.uniform(0.75, 0.92) : c.uniform(0.12, 0.3))
                       : paint(c);
  const Rgb glass(0.13f, 0.16f, 0.22f);
  const Rgb tyre = grey(0.08), hub = grey(0.7);

  Parts p;
  const float top = clear + body_h;
  const std::vector<Vec2> profile = {
      {-len / 2, clear},     {len / 2, clear},       {len / 2, clear + body_h * 0.6f},
      {len / 2 - nose, top}, {-len / 2 + tail, top}, {-len / 2, clear + body_h * 0.75f}};
  p.add(make_prism(profile, wid, body), Vec3(0, 0, -wid / 2));

  float rear = 0, front = 0, front_slope = r.uniformf(0.22, 0.36), rear_slope = 0;
  switch (style) {
    case 0:
      rear = -len * 0.3f, front = len * 0.16f, rear_slope = r.uniformf(0.15, 0.3);
      break;
    case 1:
      rear = -len * 0.47f, front = len * 0.13f, rear_slope = r.uniformf(0.05, 0.12);
      break;
    default:
      rear = -len * 0.12f, front = len * 0.2f, rear_slope = 0.05f;
      break;
  }
  const float cab_w = wid * 0.86f;
  const std::vector<Vec2> cabin = {{rear, top},
                                   {front, top},
                                   {front - front_slope, top + cab_h},
                                   {rear + rear_slope, top + cab_h}};
  p.add(make_prism(cabin, cab_w, glass), Vec3(0, 0, -cab_w / 2));
  const float roof_len = (front - front_slope) - (rear + rear_slope);
  p.add(make_box(Vec3(roof_len + 0.02f, 0.04f, cab_w + 0.02f), body),
        Vec3(rear + rear_slope + roof_len / 2, top + cab_h, 0));
  if (style == 2) {
    // The pickup's bed: low walls behind the cabin.
    const float wall = 0.05f, wall_h = 0.16f;
    for (float sz : {-1.0f, 1.0f}) {
      p.add(box_between(Vec3(-len / 2 + tail, top, sz * wid / 2 - wall / 2 - sz * wall / 2),
                        Vec3(rear, top + wall_h, sz * wid / 2 + wall / 2 - sz * wall / 2), body));
    }
  }

  for (float sx : {-1.0f, 1.0f}) {
    for (float sz : {-1.0f, 1.0f}) {
      const Vec3 centre(sx * axle, wheel_r, sz * (wid / 2 - wheel_w / 2 + 0.03f));
      const Eigen::Affine3f t = translation(centre) * rotation(kPi / 2, Vec3::UnitX());
      Mesh wheel = make_frustum(wheel_r, wheel_r, wheel_w, tyre);
      wheel.transform(translation(Vec3(0, -wheel_w / 2, 0)));
      p.add(wheel, t);
      Mesh cap = make_frustum(wheel_r * 0.55f, wheel_r * 0.55f, wheel_w + 0.02f, hub);
      cap.transform(translation(Vec3(0, -(wheel_w + 0.02f) / 2, 0)));
      p.add(cap, t);
    }
  }
  for (float sz : {-1.0f, 1.0f}) {
    const float y = clear + body_h * 0.45f, z = sz * wid * 0.33f;
    p.add(make_box(Vec3(0.04f, 0.08f, 0.18f), Rgb(1.0f, 0.95f, 0.75f)), Vec3(len / 2, y, z));
    p.add(make_box(Vec3(0.04f, 0.08f, 0.18f), Rgb(0.8f, 0.08f, 0.06f)), Vec3(-len / 2, y, z));
  }
  return p.take();
}

// ---------------------------------------------------------------- airplane
// Fuselage with nose and raised tail cone, swept wings, tailplane, fin and
// optional engines. Nose towards +x.
Mesh airplane(Rng& r, Rng& c) {
  const float len = r.uniformf(3.0, 3.8), rad = r.uniformf(0.15, 0.23);
  const float span = r.uniformf(2.6, 3.4), chord = r.uniformf(0.45, 0.7);
  const float taper = r.uniformf(0.3, 0.5), sweep = r.uniformf(0.1, 0.55);
  const float wing_x = r.uniformf(-0.05, 0.12) * len, wing_y = -rad * r.uniformf(0.2, 0.6);
  const float tail_span = span * r.uniformf(0.3, 0.4), fin_h = r.uniformf(0.45, 0.7);
  const float fin_chord = r.uniformf(0.4, 0.6);
  const float u = static_cast<float>(r.uniform());
  const int engines = u < 0.25f ? 0 : (u < 0.8f ? 2 : 4);
  const float eng_r = r.uniformf(0.07, 0.11), eng_len = r.uniformf(0.4, 0.55);

  const Rgb skin = hsv_draw(c, {0, 360}, {0.0, 0.08}, {0.8, 0.95});
  const Rgb accent = paint(c);
  const Rgb wing_color = c.chance(0.3) ? accent : skin;

  Parts p;
  const float x_tail = -len * 0.3f, x_nose = len * 0.32f;
  p.add(make_tube(Vec3(x_tail, 0, 0), Vec3(x_nose, 0, 0), rad, skin));
  p.add(make_ellipsoid(Vec3(len * 0.13f, rad, rad), skin), Vec3(x_nose, 0, 0));
  const Vec3 tail_end(-len * 0.5f, rad * 0.55f, 0);
  p.add(make_tube(Vec3(x_tail, 0, 0), tail_end, rad, rad * 0.3f, skin));
  p.add(make_ellipsoid(Vec3::Constant(rad * 0.3f), skin), tail_end);

  // A trapezoid wing in (x, span) extruded thinly; mirrored for the other side.
  auto wing = [&](float root_chord, float half_span, float x_mid, float y, float thick,
                  const Rgb& color) {
    const float tip_chord = root_chord * taper;
    const float lead_root = x_mid + root_chord / 2, lead_tip = lead_root - sweep * half_span / 1.5f;
    for (float side : {-1.0f, 1.0f}) {
      const std::vector<Vec2> outline = {{lead_root - root_chord, 0.0f},
                                         {lead_root, 0.0f},
                                         {lead_tip, side * half_span},
                                         {lead_tip - tip_chord, side * half_span}};
      // Local (x, y, z) -> world (x, z, -y): the outline lies flat, thickness goes down.
      p.add(make_prism(outline, thick, color),
            translation(Vec3(0, y + thick / 2, 0)) * rotation(kPi / 2, Vec3::UnitX()));
    }
    return lead_root;
  };
  const float lead_root = wing(chord, span / 2, wing_x, wing_y, 0.05f, wing_color);
  wing(chord * 0.55f, tail_span / 2, -len * 0.43f, rad * 0.2f, 0.035f, wing_color);

  const float fin_root = -len * 0.5f;
  const std::vector<Vec2> fin = {{fin_root, rad * 0.3f},
                                 {fin_root + fin_chord, rad * 0.3f},
                                 {fin_root + fin_chord * 0.35f, rad * 0.3f + fin_h},
                                 {fin_root + fin_chord * 0.05f, rad * 0.3f + fin_h}};
  p.add(make_prism(fin, 0.04f, accent), Vec3(0, 0, -0.02f));

  for (int i = 0; i < engines; ++i) {
    const float side = i % 2 == 0 ? 1.0f : -1.0f;
    const float frac = engines == 2 ? 0.38f : (i < 2 ? 0.3f : 0.62f);
    const float z = side * frac * span / 2;
    const float x = lead_root - sweep * std::fabs(z) / 1.5f + eng_len * 0.35f;
    const float y = wing_y - eng_r - 0.02f;
    p.add(make_tube(Vec3(x - eng_len, y, z), Vec3(x, y, z), eng_r * 0.85f, eng_r, accent));
  }
  return p.take();
}

// ---------------------------------------------------------------- lamp
// Base, stem, open shade with a bulb inside; sometimes a finial on top.
Mesh lamp(Rng& r, Rng& c) {
  const bool round_base = r.chance(0.65);
  const float base_r = r.uniformf(0.3, 0.45), base_h = r.uniformf(0.06, 0.14);
  const float stem_h = r.uniformf(1.1, 1.7), stem_r = r.uniformf(0.025, 0.045);
  const bool knob = r.chance(0.35);
  const float shade_rb = r.uniformf(0.35, 0.55), shade_rt = shade_rb * r.uniformf(0.45, 0.8);
  const float shade_h = r.uniformf(0.35, 0.6), shade_drop = shade_h * r.uniformf(0.2, 0.45);
  const bool finial = r.chance(0.4);

  const Rgb base_color = metal(c);
  const Rgb shade_color =
      c.chance(0.5) ? hsv_draw(c, {45, 45}, {0.08, 0.2}, {0.88, 0.97}) : pastel(c);

  Parts p;
  if (round_base) {
    p.add(make_frustum(base_r, base_r * 0.75f, base_h, base_color));
  } else {
    p.add(make_box(Vec3(base_r * 1.6f, base_h, base_r * 1.6f), base_color), Vec3(0, base_h / 2, 0));
  }
  p.add(make_tube(Vec3(0, base_h, 0), Vec3(0, stem_h, 0), stem_r, base_color));
  if (knob)
    p.add(make_ellipsoid(Vec3(stem_r * 3, stem_r * 2.5f, stem_r * 3), base_color),
          Vec3(0, stem_h * 0.5f, 0));
  p.add(make_ellipsoid(Vec3(0.09f, 0.12f, 0.09f), Rgb(1.0f, 0.97f, 0.8f)), Vec3(0, stem_h, 0));
  const float shade_y = stem_h - shade_drop;
  p.add(make_frustum(shade_rb, shade_rt, shade_h, shade_color, false, false), Vec3(0, shade_y, 0));
  if (finial)
    p.add(make_ellipsoid(Vec3::Constant(0.04f), base_color), Vec3(0, shade_y + shade_h + 0.04f, 0));
  return p.take();
}

// ---------------------------------------------------------------- mug
// Open tapered body with a rim, something inside, a handle on +x.
Mesh mug(Rng& r, Rng& c) {
  const float rad = r.uniformf(0.38, 0.5), h = r.uniformf(0.8, 1.15);
  const float rb = rad * r.uniformf(0.82, 1.0);
  const float handle_r = h * r.uniformf(0.22, 0.3), handle_t = r.uniformf(0.045, 0.075);
  const float fill = r.uniformf(0.55, 0.85);

  const Rgb body =
      c.chance(0.25) ? hsv(40, 0.04, 0.92) : hsv_draw(c, {0, 360}, {0.35, 0.9}, {0.55, 0.95});
  const Rgb inside = c.chance(0.5) ? hsv(25, 0.7, 0.25) : Rgb(body * 0.8f);

  Parts p;
  p.add(make_frustum(rb, rad, h, body, true, false));
  p.add(make_torus(rad, 0.025f, body),
        translation(Vec3(0, h, 0)) * rotation(kPi / 2, Vec3::UnitX()));
  const float inner_r = rb + (rad - rb) * fill;
  p.add(make_frustum(inner_r * 0.98f, inner_r * 0.98f, 0.001f, inside, false, true),
        Vec3(0, h * fill, 0));
  const float cx = rad + handle_r * 0.25f;
  p.add(make_torus(handle_r, handle_t, body, -0.62f * kPi, 1.24f * kPi), Vec3(cx, h * 0.52f, 0));
  return p.take();
}

// ---------------------------------------------------------------- table
// A rectangular top on four legs, maybe an apron and a lower shelf. (Round
// pedestal tables were tried: their silhouettes differ from rectangular ones
// more than a mug's does, which made the category incoherent.)
Mesh table(Rng& r, Rng& c) {
  const float h = r.uniformf(0.9, 1.1), top_t = r.uniformf(0.05, 0.1);
  const float w = r.uniformf(1.8, 2.2), d = r.uniformf(1.0, 1.25);
  const float leg = r.uniformf(0.07, 0.14), inset = r.uniformf(0.03, 0.15);
  const bool round_legs = r.chance(0.4);
  const bool apron = r.chance(0.6), shelf = r.chance(0.3);
  const float apron_h = r.uniformf(0.1, 0.18), shelf_y = r.uniformf(0.2, 0.35);

  const Rgb top_color = c.chance(0.75) ? wood(c) : paint(c);
  const Rgb leg_color = c.chance(0.3) ? grey(c.uniform(0.15, 0.4)) : top_color;

  Parts p;
  const float under = h - top_t;
  p.add(make_box(Vec3(w, top_t, d), top_color), Vec3(0, h - top_t / 2, 0));
  const float lx = w / 2 - leg / 2 - inset, lz = d / 2 - leg / 2 - inset;
  for (float sx : {-1.0f, 1.0f}) {
    for (float sz : {-1.0f, 1.0f}) {
      const float x = sx * lx, z = sz * lz;
      if (round_legs) {
        p.add(make_tube(Vec3(x, 0, z), Vec3(x, under, z), leg / 2, leg_color));
      } else {
        p.add(box_between(Vec3(x - leg / 2, 0, z - leg / 2), Vec3(x + leg / 2, under, z + leg / 2),
                          leg_color));
      }
    }
  }
  if (apron) {
    const float t = 0.04f;
    for (float s : {-1.0f, 1.0f}) {
      p.add(box_between(Vec3(-lx, under - apron_h, s * lz - t / 2), Vec3(lx, under, s * lz + t / 2),
                        top_color));
      p.add(box_between(Vec3(s * lx - t / 2, under - apron_h, -lz), Vec3(s * lx + t / 2, under, lz),
                        top_color));
    }
  }
  if (shelf) p.add(box_between(Vec3(-lx, shelf_y, -lz), Vec3(lx, shelf_y + 0.04f, lz), top_color));
  return p.take();
}

// ---------------------------------------------------------------- bottle
// Body, shoulder, neck with a lip, maybe a cap and a label.
Mesh bottle(Rng& r, Rng& c) {
  const float rad = r.uniformf(0.28, 0.4), body_h = r.uniformf(1.0, 1.5);
  const float shoulder_h = r.uniformf(0.2, 0.45), neck_r = r.uniformf(0.08, 0.13);
  const float neck_h = r.uniformf(0.3, 0.55);
  const bool cap = r.chance(0.6), label = r.chance(0.6);
  const float label_y = body_h * r.uniformf(0.2, 0.35), label_h = body_h * r.uniformf(0.3, 0.5);

  const int kind = c.range(0, 3);
  const Rgb glass = kind == 0   ? hsv_draw(c, {100, 150}, {0.6, 0.8}, {0.3, 0.6})
                    : kind == 1 ? hsv_draw(c, {22, 34}, {0.65, 0.8}, {0.3, 0.5})
                    : kind == 2 ? hsv_draw(c, {195, 220}, {0.5, 0.75}, {0.45, 0.7})
                                : hsv_draw(c, {180, 180}, {0.05, 0.15}, {0.75, 0.9});
  const Rgb label_color = c.chance(0.5) ? hsv(45, 0.15, 0.93) : paint(c);
  const Rgb cap_color = paint(c);

  Parts p;
  p.add(make_frustum(rad, rad, body_h, glass, true, false));
  p.add(make_frustum(rad, neck_r, shoulder_h, glass, false, false), Vec3(0, body_h, 0));
  const float neck_y = body_h + shoulder_h;
  p.add(make_frustum(neck_r, neck_r, neck_h, glass, false, !cap), Vec3(0, neck_y, 0));
  const float top = neck_y + neck_h;
  p.add(make_torus(neck_r, 0.022f, glass),
        translation(Vec3(0, top - 0.02f, 0)) * rotation(kPi / 2, Vec3::UnitX()));
  if (cap)
    p.add(make_frustum(neck_r * 1.15f, neck_r * 1.15f, 0.12f, cap_color), Vec3(0, top - 0.05f, 0));
  if (label)
    p.add(make_frustum(rad * 1.01f, rad * 1.01f, label_h, label_color, false, false),
          Vec3(0, label_y, 0));
  return p.take();
}

// ---------------------------------------------------------------- boat
// A sailing boat: tapered hull with a pointed bow (+x), deck, cabin, mast,
// mainsail and sometimes a jib.
Mesh boat(Rng& r, Rng& c) {
  const float len = r.uniformf(2.2, 2.8), beam = r.uniformf(0.6, 0.85),
              depth = r.uniformf(0.28, 0.4);
  const float keel = r.uniformf(0.45, 0.6);
  const bool cabin = r.chance(0.7);
  const float cab_len = r.uniformf(0.5, 0.8), cab_h = r.uniformf(0.12, 0.2),
              cab_x = r.uniformf(-0.3, 0.0) * len;
  const float mast_x = r.uniformf(0.0, 0.15) * len, mast_h = r.uniformf(2.0, 2.8);
  const float boom = r.uniformf(0.7, 1.1);
  const bool jib = r.chance(0.6);

  const Rgb hull = c.chance(0.4) ? hsv(0, 0, c.uniform(0.85, 0.95)) : paint(c);
  const Rgb deck = wood(c);
  const Rgb sail = c.chance(0.8) ? hsv_draw(c, {45, 45}, {0.0, 0.12}, {0.9, 0.97}) : pastel(c);

  Parts p;
  const float L = len / 2, B = beam / 2;
  const std::vector<Vec2> outline = {{-L, -0.8f * B},         {0, -B}, {0.5f * L, -0.94f * B},
                                     {0.84f * L, -0.56f * B}, {L, 0},  {0.84f * L, 0.56f * B},
                                     {0.5f * L, 0.94f * B},   {0, B},  {-L, 0.8f * B}};
  // Local (x, y, z) -> world (x, -z, y) then raised: the outline is the deck
  // line at y = depth, the keel is the smaller scaled copy below.
  const Eigen::Affine3f lay_flat =
      translation(Vec3(0, depth, 0)) * rotation(kPi / 2, Vec3::UnitX());
  p.add(make_prism(outline, depth, hull, keel), lay_flat);
  std::vector<Vec2> deck_line;
  for (const auto& q : outline) deck_line.push_back(q * 0.94f);
  p.add(make_prism(deck_line, 0.02f, deck), translation(Vec3(0, 0.02f, 0)) * lay_flat);
  if (cabin)
    p.add(make_box(Vec3(cab_len, cab_h, beam * 0.5f), hull), Vec3(cab_x, depth + cab_h / 2, 0));
  p.add(make_tube(Vec3(mast_x, depth, 0), Vec3(mast_x, depth + mast_h, 0), 0.03f, grey(0.75)));
  const float foot = depth + 0.18f;
  const std::vector<Vec2> main = {
      {mast_x - 0.03f, foot}, {mast_x - 0.03f, depth + mast_h * 0.96f}, {mast_x - boom, foot}};
  p.add(make_prism(main, 0.02f, sail), Vec3(0, 0, -0.01f));
  if (jib) {
    const std::vector<Vec2> front = {{mast_x + 0.05f, foot},
                                     {L * 0.92f, depth + 0.06f},
                                     {mast_x + 0.04f, depth + mast_h * 0.8f}};
    p.add(make_prism(front, 0.02f, sail), Vec3(0, 0, -0.01f));
  }
  return p.take();
}

struct Grammar {
  std::string name;
  std::function<Mesh(Rng&, Rng&)> build;
};

const std::vector<Grammar>& grammars() {
  static const std::vector<Grammar> kGrammars = {
      {"chair", chair}, {"car", car},     {"airplane", airplane}, {"lamp", lamp},
      {"mug", mug},     {"table", table}, {"bottle", bottle},     {"boat", boat},
  };
  return kGrammars;
}

}  // namespace

const std::vector<std::string>& grammar_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const auto& g : grammars()) names.push_back(g.name);
    return names;
  }();
  return kNames;
}

bool has_grammar(std::string_view name) {
  const auto& names = grammar_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

Mesh build_object(std::string_view category, std::uint64_t shape_seed, std::uint64_t color_seed,
                  ColorMode mode) {
  for (const auto& g : grammars()) {
    if (g.name != category) continue;
    Rng shape(shape_seed);
    Rng color(color_seed);
    Mesh mesh = g.build(shape, color);
    if (mode == ColorMode::kGrey) mesh.set_color(grey(0.72));
    normalise_to_unit_sphere(mesh);
    return mesh;
  }
  throw std::logic_error("no grammar named " + std::string(category));
}

}  // namespace wmgeom::render
