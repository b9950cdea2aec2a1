// Models against neural recordings (the recordings stage): each unit's
// (model's or group's) RSA score with its bootstrap CI against the
// recordings' noise ceiling, each model's score per frame, and the tests of
// the closest unit against every other.
#include <algorithm>
#include <map>

#include "report/sections/common.h"

namespace wmgeom::report {

Section recordings_section(const ReportData& d, const ReportOptions&) {
  Section s{"recordings", "Models against neural recordings (RSA)", "", "", 0};
  s.omitted = unavailable(d, "recordings_units", {"score", "ci_lo", "ci_hi", "models"},
                          {"unit", "comparison"});
  if (s.omitted.empty())
    s.omitted = unavailable(d, "recordings_ceiling", {"lower", "upper"}, {"comparison"});
  if (s.omitted.empty())
    s.omitted = unavailable(d, "recordings_scores", {"frame", "spearman", "whitened_cosine"},
                            {"model", "label"});
  if (!s.omitted.empty()) return s;
  Columns units(d.tables.at("recordings_units")), ceiling(d.tables.at("recordings_ceiling")),
      scores(d.tables.at("recordings_scores"));
  const std::string comparison = units.rows() ? units.txt("comparison", 0) : "spearman";
  double lower = kNaN, upper = kNaN;
  for (std::size_t i = 0; i < ceiling.rows(); ++i) {
    if (ceiling.txt("comparison", i) == comparison) {
      lower = ceiling.num("lower", i);
      upper = ceiling.num("upper", i);
    }
  }
  const std::string measure =
      comparison == "spearman" ? "Spearman's rho of the RDMs" : "whitened cosine of the RDMs";

  BarChart bars{.id = next_id(s),
                .title = "Closeness to the recordings, with the noise ceiling",
                .ylabel = measure,
                .bars = {"score"},
                .band_label = "noise ceiling (lower to upper)",
                .err_label = "95% bootstrap CI"};
  for (std::size_t u = 0; u < units.rows(); ++u) {
    BarGroup g;
    g.label = units.txt("unit", u) + " (" + fmt(units.num("models", u), 3) + ")";
    g.value = {units.num("score", u)};
    g.lo = {units.num("ci_lo", u)};
    g.hi = {units.num("ci_hi", u)};
    g.band_lo = {std::isnan(lower) ? upper : lower};
    g.band_hi = {upper};
    g.tick = {kNaN};
    bars.groups.push_back(g);
  }
  std::string figs = figure(render(bars));

  // Per frame, when the recordings' conditions are images seen at every frame.
  std::map<std::string, std::vector<std::pair<double, double>>> per_model;
  std::vector<std::string> order, seen;
  std::map<std::string, std::string> label_of;
  for (std::size_t i = 0; i < scores.rows(); ++i) {
    const std::string m = scores.txt("model", i);
    if (!per_model.count(m)) order.push_back(m);
    label_of[m] = scores.txt("label", i);
    per_model[m].emplace_back(scores.num("frame", i), scores.num(comparison, i));
  }
  const bool frames = !order.empty() && per_model[order.front()].size() > 1;
  if (frames) {
    LineChart line{.id = next_id(s),
                   .title = "Each model's closeness to the recordings per frame",
                   .xlabel = "frame",
                   .ylabel = measure,
                   .integer_x = true};
    for (const auto& m : order) {
      Series sr{.name = m, .color = rnn_color(label_of[m], seen)};
      for (const auto& [f, v] : per_model[m]) {
        sr.x.push_back(f);
        sr.y.push_back(v);
      }
      line.series.push_back(sr);
    }
    line.legend = order.size() <= 12;
    if (!std::isnan(lower)) line.refs.push_back({lower, "noise ceiling, lower"});
    line.refs.push_back({upper, "noise ceiling, upper"});
    figs += figure(render(line));
  }

  std::string table;
  if (d.tables.count("recordings_pairs")) {
    Columns pairs(d.tables.at("recordings_pairs"));
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < pairs.rows(); ++i) {
      rows.push_back({escape(pairs.txt("unit_a", i)), escape(pairs.txt("unit_b", i)),
                      fmt(pairs.num("difference", i)),
                      fmt(pairs.num("ci_lo", i)) + " to " + fmt(pairs.num("ci_hi", i)),
                      fmt(pairs.num("p", i)), fmt(pairs.num("p_holm", i))});
    }
    table = html_table({"closest", "other", "difference", "95% CI", "p", "p (Holm)"}, rows);
  }
  s.body = caption(
               "Each model's RDM (correlation distance between its mean states per recorded "
               "condition) against each subject's RDM, by " +
               escape(measure) +
               ", averaged over subjects and frames. The grey band is the recordings' noise "
               "ceiling: the upper bound compares each subject with the mean of all, the "
               "lower with the mean of the others; a model inside the band explains as much "
               "as the data's reliability allows. Whiskers: bootstrap over conditions. The "
               "verdict (which unit is closest) is in the findings table (\"recordings\").") +
           row_of_figures(figs) + table;
  return s;
}

}  // namespace wmgeom::report
