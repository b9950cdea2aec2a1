// Dimensionality over time: the participation ratio per space and frame with
// its bootstrap 95% interval.
#include <set>
#include <tuple>

#include "report/sections/common.h"

namespace wmgeom::report {

Section dimensionality_section(const ReportData& d, const ReportOptions& o) {
  Section s{"dimensionality", "Dimensionality over time (participation ratio)", "", "", 0};
  s.omitted =
      unavailable(d, "dimensionality", {"frame", "participation_ratio"}, {"model", "space"});
  if (!s.omitted.empty()) return s;
  Columns c(d.tables.at("dimensionality"));
  auto pick = pick_models(c, o.max_models);
  auto spaces = distinct(c, "space");
  // Rows pooled over tasks ("all") where the table has them, else the mean over tasks.
  std::set<std::pair<std::string, std::string>> has_all;  // (model, space)
  for (std::size_t i = 0; i < c.rows(); ++i)
    if (c.txt("task", i) == "all") has_all.insert({c.txt("model", i), c.txt("space", i)});
  // model, space, frame -> participation ratio and the ends of its bootstrap 95% interval
  std::map<std::tuple<std::string, std::string, double>, Stat> pr, lo, hi;
  for (std::size_t i = 0; i < c.rows(); ++i) {
    std::string m = c.txt("model", i), sp = c.txt("space", i);
    if (has_all.count({m, sp}) && c.txt("task", i) != "all") continue;
    std::tuple key{m, sp, c.num("frame", i)};
    pr[key].add(c.num("participation_ratio", i));
    lo[key].add(c.num("ci_lo", i));
    hi[key].add(c.num("ci_hi", i));
  }
  const bool has_ci = c.has("ci_lo") && c.has("ci_hi");
  std::string figs;
  for (const auto& sp : spaces) {
    LineChart ch;
    ch.id = next_id(s);
    ch.title = sp + " space";
    ch.xlabel = "frame";
    ch.ylabel = "participation ratio";
    ch.ymin = 0;
    ch.integer_x = true;
    ch.width = 470;
    for (std::size_t k = 0; k < pick.shown.size(); ++k) {
      const auto& m = pick.shown[k];
      Series se{pick.title[m], {}, {}, {}, {}, palette(k), k >= 10};
      for (const auto& [key, st] : pr) {
        if (std::get<0>(key) != m || std::get<1>(key) != sp) continue;
        se.x.push_back(std::get<2>(key));
        se.y.push_back(st.mean());
        if (has_ci) se.lo.push_back(lo[key].mean()), se.hi.push_back(hi[key].mean());
      }
      if (!se.x.empty()) ch.series.push_back(std::move(se));
    }
    if (ch.series.empty()) {
      --s.figures;
      continue;
    }
    figs += figure(render(ch));
  }
  s.body =
      caption(
          "Participation ratio (sum of PCA eigenvalues)&sup2; / sum of squares: the number of "
          "dimensions the states effectively occupy at each frame, pooled over tasks where "
          "available (else the mean over tasks). " +
          std::string(has_ci ? "Band: its 95% bootstrap interval over trials (basic bootstrap: the "
                               "percentiles of resampled trials reflected about the estimate, "
                               "which corrects the downward bias of resampling duplicated trials)."
                             : "This analysis has no bootstrap intervals (an older result).")) +
      row_of_figures(figs) + pick.note_html();
  return s;
}

}  // namespace wmgeom::report
