#include "report/svg.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/format.h"

namespace wmgeom::report {
namespace {

constexpr double kCharW = 6.2;  // average glyph width of the 11 px sans font
constexpr const char* kFont = "system-ui, 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif";
constexpr const char* kAxis = "#444444";
constexpr const char* kGrid = "#e6e6e6";

bool finite(double v) { return std::isfinite(v); }

// Coordinates: one decimal is plenty at screen resolution and keeps files small.
std::string num(double v) { return format_fixed(std::abs(v) < 0.05 ? 0.0 : v, 1); }

double text_width(const std::string& s, double char_w = kCharW) {
  return static_cast<double>(s.size()) * char_w;
}

struct Scale {
  double d0 = 0, d1 = 1, r0 = 0, r1 = 1;
  double operator()(double v) const {
    double t = d1 == d0 ? 0.5 : (v - d0) / (d1 - d0);
    return r0 + std::clamp(t, -0.02, 1.02) * (r1 - r0);
  }
};

// An SVG document under construction.
class Svg {
 public:
  Svg(const std::string& id, double w, double h, const std::string& title) {
    s_ += "<svg class=\"figure\" xmlns=\"http://www.w3.org/2000/svg\"";
    if (!id.empty()) s_ += " id=\"" + escape(id) + "\"";
    s_ += " width=\"" + num(w) + "\" height=\"" + num(h) + "\" viewBox=\"0 0 " + num(w) + " " +
          num(h) + "\" role=\"img\" aria-label=\"" + escape(title) + "\" font-family=\"" + kFont +
          "\" font-size=\"11\">";
    if (!title.empty())
      text(8, 17, title, "start", "font-size=\"13\" font-weight=\"600\" fill=\"#222\"");
  }
  void raw(const std::string& s) { s_ += s; }
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1,
            const std::string& extra = "", const std::string& tooltip = "") {
    s_ += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" +
          num(y2) + "\" stroke=\"" + stroke + "\" stroke-width=\"" + fmt(width) + "\"" +
          (extra.empty() ? "" : " " + extra);
    s_ += tooltip.empty() ? "/>" : "><title>" + escape(tooltip) + "</title></line>";
  }
  void rect(double x, double y, double w, double h, const std::string& attrs,
            const std::string& tooltip = "") {
    s_ += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(std::max(0.0, w)) +
          "\" height=\"" + num(std::max(0.0, h)) + "\" " + attrs;
    s_ += tooltip.empty() ? "/>" : "><title>" + escape(tooltip) + "</title></rect>";
  }
  void text(double x, double y, const std::string& t, const std::string& anchor = "start",
            const std::string& extra = "") {
    s_ += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\"";
    if (anchor != "start") s_ += " text-anchor=\"" + anchor + "\"";
    if (!extra.empty()) s_ += " " + extra;
    s_ += ">" + escape(t) + "</text>";
  }
  void vtext(double x, double y, const std::string& t) {  // rotated, centred (y axis titles)
    s_ += "<text transform=\"translate(" + num(x) + "," + num(y) +
          ") rotate(-90)\" text-anchor=\"middle\" fill=\"" + std::string(kAxis) + "\">" +
          escape(t) + "</text>";
  }
  std::string finish() { return s_ + "</svg>"; }

