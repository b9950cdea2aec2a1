// What the report's sections share (one .cpp per section or figure family in
// this folder): HTML snippets, feature and RNN colours, the models a figure
// shows, and the statistics every figure of a finding draws: 95% intervals
// (from the fold spread of a row, or across model replicates) and the chance
// levels (the analytic 1/K and the empirical permutation null).
#pragma once

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/data.h"
#include "report/sections.h"
#include "report/svg.h"

namespace wmgeom::report {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ------------------------------------------------------------------- HTML

std::string next_id(Section& s);  // "fig-<section>-<n>", counting the section's figures
std::string figure(const std::string& svg);
std::string caption(const std::string& html);
std::string note(const std::string& text);  // escaped
std::string row_of_figures(const std::string& figures);
// Cells are HTML (escaped by the caller); headers are text.
std::string html_table(const std::vector<std::string>& headers,
                       const std::vector<std::vector<std::string>>& rows);
// A collapsed block: <details><summary>summary</summary>html</details>.
std::string collapsed(const std::string& summary, const std::string& html);

// ------------------------------------------------------ colours and orders

// The paper's features keep their colours in every figure.
std::string feature_color(const std::string& f, const std::vector<std::string>& all);
// loc, cat, id first (the paper's order), then any others as they appear.
std::vector<std::string> feature_order(std::vector<std::string> features);
std::string rnn_color(const std::string& rnn, std::vector<std::string>& seen);
// "vanilla RNN", "GRU", "LSTM", or the value itself.
std::string rnn_label(const std::string& rnn);
// The values of a text column in a fixed reading order: the `known` ones
// first (those present), then any others as they appear.
std::vector<std::string> ordered_present(std::vector<std::string> known,
                                         const std::vector<std::string>& present);
std::string frame_label(double f);

// Whether a test of findings.json decides its finding's verdict: its
// `deciding` flag (findings version 6 on). Older findings' tests lack the
// flag; there a test decides unless its name says "(supporting", as every
// supporting test's name has since the findings were declared.
bool test_decides(const nlohmann::json& test);

// "relevant" | "implied" | "irrelevant": the `relevance` column where the
// table has it, else from the numeric `relevant` (1: relevant).
std::string relevance_of(const Columns& c, std::size_t row);

// ------------------------------------------------------------------ models

// Models of a table in order of first appearance, capped at max_models, with
// a title that names the RNN type and regime where the table has them.
struct ModelPick {
  std::vector<std::string> shown;  // capped
  std::vector<std::string> all;    // every model
  std::map<std::string, std::string> title;
  std::map<std::string, std::string> rnn;  // model -> its `rnn` ("" if the table has none)
  std::string note_html() const;
};
ModelPick pick_models(const Columns& c, int max_models);

// Row indices per model, so that per-model loops do not rescan the table.
std::map<std::string, std::vector<std::size_t>> rows_by_model(const Columns& c);

// A frames x frames heat panel whose cell (a, b) is value(frames[a],
// frames[b]) (NaN: no data). Returns false, and no panel, when every cell is
// empty.
bool square_panel(HeatPanel& p, const std::vector<double>& frames,
                  const std::function<double(double, double)>& value);

// -------------------------------------------------------------- intervals

// The two-sided 95% Student t quantile t(0.975, df); NaN for df < 1.
double t975(double df);

// A row's 95% CI half-width from its fold spread: t975(folds - 1) *
// accuracy_sd / sqrt(folds); NaN without folds >= 2 or a finite sd.
double fold_half_width(const Columns& c, std::size_t row,
                       const std::string& sd_column = "accuracy_sd");

// The mean of several rows, each with a 95% CI half-width. The interval of
// the mean takes the mean of the half-widths: exact when the rows' errors are
// perfectly correlated, conservative otherwise (rows of one model share
// images and weights, so they are not independent).
struct CiStat {
  Stat value, half;
  void add(double v, double half_width) {
    value.add(v);
    if (std::isfinite(v)) half.add(half_width);
  }
  double mean() const { return value.mean(); }
  double lo() const { return half.n ? value.mean() - half.mean() : kNaN; }
  double hi() const { return half.n ? value.mean() + half.mean() : kNaN; }
};

// Across independently trained models (the unit of replication): the mean
// and its 95% t-interval (NaN ends with fewer than 2 values).
struct Interval {
  double mean = kNaN, lo = kNaN, hi = kNaN;
  int n = 0;
};
Interval replicate_interval(const std::vector<double>& values);

// The chance levels of accuracy rows: the analytic 1/K (`chance`) and the
// permutation null of the same decoders (`chance_empirical`, its 95th
// percentile `chance_p95`), averaged over the rows added.
struct ChanceStat {
  Stat analytic, empirical, p95;
  void add(const Columns& c, std::size_t row,
           const std::string& empirical_column = "chance_empirical",
           const std::string& p95_column = "chance_p95") {
    analytic.add(c.num("chance", row));
    empirical.add(c.num(empirical_column, row));
    p95.add(c.num(p95_column, row));
  }
};

// Accuracy rows of one figure element: value with its CI and chance levels.
struct AccuracyStat {
  CiStat acc;
  ChanceStat chance;
  void add(const Columns& c, std::size_t row) {
    acc.add(c.num("accuracy", row), fold_half_width(c, row));
    chance.add(c, row);
  }
};

// One bar of a bar chart from an AccuracyStat: the value, CI whiskers, the
// permutation null as the grey band (mean to 95th percentile; a grey line at
// the mean when there is no percentile), the analytic 1/K as the dotted tick.
void push_bar(BarGroup& g, const AccuracyStat& s);
// The legend texts of those marks.
void accuracy_legend(BarChart& b);

// Bars of per-model values grouped (e.g. by RNN type): each bar the mean
// over the group's models, whiskers its 95% t-interval across models, a dot
// per model. `values[group][measure]` lists the models' values. Returns the
// chart; the caller sets id, title and ylabel.
BarChart replicate_chart(
    const std::vector<std::string>& measures, const std::vector<std::string>& colors,
    const std::vector<std::pair<std::string, std::vector<std::vector<double>>>>& values);

// The chance bands of a line chart: per feature, a dotted line at the
// permutation null's mean with a band up to its 95th percentile, and the
// analytic 1/K as a reference line.
void chance_lines(LineChart& ch, const std::string& feature, const std::string& color,
                  const std::vector<double>& x, const std::vector<double>& empirical,
                  const std::vector<double>& p95, double analytic);

}  // namespace wmgeom::report
