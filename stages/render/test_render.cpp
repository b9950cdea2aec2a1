// The render stage end to end: counts and attribute table, placement in
// location cells, grammar similarity, determinism, the three sources on tiny
// fixtures written here, backgrounds, the contact sheet, and every bad-input
// case (exit 2 with a message naming the key or file).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "config/diagnostics.h"
#include "core/artifacts.h"
#include "core/error.h"
#include "graph/plan.h"
#include "render/render.h"
#include "stage_kit.h"
#include "testing.h"

namespace wmgeom {
namespace {

namespace fs = std::filesystem;
using testing::expect_refused;
using testing::real_registry;
using testing::run_cli;
using testing::run_pipeline_in;
using testing::stage_params;
using testing::TempDir;
using testing::write_file;

StimulusSet render_set(const std::string& body, const fs::path& base = fs::current_path(),
                       int threads = 2) {
  TempDir work;
  RunContext ctx("stimuli", work / "work", threads);
  const Params params = stage_params(real_registry(), "render", body, base);
  return StimulusSet::from_artifact(RenderStage().run(params, StageInputs{}, ctx));
}

const std::uint8_t* image(const StimulusSet& s, std::int64_t i) {
  const auto size = s.images.dim(2);
  return s.images.data<std::uint8_t>() + i * 3 * size * size;
}

// Object mask of image i: any channel differs from the background level.
cv::Mat mask(const StimulusSet& s, std::int64_t i, int background = 0) {
  const int size = static_cast<int>(s.images.dim(2));
  const std::uint8_t* p = image(s, i);
  cv::Mat m(size, size, CV_8UC1, cv::Scalar(0));
  const std::size_t plane = static_cast<std::size_t>(size) * size;
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      const std::size_t k = static_cast<std::size_t>(y) * size + x;
      bool on = false;
      for (int c = 0; c < 3; ++c) on = on || std::abs(p[c * plane + k] - background) > 0;
      m.at<std::uint8_t>(y, x) = on ? 255 : 0;
    }
  }
  return m;
}

std::vector<int> ints(const Array& a) {
  const auto v = a.values<std::int32_t>();
  return {v.begin(), v.end()};
}

// A pipeline file with one render stage; returns its path.
fs::path pipeline(const TempDir& dir, const std::string& body) {
  const fs::path file = dir / "p.toml";
  write_file(file, "[pipeline]\nname = \"t\"\nseed = 3\n\n[stage.stimuli]\ntype = \"render\"\n" +
                       body + "\n");
  return file;
}

void write_png(const fs::path& file, const cv::Mat& bgr) {
  fs::create_directories(file.parent_path());
  ASSERT_TRUE(cv::imwrite(file.string(), bgr));
}

const char* kCubeObj =
    "mtllib cube.mtl\nusemtl red\n"
    "v -1 -1 -1\nv 1 -1 -1\nv 1 1 -1\nv -1 1 -1\nv -1 -1 1\nv 1 -1 1\nv 1 1 1\nv -1 1 1\n"
    "f 1 2 3 4\nf 5 8 7 6\nf 1 5 6 2\nf 2 6 7 3\nf 3 7 8 4\nf 5 1 4 8\n";
const char* kPyramidObj =
    "v 0 2 0\nv -1 0 -1\nv 1 0 -1\nv 1 0 1\nv -1 0 1\n"
    "f 1 2 3\nf 1 3 4\nf 1 4 5\nf 1 5 2\nf 2 5 4 3\n";

// ------------------------------------------------------------ counts, table