 private:
  std::string s_;
};

std::string dash_attr(bool dotted) {
  return dotted ? "stroke-dasharray=\"2 3\"" : "stroke-dasharray=\"6 4\"";
}

// Axis domain from data values (plus fixed ends where given), extended to ticks.
std::pair<double, double> domain(std::vector<double> values, std::optional<double> lo,
                                 std::optional<double> hi) {
  double a = std::numeric_limits<double>::infinity(), b = -a;
  for (double v : values) {
    if (!finite(v)) continue;
    a = std::min(a, v);
    b = std::max(b, v);
  }
  if (!finite(a)) a = 0, b = 1;
  if (!lo && !hi && b > a) {  // fitted at both ends: keep marks off the frame
    const double pad = 0.04 * (b - a);
    a -= pad, b += pad;
  }
  if (lo) a = *lo;
  if (hi) b = *hi;
  if (b <= a) {
    double pad = a == 0 ? 1 : std::abs(a) * 0.1;
    if (!lo) a -= pad;
    if (!hi || b <= a) b = a + 2 * pad;
  }
  auto t = nice_ticks(a, b);
  if (t.size() > 1) {
    double step = t[1] - t[0];
    if (!lo) a = std::floor(a / step + 1e-9) * step;
    if (!hi) b = std::ceil(b / step - 1e-9) * step;
  }
  return {a, b};
}

void y_axis(Svg& svg, const Scale& y, double x0, double x1, const std::string& label,
            double label_x) {
  for (double t : nice_ticks(y.d0, y.d1)) {
    double py = y(t);
    svg.line(x0, py, x1, py, kGrid);
    svg.text(x0 - 5, py + 3.5, fmt(t, 4), "end", "fill=\"#555\"");
  }
  svg.line(x0, y.r0, x0, y.r1, kAxis);
  if (!label.empty()) svg.vtext(label_x, (y.r0 + y.r1) / 2, label);
}

void x_axis(Svg& svg, const Scale& x, double y0, bool integer, const std::string& label,
            double label_y,
            const std::vector<std::pair<double, std::string>>& explicit_ticks = {}) {
  std::vector<std::pair<double, std::string>> ticks = explicit_ticks;
  if (ticks.empty()) {
    auto auto_ticks = nice_ticks(x.d0, x.d1);
    if (integer && auto_ticks.size() > 1 && auto_ticks[1] - auto_ticks[0] < 1) {
      auto_ticks.clear();
      for (double t = std::ceil(x.d0); t <= x.d1 + 1e-9; t += 1) auto_ticks.push_back(t);
    }
    for (double t : auto_ticks) ticks.push_back({t, fmt(t, 6)});
  }
  double last_right = -std::numeric_limits<double>::infinity();
  for (const auto& [t, text] : ticks) {
    if (!finite(t) || t < x.d0 - 1e-9 || t > x.d1 + 1e-9) continue;
    double px = x(t);
    svg.line(px, y0, px, y0 + 4, kAxis);
    const double half = text_width(text) / 2;
    if (px - half < last_right + 4) continue;  // too close to the previous label
    svg.text(px, y0 + 15, text, "middle", "fill=\"#555\"");
    last_right = px + half;
  }
  svg.line(x.r0, y0, x.r1, y0, kAxis);
  if (!label.empty())
    svg.text((x.r0 + x.r1) / 2, label_y, label, "middle", std::string("fill=\"") + kAxis + "\"");
}

// A legend entry: a swatch kind and a text.
struct LegendItem {
  enum Kind { kLine, kDashed, kDotted, kSquare, kBand, kPoint, kWhisker } kind;
  std::string color, text;
  int shape = 0;
};

double legend_width(const std::vector<LegendItem>& items) {
  double w = 0;
  for (const auto& it : items) w = std::max(w, text_width(it.text));
  return items.empty() ? 0 : std::min(230.0, w + 36);
}

// A figure's height: at least `min_height`, and tall enough for a legend of
// `items` (15 px a row) between the top and bottom margins.
double fit_legend(double min_height, double top, double bottom,
                  const std::vector<LegendItem>& items) {
  return std::max(min_height, top + bottom + 15.0 * static_cast<double>(items.size()) + 10);
}

// An x-y figure's frame: margins for the y labels (left) and the legend
// (right), scales onto the plot area, and both axes drawn once `svg` exists.
struct XyFrame {
  double height;
  Scale x, y;
  void axes(Svg& svg, const std::string& xlabel, const std::string& ylabel, bool integer_x,
            const std::vector<std::pair<double, std::string>>& xticks = {}) const {
    y_axis(svg, y, x.r0, x.r1, ylabel, 14);
    x_axis(svg, x, y.r0, integer_x, xlabel, height - 8, xticks);
  }
};
XyFrame xy_frame(double width, double min_height, const std::vector<LegendItem>& items, double x0,
                 double x1, double y0, double y1) {
  const double L = 56, R = 14 + legend_width(items), T = 30, B = 44;
  const double height = fit_legend(min_height, T, B, items);
  return {height, Scale{x0, x1, L, width - R}, Scale{y0, y1, height - B, T}};
}

std::string shape_svg(double x, double y, int shape, const std::string& color, double r,
                      const std::string& tooltip) {
  std::string open, close = tooltip.empty() ? "/>" : "><title>" + escape(tooltip) + "</title>";
  switch (shape % 4) {
    case 1:
      open = "<rect x=\"" + num(x - r) + "\" y=\"" + num(y - r) + "\" width=\"" + num(2 * r) +
             "\" height=\"" + num(2 * r) + "\" fill=\"" + color + "\"";
      return open + close + (tooltip.empty() ? "" : "</rect>");
    case 2:
      open = "<path d=\"M" + num(x) + " " + num(y - r * 1.2) + "L" + num(x + r * 1.1) + " " +
             num(y + r * 0.8) + "L" + num(x - r * 1.1) + " " + num(y + r * 0.8) + "Z\" fill=\"" +
             color + "\"";
      return open + close + (tooltip.empty() ? "" : "</path>");
    case 3:
      open = "<path d=\"M" + num(x) + " " + num(y - r * 1.3) + "L" + num(x + r * 1.1) + " " +
             num(y) + "L" + num(x) + " " + num(y + r * 1.3) + "L" + num(x - r * 1.1) + " " +
             num(y) + "Z\" fill=\"" + color + "\"";
      return open + close + (tooltip.empty() ? "" : "</path>");
    default:
      open = "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"" + num(r) + "\" fill=\"" +
             color + "\"";
      return open + close + (tooltip.empty() ? "" : "</circle>");
  }
}

void legend(Svg& svg, const std::vector<LegendItem>& items, double x, double y) {
  for (const auto& it : items) {
    switch (it.kind) {
      case LegendItem::kLine:
        svg.line(x, y - 4, x + 20, y - 4, it.color, 2);
        break;
      case LegendItem::kDashed:
        svg.line(x, y - 4, x + 20, y - 4, it.color, 2, dash_attr(false));
        break;
      case LegendItem::kDotted:
        svg.line(x, y - 4, x + 20, y - 4, it.color, 1.5, dash_attr(true));
        break;
      case LegendItem::kSquare:
        svg.rect(x + 4, y - 10, 12, 12, "fill=\"" + it.color + "\"");
        break;
      case LegendItem::kBand:
        svg.rect(x + 2, y - 10, 16, 12, "fill=\"" + it.color + "\" fill-opacity=\"0.35\"");
        break;
      case LegendItem::kPoint:
        svg.raw(shape_svg(x + 10, y - 4, it.shape, it.color, 4, ""));
        break;
      case LegendItem::kWhisker:
        svg.line(x + 10, y - 10, x + 10, y + 2, it.color, 1);
        svg.line(x + 7, y - 10, x + 13, y - 10, it.color, 1);
        svg.line(x + 7, y + 2, x + 13, y + 2, it.color, 1);
        break;
    }
    svg.text(x + 26, y, it.text, "start", "fill=\"#333\"");
    y += 15;
  }
}

std::string path_of(const std::vector<double>& xs, const std::vector<double>& ys, const Scale& x,
                    const Scale& y) {
  std::string d;
  bool pen = false;
  for (std::size_t i = 0; i < xs.size() && i < ys.size(); ++i) {
    if (!finite(xs[i]) || !finite(ys[i])) {
      pen = false;
      continue;
    }
    // Appended piecewise: GCC 12 warns spuriously (-Wrestrict) on "M" + std::string.
    d += pen ? 'L' : 'M';
    d += num(x(xs[i])) + " " + num(y(ys[i]));
    pen = true;
  }
  return d;
}

// Closed polygon between lo and hi over x (one piece per run of finite values).
std::string band_of(const Series& s, const Scale& x, const Scale& y) {
  std::string d;
  std::size_t i = 0, n = std::min({s.x.size(), s.lo.size(), s.hi.size()});
  while (i < n) {
    while (i < n && !(finite(s.x[i]) && finite(s.lo[i]) && finite(s.hi[i]))) ++i;
    std::size_t j = i;
    while (j < n && finite(s.x[j]) && finite(s.lo[j]) && finite(s.hi[j])) ++j;
    if (j > i) {
      for (std::size_t k = i; k < j; ++k) {
        d += k == i ? 'M' : 'L';
        d += num(x(s.x[k])) + " " + num(y(s.hi[k]));
      }
      for (std::size_t k = j; k-- > i;) {
        d += 'L';
        d += num(x(s.x[k])) + " " + num(y(s.lo[k]));
      }
      d += "Z";
    }
    i = j;
  }
  return d;
}

}  // namespace

