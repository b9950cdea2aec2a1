// The report's stimulus contact sheet: the thumbnails composed by
// sheet::compose (src/sheet, shared with render's contact_sheet.png), encoded
// as one PNG and embedded as a data: URI in an SVG figure whose labels are
// SVG text (crisp at any zoom). Validation-split images are outlined in
// orange.
#include <algorithm>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "core/error.h"
#include "report/sections.h"
#include "report/svg.h"
#include "sheet/contact_sheet.h"

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
  const int n_ids = static_cast<int>(set.identity_names.size());
  const sheet::Sheet sh = sheet::compose(set, {.thumb = o.thumb,
                                               .gap = kGap,
                                               .group_gap = 16,
                                               .max_identities = o.sheet_identities,
                                               .max_views = o.sheet_views,
                                               .max_locations = kMaxLocations});
  const int t = o.thumb, step = sh.step, group_b = sh.locations_x;
  const std::vector<int>& views = sh.views;
  const std::vector<int>& locs = sh.locations;
  const int img_w = sh.image.cols, img_h = sh.image.rows;
  ImageFigure f;
  f.id = "fig-stimuli-" + std::to_string(++s.figures);
  f.title = "Contact sheet: " + std::to_string(set.size()) + " images of " + std::to_string(n_ids) +
            " identities, " + std::to_string(sh.distinct_views) + " views, " +
            std::to_string(sh.distinct_locations) + " locations";
  f.left = kLabelWidth;
  f.top = kHeader;
  f.image_width = img_w;
  f.image_height = img_h;
  for (const auto& tile : sh.tiles) {
    if (tile.validation) {
      f.boxes.push_back({static_cast<double>(tile.x) + 1, static_cast<double>(tile.y) + 1,
                         static_cast<double>(t) - 2, static_cast<double>(t) - 2, kHeldColor});
    }
  }
  for (std::size_t r = 0; r < sh.identities.size(); ++r) {
    const int id = sh.identities[r], y = static_cast<int>(r) * step;
    const int cat = set.identity_category[static_cast<std::size_t>(id)];
    f.labels.push_back({-kLabelWidth + 6.0, y + t / 2.0 - 3,
                        set.identity_names[static_cast<std::size_t>(id)], "#222222", "start"});
    if (cat >= 0 && cat < static_cast<int>(set.category_names.size()))
      f.labels.push_back({-kLabelWidth + 6.0, y + t / 2.0 + 12,
                          set.category_names[static_cast<std::size_t>(cat)], "#777777", "start"});
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
    if (!cv::imencode(".png", sh.image, png))
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
