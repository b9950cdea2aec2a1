#include "render/settings.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <stdexcept>
#include <system_error>

#include <opencv2/imgcodecs.hpp>

#include "core/choices.h"
#include "core/hash.h"
#include "render/rng.h"

namespace wmgeom::render {
namespace fs = std::filesystem;
namespace {

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// Not data (core/hash.h: the folder's hash skips them too).
bool hidden(const fs::path& p) { return hidden_name(p); }

std::string quoted(const fs::path& p) { return "\"" + p.string() + "\""; }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Visible subdirectories of `dir`, sorted by name (the catalogue's order).
std::vector<fs::path> subdirs(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!hidden(e.path()) && e.is_directory(ec)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

// View images sort numerically when every stem is a number ("2" before "10"),
// else by name.
void sort_views(std::vector<fs::path>& files) {
  const bool numeric = std::all_of(files.begin(), files.end(), [](const fs::path& p) {
    return all_digits(p.stem().string()) && p.stem().string().size() < 18;
  });
  std::sort(files.begin(), files.end(), [numeric](const fs::path& a, const fs::path& b) {
    if (numeric) {
      const auto x = std::stoll(a.stem().string()), y = std::stoll(b.stem().string());
      if (x != y) return x < y;
    }
    return a.filename() < b.filename();
  });
}

std::string folder_layout(Source source) {
  return source == Source::kMeshes ? "<category>/<identity>/**/*.obj"
                                   : "<category>/<identity>/<view>.png|jpg";
}

}  // namespace

namespace {
// The schema's choices (stages/render/schema.toml), one table each.
constexpr Choice<Source> kSources[] = {
    {Source::kProcedural, "procedural"}, {Source::kMeshes, "meshes"}, {Source::kImages, "images"}};
constexpr Choice<Background> kBackgrounds[] = {{Background::kBlack, "black"},
                                               {Background::kGrey, "grey"},
                                               {Background::kNoise, "noise"},
                                               {Background::kImages, "images"}};
constexpr Choice<bool> kViewModes[] = {{false, "grid"}, {true, "random"}};  // random_views
constexpr Choice<ColorMode> kColorModes[] = {{ColorMode::kIdentity, "identity"},
                                             {ColorMode::kCategory, "category"},
                                             {ColorMode::kGrey, "grey"}};
}  // namespace

Settings Settings::from_params(const Params& p) {
  Settings s;
  s.source = parse_choice(kSources, p.s("source"), "render.source");
  s.path = p.s("path");
  s.categories = static_cast<int>(p.i("categories"));
  s.category_names = p.strings("category_names");
  s.identities_per_category = static_cast<int>(p.i("identities_per_category"));
  s.views = static_cast<int>(p.i("views"));
  s.random_views = parse_choice(kViewModes, p.s("view_mode"), "render.view_mode");
  s.elevations = p.floats("elevations");
  s.azimuth_start = p.f("azimuth_start");
  s.azimuth_span = p.f("azimuth_span");
  s.holdout_views = p.ints("holdout_views");
  s.holdout_every = static_cast<int>(p.i("holdout_every"));
  s.holdout_identities = p.ints("holdout_identities");
  s.image_size = static_cast<int>(p.i("image_size"));
  s.locations = static_cast<int>(p.i("locations"));
  s.jitter = p.f("jitter");
  s.object_scale = p.f("object_scale");
  s.background = parse_choice(kBackgrounds, p.s("background"), "render.background");
  s.background_path = p.s("background_path");
  s.color_mode = parse_choice(kColorModes, p.s("color_mode"), "render.color_mode");
  s.supersample = static_cast<int>(p.i("supersample"));
  s.fov_deg = p.f("fov");
  s.lighting.azimuth_deg = p.f("light_azimuth");
  s.lighting.elevation_deg = p.f("light_elevation");
  s.lighting.ambient = p.f("ambient");
  s.lighting.diffuse = p.f("diffuse");
  s.lighting.specular = p.f("specular");
  s.seed = static_cast<std::uint64_t>(p.i("seed"));
  return s;
}

std::string source_name(Source source) { return choice_name(kSources, source); }
std::string background_name(Background background) { return choice_name(kBackgrounds, background); }
std::string color_mode_name(ColorMode mode) { return choice_name(kColorModes, mode); }

Layout make_layout(int image_size, int locations, double object_scale) {
  Layout l;
  l.cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(locations)) - 1e-9));
  l.rows = (locations + l.cols - 1) / l.cols;
  l.cell_size = image_size / l.cols;
  l.sprite_size = std::max(1, static_cast<int>(std::lround(object_scale * l.cell_size)));
  // Centre the grid; leftover pixels (image_size not divisible) become margins.
  const int x0 = (image_size - l.cols * l.cell_size) / 2;
  const int y0 = (image_size - l.rows * l.cell_size) / 2;
  for (int i = 0; i < locations; ++i) {
    l.cells.push_back({x0 + (i % l.cols) * l.cell_size, y0 + (i / l.cols) * l.cell_size});
  }
  return l;
}