TEST(RenderStage, PaperDefaultsGiveTheTableAt224) {
  const StimulusSet s = render_set("seed = 1");
  // 4 categories x 2 identities x 12 views x 4 locations.
  ASSERT_EQ(s.size(), 4 * 2 * 12 * 4);
  EXPECT_EQ(s.images.shape(), (std::vector<std::int64_t>{384, 3, 224, 224}));
  EXPECT_EQ(s.category_names, (std::vector<std::string>{"chair", "car", "airplane", "lamp"}));
  EXPECT_EQ(s.identity_names.front(), "chair-0");
  EXPECT_EQ(s.identity_names.back(), "lamp-1");
  EXPECT_EQ(s.identity_category, (std::vector<std::int32_t>{0, 0, 1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(s.n_views, 12);
  EXPECT_EQ(s.n_locations, 4);
  const auto loc = ints(s.location), cat = ints(s.category), id = ints(s.identity),
             view = ints(s.view), split = ints(s.split);
  int validation = 0;
  for (int i = 0; i < 384; ++i) {
    EXPECT_EQ(loc[i], i % 4);
    EXPECT_EQ(view[i], (i / 4) % 12);
    EXPECT_EQ(id[i], i / 48);
    EXPECT_EQ(cat[i], i / 96);
    // holdout_every = 4: views 3, 7 and 11 are novel views.
    EXPECT_EQ(split[i], view[i] % 4 == 3 ? kSplitValidation : kSplitTrain);
    validation += split[i];
  }
  EXPECT_EQ(validation, 96);
  EXPECT_EQ(s.info["source"], "procedural");
  EXPECT_EQ(s.info["image_size"], 224);
  EXPECT_EQ(s.info["cell_size"], 112);
  EXPECT_EQ(s.info["view_azimuth"].size(), 12u);
  EXPECT_DOUBLE_EQ(s.info["view_azimuth"][1].get<double>(), 45.0);
  EXPECT_EQ(s.info["holdout_views"], nlohmann::json({3, 7, 11}));
}

TEST(RenderStage, CountsFollowTheParameters) {
  const StimulusSet s = render_set(
      "categories = 3\nidentities_per_category = 3\nviews = 4\nelevations = [10.0, 40.0]\n"
      "locations = 9\nimage_size = 48\nholdout_views = [1]\nholdout_identities = [2]");
  ASSERT_EQ(s.size(), 3 * 3 * 4 * 9);
  EXPECT_EQ(s.identity_names.size(), 9u);
  EXPECT_EQ(s.info["grid"], nlohmann::json({3, 3}));
  EXPECT_EQ(s.info["view_elevation"], nlohmann::json({10.0, 10.0, 40.0, 40.0}));
  const auto id = ints(s.identity), view = ints(s.view), split = ints(s.split);
  for (std::size_t i = 0; i < id.size(); ++i) {
    const bool held = view[i] == 1 || id[i] % 3 == 2;
    EXPECT_EQ(split[i], held ? kSplitValidation : kSplitTrain) << i;
  }
}

TEST(RenderStage, EstimateCountsTheValidationSplitAsComputed) {
  // The estimate's validation_stimuli (read by the tasks stage at plan time)
  // equals the rendered split-1 count, for views, identities, both and none.
  for (const char* held : {"holdout_every = 4", "holdout_views = [0, 2]",
                           "holdout_every = 0\nholdout_identities = [1]",
                           "holdout_views = [3]\nholdout_identities = [0]", "holdout_every = 0"}) {
    const std::string body = std::string(held) +
                             "\ncategories = 2\nidentities_per_category = 2\nviews = 4\n"
                             "locations = 2\nimage_size = 32\nsupersample = 1";
    const StimulusSet s = render_set(body);
    std::int64_t validation = 0;
    for (auto v : ints(s.split)) validation += v == kSplitValidation ? 1 : 0;
    const Params params = stage_params(real_registry(), "render", body, fs::current_path());
    const SizeEstimate e = RenderStage().estimate(params, {});
    ASSERT_TRUE(e.known) << held;
    EXPECT_EQ(e.dim("validation_stimuli"), validation) << held;
    EXPECT_EQ(e.dim("stimuli"), s.size()) << held;
  }
}

// ------------------------------------------------------------ placement

TEST(RenderStage, EveryObjectIsInsideItsCellAndBlackElsewhere) {
  for (const char* body :
       {"locations = 4\njitter = 1.0", "locations = 9\njitter = 0.5\nobject_scale = 0.6",
        "locations = 2\nobject_scale = 1.0"}) {
    const StimulusSet s = render_set(std::string(body) +
                                     "\ncategories = 8\nidentities_per_category = 1\nviews = 3\n"
                                     "image_size = 64\nseed = 4");
    const int cell = s.info["cell_size"].get<int>();
    const auto loc = ints(s.location);
    for (std::int64_t i = 0; i < s.size(); ++i) {
      const cv::Mat m = mask(s, i);
      const auto& c = s.info["cells"][loc[static_cast<std::size_t>(i)]];
      const cv::Rect r(c[0].get<int>(), c[1].get<int>(), cell, cell);
      const int inside = cv::countNonZero(m(r));
      EXPECT_EQ(cv::countNonZero(m), inside)
          << body << " image " << i << ": pixels outside its cell";
      EXPECT_GT(inside, cell * cell / 50) << body << " image " << i << ": no object in its cell";
    }
  }
}

TEST(RenderStage, JitterMovesObjectsWithinTheirCell) {
  const StimulusSet still = render_set(
      "categories = 1\nidentities_per_category = 1\nviews = 1\nimage_size = 64\nseed = 2");
  const StimulusSet moved = render_set(
      "categories = 1\nidentities_per_category = 1\nviews = 1\nimage_size = 64\njitter = 1.0\nseed "
      "= 2");
  int differ = 0;
  for (std::int64_t i = 0; i < still.size(); ++i) {
    differ += cv::norm(mask(still, i), mask(moved, i), cv::NORM_L1) > 0 ? 1 : 0;
  }
  EXPECT_GE(differ, 2);
}

// ------------------------------------------------------------ the grammars are real

TEST(RenderStage, IdentitiesOfACategoryLookAlike) {
  // Silhouette IoU at the same view: within a category higher than across.
  const StimulusSet s = render_set(
      "categories = 8\nidentities_per_category = 3\nviews = 4\nlocations = 1\nimage_size = 64\n"
      "object_scale = 1.0\nseed = 11");
  const int n_ids = static_cast<int>(s.identity_names.size());
  const int n_views = s.n_views;
  std::vector<cv::Mat> masks;
  for (std::int64_t i = 0; i < s.size(); ++i) masks.push_back(mask(s, i));
  auto iou = [&](int a, int b) {
    double sum = 0;
    for (int v = 0; v < n_views; ++v) {
      const cv::Mat& x = masks[static_cast<std::size_t>(a * n_views + v)];
      const cv::Mat& y = masks[static_cast<std::size_t>(b * n_views + v)];
      sum += cv::countNonZero(x & y) / std::max(1.0, static_cast<double>(cv::countNonZero(x | y)));
    }
    return sum / n_views;
  };
  const int n_cat = static_cast<int>(s.category_names.size());
  std::vector<std::vector<double>> sim(n_cat, std::vector<double>(n_cat, 0.0));
  std::vector<std::vector<int>> count(n_cat, std::vector<int>(n_cat, 0));
  for (int a = 0; a < n_ids; ++a) {
    for (int b = 0; b < n_ids; ++b) {
      if (a == b) continue;
      const int ca = s.identity_category[a], cb = s.identity_category[b];
      sim[ca][cb] += iou(a, b);
      ++count[ca][cb];
    }
  }
  for (int c = 0; c < n_cat; ++c) {
    const double within = sim[c][c] / count[c][c];
    for (int d = 0; d < n_cat; ++d) {
      if (d == c) continue;
      EXPECT_GT(within, sim[c][d] / count[c][d])
          << s.category_names[c] << " identities are less alike than " << s.category_names[c]
          << " vs " << s.category_names[d];
    }
  }
}

// ------------------------------------------------------------ determinism

TEST(RenderStage, SameBytesAcrossRunsAndThreadCounts) {
  const std::string body =
      "categories = 3\nidentities_per_category = 2\nviews = 4\nimage_size = 48\njitter = 0.7\n"
      "background = \"noise\"\nview_mode = \"random\"\nseed = 9";
  const StimulusSet a = render_set(body, fs::current_path(), 1);
  const StimulusSet b = render_set(body, fs::current_path(), 2);
  const StimulusSet c = render_set(body, fs::current_path(), 2);
  ASSERT_EQ(a.images.nbytes(), b.images.nbytes());
  EXPECT_TRUE(
      std::equal(a.images.bytes().begin(), a.images.bytes().end(), b.images.bytes().begin()));
  EXPECT_TRUE(
      std::equal(b.images.bytes().begin(), b.images.bytes().end(), c.images.bytes().begin()));
  EXPECT_EQ(a.info, b.info);
  const StimulusSet d = render_set(
      "categories = 3\nidentities_per_category = 2\nviews = 4\nimage_size = 48\njitter = 0.7\n"
      "background = \"noise\"\nview_mode = \"random\"\nseed = 10");
  EXPECT_FALSE(
      std::equal(a.images.bytes().begin(), a.images.bytes().end(), d.images.bytes().begin()));
}

// ------------------------------------------------------------ sources

TEST(RenderStage, MeshesSourceRendersObjFolders) {
  TempDir dir;
  write_file(dir / "meshes/box/a/cube.obj", kCubeObj);
  write_file(dir / "meshes/box/a/cube.mtl", "newmtl red\nKd 0.9 0.1 0.1\n");
  write_file(dir / "meshes/pyramid/b/models/model_normalized.obj", kPyramidObj);
  write_file(dir / "meshes/pyramid/README.txt", "stray files beside identity folders are ignored");
  const std::string body =
      "source = \"meshes\"\npath = \"meshes\"\ncategories = 2\nidentities_per_category = 1\n"
      "views = 4\nimage_size = 64\nholdout_every = 0";
  const StimulusSet s = render_set(body, dir.path());
  ASSERT_EQ(s.size(), 2 * 4 * 4);
  EXPECT_EQ(s.category_names, (std::vector<std::string>{"box", "pyramid"}));
  EXPECT_EQ(s.identity_names, (std::vector<std::string>{"box-a", "pyramid-b"}));
  EXPECT_EQ(s.info["source"], "meshes");
  const int size = 64;
  const std::size_t plane = size * size;
  for (std::int64_t i = 0; i < s.size(); ++i) {
    const cv::Mat m = mask(s, i);
    ASSERT_GT(cv::countNonZero(m), 50) << i;
    // The cube takes its material colour (red); the pyramid has none (grey).
    const std::uint8_t* p = image(s, i);
    long r = 0, g = 0;
    for (std::size_t k = 0; k < plane; ++k) {
      r += p[k];
      g += p[plane + k];
    }
    if (s.category.values<std::int32_t>()[i] == 0) {
      EXPECT_GT(r, 3 * g) << i;
    } else {
      EXPECT_NEAR(static_cast<double>(r), static_cast<double>(g), 0.05 * r) << i;
    }
  }
  // Hidden files and folders are not data (core/hash.h: nor part of the
  // folder's hash): a mesh under .git or a hidden .obj is not read.
  write_file(dir / "meshes/box/a/.git/objects/pyramid.obj", kPyramidObj);
  write_file(dir / "meshes/box/a/.backup.obj", kPyramidObj);
  write_file(dir / "meshes/.DS_Store", "");
  const StimulusSet again = render_set(body, dir.path());
  EXPECT_TRUE(std::equal(s.images.bytes().begin(), s.images.bytes().end(),
                         again.images.bytes().begin(), again.images.bytes().end()));
}

TEST(RenderStage, ImagesSourceUsesPreRenderedViews) {
  TempDir dir;
  // 2 categories x 1 identity x 2 views: four PNGs of coloured discs.
  const cv::Scalar colors[4] = {{0, 0, 255}, {0, 255, 0}, {255, 0, 0}, {0, 255, 255}};
  int k = 0;
  for (const char* cat : {"cup", "fork"}) {
    for (const char* v : {"0", "1"}) {
      cv::Mat img(40, 40, CV_8UC3, cv::Scalar::all(0));
      cv::circle(img, {20, 20}, 15, colors[k++], cv::FILLED);
      write_png(dir / "images" / cat / "x" / (std::string(v) + ".png"), img);
    }
  }
  const StimulusSet s = render_set(
      "source = \"images\"\npath = \"images\"\ncategories = 2\nidentities_per_category = 1\n"
      "image_size = 32\nholdout_views = [1]",
      dir.path());
  ASSERT_EQ(s.size(), 2 * 2 * 4);
  EXPECT_EQ(s.n_views, 2);
  EXPECT_EQ(s.info["view_files"], nlohmann::json({"0", "1"}));
  // Image 0: cup, view 0 (a red disc; RGB order) in location 0 (top-left 16 px cell).
  const std::uint8_t* p = image(s, 0);
  const std::size_t plane = 32 * 32;
  const std::size_t centre = 8 * 32 + 8;
  EXPECT_GT(p[centre], 200);
  EXPECT_LT(p[plane + centre], 30);
  EXPECT_EQ(p[24 * 32 + 24], 0);                  // another cell stays black
  EXPECT_EQ(ints(s.split)[4], kSplitValidation);  // view 1
}

// ------------------------------------------------------------ backgrounds

TEST(RenderStage, Backgrounds) {
  const std::string base =
      "categories = 2\nidentities_per_category = 1\nviews = 2\nimage_size = 32\n";
  const StimulusSet grey = render_set(base + "background = \"grey\"");
  const StimulusSet noise = render_set(base + "background = \"noise\"");
  EXPECT_EQ(image(grey, 0)[0], 128);
  EXPECT_EQ(image(grey, 0)[2 * 32 * 32 + 31 * 32 + 31], 128);
  // Noise: many distinct values in the corner region.
  std::set<int> values;
  for (int k = 0; k < 64; ++k) values.insert(image(noise, 0)[k]);
  EXPECT_GT(values.size(), 30u);
  EXPECT_NE(image(noise, 0)[0] + 256 * image(noise, 0)[1],
            image(noise, 1)[0] + 256 * image(noise, 1)[1]);

  TempDir dir;
  write_png(dir / "bg/a/green.png", cv::Mat(50, 70, CV_8UC3, cv::Scalar(30, 200, 10)));
  const StimulusSet nat =
      render_set(base + "background = \"images\"\nbackground_path = \"bg\"", dir.path());
  const std::uint8_t* p = image(nat, 0);
  EXPECT_EQ(p[0], 10);            // R
  EXPECT_EQ(p[32 * 32], 200);     // G
  EXPECT_EQ(p[2 * 32 * 32], 30);  // B
}

// ------------------------------------------------------------ contact sheet

TEST(RenderStage, ExportWritesALabelledContactSheet) {
  TempDir dir;
  const fs::path file =
      pipeline(dir, "categories = 2\nidentities_per_category = 2\nviews = 4\nimage_size = 64");
  const auto r = run_cli({"export", file.string(), "stimuli", (dir / "out").string(), "--cache-dir",
                          (dir / "cache").string()},
                         real_registry());
  ASSERT_EQ(r.code, 0) << r.err;
  const cv::Mat sheet = cv::imread((dir / "out/contact_sheet.png").string());
  ASSERT_FALSE(sheet.empty());
  // One row per identity (4) of 96 px thumbnails, 4 view columns + 4 location columns.
  EXPECT_GT(sheet.rows, 4 * 96);
  EXPECT_GT(sheet.cols, 8 * 96);
  EXPECT_TRUE(fs::exists(dir / "out/images.npy"));
}

// ------------------------------------------------------------ cache key

std::string key_of(const fs::path& base, const std::string& body) {
  const std::string text =
      "[pipeline]\nname = \"k\"\nseed = 3\n\n[stage.stimuli]\ntype = \"render\"\n" + body + "\n";
  return testing::instance_key(base / "k.toml", text, "stimuli");
}

TEST(RenderStage, PassesTheStageKit) {
  testing::expect_stage_kit(
      {"[pipeline]\nname = \"kit\"\nseed = 3\n\n[stage.stimuli]\ntype = \"render\"\ncategories = "
       "2\n"
       "identities_per_category = 2\nviews = 4\nimage_size = 32\njitter = 0.5\n",
       "stimuli",
       {{"path", "a path"},
        {"background_path", "a path"},
        {"source", "the other sources need a folder of meshes or images"}},
       {{"category_names", "[\"car\", \"mug\"]"}}});
}

// The schema-driven kit checks every parameter; file contents it cannot
// perturb: mesh and background contents (not the folder name) enter the key.
TEST(RenderStage, MeshAndBackgroundContentsChangeTheKey) {
  TempDir dir;
  write_file(dir / "m/box/a/cube.obj", kCubeObj);
  write_png(dir / "bg/x.png", cv::Mat(4, 4, CV_8UC3, cv::Scalar::all(7)));
  const std::string meshes =
      "source = \"meshes\"\npath = \"m\"\ncategories = 1\nidentities_per_category = 1";
  const std::string before = key_of(dir.path(), meshes);
  EXPECT_EQ(key_of(dir.path(), meshes), before);
  write_file(dir / "m/box/a/cube.obj", std::string(kCubeObj) + "# edited\n");
  EXPECT_NE(key_of(dir.path(), meshes), before);
  const std::string images = "background = \"images\"\nbackground_path = \"bg\"";
  const std::string bg = key_of(dir.path(), images);
  write_png(dir / "bg/x.png", cv::Mat(4, 4, CV_8UC3, cv::Scalar::all(8)));
  EXPECT_NE(key_of(dir.path(), images), bg);
}

// ------------------------------------------------------------ bad input: plan time (exit 2)

struct BadCase {
  const char* name;
  std::string body;
  std::string expect;  // substring of stderr
};

TEST(RenderStage, PlanTimeErrorsExitTwoNamingTheKeyOrFile) {
  TempDir dir;
  fs::create_directories(dir / "empty");
  fs::create_directories(dir / "nocat/chair");
  write_file(dir / "noobj/chair/a/readme.txt", "no mesh here");
  write_file(dir / "imgs/cat/a/0.png", "");
  write_png(dir / "imgs/cat/a/0.png", cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(90)));
  write_file(dir / "imgs/cat/a/notes.txt", "not an image");
  write_file(dir / "garbage/cat/a/0.png", "this is not a PNG");
  write_png(dir / "uneven/c/a/0.png", cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(90)));
  write_png(dir / "uneven/c/a/1.png", cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(90)));
  write_png(dir / "uneven/c/b/0.png", cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(90)));
  const std::vector<BadCase> cases = {
      {"missing folder", "source = \"meshes\"\npath = \"missing\"", "missing"},
      {"no path", "source = \"meshes\"", "needs one); none given"},
      {"empty folder", "source = \"meshes\"\npath = \"empty\"", "no category folders"},
      {"empty category",
       "source = \"meshes\"\npath = \"nocat\"\ncategories = 1\nidentities_per_category = 1",
       "empty category"},
      {"no obj",
       "source = \"meshes\"\npath = \"noobj\"\ncategories = 1\nidentities_per_category = 1",
       ".obj"},
      {"too few categories", "source = \"meshes\"\npath = \"noobj\"\ncategories = 3", "categories"},
      {"non-image file",
       "source = \"images\"\npath = \"imgs\"\ncategories = 1\nidentities_per_category = 1",
       "notes.txt"},
      {"unreadable image",
       "source = \"images\"\npath = \"garbage\"\ncategories = 1\nidentities_per_category = 1",
       "0.png"},
      {"uneven views",
       "source = \"images\"\npath = \"uneven\"\ncategories = 1\nidentities_per_category = 2",
       "same number of view images"},
      {"image size", "image_size = 8", "image_size"},
      {"locations do not fit", "image_size = 16\nlocations = 9", "locations"},
      {"too many grammars", "categories = 9", "at most 8"},
      {"unknown grammar", "category_names = [\"chair\", \"giraffe\"]", "giraffe"},
      {"holdout view out of range", "views = 4\nholdout_views = [4]", "holdout_views"},
      {"every view held out", "views = 2\nholdout_views = [0, 1]", "every one of the 2 views"},
      {"identity out of range", "holdout_identities = [2]", "holdout_identities"},
      {"views not a multiple of elevations", "views = 5\nelevations = [0.0, 30.0]", "multiple"},
      {"background images without folder", "background = \"images\"", "background_path"},
      {"bad choice", "source = \"shapenet\"", "source"},
      {"raster too large", "image_size = 2048\nlocations = 1\nobject_scale = 1.0\nsupersample = 3",
       "supersample"},
  };
  for (const auto& c : cases) {
    const fs::path file = pipeline(dir, c.body);
    const auto r = run_cli({"validate", file.string()}, real_registry());
    EXPECT_EQ(r.code, 2) << c.name << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos)
        << c.name << ": stderr lacks \"" << c.expect << "\"\n"
        << r.err;
  }
  // And a good file validates.
  const auto ok = run_cli({"validate", pipeline(dir, "views = 4").string()}, real_registry());
  EXPECT_EQ(ok.code, 0) << ok.err;
}