std::string palette(std::size_t i) {
  static const std::array<const char*, 10> kColors = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                                      "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                                      "#9c755f", "#bab0ac"};
  return kColors[i % kColors.size()];
}

std::string viridis(double t) {
  static const std::array<std::array<int, 3>, 10> kStops = {{{68, 1, 84},
                                                             {72, 40, 120},
                                                             {62, 73, 137},
                                                             {49, 104, 142},
                                                             {38, 130, 142},
                                                             {31, 158, 137},
                                                             {53, 183, 121},
                                                             {110, 206, 88},
                                                             {181, 222, 43},
                                                             {253, 231, 37}}};
  if (!finite(t)) t = 0;
  t = std::clamp(t, 0.0, 1.0) * (kStops.size() - 1);
  std::size_t i = std::min<std::size_t>(static_cast<std::size_t>(t), kStops.size() - 2);
  double f = t - static_cast<double>(i);
  int c[3];
  for (int k = 0; k < 3; ++k)
    c[k] = static_cast<int>(std::lround(kStops[i][k] * (1 - f) + kStops[i + 1][k] * f));
  return fmt::format("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
}

std::string fmt(double v, int digits) {
  if (!finite(v)) return std::isnan(v) ? "n/a" : (v > 0 ? "inf" : "-inf");
  if (v == 0) v = 0;  // no "-0"
  return format_general(v, digits);
}

std::string escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!finite(lo) || !finite(hi)) return {};
  if (hi < lo) std::swap(lo, hi);
  double span = hi - lo;
  if (span <= 0) return {lo};
  double raw = span / std::max(1, target);
  const int e = static_cast<int>(std::floor(std::log10(raw)));
  const double mag = std::pow(10.0, std::abs(e));
  const double norm = e >= 0 ? raw / mag : raw * mag;
  const double unit = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
  // Tick k is k * unit * 10^e, computed so that 3 * 0.2 prints as 0.6.
  auto tick = [&](double k) { return e >= 0 ? k * unit * mag : k * unit / mag; };
  const double step = tick(1);
  std::vector<double> out;
  for (double k = std::ceil(lo / step - 1e-9); tick(k) <= hi + step * 1e-9 && out.size() < 50;
       k += 1) {
    out.push_back(k == 0 ? 0.0 : tick(k));
  }
  return out;
}