std::vector<ViewAngle> make_views(const Settings& s) {
  std::vector<ViewAngle> views;
  if (s.elevations.empty() || s.views <= 0) return views;
  if (s.random_views) {
    const auto [lo, hi] = std::minmax_element(s.elevations.begin(), s.elevations.end());
    Rng rng(hash_combine(s.seed, hash_string("views")));
    for (int v = 0; v < s.views; ++v) {
      const double az = s.azimuth_start + s.azimuth_span * rng.uniform();
      const double el = *lo + (*hi - *lo) * rng.uniform();
      views.push_back({az, el});
    }
    return views;
  }
  const int n_el = static_cast<int>(s.elevations.size());
  const int n_az = std::max(1, s.views / n_el);
  // A full circle excludes its end point (360 == 0); a partial span includes both ends.
  const bool full = s.azimuth_span >= 360.0 - 1e-9;
  const double step = n_az == 1 ? 0.0 : s.azimuth_span / (full ? n_az : n_az - 1);
  for (int e = 0; e < n_el; ++e) {
    for (int a = 0; a < n_az; ++a) views.push_back({s.azimuth_start + step * a, s.elevations[e]});
  }
  return views;
}

bool is_image_file(const fs::path& path) {
  const std::string ext = lower(path.extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

Catalog make_catalog(const Settings& s, const Report& report) {
  Catalog cat;
  cat.views = s.views;
  const int ipc = s.identities_per_category;

  if (s.source == Source::kProcedural) {
    std::vector<std::string> names = s.category_names;
    const auto& all = grammar_names();
    if (names.empty()) {
      if (s.categories > static_cast<int>(all.size())) {
        report("categories", "at most " + std::to_string(all.size()) +
                                 " for the procedural source (its grammars: " + join(all) +
                                 "), found " + std::to_string(s.categories));
        return cat;
      }
      names.assign(all.begin(), all.begin() + s.categories);
    }
    for (const auto& name : names) {
      if (!has_grammar(name)) {
        report("category_names",
               "procedural categories among " + join(all) + "; found \"" + name + "\"");
        continue;
      }
      CategoryEntry c{name, {}, {}};
      for (int k = 0; k < ipc; ++k)
        c.identities.push_back({name + "-" + std::to_string(k), k, {}, {}});
      cat.categories.push_back(std::move(c));
    }
    return cat;
  }

  // Folder sources.
  const std::string layout = folder_layout(s.source);
  if (s.path.empty()) {
    report("path", "a folder laid out as " + layout + " (source = \"" + source_name(s.source) +
                       "\" needs one); none given");
    return cat;
  }
  std::error_code ec;
  if (!fs::is_directory(s.path, ec)) {
    report("path", "a folder laid out as " + layout + "; " + quoted(s.path) +
                       (fs::exists(s.path, ec) ? " is not a folder" : " does not exist"));
    return cat;
  }
  const auto cat_dirs = subdirs(s.path);
  if (cat_dirs.empty()) {
    report("path",
           "a folder laid out as " + layout + "; " + quoted(s.path) + " has no category folders");
    return cat;
  }
  std::vector<fs::path> chosen;
  if (!s.category_names.empty()) {
    for (const auto& name : s.category_names) {
      const fs::path d = s.path / name;
      if (fs::is_directory(d, ec)) {
        chosen.push_back(d);
      } else {
        report("category_names", "names of category folders in " + quoted(s.path) + "; " +
                                     quoted(d) + " does not exist");
      }
    }
  } else if (static_cast<int>(cat_dirs.size()) < s.categories) {
    report("categories", std::to_string(s.categories) + " category folders in " + quoted(s.path) +
                             ", found " + std::to_string(cat_dirs.size()));
    return cat;
  } else {
    chosen.assign(cat_dirs.begin(), cat_dirs.begin() + s.categories);
  }

  fs::path first_dir;  // the identity whose view count the others must match
  int first_views = -1;
  for (const auto& cdir : chosen) {
    CategoryEntry c{cdir.filename().string(), cdir, {}};
    const auto id_dirs = subdirs(cdir);
    if (id_dirs.empty()) {
      report("path", "every category folder to hold identity folders (" + layout + "); " +
                         quoted(cdir) + " is an empty category");
      continue;
    }
    if (static_cast<int>(id_dirs.size()) < ipc) {
      report("identities_per_category", std::to_string(ipc) +
                                            " identity folders in every category; " + quoted(cdir) +
                                            " has " + std::to_string(id_dirs.size()));
      continue;
    }
    for (int k = 0; k < ipc; ++k) {
      const fs::path& idir = id_dirs[static_cast<std::size_t>(k)];
      IdentityEntry id{c.name + "-" + idir.filename().string(), k, idir, {}};
      if (s.source == Source::kMeshes) {
        for (auto it = fs::recursive_directory_iterator(idir, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
          if (hidden(it->path())) {
            if (it->is_directory(ec)) it.disable_recursion_pending();
            continue;
          }
          if (it->is_regular_file(ec) && lower(it->path().extension().string()) == ".obj") {
            id.files.push_back(it->path());
          }
        }
        std::sort(id.files.begin(), id.files.end());
        if (id.files.empty()) {
          report("path", "at least one .obj file under every identity folder; " + quoted(idir) +
                             " has none");
          continue;
        }
      } else {
        bool bad = false;
        for (const auto& e : fs::directory_iterator(idir, ec)) {
          if (hidden(e.path()) || !e.is_regular_file(ec)) continue;
          if (!is_image_file(e.path())) {
            report("path", "only .png/.jpg view images in identity folders; " + quoted(e.path()) +
                               " is not an image file");
            bad = true;
          } else if (!cv::haveImageReader(e.path().string())) {
            report("path", "readable images; " + quoted(e.path()) +
                               " is unreadable or not an image OpenCV can decode");
            bad = true;
          } else {
            id.files.push_back(e.path());
          }
        }
        if (bad) continue;
        if (id.files.empty()) {
          report("path",
                 "view images (.png/.jpg) in every identity folder; " + quoted(idir) + " has none");
          continue;
        }
        sort_views(id.files);
        const int n = static_cast<int>(id.files.size());
        if (first_views < 0) {
          first_views = n;
          first_dir = idir;
          cat.views = n;
          for (const auto& f : id.files) cat.view_names.push_back(f.stem().string());
        } else if (n != first_views) {
          report("path",
                 "the same number of view images in every identity folder (view i must "
                 "mean the same angle); " +
                     quoted(idir) + " has " + std::to_string(n) + ", " + quoted(first_dir) +
                     " has " + std::to_string(first_views));
          continue;
        }
      }
      c.identities.push_back(std::move(id));
    }
    cat.categories.push_back(std::move(c));
  }
  return cat;
}

bool view_held_out(const Settings& s, int view) {
  if (!s.holdout_views.empty()) {
    return std::find(s.holdout_views.begin(), s.holdout_views.end(), view) != s.holdout_views.end();
  }
  return s.holdout_every > 0 && view % s.holdout_every == s.holdout_every - 1;
}

bool identity_held_out(const Settings& s, int local_identity) {
  return std::find(s.holdout_identities.begin(), s.holdout_identities.end(), local_identity) !=
         s.holdout_identities.end();
}

void check_settings(const Settings& s, const Report& report) {
  // Locations must fit: cells of at least kMinCellSize pixels.
  const Layout layout = make_layout(s.image_size, s.locations, s.object_scale);
  if (layout.cell_size < kMinCellSize) {
    report("locations", "location cells of at least " + std::to_string(kMinCellSize) + " px; " +
                            std::to_string(s.locations) + " locations make a " +
                            std::to_string(layout.cols) + "x" + std::to_string(layout.rows) +
                            " grid of " + std::to_string(layout.cell_size) + " px cells on a " +
                            std::to_string(s.image_size) +
                            " px image (use fewer locations or a larger image_size)");
  }

  if (layout.sprite_size * s.supersample > kMaxRasterSize && s.source != Source::kImages) {
    report("supersample", "an object raster of at most " + std::to_string(kMaxRasterSize) +
                              " px; objects of " + std::to_string(layout.sprite_size) + " px x " +
                              std::to_string(s.supersample) + " = " +
                              std::to_string(layout.sprite_size * s.supersample) +
                              " px (lower supersample, image_size or object_scale)");
  }

  const Catalog cat = make_catalog(s, report);
  const int n_views = s.source == Source::kImages ? cat.views : s.views;

  if (s.source != Source::kImages && !s.random_views &&
      s.views % static_cast<int>(s.elevations.size()) != 0) {
    report("views",
           "a multiple of the " + std::to_string(s.elevations.size()) +
               " elevations (view_mode = \"grid\" uses views / elevations azimuths), found " +
               std::to_string(s.views));
  }

  std::set<std::string> seen;
  for (const auto& name : s.category_names) {
    if (!seen.insert(name).second)
      report("category_names", "distinct names; \"" + name + "\" appears twice");
  }

  if (n_views > 0) {
    for (auto v : s.holdout_views) {
      if (v >= n_views) {
        report("holdout_views", "view indices below the number of views (" +
                                    std::to_string(n_views) + "), found " + std::to_string(v));
      }
    }
    int held = 0;
    for (int v = 0; v < n_views; ++v) held += view_held_out(s, v) ? 1 : 0;
    if (held == n_views) {
      report(s.holdout_views.empty() ? "holdout_every" : "holdout_views",
             "some views left for training; every one of the " + std::to_string(n_views) +
                 " views is held out");
    }
  }
  for (auto k : s.holdout_identities) {
    if (k >= s.identities_per_category) {
      report("holdout_identities", "per-category identity indices below identities_per_category (" +
                                       std::to_string(s.identities_per_category) + "), found " +
                                       std::to_string(k));
    }
  }
  int held_ids = 0;
  for (int k = 0; k < s.identities_per_category; ++k) held_ids += identity_held_out(s, k) ? 1 : 0;
  if (held_ids == s.identities_per_category) {
    report("holdout_identities", "some identities left for training; all " +
                                     std::to_string(s.identities_per_category) + " are held out");
  }

  if (s.background == Background::kImages) {
    std::error_code ec;
    if (s.background_path.empty()) {
      report("background_path",
             "a folder of .png/.jpg images (background = \"images\" needs one); "
             "none given");
    } else if (!fs::is_directory(s.background_path, ec)) {
      report("background_path",
             "a folder of .png/.jpg images; " + quoted(s.background_path) + " is not a folder");
    } else {
      int found = 0;
      for (auto it = fs::recursive_directory_iterator(s.background_path, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (hidden(it->path())) {
          if (it->is_directory(ec)) it.disable_recursion_pending();
          continue;
        }
        if (!it->is_regular_file(ec) || !is_image_file(it->path())) continue;
        if (!cv::haveImageReader(it->path().string())) {
          report("background_path", "readable images; " + quoted(it->path()) +
                                        " is unreadable or not an image OpenCV can decode");
        }
        ++found;
      }
      if (found == 0) {
        report("background_path",
               "at least one .png/.jpg image; " + quoted(s.background_path) + " has none");
      }
    }
  }
}

}  // namespace wmgeom::render