// ------------------------------------------------------------ bad input: while loading (exit 2)

TEST(RenderStage, LoadTimeErrorsExitTwoNamingTheFile) {
  TempDir dir;
  write_file(dir / "bad/c/a/model.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 7\n");
  write_file(dir / "flat/c/a/model.obj", "v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n");
  // A PNG signature followed by garbage: passes the plan-time check, fails to decode.
  write_file(dir / "trunc/c/a/0.png",
             std::string("\x89PNG\r\n\x1a\n", 8) + "garbage garbage garbage");
  const std::vector<BadCase> cases = {
      {"malformed obj", "source = \"meshes\"\npath = \"bad\"", "model.obj"},
      {"degenerate mesh", "source = \"meshes\"\npath = \"flat\"", "degenerate"},
      {"truncated image", "source = \"images\"\npath = \"trunc\"", "0.png"},
  };
  for (const auto& c : cases) {
    const fs::path file = pipeline(
        dir,
        c.body +
            "\ncategories = 1\nidentities_per_category = 1\nimage_size = 32\nholdout_every = 0");
    expect_refused(run_pipeline_in(file, dir.path()), c.name, c.expect);
  }
}

TEST(RenderStage, RunningDirectlyThrowsInputErrorForBadMeshes) {
  TempDir dir;
  write_file(dir / "flat/c/a/model.obj", "v 0 0 0\nv 1 1 1\nv 2 2 2\nf 1 2 3\n");
  EXPECT_THROW(
      render_set(
          "source = \"meshes\"\npath = \"flat\"\ncategories = 1\nidentities_per_category = 1\n"
          "image_size = 32\nholdout_every = 0",
          dir.path()),
      InputError);
}

}  // namespace
}  // namespace wmgeom