// ---------------------------------------------------------------- line chart
std::string render(const LineChart& c) {
  std::vector<double> xs, ys;
  for (const auto& s : c.series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
    ys.insert(ys.end(), s.lo.begin(), s.lo.end());
    ys.insert(ys.end(), s.hi.begin(), s.hi.end());
  }
  for (const auto& r : c.refs) ys.push_back(r.y);
  auto [x0, x1] = domain(xs, c.xmin, c.xmax);
  if (c.integer_x && !c.xmin && !c.xmax) {
    // Frames and steps: the data's own ends, no padding to a tick.
    double a = std::numeric_limits<double>::infinity(), b = -a;
    for (double v : xs)
      if (finite(v)) a = std::min(a, v), b = std::max(b, v);
    if (finite(a) && b > a)
      x0 = a, x1 = b;
    else if (finite(a))
      x0 = a - 0.5, x1 = a + 0.5;
  }
  auto [y0, y1] = domain(ys, c.ymin, c.ymax);

  std::vector<LegendItem> items;
  if (c.legend) {
    for (const auto& s : c.series) {
      if (!s.name.empty())
        items.push_back({s.dotted   ? LegendItem::kDotted
                         : s.dashed ? LegendItem::kDashed
                                    : LegendItem::kLine,
                         s.color, s.name});
      if (!s.band_label.empty() && !s.lo.empty())
        items.push_back({LegendItem::kBand, s.color, s.band_label});
    }
    for (const auto& r : c.refs)
      if (!r.label.empty())
        items.push_back({r.dotted ? LegendItem::kDotted : LegendItem::kDashed, r.color, r.label});
  }
  const XyFrame frame = xy_frame(c.width, c.height, items, x0, x1, y0, y1);
  const Scale &x = frame.x, &y = frame.y;
  const double height = frame.height;
  Svg svg(c.id, c.width, height, c.title);
  frame.axes(svg, c.xlabel, c.ylabel, c.integer_x, c.xticks);

  svg.raw("<g class=\"data\">");
  for (const auto& s : c.series) {
    if (!s.lo.empty()) {
      std::string d = band_of(s, x, y);
      if (!d.empty())
        svg.raw("<path d=\"" + d + "\" fill=\"" + s.color + "\" fill-opacity=\"" +
                fmt(s.band_opacity) + "\" stroke=\"none\"/>");
    }
  }
  for (const auto& s : c.series) {
    std::string d = path_of(s.x, s.y, x, y);
    if (d.empty()) continue;
    const std::string style = s.dotted   ? "1.3\" " + dash_attr(true)
                              : s.dashed ? "1.8\" " + dash_attr(false)
                                         : std::string("1.8\"");
    svg.raw("<path d=\"" + d + "\" fill=\"none\" stroke=\"" + s.color + "\" stroke-width=\"" +
            style + "><title>" + escape(s.name) + "</title></path>");
    if (s.dotted) continue;  // null levels carry no markers
    std::size_t finite_points = 0;
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      finite_points += finite(s.x[i]) && finite(s.y[i]);
    if (finite_points <= 40) {
      for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
        if (finite(s.x[i]) && finite(s.y[i]))
          svg.raw(shape_svg(x(s.x[i]), y(s.y[i]), 0, s.color, 2.6,
                            s.name + ": " + fmt(s.x[i]) + ", " + fmt(s.y[i])));
      }
    }
  }
  svg.raw("</g>");
  for (const auto& r : c.refs) {
    if (finite(r.y))
      svg.line(x.r0, y(r.y), x.r1, y(r.y), r.color, 1.3, dash_attr(r.dotted),
               r.label.empty() ? "" : r.label + ": " + fmt(r.y));
  }
  legend(svg, items, x.r1 + 10, y.r1 + 10);
  return svg.finish();
}

