#include "render/render.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <opencv2/core/version.hpp>

#include "core/artifacts.h"
#include "core/error.h"
#include "render/contact_sheet.h"
#include "render/rng.h"
#include "render/settings.h"
#include "render/sources.h"

namespace wmgeom {
namespace {

using render::Background;
using render::Source;

// Throws on the first problem: run() meets only what validate() could not
// see (files changed since planning, tests calling run directly).
render::Report throw_report() {
  return [](const std::string& key, const std::string& message) {
    throw InputError(key + ": expected " + message);
  };
}

// Runs body(i) for i in [0, n) on the arena, checking for cancellation.
template <typename Body>
void parallel_each(std::int64_t n, const RunContext& ctx, Body&& body) {
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 1), [&](const auto& r) {
    ctx.check_cancelled();
    for (std::int64_t i = r.begin(); i != r.end(); ++i) body(i);
  });
}

}  // namespace

void RenderStage::check(const render::Settings& s, ParamIssues& issues) const {
  render::check_settings(s, [&](const std::string& key, const std::string& message) {
    issues.error(key, "expected " + message);
  });
}

SizeEstimate RenderStage::estimate_of(const render::Settings& s, const EstimateInputs&) const {
  bool ok = true;
  const render::Catalog catalog =
      render::make_catalog(s, [&](const std::string&, const std::string&) { ok = false; });
  if (!ok) return {};
  std::int64_t n_ids = 0;
  for (const auto& c : catalog.categories) n_ids += static_cast<std::int64_t>(c.identities.size());
  const std::int64_t n_views = s.source == Source::kImages
                                   ? catalog.views
                                   : static_cast<std::int64_t>(render::make_views(s).size());
  const std::int64_t n = n_ids * n_views * s.locations;
  // The validation split's size, by compute()'s rule (a held-out view or
  // identity), so that a tasks stage asking for "validation" trials from an
  // empty split is refused at plan time.
  std::int64_t held = 0;
  for (const auto& c : catalog.categories) {
    for (const auto& id : c.identities) {
      for (std::int64_t v = 0; v < n_views; ++v) {
        held += render::view_held_out(s, static_cast<int>(v)) ||
                        render::identity_held_out(s, id.local_index)
                    ? 1
                    : 0;
      }
    }
  }
  const std::int64_t side = s.image_size;
  const auto layout = render::make_layout(s.image_size, s.locations, s.object_scale);
  const std::int64_t sprite = layout.sprite_size;
  SizeEstimate e;
  e.known = true;
  e.bytes = n * (3 * side * side + 5 * 4);
  e.working = n_ids * n_views * 4 * sprite * sprite;
  e.dims = {{"stimuli", n},
            {"image_size", side},
            {"categories", static_cast<std::int64_t>(catalog.categories.size())},
            {"identities", n_ids},
            {"locations", s.locations},
            {"validation_stimuli", held * s.locations}};
  return e;
}

std::string RenderStage::key_extras_of(const render::Settings&) const {
  return std::string("opencv=") + CV_VERSION;
}