namespace wmgeom {
namespace {

// Every file and folder under `root`: relative path -> size, mtime and
// contents (folders: their mtime, which moves when an entry is added or removed).
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> s;
  auto stamp = [](const fs::path& p) {
    return std::to_string(fs::last_write_time(p).time_since_epoch().count());
  };
  s["."] = stamp(root);
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string rel = fs::relative(e.path(), root).string();
    s[rel] = e.is_directory() ? "dir " + stamp(e.path())
                              : std::to_string(e.file_size()) + " " + stamp(e.path()) + " " +
                                    testing::read_file(e.path());
  }
  return s;
}

// Issue 14: paths from a pipeline file (meshes, image folders, backgrounds)
// resolve against the file's folder and are only read: a run and an export
// leave every file and folder there as it was (contents, sizes, times, no
// new entries), with the inputs read-only too.
TEST(RenderStage, InputFoldersAreReadAndNeverWritten) {
  TempDir dir;
  const fs::path in = dir / "project";
  write_file(in / "meshes/box/a/cube.obj", kCubeObj);
  write_file(in / "meshes/box/a/cube.mtl", "newmtl red\nKd 0.9 0.1 0.1\n");
  write_file(in / "meshes/pyramid/b/model.obj", kPyramidObj);
  for (const char* cat : {"cup", "fork"}) {
    for (const char* v : {"0", "1"}) {
      write_png(in / "images" / cat / "x" / (std::string(v) + ".png"),
                cv::Mat(24, 24, CV_8UC3, cv::Scalar(9, 99, 199)));
    }
  }
  write_png(in / "bg/a/green.png", cv::Mat(50, 70, CV_8UC3, cv::Scalar(30, 200, 10)));
  // The pipeline file sits in the project folder; its paths are relative to it.
  write_file(
      in / "p.toml",
      "[pipeline]\nname = \"t\"\n"
      "[stage.objects]\ntype = \"render\"\nsource = \"meshes\"\npath = \"meshes\"\ncategories = 2\n"
      "identities_per_category = 1\nviews = 2\nimage_size = 32\nbackground = "
      "\"images\"\nbackground_path = \"bg\"\n"
      "[stage.photos]\ntype = \"render\"\nsource = \"images\"\npath = \"images\"\ncategories = 2\n"
      "identities_per_category = 1\nimage_size = 32\n");
  const auto before = snapshot(in);
  std::system(("chmod -R a-w " + in.string()).c_str());
  const std::string cache = (dir / "cache").string();
  // Run from another working directory: the paths still resolve against the file.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir.path());
  const auto r = run_cli({"run", (in / "p.toml").string(), "--cache-dir", cache, "--out",
                          (dir / "out").string(), "--no-progress", "-q"},
                         real_registry());
  const auto x = run_cli(
      {"export", (in / "p.toml").string(), "objects", (dir / "x").string(), "--cache-dir", cache},
      real_registry());
  fs::current_path(cwd);
  std::system(("chmod -R u+w " + in.string()).c_str());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(x.code, 0) << x.err;
  EXPECT_TRUE(fs::exists(dir / "x" / "images.npy"));
  EXPECT_EQ(snapshot(in), before) << "an input folder was written";
}

}  // namespace
}  // namespace wmgeom
