// A tiny SVG plotting library for the report: line charts, grouped bar
// charts, heatmap grids with a shared colourbar, and scatter plots. Each
// render() returns one self-contained <svg class="figure"> element (inline
// styles, no external fonts, no scripts, no ids that could collide except the
// figure's own `id`), so figures can be pasted into any HTML page.
//
// Every figure puts its data marks (lines, bars, cells, points) in a
// <g class="data"> group: the report's load check (page.cpp) tests that group's
// bounding box to prove each figure drew something.
//
// Output is a pure function of the spec (fixed number formatting), so reports
// are byte-identical for identical inputs. NaN values are skipped (a gap in a
// line, a missing bar, an empty heatmap cell). Not thread-hostile: no globals.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wmgeom::report {

// Categorical colours (Tableau 10), cycling.
std::string palette(std::size_t i);
// The viridis colour map; t is clamped to [0, 1]. "#rrggbb".
std::string viridis(double t);
// "0.87", "12.3", "1.2e+04": up to `digits` significant digits, no locale.
std::string fmt(double v, int digits = 3);
// Escapes & < > " ' for HTML text and attributes.
std::string escape(const std::string& s);

struct Series {
  std::string name;
  std::vector<double> x, y;
  std::vector<double> lo, hi;  // optional band (same length as x), e.g. a 95% CI
  std::string color;
  bool dashed = false;
  bool dotted = false;     // a thin dotted line without markers (a null level); wins over dashed
  std::string band_label;  // legend text of the band ("": the band is not in the legend)
  double band_opacity = 0.16;
};

// A horizontal reference line (chance, a null level); hovering it shows its
// label and value.
struct RefLine {
  double y = 0;
  std::string label;
  std::string color = "#555555";
  bool dotted = true;
};

struct LineChart {
  std::string id, title, xlabel, ylabel;
  std::vector<Series> series;
  std::vector<RefLine> refs;
  std::optional<double> ymin, ymax, xmin, xmax;  // unset: fitted to the data
  bool integer_x = false;                        // ticks at integers only (frames, steps)
  // Explicit x ticks (position, label), e.g. for a transformed axis; empty:
  // automatic. A label too close to the previous one is skipped (its tick stays).
  std::vector<std::pair<double, std::string>> xticks;
  bool legend = true;
  int width = 420, height = 260;
};
std::string render(const LineChart& chart);

struct BarGroup {
  std::string label;
  std::vector<double> value;  // one per bar name; NaN = no bar
  std::vector<double> err;    // optional +- whisker per bar (NaN = none)
  // Optional asymmetric whiskers per bar, their ends in data units (e.g. a
  // 95% CI); where both are finite they replace `err`.
  std::vector<double> lo, hi;
  // Optional per-bar null level: a grey band [band_lo, band_hi] behind the bar
  // (at least 2 px tall, so a band with lo == hi is a grey line) and a dotted
  // tick at `tick` (NaN = none; hovering it shows its value).
  std::vector<double> band_lo, band_hi, tick;
  // Optional individual values per bar (e.g. one per model), drawn as dots.
  std::vector<std::vector<double>> dots;
  std::optional<double> chance;  // a dashed line across the group
};

struct BarChart {
  std::string id, title, ylabel;
  std::vector<std::string> bars;    // bar names (legend), one colour each
  std::vector<std::string> colors;  // defaults to palette()
  std::vector<BarGroup> groups;
  std::optional<double> ymin, ymax;
  std::string chance_label = "chance";
  std::string band_label;  // legend text of the grey band, if any group has one
  std::string tick_label;  // legend text of the dotted tick, if any
  std::string err_label;   // legend text of the whiskers ("": not in the legend)
  std::string dot_label;   // legend text of the dots, if any group has some
  int height = 260;
  int group_width = 0;  // 0: from the number of bars
};
std::string render(const BarChart& chart);

// One matrix of a heatmap grid; values row-major, NaN = empty cell.
struct HeatPanel {
  std::string title;
  std::vector<std::string> row_labels, col_labels;
  std::vector<double> values;
  bool outline_diagonal = false;  // e.g. validation cells of a cross-task matrix
  // Optional, per cell (row-major, like values): text appended to the cell's
  // tooltip (e.g. a p-value), and cells drawn faded (e.g. not above a null).
  std::vector<std::string> notes;
  std::vector<bool> faded;
};

struct HeatmapGrid {
  std::string id, title, row_axis, col_axis, scale_label;
  double lo = 0, hi = 1;  // colour scale (shared by every panel)
  std::vector<HeatPanel> panels;
  int columns = 3;       // panels per row
  int cell = 22;         // cell size in px
  bool annotate = true;  // print each value in its cell
  bool percent = false;  // annotate as integer percent (0.87 -> 87)
};
std::string render(const HeatmapGrid& grid);

struct Point {
  double x = 0, y = 0;
  std::string color;
  int shape = 0;        // 0 circle, 1 square, 2 triangle, 3 diamond
  std::string tooltip;  // <title> shown on hover
};

struct ScatterChart {
  std::string id, title, xlabel, ylabel;
  std::vector<Point> points;
  bool diagonal = true;                                           // draw y = x
  std::vector<std::pair<std::string, std::string>> color_legend;  // name, colour
  std::vector<std::pair<std::string, int>> shape_legend;          // name, shape
  std::optional<double> lo, hi;                                   // both axes; unset: fitted
  int width = 460, height = 380;
};
std::string render(const ScatterChart& chart);

// An image (a data: URI) with labels, e.g. the stimulus contact sheet. Labels
// are (x, y, text) in the image's pixel coordinates offset by (left, top).
struct ImageFigure {
  std::string id, title, data_uri;
  int image_width = 0, image_height = 0;
  int left = 0, top = 0;
  struct Label {
    double x, y;
    std::string text;
    std::string color = "#222222";
    std::string anchor = "start";
  };
  std::vector<Label> labels;
  struct Box {
    double x, y, w, h;
    std::string color;
  };
  std::vector<Box> boxes;     // outlines drawn over the image (same coordinates as labels)
  int width = 0, height = 0;  // whole figure
};
std::string render(const ImageFigure& figure);

// "Nice" tick positions covering [lo, hi] (about `target` of them).
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

}  // namespace wmgeom::report
