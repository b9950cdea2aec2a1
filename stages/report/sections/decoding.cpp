// Finding 1 (Fig. A5): decoding of relevant and irrelevant features.
#include <algorithm>
#include <set>
#include <tuple>

#include "report/sections/common.h"

namespace wmgeom::report {

Section decoding_section(const ReportData& d, const ReportOptions& o) {
  Section s{"decoding", "Decoding task-relevant and irrelevant features (finding 1, Fig. A5)", "",
            "", 0};
  s.omitted = unavailable(d, "decoding", {"relevant", "stim_frame", "train_frame", "accuracy"},
                          {"model", "feature"});
  if (!s.omitted.empty()) return s;
  Columns c(d.tables.at("decoding"));
  auto pick = pick_models(c, o.max_models);
  auto features = feature_order(distinct(c, "feature"));
  auto by_model = rows_by_model(c);
  std::string figs;
  for (const auto& m : pick.shown) {
    std::map<std::tuple<std::string, int, double>, Stat> acc;  // feature, relevant, elapsed frames
    std::map<std::string, Stat> chance;
    for (std::size_t i : by_model[m]) {
      double train = c.num("train_frame", i), test = c.num("test_frame", i);
      if (c.has("test_frame") && std::isfinite(test) && test != train) continue;
      double elapsed = train - c.num("stim_frame", i);
      if (!std::isfinite(elapsed)) continue;
      std::string f = c.txt("feature", i);
      acc[{f, c.num("relevant", i) > 0.5 ? 1 : 0, elapsed}].add(c.num("accuracy", i));
      chance[f].add(c.num("chance", i));
    }
    LineChart ch;
    ch.id = next_id(s);
    ch.title = pick.title[m];
    ch.xlabel = "frames since the stimulus (0 = encoding)";
    ch.ylabel = "decoding accuracy";
    ch.ymin = 0;
    ch.ymax = 1;
    ch.integer_x = true;
    ch.width = 470;
    for (const auto& f : features) {
      for (int rel : {1, 0}) {
        Series se;
        se.name = f + (rel ? " (relevant)" : " (irrelevant)");
        se.color = feature_color(f, features);
        se.dashed = rel == 0;
        for (const auto& [key, st] : acc) {
          if (std::get<0>(key) != f || std::get<1>(key) != rel) continue;
          se.x.push_back(std::get<2>(key));
          se.y.push_back(st.mean());
          double sd = st.sd();
          se.lo.push_back(st.mean() - (std::isfinite(sd) ? sd : 0));
          se.hi.push_back(st.mean() + (std::isfinite(sd) ? sd : 0));
        }
        if (!se.x.empty()) ch.series.push_back(std::move(se));
      }
      if (chance.count(f) && chance[f].n)
        ch.refs.push_back({chance[f].mean(), "chance " + f, feature_color(f, features), true});
    }
    if (ch.series.empty()) {
      --s.figures;
      figs += note(pick.title[m] + ": no decoding rows with train frame == test frame");
      continue;
    }
    figs += figure(render(ch));
  }
  s.body = caption(
               "Cross-validated linear decoding of each feature of the stimulus shown at a frame, "
               "from the hidden "
               "state that many frames later, averaged over tasks and stimulus frames (band: "
               "&plusmn;1 sd across "
               "them). Solid: the task's own feature (relevant); dashed: the other features "
               "(irrelevant); dotted: "
               "chance. Paper: multi-task models keep irrelevant features decodable (&gt; 85%), "
               "single-task ones "
               "do not.") +
           row_of_figures(figs) + pick.note_html();
  return s;
}

}  // namespace wmgeom::report
