// The report's stimulus contact sheet: one row per identity, a few views
// (cropped to the object's cell) and the same view at each location, composed
// with OpenCV into one PNG and embedded as a data: URI in an SVG figure whose
// labels are SVG text (crisp at any zoom). Validation-split images are
// outlined in orange.
#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "report/sections.h"
#include "report/svg.h"

namespace wmgeom::report {
namespace {

constexpr int kGap = 4;
constexpr int kLabelWidth = 150;
constexpr int kHeader = 58;
constexpr int kMaxLocations = 6;
const char* const kHeldColor = "#f28e2b";

std::string base64(const std::vector<unsigned char>& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    for (int k = 3; k >= 0; --k) out += kAlphabet[(v >> (6 * k)) & 63];
  }
  if (i < bytes.size()) {
    unsigned v = bytes[i] << 16;
    if (i + 1 < bytes.size()) v |= bytes[i + 1] << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Image `row` of the set (channel-first RGB) as a BGR Mat (copied).
cv::Mat image_bgr(const StimulusSet& set, std::int64_t row) {
  const int s = static_cast<int>(set.images.dim(2));
  const std::size_t plane =
      static_cast<std::size_t>(s) * static_cast<std::size_t>(set.images.dim(3));
  const std::uint8_t* p =
      set.images.data<std::uint8_t>() + static_cast<std::size_t>(row) * 3 * plane;
  const int w = static_cast<int>(set.images.dim(3));
  std::vector<cv::Mat> ch = {cv::Mat(s, w, CV_8UC1, const_cast<std::uint8_t*>(p + 2 * plane)),
                             cv::Mat(s, w, CV_8UC1, const_cast<std::uint8_t*>(p + plane)),
                             cv::Mat(s, w, CV_8UC1, const_cast<std::uint8_t*>(p))};
  cv::Mat bgr;
  cv::merge(ch, bgr);
  return bgr;
}

// Up to `max` indices spread evenly over [0, n).
std::vector<int> spread(int n, int max) {
  std::vector<int> out;
  const int k = std::min(n, std::max(1, max));
  for (int i = 0; i < k; ++i)
    out.push_back(
        k == n || k == 1 ? i : static_cast<int>(static_cast<long long>(i) * (n - 1) / (k - 1)));
  return out;
}

// The rectangle of location `loc` in the canvas (render's info.cells), or the whole image.
cv::Rect cell_of(const StimulusSet& set, int loc, int h, int w) {
  const cv::Rect all(0, 0, w, h);
  if (!set.info.contains("cells") || !set.info.contains("cell_size")) return all;
  const auto& cells = set.info["cells"];
  if (!cells.is_array() || loc >= static_cast<int>(cells.size())) return all;
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

}  // namespace

Section stimuli_section(const ReportData& d, const ReportOptions& o) {
  Section s{"stimuli", "Stimuli", "", "", 0};
  if (!d.stimuli) {
    s.omitted = "no stimulus set was connected (the optional `stimuli` port)";
    return s;
  }
  const StimulusSet& set = *d.stimuli;
  if (set.size() == 0) {
    s.omitted = "the stimulus set is empty";
    return s;
  }
  const int h = static_cast<int>(set.images.dim(2)), w = static_cast<int>(set.images.dim(3));
  const int n_ids = static_cast<int>(set.identity_names.size());
  std::map<std::tuple<int, int, int>, std::int64_t> row_of;  // (identity, view, location) -> row
  std::vector<int> view_ids, loc_ids;
  const auto ident = set.identity.values<std::int32_t>(), view = set.view.values<std::int32_t>(),
             loc = set.location.values<std::int32_t>();
  for (std::int64_t i = 0; i < set.size(); ++i) {
    const auto k = static_cast<std::size_t>(i);
    row_of.emplace(std::tuple{ident[k], view[k], loc[k]}, i);
    view_ids.push_back(view[k]);
    loc_ids.push_back(loc[k]);
  }
  std::sort(view_ids.begin(), view_ids.end());
  view_ids.erase(std::unique(view_ids.begin(), view_ids.end()), view_ids.end());
  std::sort(loc_ids.begin(), loc_ids.end());
  loc_ids.erase(std::unique(loc_ids.begin(), loc_ids.end()), loc_ids.end());

  // Identities grouped by category, at most sheet_identities rows.
  std::vector<int> ids(static_cast<std::size_t>(n_ids));
  for (int k = 0; k < n_ids; ++k) ids[static_cast<std::size_t>(k)] = k;
  std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) {
    return set.identity_category[static_cast<std::size_t>(a)] <
           set.identity_category[static_cast<std::size_t>(b)];
  });
  if (static_cast<int>(ids.size()) > o.sheet_identities)
    ids.resize(static_cast<std::size_t>(o.sheet_identities));
  std::vector<int> views;
  for (int j : spread(static_cast<int>(view_ids.size()), o.sheet_views))
    views.push_back(view_ids[static_cast<std::size_t>(j)]);
  std::vector<int> locs;
  if (loc_ids.size() > 1)
    for (int j : spread(static_cast<int>(loc_ids.size()), kMaxLocations))
      locs.push_back(loc_ids[static_cast<std::size_t>(j)]);