// ----------------------------------------------------------------- bar chart
std::string render(const BarChart& c) {
  const std::size_t nb = std::max<std::size_t>(1, c.bars.size());
  auto color = [&](std::size_t b) { return b < c.colors.size() ? c.colors[b] : palette(b); };
  auto at = [](const std::vector<double>& v, std::size_t i) {
    return i < v.size() ? v[i] : std::numeric_limits<double>::quiet_NaN();
  };
  std::vector<double> ys{0};
  bool any_band = false, any_tick = false, any_chance = false;
  double max_label = 0;
  bool any_whisker = false, any_dot = false;
  for (const auto& g : c.groups) {
    for (std::size_t b = 0; b < nb; ++b) {
      double v = at(g.value, b), e = at(g.err, b);
      ys.push_back(v);
      if (finite(e)) ys.push_back(v + e), ys.push_back(v - e), any_whisker = true;
      if (finite(at(g.lo, b)) && finite(at(g.hi, b)))
        ys.push_back(at(g.lo, b)), ys.push_back(at(g.hi, b)), any_whisker = true;
      if (b < g.dots.size()) {
        for (double v2 : g.dots[b]) ys.push_back(v2), any_dot = any_dot || finite(v2);
      }
      if (finite(at(g.band_hi, b)))
        ys.push_back(at(g.band_hi, b)), ys.push_back(at(g.band_lo, b)), any_band = true;
      if (finite(at(g.tick, b))) ys.push_back(at(g.tick, b)), any_tick = true;
    }
    if (g.chance) ys.push_back(*g.chance), any_chance = true;
    max_label = std::max(max_label, text_width(g.label));
  }
  auto [y0, y1] = domain(ys, c.ymin, c.ymax);

  std::vector<LegendItem> items;
  for (std::size_t b = 0; b < c.bars.size(); ++b)
    items.push_back({LegendItem::kSquare, color(b), c.bars[b]});
  if (any_chance) items.push_back({LegendItem::kDashed, "#333333", c.chance_label});
  if (any_band)
    items.push_back({LegendItem::kBand, "#333333", c.band_label.empty() ? "null" : c.band_label});
  if (any_tick)
    items.push_back({LegendItem::kDotted, "#000000", c.tick_label.empty() ? "null" : c.tick_label});
  if (any_whisker && !c.err_label.empty())
    items.push_back({LegendItem::kWhisker, "#222222", c.err_label});
  if (any_dot && !c.dot_label.empty())
    items.push_back({LegendItem::kPoint, "#222222", c.dot_label, 0});
  const double bw = 18;
  const double gw = c.group_width > 0 ? c.group_width : static_cast<double>(nb) * bw + 18;
  const bool rotate = max_label > gw - 6;
  const double lw = legend_width(items);
  // Rotated labels (-35 degrees, anchored at the end) reach 0.82 x their width
  // left of their group's centre: the first group's must stay on the figure.
  const double L = rotate ? std::max(56.0, 0.82 * max_label - gw / 2 + 6) : 56;
  const double R = 14 + lw, T = 30;
  const double B = rotate ? 28 + std::min(140.0, max_label * 0.72) : 40;
  const double pw = std::max(120.0, gw * static_cast<double>(c.groups.size()));
  const double width = std::max(L + pw + R, text_width(c.title, 7.4) + 20);
  const double height = fit_legend(c.height, T, B, items);
  Scale y{y0, y1, height - B, T};
  Svg svg(c.id, width, height, c.title);
  y_axis(svg, y, L, L + pw, c.ylabel, 14);
  svg.line(L, height - B, L + pw, height - B, kAxis);
  const double base = y(std::clamp(0.0, y0, y1));

  svg.raw("<g class=\"data\">");
  for (std::size_t gi = 0; gi < c.groups.size(); ++gi) {
    const auto& g = c.groups[gi];
    const double gx = L + gw * static_cast<double>(gi);
    const double bx0 = gx + (gw - bw * static_cast<double>(nb)) / 2;
    for (std::size_t b = 0; b < nb; ++b) {
      double v = at(g.value, b);
      if (!finite(v)) continue;
      double top = std::min(y(v), base), h = std::abs(y(v) - base);
      std::string tip = g.label + (b < c.bars.size() ? " / " + c.bars[b] : "") + ": " + fmt(v);
      if (finite(at(g.lo, b)) && finite(at(g.hi, b)))
        tip += " [" + fmt(at(g.lo, b)) + ", " + fmt(at(g.hi, b)) + "]";
      else if (finite(at(g.err, b)))
        tip += " +- " + fmt(at(g.err, b));
      svg.rect(bx0 + bw * b + 1, top, bw - 2, std::max(h, 0.8), "fill=\"" + color(b) + "\"", tip);
    }
    // Null bands over the bars (translucent), 2 px wider on each side, at least 2 px tall.
    for (std::size_t b = 0; b < nb; ++b) {
      double lo = at(g.band_lo, b), hi = at(g.band_hi, b);
      if (finite(lo) && finite(hi))
        svg.rect(
            bx0 + bw * b - 1, std::min(y(hi), (y(hi) + y(lo)) / 2 - 1), bw + 2,
            std::max(2.0, y(lo) - y(hi)), "fill=\"#333333\" fill-opacity=\"0.3\"",
            (c.band_label.empty() ? "null" : c.band_label) + ": " + fmt(lo) + " to " + fmt(hi));
    }
    for (std::size_t b = 0; b < nb; ++b) {
      double v = at(g.value, b), e = at(g.err, b), t = at(g.tick, b);
      double cx = bx0 + bw * b + bw / 2;
      double wlo = at(g.lo, b), whi = at(g.hi, b);
      if (!(finite(wlo) && finite(whi)) && finite(v) && finite(e) && e > 0)
        wlo = v - e, whi = v + e;
      if (finite(v) && finite(wlo) && finite(whi) && whi > wlo) {
        svg.line(cx, y(wlo), cx, y(whi), "#222222", 1);
        svg.line(cx - 3, y(whi), cx + 3, y(whi), "#222222", 1);
        svg.line(cx - 3, y(wlo), cx + 3, y(wlo), "#222222", 1);
      }
      if (b < g.dots.size()) {
        const auto& dv = g.dots[b];
        const double step =
            dv.size() > 1 ? std::min(4.0, (bw - 6) / static_cast<double>(dv.size() - 1)) : 0;
        for (std::size_t k = 0; k < dv.size(); ++k) {
          if (!finite(dv[k])) continue;
          const double dx =
              (static_cast<double>(k) - static_cast<double>(dv.size() - 1) / 2) * step;
          svg.raw(shape_svg(
              cx + dx, y(dv[k]), 0, "#222222", 2.2,
              g.label + (b < c.bars.size() ? " / " + c.bars[b] : "") + ": " + fmt(dv[k])));
        }
      }
      if (finite(t))
        svg.line(cx - bw / 2 - 1, y(t), cx + bw / 2 + 1, y(t), "#000000", 1.5, dash_attr(true),
                 g.label + (b < c.bars.size() ? " / " + c.bars[b] : "") + ", " +
                     (c.tick_label.empty() ? "null" : c.tick_label) + ": " + fmt(t));
    }
  }
  svg.raw("</g>");
  for (std::size_t gi = 0; gi < c.groups.size(); ++gi) {
    const auto& g = c.groups[gi];
    const double gx = L + gw * static_cast<double>(gi);
    if (g.chance && finite(*g.chance))
      svg.line(gx + 3, y(*g.chance), gx + gw - 3, y(*g.chance), "#333333", 1.3, dash_attr(false));
    const double cx = gx + gw / 2, ly = height - B + 14;
    if (rotate) {
      svg.raw("<text transform=\"translate(" + num(cx + 3) + "," + num(ly - 4) +
              ") rotate(-35)\" text-anchor=\"end\" fill=\"#333\">" + escape(g.label) + "</text>");
    } else {
      svg.text(cx, ly, g.label, "middle", "fill=\"#333\"");
    }
  }
  legend(svg, items, L + pw + 10, T + 10);
  return svg.finish();
}

