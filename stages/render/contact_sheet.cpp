#include "render/contact_sheet.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace wmgeom::render {
namespace {

constexpr int kThumb = 96;
constexpr int kLabelWidth = 170;
constexpr int kHeader = 44;
constexpr int kGap = 6;
constexpr int kGroupGap = 20;
const cv::Scalar kText(235, 235, 235);
const cv::Scalar kDim(150, 150, 150);
const cv::Scalar kHeld(60, 170, 255);  // orange (BGR): validation split
const cv::Scalar kFrame(70, 70, 70);

void text(cv::Mat& img, const std::string& s, int x, int y, const cv::Scalar& color,
          double scale = 0.42) {
  cv::putText(img, s, cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, scale, color, 1, cv::LINE_AA);
}

// Image `row` of the set (channel-first RGB) as a BGR Mat.
cv::Mat image_bgr(const StimulusSet& set, std::int64_t row) {
  const int s = static_cast<int>(set.images.dim(2));
  const std::size_t plane = static_cast<std::size_t>(s) * s;
  const std::uint8_t* p =
      set.images.data<std::uint8_t>() + static_cast<std::size_t>(row) * 3 * plane;
  std::vector<cv::Mat> ch = {cv::Mat(s, s, CV_8UC1, const_cast<std::uint8_t*>(p + 2 * plane)),
                             cv::Mat(s, s, CV_8UC1, const_cast<std::uint8_t*>(p + plane)),
                             cv::Mat(s, s, CV_8UC1, const_cast<std::uint8_t*>(p))};
  cv::Mat bgr;
  cv::merge(ch, bgr);
  return bgr;
}

void paste(cv::Mat& sheet, const cv::Mat& img, int x, int y) {
  cv::Mat thumb;
  cv::resize(img, thumb, cv::Size(kThumb, kThumb), 0, 0,
             img.cols > kThumb ? cv::INTER_AREA : cv::INTER_LINEAR);
  thumb.copyTo(sheet(cv::Rect(x, y, kThumb, kThumb)));
  cv::rectangle(sheet, cv::Rect(x - 1, y - 1, kThumb + 2, kThumb + 2), kFrame);
}

// Up to `max` indices spread evenly over [0, n).
std::vector<int> spread(int n, int max) {
  std::vector<int> out;
  const int k = std::min(n, max);
  for (int i = 0; i < k; ++i)
    out.push_back(k == n ? i : static_cast<int>(static_cast<long long>(i) * (n - 1) / (k - 1)));
  return out;
}

}  // namespace