  const int t = o.thumb, step = t + kGap;
  const int group_b = static_cast<int>(views.size()) * step + (locs.empty() ? 0 : 16);
  const int img_w = group_b + static_cast<int>(locs.size()) * step;
  const int img_h = static_cast<int>(ids.size()) * step;
  cv::Mat sheet(std::max(1, img_h), std::max(1, img_w), CV_8UC3, cv::Scalar(255, 255, 255));
  ImageFigure f;
  f.id = "fig-stimuli-" + std::to_string(++s.figures);
  f.title = "Contact sheet: " + std::to_string(set.size()) + " images of " + std::to_string(n_ids) +
            " identities, " + std::to_string(view_ids.size()) + " views, " +
            std::to_string(loc_ids.size()) + " locations";
  f.left = kLabelWidth;
  f.top = kHeader;
  f.image_width = img_w;
  f.image_height = img_h;

  auto paste = [&](std::int64_t row, const cv::Rect& crop, int x, int y) {
    cv::Mat thumb;
    cv::Mat src = image_bgr(set, row)(crop);
    cv::resize(src, thumb, cv::Size(t, t), 0, 0, src.cols > t ? cv::INTER_AREA : cv::INTER_LINEAR);
    thumb.copyTo(sheet(cv::Rect(x, y, t, t)));
    if (set.split.values<std::int32_t>()[static_cast<std::size_t>(row)] == kSplitValidation)
      f.boxes.push_back({static_cast<double>(x) + 1, static_cast<double>(y) + 1,
                         static_cast<double>(t) - 2, static_cast<double>(t) - 2, kHeldColor});
  };
  for (std::size_t r = 0; r < ids.size(); ++r) {
    const int id = ids[r], y = static_cast<int>(r) * step;
    const int cat = set.identity_category[static_cast<std::size_t>(id)];
    f.labels.push_back({-kLabelWidth + 6.0, y + t / 2.0 - 3,
                        set.identity_names[static_cast<std::size_t>(id)], "#222222", "start"});
    if (cat >= 0 && cat < static_cast<int>(set.category_names.size()))
      f.labels.push_back({-kLabelWidth + 6.0, y + t / 2.0 + 12,
                          set.category_names[static_cast<std::size_t>(cat)], "#777777", "start"});
    for (std::size_t j = 0; j < views.size(); ++j) {
      // The view at the first location it exists at, cropped to that location's cell.
      for (int l : loc_ids) {
        auto it = row_of.find({id, views[j], l});
        if (it == row_of.end()) continue;
        paste(it->second, cell_of(set, l, h, w), static_cast<int>(j) * step, y);
        break;
      }
    }
    for (std::size_t j = 0; j < locs.size(); ++j) {
      auto it = row_of.find({id, views.empty() ? 0 : views[0], locs[j]});
      if (it != row_of.end())
        paste(it->second, cv::Rect(0, 0, w, h), group_b + static_cast<int>(j) * step, y);
    }
  }
  for (std::size_t j = 0; j < views.size(); ++j)
    f.labels.push_back(
        {j * step + t / 2.0, -6, "view " + std::to_string(views[j]), "#333333", "middle"});
  for (std::size_t j = 0; j < locs.size(); ++j)
    f.labels.push_back({group_b + j * step + t / 2.0, -6, "location " + std::to_string(locs[j]),
                        "#333333", "middle"});
  f.labels.push_back({0, -22, "views (cropped to the object's cell)", "#777777", "start"});
  if (!locs.empty())
    f.labels.push_back(
        {static_cast<double>(group_b), -22,
         "view " + std::to_string(views.empty() ? 0 : views[0]) + " at each location", "#777777",
         "start"});
  f.width = kLabelWidth + img_w + 10;
  f.height = kHeader + img_h + 8;

  std::vector<unsigned char> png;
  try {
    if (!cv::imencode(".png", sheet, png))
      throw Error("report: OpenCV could not encode the contact sheet as PNG");
  } catch (const cv::Exception& e) {
    throw Error(std::string("report: OpenCV could not encode the contact sheet: ") + e.what());
  }
  f.data_uri = "data:image/png;base64," + base64(png);
  std::string more = static_cast<int>(n_ids) > o.sheet_identities
                         ? " The first " + std::to_string(o.sheet_identities) + " of " +
                               std::to_string(n_ids) +
                               " identities are shown (parameter sheet_identities)."
                         : "";
  s.body =
      "<p class=\"caption\">One row per identity (name, category); left: views of it, right: one "
      "view at each "
      "screen location. Orange outline: validation split (held-out views or identities)." +
      escape(more) + "</p><figure>" + render(f) + "</figure>";
  return s;
}

}  // namespace wmgeom::report
