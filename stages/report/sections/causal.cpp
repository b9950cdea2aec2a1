// The causal test (Fig. A7).
#include <algorithm>
#include <set>
#include <tuple>

#include "report/sections/common.h"

namespace wmgeom::report {

Section causal_section(const ReportData& d, const ReportOptions& o) {
  Section s{"causal", "Causal test: shifting states along decoder normals (Fig. A7)", "", "", 0};
  s.omitted = unavailable(d, "causal", {"alpha", "p_match_shifted"}, {"model", "feature"});
  if (!s.omitted.empty()) return s;
  Columns c(d.tables.at("causal"));
  auto pick = pick_models(c, o.max_models);
  auto features = feature_order(distinct(c, "feature"));
  auto by_model = rows_by_model(c);
  std::string figs;
  for (const auto& m : pick.shown) {
    std::map<std::pair<std::string, double>, Stat> p, flip;
    Stat base;
    for (std::size_t i : by_model[m]) {
      p[{c.txt("feature", i), c.num("alpha", i)}].add(c.num("p_match_shifted", i));
      flip[{c.txt("feature", i), c.num("alpha", i)}].add(c.num("flip_rate", i));
      base.add(c.num("p_match_baseline", i));
    }
    LineChart ch;
    ch.id = next_id(s);
    ch.title = pick.title[m];
    ch.xlabel = "shift along the decoder normal (alpha)";
    ch.ylabel = "probability";
    ch.ymin = 0;
    ch.ymax = 1;
    for (const auto& f : features) {
      Series sp{"p(match), " + f, {}, {}, {}, {}, feature_color(f, features), false};
      Series sf{"flip rate, " + f, {}, {}, {}, {}, feature_color(f, features), true};
      for (const auto& [key, st] : p) {
        if (key.first != f) continue;
        sp.x.push_back(key.second);
        sp.y.push_back(st.mean());
        sf.x.push_back(key.second);
        sf.y.push_back(flip[key].mean());
      }
      if (!sp.x.empty()) ch.series.push_back(std::move(sp));
      if (c.has("flip_rate") && !sf.x.empty()) ch.series.push_back(std::move(sf));
    }
    if (base.n) ch.refs.push_back({base.mean(), "p(match) unshifted", "#555555", true});
    figs += figure(render(ch));
  }
  s.body = caption(
               "States at the probe frame are shifted along a feature decoder's normal and the RNN "
               "is run on; "
               "solid: the probability of a `match` response, dashed: how often the decision "
               "flips; dotted: "
               "p(match) without a shift.") +
           row_of_figures(figs) + pick.note_html();
  return s;
}

}  // namespace wmgeom::report