void write_contact_sheet(const StimulusSet& set, const std::filesystem::path& file) {
  const std::int64_t n = set.size();
  const int n_ids = static_cast<int>(set.identity_names.size());
  const int n_views = std::max(1, set.n_views);
  const int n_loc = std::max(1, set.n_locations);
  const int size = n > 0 ? static_cast<int>(set.images.dim(2)) : 0;

  // (identity, view, location) -> row; rows need not be in any order.
  std::vector<std::int64_t> row_of(static_cast<std::size_t>(n_ids) * n_views * n_loc, -1);
  std::vector<int> id_rows(static_cast<std::size_t>(n_ids), 0),
      id_val(static_cast<std::size_t>(n_ids), 0);
  std::vector<int> view_rows(static_cast<std::size_t>(n_views), 0),
      view_val(static_cast<std::size_t>(n_views), 0);
  const auto* ident = set.identity.data<std::int32_t>();
  const auto* view = set.view.data<std::int32_t>();
  const auto* loc = set.location.data<std::int32_t>();
  const auto* split = set.split.data<std::int32_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    row_of[(static_cast<std::size_t>(ident[i]) * n_views + view[i]) * n_loc + loc[i]] = i;
    ++id_rows[ident[i]];
    ++view_rows[view[i]];
    if (split[i] == kSplitValidation) {
      ++id_val[ident[i]];
      ++view_val[view[i]];
    }
  }
  auto id_held = [&](int k) { return id_rows[k] > 0 && id_val[k] == id_rows[k]; };
  // A view is held out if it is validation for every identity that is not itself held out.
  std::vector<bool> view_held(static_cast<std::size_t>(n_views), false);
  for (int v = 0; v < n_views; ++v) {
    bool all = true, any = false;
    for (int k = 0; k < n_ids; ++k) {
      if (id_held(k)) continue;
      const auto r = row_of[(static_cast<std::size_t>(k) * n_views + v) * n_loc];
      if (r < 0) continue;
      any = true;
      all = all && split[r] == kSplitValidation;
    }
    view_held[static_cast<std::size_t>(v)] = any && all;
  }

  // Location-0 cell, for the view crops.
  cv::Rect cell(0, 0, size, size);
  if (set.info.contains("cells") && !set.info["cells"].empty() && set.info.contains("cell_size")) {
    const auto& c0 = set.info["cells"][0];
    const int cs = set.info["cell_size"].get<int>();
    cell = cv::Rect(c0[0].get<int>(), c0[1].get<int>(), cs, cs) & cv::Rect(0, 0, size, size);
  }

  const std::vector<int> views = spread(n_views, kMaxSheetViews);
  const std::vector<int> locs = n_loc > 1 ? spread(n_loc, kMaxSheetLocations) : std::vector<int>{};
  const int rows = std::min(n_ids, kMaxSheetRows);
  const int step = kThumb + kGap;
  const int group_b = kLabelWidth + static_cast<int>(views.size()) * step + kGroupGap;
  const int width = group_b + static_cast<int>(locs.size()) * step + kGap;
  const int height = kHeader + 20 + rows * step + 28;
  cv::Mat sheet(height, std::max(width, 640), CV_8UC3, cv::Scalar(18, 18, 18));

  char title[256];
  std::snprintf(title, sizeof title,
                "%s: %lld images, %d px, %d identities x %d views x %d locations",
                set.info.value("source", std::string("stimuli")).c_str(), static_cast<long long>(n),
                size, n_ids, n_views, n_loc);
  text(sheet, title, 8, 18, kText, 0.5);
  text(sheet, "views (location-0 cell)", kLabelWidth, kHeader - 4, kDim);
  if (!locs.empty())
    text(sheet, "view " + std::to_string(views.empty() ? 0 : views[0]) + " at each location",
         group_b, kHeader - 4, kDim);
  const int label_y = kHeader + 14;
  for (std::size_t j = 0; j < views.size(); ++j) {
    const int v = views[j];
    const bool held = view_held[static_cast<std::size_t>(v)];
    // Appended piecewise: GCC 12 warns spuriously (-Wrestrict) on "v" + to_string(v) + ...
    std::string label = "v";
    label += std::to_string(v);
    if (held) label += " val";
    text(sheet, label, kLabelWidth + static_cast<int>(j) * step + 2, label_y, held ? kHeld : kText);
  }
  for (std::size_t j = 0; j < locs.size(); ++j) {
    text(sheet, "loc " + std::to_string(locs[j]), group_b + static_cast<int>(j) * step + 2, label_y,
         kText);
  }

  for (int k = 0; k < rows; ++k) {
    const int y = kHeader + 20 + k * step;
    const int category = k < static_cast<int>(set.identity_category.size())
                             ? set.identity_category[static_cast<std::size_t>(k)]
                             : -1;
    text(sheet, set.identity_names[static_cast<std::size_t>(k)], 8, y + 30, kText, 0.5);
    if (category >= 0 && category < static_cast<int>(set.category_names.size())) {
      text(sheet, set.category_names[static_cast<std::size_t>(category)], 8, y + 52, kDim);
    }
    if (id_held(k)) text(sheet, "held out (val)", 8, y + 74, kHeld);
    for (std::size_t j = 0; j < views.size(); ++j) {
      const auto r = row_of[(static_cast<std::size_t>(k) * n_views + views[j]) * n_loc];
      if (r >= 0)
        paste(sheet, image_bgr(set, r)(cell), kLabelWidth + static_cast<int>(j) * step, y);
    }
    for (std::size_t j = 0; j < locs.size(); ++j) {
      const auto r = row_of[(static_cast<std::size_t>(k) * n_views + views[0]) * n_loc + locs[j]];
      if (r >= 0) paste(sheet, image_bgr(set, r), group_b + static_cast<int>(j) * step, y);
    }
  }
  std::string foot = "orange: validation split (held-out views / identities)";
  if (n_ids > rows)
    foot +=
        "; first " + std::to_string(rows) + " of " + std::to_string(n_ids) + " identities shown";
  text(sheet, foot, 8, height - 10, kDim);

  if (!file.parent_path().empty()) std::filesystem::create_directories(file.parent_path());
  bool ok = false;
  try {
    ok = cv::imwrite(file.string(), sheet);
  } catch (const cv::Exception& e) {
    throw Error("cannot write " + file.string() + ": " + e.what());
  }
  if (!ok) throw Error("cannot write " + file.string());
}

}  // namespace wmgeom::render
