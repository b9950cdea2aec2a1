// Unit tests of the rendering core: primitives, OBJ loading, the rasterizer,
// the grammars and the layout/view arithmetic. The stage as a whole is tested
// in test_render.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/choices.h"
#include "core/error.h"
#include "render/grammars.h"
#include "render/mesh.h"
#include "render/rasterizer.h"
#include "render/settings.h"
#include "render/sources.h"
#include "testing.h"

namespace wmgeom::render {
namespace {

namespace fs = std::filesystem;
using wmgeom::testing::TempDir;
using wmgeom::testing::write_file;

int coverage(const Sprite& s) { return cv::countNonZero(s.alpha); }

TEST(RenderMesh, BoxHasTwelveTrianglesAndUnitArea) {
  const Mesh box = make_box(Vec3(1, 1, 1), Rgb(1, 0, 0));
  EXPECT_EQ(box.triangles.size(), 12u);
  EXPECT_NEAR(surface_area(box), 6.0, 1e-5);
  const Bounds b = bounds(box);
  EXPECT_NEAR(b.lo.x(), -0.5f, 1e-6);
  EXPECT_NEAR(b.hi.y(), 0.5f, 1e-6);
}

TEST(RenderMesh, NormaliseFitsTheUnitSphere) {
  Mesh m = make_box(Vec3(4, 2, 1), Rgb(1, 1, 1));
  m.transform(Eigen::Affine3f(Eigen::Translation3f(10, -3, 2)));
  ASSERT_TRUE(normalise_to_unit_sphere(m));
  float r = 0;
  for (const auto& p : m.positions) r = std::max(r, p.norm());
  EXPECT_NEAR(r, 1.0f, 1e-5);
  const Bounds b = bounds(m);
  EXPECT_NEAR((b.lo + b.hi).norm(), 0.0f, 1e-5);
  Mesh empty;
  EXPECT_FALSE(normalise_to_unit_sphere(empty));
}

TEST(RenderMesh, NonUniformScaleKeepsNormalsPerpendicular) {
  Mesh e = make_ellipsoid(Vec3(1, 1, 1), Rgb(1, 1, 1));
  Eigen::Affine3f t = Eigen::Affine3f::Identity();
  t.scale(Vec3(3, 1, 1));
  e.transform(t);
  // A point on the x = max cap keeps a normal along x.
  std::size_t best = 0;
  for (std::size_t i = 0; i < e.positions.size(); ++i) {
    if (e.positions[i].x() > e.positions[best].x()) best = i;
  }
  EXPECT_GT(std::fabs(e.normals[best].x()), 0.99f);
}

TEST(RenderObj, LoadsFacesAndMaterialColours) {
  TempDir dir;
  write_file(dir / "m.mtl", "newmtl red\nKd 1 0 0\n");
  write_file(dir / "m.obj",
             "mtllib m.mtl\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nusemtl red\nf 1 2 3 4\n");
  const Mesh m = load_obj_meshes({dir / "m.obj"});
  EXPECT_EQ(m.triangles.size(), 2u);
  EXPECT_NEAR(m.colors[0].x(), 1.0f, 1e-6);
  EXPECT_NEAR(m.colors[0].y(), 0.0f, 1e-6);
}

TEST(RenderObj, RejectsMalformedEmptyAndDegenerate) {
  TempDir dir;
  write_file(dir / "bad_index.obj", "v 0 0 0\nv 1 0 0\nv 1 1 0\nf 1 2 9\n");
  write_file(dir / "no_faces.obj", "this is not an OBJ file\n\x01\x02\x03\n");
  write_file(dir / "flat.obj", "v 0 0 0\nv 1 1 1\nv 2 2 2\nf 1 2 3\n");
  auto message = [](const std::filesystem::path& p) {
    try {
      load_obj_meshes({p});
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string bad = message(dir / "bad_index.obj");
  EXPECT_NE(bad.find("bad_index.obj"), std::string::npos) << bad;
  const std::string empty = message(dir / "no_faces.obj");
  EXPECT_NE(empty.find("no_faces.obj"), std::string::npos) << empty;
  EXPECT_NE(empty.find("no faces"), std::string::npos) << empty;
  const std::string flat = message(dir / "flat.obj");
  EXPECT_NE(flat.find("flat.obj"), std::string::npos) << flat;
  EXPECT_NE(flat.find("degenerate"), std::string::npos) << flat;
  const std::string missing = message(dir / "missing.obj");
  EXPECT_NE(missing.find("missing.obj"), std::string::npos) << missing;
}

TEST(RenderRasterizer, DrawsACentredLitObjectInsideTheSprite) {
  Mesh m = make_box(Vec3(1, 1, 1), Rgb(0.8f, 0.2f, 0.2f));
  normalise_to_unit_sphere(m);
  const Sprite s = render_sprite(m, Camera{30, 20, 30}, Lighting{}, 48, 2);
  ASSERT_EQ(s.rgb.cols, 48);
  ASSERT_EQ(s.alpha.rows, 48);
  const int covered = coverage(s);
  EXPECT_GT(covered, 48 * 48 / 8);
  // The unit sphere fits: the border rows and columns stay empty.
  EXPECT_EQ(cv::countNonZero(s.alpha.row(0)) + cv::countNonZero(s.alpha.row(47)) +
                cv::countNonZero(s.alpha.col(0)) + cv::countNonZero(s.alpha.col(47)),
            0);
  // Centred: the centroid of coverage is near the middle.
  const cv::Moments mo = cv::moments(s.alpha, false);
  EXPECT_NEAR(mo.m10 / mo.m00, 24.0, 2.0);
  EXPECT_NEAR(mo.m01 / mo.m00, 24.0, 2.0);
  // Lit: the red channel dominates and is neither black nor saturated everywhere.
  const cv::Scalar mean = cv::mean(s.rgb, s.alpha);
  EXPECT_GT(mean[0], mean[1] * 2);
  EXPECT_GT(mean[0], 60);
}

TEST(RenderRasterizer, SupersamplingSoftensEdgesOnly) {
  Mesh m = make_box(Vec3(1, 1, 1), Rgb(1, 1, 1));
  normalise_to_unit_sphere(m);
  const Sprite hard = render_sprite(m, Camera{30, 20, 30}, Lighting{}, 40, 1);
  const Sprite soft = render_sprite(m, Camera{30, 20, 30}, Lighting{}, 40, 4);
  auto partial = [](const cv::Mat& a) {
    int n = 0;
    for (int y = 0; y < a.rows; ++y)
      for (int x = 0; x < a.cols; ++x)
        n += a.at<std::uint8_t>(y, x) > 0 && a.at<std::uint8_t>(y, x) < 255;
    return n;
  };
  EXPECT_EQ(partial(hard.alpha), 0);
  EXPECT_GT(partial(soft.alpha), 20);
  EXPECT_NEAR(coverage(hard), coverage(soft), coverage(hard) * 0.15);
}

TEST(RenderRasterizer, IsDeterministicAndViewDependent) {
  const Mesh m = build_object("car", 1, 2, ColorMode::kIdentity);
  const Sprite a = render_sprite(m, Camera{15, 20, 30}, Lighting{}, 64, 3);
  const Sprite b = render_sprite(m, Camera{15, 20, 30}, Lighting{}, 64, 3);
  const Sprite c = render_sprite(m, Camera{105, 20, 30}, Lighting{}, 64, 3);
  EXPECT_EQ(cv::norm(a.rgb, b.rgb, cv::NORM_L1), 0.0);
  EXPECT_GT(cv::norm(a.alpha, c.alpha, cv::NORM_L1), 0.0);
}

TEST(RenderGrammars, AtLeastSixNamedGrammarsBuildNonEmptyMeshes) {
  const auto& names = grammar_names();
  ASSERT_GE(names.size(), 6u);
  for (const char* expected : {"chair", "car", "airplane", "lamp", "mug", "table"}) {
    EXPECT_TRUE(has_grammar(expected)) << expected;
  }
  for (const auto& name : names) {
    for (std::uint64_t k = 0; k < 20; ++k) {
      const Mesh m = build_object(name, k, k + 100, ColorMode::kIdentity);
      ASSERT_FALSE(m.empty()) << name;
      EXPECT_GT(surface_area(m), 0.1) << name;
      float r = 0;
      for (const auto& p : m.positions) {
        ASSERT_TRUE(p.allFinite()) << name;
        r = std::max(r, p.norm());
      }
      EXPECT_NEAR(r, 1.0f, 1e-4) << name;
    }
  }
}

TEST(RenderGrammars, IdentitiesDifferAndColourModeKeepsShape) {
  for (const auto& name : grammar_names()) {
    const Mesh a = build_object(name, 1, 7, ColorMode::kIdentity);
    const Mesh b = build_object(name, 2, 8, ColorMode::kIdentity);
    const Mesh g = build_object(name, 1, 99, ColorMode::kGrey);
    const Sprite sa = render_sprite(a, Camera{40, 20, 30}, Lighting{}, 48, 2);
    const Sprite sb = render_sprite(b, Camera{40, 20, 30}, Lighting{}, 48, 2);
    const Sprite sg = render_sprite(g, Camera{40, 20, 30}, Lighting{}, 48, 2);
    EXPECT_GT(cv::norm(sa.rgb, sb.rgb, cv::NORM_L1), 0.0) << name;
    EXPECT_EQ(cv::norm(sa.alpha, sg.alpha, cv::NORM_L1), 0.0) << name;
    // Grey mode: R == G == B wherever the object is.
    std::vector<cv::Mat> ch;
    cv::split(sg.rgb, ch);
    EXPECT_EQ(cv::norm(ch[0], ch[1], cv::NORM_INF), 0.0) << name;
    EXPECT_EQ(cv::norm(ch[1], ch[2], cv::NORM_INF), 0.0) << name;
  }
}

TEST(RenderLayout, GridsAreSquareCellsInsideTheCanvas) {
  const Layout paper = make_layout(224, 4, 0.8);
  EXPECT_EQ(paper.cols, 2);
  EXPECT_EQ(paper.rows, 2);
  EXPECT_EQ(paper.cell_size, 112);
  EXPECT_EQ(paper.sprite_size, 90);
  ASSERT_EQ(paper.cells.size(), 4u);
  EXPECT_EQ(paper.cells[1].x, 112);
  EXPECT_EQ(paper.cells[1].y, 0);
  EXPECT_EQ(paper.cells[2].x, 0);
  EXPECT_EQ(paper.cells[2].y, 112);
  for (int n : {1, 2, 3, 5, 9, 10, 16}) {
    const Layout l = make_layout(100, n, 0.7);
    ASSERT_EQ(static_cast<int>(l.cells.size()), n);
    std::set<std::pair<int, int>> distinct;
    for (const auto& c : l.cells) {
      EXPECT_GE(c.x, 0);
      EXPECT_GE(c.y, 0);
      EXPECT_LE(c.x + l.cell_size, 100);
      EXPECT_LE(c.y + l.cell_size, 100);
      distinct.insert({c.x, c.y});
    }
    EXPECT_EQ(static_cast<int>(distinct.size()), n);
  }
}

// View and background images are decoded only when their bytes are a PNG
// or a JPEG: OpenCV picks its decoder by content, and its DICOM reader
// (GDCM) aborts the process on a malformed file ("DICM" at offset 128 of a
// .png: scripts/fuzz, fuzz_image, found it). Such a file is bad input.
TEST(RenderImages, OnlyPngAndJpegBytesAreDecoded) {
  TempDir dir;
  std::string dicom(128, '\0');
  dicom += "DICM";
  dicom += std::string(64, '\xa9');
  write_file(dir / "view.png", dicom);
  try {
    (void)load_view_image(dir / "view.png", 20);
    ADD_FAILURE() << "a DICOM file named .png was decoded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("view.png: unreadable image: expected a PNG or JPEG file"),
              std::string::npos)
        << e.what();
  }
  fs::create_directories(dir / "bg");
  write_file(dir / "bg" / "0.jpg", dicom);
  EXPECT_THROW(load_backgrounds(dir / "bg"), InputError);
  // Real PNG and JPEG files still load.
  cv::imwrite((dir / "ok.png").string(), cv::Mat(8, 8, CV_8UC3, cv::Scalar(10, 20, 30)));
  cv::imwrite((dir / "ok.jpg").string(), cv::Mat(8, 8, CV_8UC3, cv::Scalar(10, 20, 30)));
  EXPECT_EQ(load_view_image(dir / "ok.png", 20).rgb.rows, 20);
  EXPECT_EQ(load_view_image(dir / "ok.jpg", 20).rgb.rows, 20);
  fs::remove(dir / "bg" / "0.jpg");
  fs::copy_file(dir / "ok.jpg", dir / "bg" / "0.jpg");
  EXPECT_EQ(load_backgrounds(dir / "bg").size(), 1u);
}

// An image's size is checked from its header before it is decoded: decoders
// allocate by the declared size, and a JPEG pads its blocks to whole MCUs per
// component, so a small tall progressive JPEG asked libjpeg for gigabytes
// (scripts/fuzz, fuzz_image, reported an out-of-memory). The header parse is
// checked on real files (progressive, with APP segments before the frame)
// and the limits on headers patched to claim other sizes.
namespace {
std::string encoded(const std::string& ext, const cv::Mat& img, const std::vector<int>& params) {
  std::vector<unsigned char> buf;
  EXPECT_TRUE(cv::imencode(ext, img, buf, params));
  return std::string(buf.begin(), buf.end());
}
// Overwrites the big-endian 16-bit value at `at`.
void put16(std::string& b, std::size_t at, unsigned v) {
  b[at] = static_cast<char>(v >> 8);
  b[at + 1] = static_cast<char>(v & 0xFF);
}
// A PNG claiming w x h (IHDR's CRC is wrong, but the size is refused first).
std::string png_claiming(std::uint32_t w, std::uint32_t h) {
  std::string b = encoded(".png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)), {});
  put16(b, 16, w >> 16);
  put16(b, 18, w & 0xFFFF);
  put16(b, 20, h >> 16);
  put16(b, 22, h & 0xFFFF);
  return b;
}
// A progressive JPEG whose frame header claims w x h.
std::string jpeg_claiming(unsigned w, unsigned h) {
  std::string b = encoded(".jpg", cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)),
                          {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  const std::size_t sof = b.find("\xff\xc2");
  EXPECT_NE(sof, std::string::npos);
  put16(b, sof + 5, h);
  put16(b, sof + 7, w);
  return b;
}
std::string load_error(const fs::path& file) {
  try {
    (void)load_view_image(file, 20);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(RenderImages, SizeIsCheckedFromTheHeaderBeforeDecoding) {
  TempDir dir;
  // Real files of every layout the parser walks load, at their own size.
  const cv::Mat wide(3, 40, CV_8UC3, cv::Scalar(10, 20, 30));
  write_file(dir / "p.jpg", encoded(".jpg", wide, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  write_file(dir / "b.jpg", encoded(".jpg", wide, {}));
  write_file(dir / "i.png", encoded(".png", wide, {}));
  for (const char* f : {"p.jpg", "b.jpg", "i.png"}) {
    const Sprite s = load_view_image(dir / f, 20);
    // 40 x 3 fitted into 20 x 20: 20 wide, 2 rows of coverage (1.5 rounded).
    EXPECT_EQ(cv::countNonZero(s.alpha), 20 * 2) << f;
  }
  // The limits, on both sides of each: a side of 8192, 2^24 pixels in all.
  write_file(dir / "side_ok.png", encoded(".png", cv::Mat(1, 8192, CV_8UC1, cv::Scalar(9)), {}));
  EXPECT_EQ(load_view_image(dir / "side_ok.png", 20).rgb.cols, 20);
  struct Case {
    std::string name, bytes, claim;
  };
  const std::vector<Case> refused = {
      {"tall.jpg", jpeg_claiming(1, 60000), "1 x 60000"},
      // What scripts/fuzz found: 20000 x 20000 decoded (gray rows for the
      // missing data) into 1.2 GB; 30000 x 30000 asked for 2.7 GB at once.
      {"square.jpg", jpeg_claiming(20000, 20000), "20000 x 20000"},
      {"side.jpg", jpeg_claiming(8193, 1), "8193 x 1"},
      {"empty.jpg", jpeg_claiming(0, 8), "0 x 8"},
      {"huge.png", png_claiming(30000, 30000), "30000 x 30000"},
      {"area.png", png_claiming(4097, 4097), "4097 x 4097"},
      {"side.png", png_claiming(1, 8193), "1 x 8193"},
      {"over32.png", png_claiming(0x80000001u, 1), "2147483649 x 1"},
  };
  for (const Case& c : refused) {
    write_file(dir / c.name, c.bytes);
    const std::string e = load_error(dir / c.name);
    EXPECT_NE(e.find(c.name + ": unusable image: its header declares " + c.claim + " pixels"),
              std::string::npos)
        << c.name << ": " << e;
    EXPECT_NE(e.find("1 to 8192 pixels a side and at most 16777216 in all"), std::string::npos)
        << e;
  }
  // 4096 x 4096 is exactly 2^24: the size check passes and the decoder runs
  // (and refuses the patched file's data), so the error is not the size's.
  write_file(dir / "edge.png", png_claiming(4096, 4096));
  EXPECT_NE(load_error(dir / "edge.png").find("OpenCV could not decode it"), std::string::npos);
  // A JPEG whose first scan comes before any frame header, and one cut off
  // inside its segments, declare no size.
  std::string no_frame = "\xff\xd8\xff\xe0";
  no_frame += std::string("\x00\x04\x00\x00\xff\xda\x00\x02", 8);
  write_file(dir / "noframe.jpg", no_frame);
  EXPECT_NE(load_error(dir / "noframe.jpg")
                .find("noframe.jpg: unreadable image: its header declares no size"),
            std::string::npos);
  write_file(dir / "cut.jpg", jpeg_claiming(8, 8).substr(0, 30));
  EXPECT_NE(load_error(dir / "cut.jpg").find("cut.jpg: unreadable"), std::string::npos);
  // Backgrounds go through the same check.
  fs::create_directories(dir / "bg");
  write_file(dir / "bg" / "tall.jpg", jpeg_claiming(1, 60000));
  try {
    (void)load_backgrounds(dir / "bg");
    ADD_FAILURE() << "a background claiming 1 x 60000 was decoded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("tall.jpg: unusable image: its header declares 1 x 60000"),
              std::string::npos)
        << e.what();
  }
}

// One source for parameters: the struct's initialisers are the schema's
// defaults, and the string choices parse through one table that refuses an
// unknown word (no silent fallback).
TEST(RenderSettings, StructDefaultsAreTheSchemaDefaults) {
  const Settings d{};
  const Settings p =
      Settings::from_params(testing::stage_params(testing::real_registry(), "render", "seed = 0"));
  EXPECT_TRUE(d == p) << "a field of render::Settings starts elsewhere than the schema's default";
  EXPECT_EQ(d.source, p.source);
  EXPECT_EQ(d.path, p.path);
  EXPECT_EQ(d.categories, p.categories);
  EXPECT_EQ(d.category_names, p.category_names);
  EXPECT_EQ(d.identities_per_category, p.identities_per_category);
  EXPECT_EQ(d.views, p.views);
  EXPECT_EQ(d.random_views, p.random_views);
  EXPECT_EQ(d.elevations, p.elevations);
  EXPECT_EQ(d.azimuth_start, p.azimuth_start);
  EXPECT_EQ(d.azimuth_span, p.azimuth_span);
  EXPECT_EQ(d.holdout_views, p.holdout_views);
  EXPECT_EQ(d.holdout_every, p.holdout_every);
  EXPECT_EQ(d.holdout_identities, p.holdout_identities);
  EXPECT_EQ(d.image_size, p.image_size);
  EXPECT_EQ(d.locations, p.locations);
  EXPECT_EQ(d.jitter, p.jitter);
  EXPECT_EQ(d.object_scale, p.object_scale);
  EXPECT_EQ(d.background, p.background);
  EXPECT_EQ(d.background_path, p.background_path);
  EXPECT_EQ(d.color_mode, p.color_mode);
  EXPECT_EQ(d.supersample, p.supersample);
  EXPECT_EQ(d.fov_deg, p.fov_deg);
  EXPECT_EQ(d.lighting.azimuth_deg, p.lighting.azimuth_deg);
  EXPECT_EQ(d.lighting.elevation_deg, p.lighting.elevation_deg);
  EXPECT_EQ(d.lighting.ambient, p.lighting.ambient);
  EXPECT_EQ(d.lighting.diffuse, p.lighting.diffuse);
  EXPECT_EQ(d.lighting.specular, p.lighting.specular);
  // Every schema choice has a table entry, and names round-trip.
  for (const char* b : {"black", "grey", "noise"}) {
    Params q = testing::stage_params(testing::real_registry(), "render",
                                     std::string("seed = 0\nbackground = \"") + b + "\"");
    EXPECT_EQ(background_name(Settings::from_params(q).background), b);
  }
  EXPECT_EQ(source_name(Source::kMeshes), "meshes");
  EXPECT_EQ(color_mode_name(ColorMode::kGrey), "grey");
  static constexpr Choice<Source> table[] = {{Source::kProcedural, "procedural"},
                                             {Source::kMeshes, "meshes"}};
  EXPECT_EQ(parse_choice(table, "meshes", "k"), Source::kMeshes);
  try {
    parse_choice(table, "mesh", "render.source");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find(
            "render.source: unknown value \"mesh\" (expected one of \"procedural\", \"meshes\")"),
        std::string::npos)
        << e.what();
  }
}

TEST(RenderViews, GridAndRandomAngles) {
  Settings s;
  s.views = 6;
  s.elevations = {10, 30};
  s.azimuth_start = 0;
  s.azimuth_span = 360;
  auto grid = make_views(s);
  ASSERT_EQ(grid.size(), 6u);
  EXPECT_DOUBLE_EQ(grid[1].azimuth_deg, 120.0);
  EXPECT_DOUBLE_EQ(grid[3].elevation_deg, 30.0);
  EXPECT_DOUBLE_EQ(grid[3].azimuth_deg, 0.0);
  s.azimuth_span = 90;
  s.views = 4;
  s.elevations = {20};
  grid = make_views(s);
  EXPECT_DOUBLE_EQ(grid.back().azimuth_deg, 90.0);  // a partial span includes its end
  s.random_views = true;
  s.elevations = {0, 40};
  s.seed = 5;
  const auto r1 = make_views(s);
  const auto r2 = make_views(s);
  ASSERT_EQ(r1.size(), 4u);
  for (std::size_t i = 0; i < r1.size(); ++i) {
    EXPECT_EQ(r1[i].azimuth_deg, r2[i].azimuth_deg);
    EXPECT_GE(r1[i].azimuth_deg, 0.0);
    EXPECT_LT(r1[i].azimuth_deg, 90.0);
    EXPECT_GE(r1[i].elevation_deg, 0.0);
    EXPECT_LE(r1[i].elevation_deg, 40.0);
  }
  s.seed = 6;
  EXPECT_NE(make_views(s)[0].azimuth_deg, r1[0].azimuth_deg);
}

TEST(RenderCompose, AlphaBlendsOverBackground) {
  Sprite s{cv::Mat(2, 2, CV_8UC3, cv::Scalar(100, 0, 0)), cv::Mat(2, 2, CV_8UC1, cv::Scalar(255))};
  s.rgb.at<cv::Vec3b>(0, 0) = cv::Vec3b(50, 0, 0);  // half-covered edge pixel, premultiplied
  s.alpha.at<std::uint8_t>(0, 0) = 128;
  const PlanarSprite p = to_planar(s);
  std::vector<std::uint8_t> img(3 * 4 * 4, 200);
  composite(img.data(), 4, p, 1, 1, false);
  EXPECT_EQ(img[0], 200);               // outside the sprite
  EXPECT_EQ(img[1 * 4 + 1], 50 + 100);  // 50 + 200 * 127 / 255
  EXPECT_EQ(img[2 * 4 + 2], 100);       // fully covered
  EXPECT_EQ(img[16 + 2 * 4 + 2], 0);    // green plane, fully covered
}

}  // namespace
}  // namespace wmgeom::render
