#include "sheet/contact_sheet.h"

#include <algorithm>
#include <map>
#include <tuple>

#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace wmgeom::sheet {
namespace {

// Image `row` of the set (channel-first RGB) as a BGR Mat (copied).
cv::Mat image_bgr(const StimulusSet& set, std::int64_t row) {
  const int h = static_cast<int>(set.images.dim(2)), w = static_cast<int>(set.images.dim(3));
  const std::size_t plane = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  const std::uint8_t* p =
      set.images.data<std::uint8_t>() + static_cast<std::size_t>(row) * 3 * plane;
  std::vector<cv::Mat> ch = {cv::Mat(h, w, CV_8UC1, const_cast<std::uint8_t*>(p + 2 * plane)),
                             cv::Mat(h, w, CV_8UC1, const_cast<std::uint8_t*>(p + plane)),
                             cv::Mat(h, w, CV_8UC1, const_cast<std::uint8_t*>(p))};
  cv::Mat bgr;
  cv::merge(ch, bgr);
  return bgr;
}

// The rectangle of location `loc` in the canvas (render's info.cells), or the whole image.
cv::Rect cell_of(const StimulusSet& set, int loc, int h, int w) {
  const cv::Rect all(0, 0, w, h);
  if (!set.info.contains("cells") || !set.info.contains("cell_size")) return all;
  const auto& cells = set.info["cells"];
  if (!cells.is_array() || loc < 0 || loc >= static_cast<int>(cells.size())) return all;
  try {
    const int cs = set.info["cell_size"].get<int>();
    cv::Rect r(cells[static_cast<std::size_t>(loc)][0].get<int>(),
               cells[static_cast<std::size_t>(loc)][1].get<int>(), cs, cs);
    r &= all;
    return r.area() > 0 ? r : all;
  } catch (const nlohmann::json::exception&) {
    return all;
  }
}

std::vector<int> distinct(std::span<const std::int32_t> v) {
  std::vector<int> out(v.begin(), v.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::vector<int> spread(int n, int max) {
  std::vector<int> out;
  const int k = std::min(n, std::max(1, max));
  for (int i = 0; i < k; ++i) {
    out.push_back(
        k == n || k == 1 ? i : static_cast<int>(static_cast<long long>(i) * (n - 1) / (k - 1)));
  }
  return out;
}

Sheet compose(const StimulusSet& set, const Options& o) {
  Sheet sh;
  sh.step = o.thumb + o.gap;
  const int n_ids = static_cast<int>(set.identity_names.size());
  if (set.identity_category.size() != set.identity_names.size()) {
    throw Error("contact sheet: identity_category and identity_names differ in length");
  }
  if (set.images.empty() || set.size() == 0) {  // nothing to show: an empty 1 x 1 sheet
    sh.image = cv::Mat(1, 1, CV_8UC3, o.background);
    return sh;
  }
  const auto ident = set.identity.values<std::int32_t>(), view = set.view.values<std::int32_t>(),
             loc = set.location.values<std::int32_t>(), split = set.split.values<std::int32_t>();
  std::map<std::tuple<int, int, int>, std::int64_t> row_of;  // (identity, view, location) -> row
  std::vector<int> id_images(static_cast<std::size_t>(n_ids), 0),
      id_validation(static_cast<std::size_t>(n_ids), 0);
  for (std::int64_t i = 0; i < set.size(); ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (ident[k] < 0 || ident[k] >= n_ids)
      throw Error("contact sheet: identity " + std::to_string(ident[k]) + " has no name");
    row_of.emplace(std::tuple{ident[k], view[k], loc[k]}, i);
    ++id_images[static_cast<std::size_t>(ident[k])];
    id_validation[static_cast<std::size_t>(ident[k])] += split[k] == kSplitValidation;
  }
  const std::vector<int> view_ids = distinct(view), loc_ids = distinct(loc);
  sh.distinct_views = static_cast<int>(view_ids.size());
  sh.distinct_locations = static_cast<int>(loc_ids.size());
  auto held = [&](int id) {
    const auto k = static_cast<std::size_t>(id);
    return id_images[k] > 0 && id_validation[k] == id_images[k];
  };

  for (int k = 0; k < n_ids; ++k) sh.identities.push_back(k);
  std::stable_sort(sh.identities.begin(), sh.identities.end(), [&](int a, int b) {
    return set.identity_category[static_cast<std::size_t>(a)] <
           set.identity_category[static_cast<std::size_t>(b)];
  });
  if (static_cast<int>(sh.identities.size()) > o.max_identities)
    sh.identities.resize(static_cast<std::size_t>(std::max(0, o.max_identities)));
  for (int id : sh.identities) sh.identity_held.push_back(held(id));
  for (int j : spread(sh.distinct_views, o.max_views)) {
    if (!view_ids.empty()) sh.views.push_back(view_ids[static_cast<std::size_t>(j)]);
  }
  if (loc_ids.size() > 1) {
    for (int j : spread(sh.distinct_locations, o.max_locations))
      sh.locations.push_back(loc_ids[static_cast<std::size_t>(j)]);
  }

  // The first location a view of `id` appears at (its crop is that location's cell).
  auto first_location = [&](int id, int v) -> std::pair<std::int64_t, int> {
    for (int l : loc_ids) {
      if (auto it = row_of.find({id, v, l}); it != row_of.end()) return {it->second, l};
    }
    return {-1, -1};
  };
  for (int v : sh.views) {
    bool all = true, any = false;
    for (int id = 0; id < n_ids; ++id) {
      if (held(id)) continue;
      const auto [r, l] = first_location(id, v);
      if (r < 0) continue;
      any = true;
      all = all && split[static_cast<std::size_t>(r)] == kSplitValidation;
    }
    sh.view_held.push_back(any && all);
  }

  const int t = o.thumb;
  sh.locations_x =
      static_cast<int>(sh.views.size()) * sh.step + (sh.locations.empty() ? 0 : o.group_gap);
  const int width = sh.locations_x + static_cast<int>(sh.locations.size()) * sh.step;
  const int height = static_cast<int>(sh.identities.size()) * sh.step;
  sh.image = cv::Mat(std::max(1, height), std::max(1, width), CV_8UC3, o.background);
  const int h = static_cast<int>(set.images.dim(2)), w = static_cast<int>(set.images.dim(3));
  auto paste = [&](std::int64_t row, const cv::Rect& crop, int x, int y) {
    cv::Mat thumb, src = image_bgr(set, row)(crop);
    cv::resize(src, thumb, cv::Size(t, t), 0, 0, src.cols > t ? cv::INTER_AREA : cv::INTER_LINEAR);
    thumb.copyTo(sh.image(cv::Rect(x, y, t, t)));
    sh.tiles.push_back({x, y, row, split[static_cast<std::size_t>(row)] == kSplitValidation});
  };
  for (std::size_t r = 0; r < sh.identities.size(); ++r) {
    const int id = sh.identities[r], y = static_cast<int>(r) * sh.step;
    for (std::size_t j = 0; j < sh.views.size(); ++j) {
      const auto [row, l] = first_location(id, sh.views[j]);
      if (row >= 0) paste(row, cell_of(set, l, h, w), static_cast<int>(j) * sh.step, y);
    }
    for (std::size_t j = 0; j < sh.locations.size(); ++j) {
      auto it = row_of.find({id, sh.views.empty() ? 0 : sh.views[0], sh.locations[j]});
      if (it != row_of.end())
        paste(it->second, cv::Rect(0, 0, w, h), sh.locations_x + static_cast<int>(j) * sh.step, y);
    }
  }
  return sh;
}

}  // namespace wmgeom::sheet
