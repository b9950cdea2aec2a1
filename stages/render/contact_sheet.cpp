#include "render/contact_sheet.h"

#include <algorithm>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "sheet/contact_sheet.h"

namespace wmgeom::render {
namespace {

constexpr int kThumb = 96;
constexpr int kLabelWidth = 170;
constexpr int kHeader = 44;
constexpr int kTop = kHeader + 20;  // thumbnails start here
const cv::Scalar kText(235, 235, 235);
const cv::Scalar kDim(150, 150, 150);
const cv::Scalar kHeld(60, 170, 255);  // orange (BGR): validation split
const cv::Scalar kFrame(70, 70, 70);

void text(cv::Mat& img, const std::string& s, int x, int y, const cv::Scalar& color,
          double scale = 0.42) {
  cv::putText(img, s, cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, scale, color, 1, cv::LINE_AA);
}

}  // namespace

void write_contact_sheet(const StimulusSet& set, const std::filesystem::path& file) {
  const sheet::Sheet sh = sheet::compose(set, {.thumb = kThumb,
                                               .gap = 6,
                                               .group_gap = 20,
                                               .max_identities = kMaxSheetRows,
                                               .max_views = kMaxSheetViews,
                                               .max_locations = kMaxSheetLocations,
                                               .background = cv::Scalar(18, 18, 18)});
  const int n_ids = static_cast<int>(set.identity_names.size());
  const int rows = static_cast<int>(sh.identities.size());
  const int width = kLabelWidth + sh.image.cols + 6;
  const int height = kTop + rows * sh.step + 28;
  cv::Mat canvas(height, std::max(width, 640), CV_8UC3, cv::Scalar(18, 18, 18));
  sh.image.copyTo(canvas(cv::Rect(kLabelWidth, kTop, sh.image.cols, sh.image.rows)));
  for (const auto& tile : sh.tiles) {
    cv::rectangle(canvas,
                  cv::Rect(kLabelWidth + tile.x - 1, kTop + tile.y - 1, kThumb + 2, kThumb + 2),
                  kFrame);
  }

  const int size = set.size() > 0 ? static_cast<int>(set.images.dim(2)) : 0;
  text(canvas,
       set.info.value("source", std::string("stimuli")) + ": " + std::to_string(set.size()) +
           " images, " + std::to_string(size) + " px, " + std::to_string(n_ids) + " identities x " +
           std::to_string(std::max(1, set.n_views)) + " views x " +
           std::to_string(std::max(1, set.n_locations)) + " locations",
       8, 18, kText, 0.5);
  text(canvas, "views (cropped to the object's cell)", kLabelWidth, kHeader - 4, kDim);
  if (!sh.locations.empty()) {
    text(canvas, "view " + std::to_string(sh.views.empty() ? 0 : sh.views[0]) + " at each location",
         kLabelWidth + sh.locations_x, kHeader - 4, kDim);
  }
  const int label_y = kHeader + 14;
  for (std::size_t j = 0; j < sh.views.size(); ++j) {
    const bool held = sh.view_held[j];
    // Appended piecewise: GCC 12 warns spuriously (-Wrestrict) on "v" + to_string(v) + ...
    std::string label = "v";
    label += std::to_string(sh.views[j]);
    if (held) label += " val";
    text(canvas, label, kLabelWidth + static_cast<int>(j) * sh.step + 2, label_y,
         held ? kHeld : kText);
  }
  for (std::size_t j = 0; j < sh.locations.size(); ++j) {
    text(canvas, "loc " + std::to_string(sh.locations[j]),
         kLabelWidth + sh.locations_x + static_cast<int>(j) * sh.step + 2, label_y, kText);
  }
  for (int r = 0; r < rows; ++r) {
    const int y = kTop + r * sh.step;
    const auto id = static_cast<std::size_t>(sh.identities[static_cast<std::size_t>(r)]);
    const int category = set.identity_category[id];
    text(canvas, set.identity_names[id], 8, y + 30, kText, 0.5);
    if (category >= 0 && category < static_cast<int>(set.category_names.size())) {
      text(canvas, set.category_names[static_cast<std::size_t>(category)], 8, y + 52, kDim);
    }
    if (sh.identity_held[static_cast<std::size_t>(r)])
      text(canvas, "held out (val)", 8, y + 74, kHeld);
  }
  std::string foot = "orange: validation split (held-out views / identities)";
  if (n_ids > rows)
    foot +=
        "; first " + std::to_string(rows) + " of " + std::to_string(n_ids) + " identities shown";
  text(canvas, foot, 8, height - 10, kDim);

  if (!file.parent_path().empty()) std::filesystem::create_directories(file.parent_path());
  bool ok = false;
  try {
    ok = cv::imwrite(file.string(), canvas);
  } catch (const cv::Exception& e) {
    throw Error("cannot write " + file.string() + ": " + e.what());
  }
  if (!ok) throw Error("cannot write " + file.string());
}

}  // namespace wmgeom::render