// --------------------------------------------------------------- heatmap grid
std::string render(const HeatmapGrid& g) {
  const double cell = g.cell;
  double rl = 0, cl = 0, title_w = 0;
  std::size_t max_r = 0, max_c = 0;
  for (const auto& p : g.panels) {
    for (const auto& s : p.row_labels) rl = std::max(rl, text_width(s));
    for (const auto& s : p.col_labels) cl = std::max(cl, text_width(s));
    title_w = std::max(title_w, text_width(p.title, 6.6));
    max_r = std::max(max_r, p.row_labels.size());
    max_c = std::max(max_c, p.col_labels.size());
  }
  const bool rotate_cols = cl > cell - 2;
  const double col_h = rotate_cols ? 10 + std::min(120.0, cl * 0.72) : 16;
  const double axis_w = g.row_axis.empty() ? 0 : 16;
  const double grid_w = axis_w + rl + 6 + cell * static_cast<double>(max_c);
  const double slot_w = std::max(grid_w, title_w) + 22;
  const double slot_h =
      20 + cell * static_cast<double>(max_r) + col_h + (g.col_axis.empty() ? 0 : 16) + 14;
  const int cols = std::max(1, std::min<int>(g.columns, static_cast<int>(g.panels.size())));
  const int rows = static_cast<int>((g.panels.size() + static_cast<std::size_t>(cols) - 1) /
                                    static_cast<std::size_t>(cols));
  // Panels too short for a vertical row-axis title get it in a line under the title.
  bool axis_note = false;
  for (const auto& p : g.panels) {
    const double h = cell * static_cast<double>(p.row_labels.size());
    axis_note = axis_note || (!g.row_axis.empty() && h < text_width(g.row_axis) - 8);
  }
  const double top = axis_note ? 44 : 30, left = 8;
  const double bar_x = left + slot_w * cols + 8;
  const double width = bar_x + 80;
  const double height = top + slot_h * std::max(1, rows) + 4;
  Svg svg(g.id, width, std::max(height, top + 180), g.title);
  if (axis_note) {
    svg.text(8, 33, "rows: " + g.row_axis + "; columns: " + g.col_axis, "start", "fill=\"#555\"");
  }

  auto color_of = [&](double v) {
    return viridis(g.hi == g.lo ? 0.5 : (v - g.lo) / (g.hi - g.lo));
  };
  auto label_of = [&](double v) {
    if (g.percent) return fmt(std::round(v * 100), 3);
    return format_fixed(v, 2);
  };
  // Panel k's corner (px, py), its grid's corner (cx0, cy0) and its rows and columns.
  struct Origin {
    double px, py, cx0, cy0;
    std::size_t nr, nc;
  };
  auto origin = [&](std::size_t k) {
    const double px = left + slot_w * static_cast<double>(k % cols),
                 py = top + slot_h * static_cast<double>(k / cols);
    return Origin{px,
                  py,
                  px + axis_w + rl + 6,
                  py + 20,
                  g.panels[k].row_labels.size(),
                  g.panels[k].col_labels.size()};
  };
  svg.raw("<g class=\"data\">");
  for (std::size_t k = 0; k < g.panels.size(); ++k) {
    const auto& p = g.panels[k];
    const auto [px, py, cx0, cy0, nr, nc] = origin(k);
    for (std::size_t i = 0; i < nr; ++i) {
      for (std::size_t j = 0; j < nc; ++j) {
        double v = i * nc + j < p.values.size() ? p.values[i * nc + j]
                                                : std::numeric_limits<double>::quiet_NaN();
        if (!finite(v)) continue;
        const double x = cx0 + cell * j, y = cy0 + cell * i;
        const std::size_t at = i * nc + j;
        const bool faded = at < p.faded.size() && p.faded[at];
        std::string tip = p.title + ": " + g.row_axis + " " + p.row_labels[i] + ", " + g.col_axis +
                          " " + p.col_labels[j] + ": " + fmt(v);
        if (at < p.notes.size() && !p.notes[at].empty()) tip += " (" + p.notes[at] + ")";
        svg.rect(x, y, cell - 1, cell - 1,
                 "fill=\"" + color_of(v) + "\"" + (faded ? " fill-opacity=\"0.3\"" : ""), tip);
        if (g.annotate && cell >= 18) {
          double t = g.hi == g.lo ? 0.5 : (v - g.lo) / (g.hi - g.lo);
          svg.text(x + (cell - 1) / 2, y + cell / 2 + 3, label_of(v), "middle",
                   std::string("font-size=\"") + (cell >= 26 ? "10" : "9") + "\" fill=\"" +
                       (t > 0.62 || faded ? "#111" : "#fff") + "\" pointer-events=\"none\"");
        }
      }
    }
  }
  svg.raw("</g>");
  for (std::size_t k = 0; k < g.panels.size(); ++k) {
    const auto& p = g.panels[k];
    const auto [px, py, cx0, cy0, nr, nc] = origin(k);
    svg.text(px + axis_w, py + 13, p.title, "start", "font-weight=\"600\" fill=\"#333\"");
    if (p.outline_diagonal) {
      for (std::size_t i = 0; i < std::min(nr, nc); ++i)
        svg.rect(cx0 + cell * i - 0.5, cy0 + cell * i - 0.5, cell, cell,
                 "fill=\"none\" stroke=\"#e15759\" stroke-width=\"1.6\"");
    }
    for (std::size_t i = 0; i < nr; ++i)
      svg.text(cx0 - 4, cy0 + cell * i + cell / 2 + 3, p.row_labels[i], "end", "fill=\"#333\"");
    const double ly = cy0 + cell * nr + 12;
    for (std::size_t j = 0; j < nc; ++j) {
      const double x = cx0 + cell * j + cell / 2;
      if (rotate_cols) {
        svg.raw("<text transform=\"translate(" + num(x + 3) + "," + num(ly - 4) +
                ") rotate(-45)\" text-anchor=\"end\" fill=\"#333\">" + escape(p.col_labels[j]) +
                "</text>");
      } else {
        svg.text(x, ly, p.col_labels[j], "middle", "fill=\"#333\"");
      }
    }
    // A panel shorter than the axis title leaves it to its neighbours.
    if (!g.row_axis.empty() && cell * nr >= text_width(g.row_axis) - 8)
      svg.vtext(px + 10, cy0 + cell * nr / 2, g.row_axis);
    if (!g.col_axis.empty())
      svg.text(cx0 + cell * nc / 2, cy0 + cell * nr + col_h + 12, g.col_axis, "middle",
               std::string("fill=\"") + kAxis + "\"");
  }
  // Colourbar: stacked rects from lo (bottom) to hi (top), ticks on the right.
  const double bar_h = std::min(200.0, std::max(120.0, height - top - 30)), bar_y = top + 10;
  constexpr int kSteps = 40;
  for (int i = 0; i < kSteps; ++i) {
    double t = (i + 0.5) / kSteps;
    svg.rect(bar_x, bar_y + bar_h * (1 - static_cast<double>(i + 1) / kSteps), 14,
             bar_h / kSteps + 0.6, "fill=\"" + viridis(t) + "\"");
  }
  svg.rect(bar_x, bar_y, 14, bar_h, "fill=\"none\" stroke=\"#666\"");
  Scale cb{g.lo, g.hi, bar_y + bar_h, bar_y};
  for (double t : nice_ticks(g.lo, g.hi, 4)) {
    svg.line(bar_x + 14, cb(t), bar_x + 18, cb(t), kAxis);
    svg.text(bar_x + 20, cb(t) + 3.5, g.percent ? fmt(t * 100, 4) : fmt(t, 4), "start",
             "fill=\"#555\"");
  }
  if (!g.scale_label.empty()) svg.vtext(bar_x + 66, bar_y + bar_h / 2, g.scale_label);
  return svg.finish();
}