Artifact RenderStage::compute(const render::Settings& s, const StageInputs& inputs,
                              RunContext& ctx) const {
  render::check_settings(s, throw_report());
  const render::Catalog catalog = render::make_catalog(s, throw_report());
  const render::Layout layout = render::make_layout(s.image_size, s.locations, s.object_scale);
  const std::vector<render::ViewAngle> angles =
      s.source == Source::kImages ? std::vector<render::ViewAngle>{} : render::make_views(s);
  const int n_views = s.source == Source::kImages ? catalog.views : static_cast<int>(angles.size());
  const int n_loc = s.locations;
  const int size = s.image_size;

  struct Ident {
    int category;
    const render::CategoryEntry* cat;
    const render::IdentityEntry* id;
  };
  std::vector<Ident> idents;
  for (std::size_t c = 0; c < catalog.categories.size(); ++c) {
    for (const auto& id : catalog.categories[c].identities) {
      idents.push_back({static_cast<int>(c), &catalog.categories[c], &id});
    }
  }
  const auto n_ids = static_cast<std::int64_t>(idents.size());
  const std::int64_t n_sprites = n_ids * n_views;
  const std::int64_t n = n_sprites * n_loc;

  StimulusSet out;
  out.images = Array::zeros<std::uint8_t>({n, 3, size, size});
  out.location = Array::zeros<std::int32_t>({n});
  out.category = Array::zeros<std::int32_t>({n});
  out.identity = Array::zeros<std::int32_t>({n});
  out.view = Array::zeros<std::int32_t>({n});
  out.split = Array::zeros<std::int32_t>({n});

  std::vector<render::PlanarSprite> sprites(static_cast<std::size_t>(n_sprites));
  std::vector<cv::Mat> backgrounds;
  std::atomic<std::int64_t> done{0};
  std::mutex progress_mutex;
  std::int64_t reported = 0;

  // Fans out in the calling arena: the executor's, ctx.threads() wide (a
  // nested arena would get no second thread while the executor waits).
  [&] {
    // 1. One sprite per (identity, view): the expensive part, shared by all locations.
    if (s.source == Source::kImages) {
      parallel_each(n_sprites, ctx, [&](std::int64_t i) {
        const auto& files = idents[static_cast<std::size_t>(i / n_views)].id->files;
        sprites[static_cast<std::size_t>(i)] = render::to_planar(render::load_view_image(
            files[static_cast<std::size_t>(i % n_views)], layout.sprite_size));
      });
    } else {
      std::vector<render::Mesh> meshes(static_cast<std::size_t>(n_ids));
      parallel_each(n_ids, ctx, [&](std::int64_t i) {
        const auto& e = idents[static_cast<std::size_t>(i)];
        meshes[static_cast<std::size_t>(i)] = render::identity_mesh(s, *e.cat, *e.id);
      });
      parallel_each(n_sprites, ctx, [&](std::int64_t i) {
        const auto& angle = angles[static_cast<std::size_t>(i % n_views)];
        const render::Camera camera{angle.azimuth_deg, angle.elevation_deg, s.fov_deg};
        sprites[static_cast<std::size_t>(i)] = render::to_planar(
            render::render_sprite(meshes[static_cast<std::size_t>(i / n_views)], camera, s.lighting,
                                  layout.sprite_size, s.supersample));
      });
    }
    if (s.background == Background::kImages)
      backgrounds = render::load_backgrounds(s.background_path);

    // 2. Composite every image. Rows: category, identity, view, location.
    const std::uint64_t image_base = render::hash_combine(s.seed, render::hash_string("image"));
    const int margin = (layout.cell_size - layout.sprite_size) / 2;
    const std::size_t image_bytes = static_cast<std::size_t>(3) * size * size;
    std::uint8_t* pixels = out.images.data<std::uint8_t>();
    auto* loc = out.location.data<std::int32_t>();
    auto* cat = out.category.data<std::int32_t>();
    auto* ident = out.identity.data<std::int32_t>();
    auto* view = out.view.data<std::int32_t>();
    auto* split = out.split.data<std::int32_t>();
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 8), [&](const auto& r) {
      ctx.check_cancelled();
      for (std::int64_t i = r.begin(); i != r.end(); ++i) {
        const std::int64_t sprite_index = i / n_loc;
        const int l = static_cast<int>(i % n_loc);
        const int v = static_cast<int>(sprite_index % n_views);
        const auto& e = idents[static_cast<std::size_t>(sprite_index / n_views)];
        const std::uint64_t image_seed =
            render::hash_combine(image_base, static_cast<std::uint64_t>(i));
        std::uint8_t* img = pixels + static_cast<std::size_t>(i) * image_bytes;
        render::fill_background(img, size, s.background, backgrounds, image_seed);
        int dx = 0, dy = 0;
        if (s.jitter > 0.0 && margin > 0) {
          render::Rng rng(render::hash_combine(image_seed, render::hash_string("jitter")));
          const double jx = rng.uniform(-1.0, 1.0);
          const double jy = rng.uniform(-1.0, 1.0);
          dx = static_cast<int>(std::lround(s.jitter * margin * jx));
          dy = static_cast<int>(std::lround(s.jitter * margin * jy));
        }
        const auto& cell = layout.cells[static_cast<std::size_t>(l)];
        render::composite(img, size, sprites[static_cast<std::size_t>(sprite_index)],
                          cell.x + margin + dx, cell.y + margin + dy,
                          s.background == Background::kBlack);
        loc[i] = l;
        cat[i] = e.category;
        ident[i] = static_cast<std::int32_t>(sprite_index / n_views);
        view[i] = v;
        split[i] = render::view_held_out(s, v) || render::identity_held_out(s, e.id->local_index)
                       ? kSplitValidation
                       : kSplitTrain;
      }
      const std::int64_t now = done += static_cast<std::int64_t>(r.size());
      std::lock_guard lock(progress_mutex);
      if (now > reported) {  // chunks finish out of order; keep the display monotonic
        reported = now;
        ctx.progress(now, n);
      }
    });
  }();
  ctx.set_items(n);

  for (const auto& c : catalog.categories) {
    out.category_names.push_back(c.name);
    for (const auto& id : c.identities) {
      out.identity_names.push_back(id.name);
      out.identity_category.push_back(static_cast<std::int32_t>(out.category_names.size() - 1));
    }
  }
  out.n_locations = n_loc;
  out.n_views = n_views;

  nlohmann::json& info = out.info;
  info["source"] = render::source_name(s.source);
  if (s.source != Source::kProcedural) info["path"] = s.path.string();
  info["image_size"] = size;
  info["locations"] = n_loc;
  info["grid"] = {layout.cols, layout.rows};
  info["cell_size"] = layout.cell_size;
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& c : layout.cells) cells.push_back({c.x, c.y});
  info["cells"] = cells;  // top-left corner of each location's cell
  info["object_size"] = layout.sprite_size;
  info["object_scale"] = s.object_scale;
  info["jitter"] = s.jitter;
  info["background"] = render::background_name(s.background);
  info["seed"] = s.seed;
  if (s.source == Source::kImages) {
    info["view_files"] = catalog.view_names;
  } else {
    nlohmann::json az = nlohmann::json::array(), el = nlohmann::json::array();
    for (const auto& a : angles) {
      az.push_back(a.azimuth_deg);
      el.push_back(a.elevation_deg);
    }
    info["view_mode"] = s.random_views ? "random" : "grid";
    info["view_azimuth"] = az;
    info["view_elevation"] = el;
    info["fov"] = s.fov_deg;
    info["supersample"] = s.supersample;
    info["color_mode"] = render::color_mode_name(s.color_mode);
  }
  nlohmann::json held_views = nlohmann::json::array(), held_ids = nlohmann::json::array();
  for (int v = 0; v < n_views; ++v) {
    if (render::view_held_out(s, v)) held_views.push_back(v);
  }
  for (int k = 0; k < s.identities_per_category; ++k) {
    if (render::identity_held_out(s, k)) held_ids.push_back(k);
  }
  info["holdout_views"] = held_views;
  info["holdout_identities"] = held_ids;
  return out.to_artifact();
}

void RenderStage::export_extras(const Artifact& artifact, const std::filesystem::path& dir) const {
  render::write_contact_sheet(StimulusSet::from_artifact(artifact), dir / "contact_sheet.png");
}

}  // namespace wmgeom