// ------------------------------------------------------------------- scatter
std::string render(const ScatterChart& c) {
  std::vector<double> vs;
  for (const auto& p : c.points) vs.push_back(p.x), vs.push_back(p.y);
  auto [d0, d1] = domain(vs, c.lo, c.hi);
  std::vector<LegendItem> items;
  for (const auto& [name, color] : c.color_legend)
    items.push_back({LegendItem::kPoint, color, name, 0});
  for (const auto& [name, shape] : c.shape_legend)
    items.push_back({LegendItem::kPoint, "#777777", name, shape});
  if (c.diagonal) items.push_back({LegendItem::kDashed, "#888888", "y = x"});
  const XyFrame frame = xy_frame(c.width, c.height, items, d0, d1, d0, d1);
  const Scale &x = frame.x, &y = frame.y;
  Svg svg(c.id, c.width, frame.height, c.title);
  frame.axes(svg, c.xlabel, c.ylabel, false);
  if (c.diagonal) svg.line(x(d0), y(d0), x(d1), y(d1), "#888888", 1.2, dash_attr(false));
  svg.raw("<g class=\"data\">");
  for (const auto& p : c.points) {
    if (finite(p.x) && finite(p.y))
      svg.raw(shape_svg(x(p.x), y(p.y), p.shape, p.color.empty() ? palette(0) : p.color, 4.5,
                        p.tooltip));
  }
  svg.raw("</g>");
  legend(svg, items, x.r1 + 10, y.r1 + 10);
  return svg.finish();
}

// --------------------------------------------------------------------- image
std::string render(const ImageFigure& f) {
  const double w = f.width > 0 ? f.width : f.left + f.image_width + 8;
  const double h = f.height > 0 ? f.height : f.top + f.image_height + 8;
  Svg svg(f.id, w, h, f.title);
  svg.raw("<g class=\"data\"><image x=\"" + num(f.left) + "\" y=\"" + num(f.top) + "\" width=\"" +
          num(f.image_width) + "\" height=\"" + num(f.image_height) + "\" href=\"" + f.data_uri +
          "\" preserveAspectRatio=\"none\"/></g>");
  for (const auto& b : f.boxes)
    svg.rect(f.left + b.x, f.top + b.y, b.w, b.h,
             "fill=\"none\" stroke=\"" + b.color + "\" stroke-width=\"2\"");
  for (const auto& l : f.labels)
    svg.text(f.left + l.x, f.top + l.y, l.text, l.anchor, "fill=\"" + l.color + "\"");
  return svg.finish();
}

}  // namespace wmgeom::report
