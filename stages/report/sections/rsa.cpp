// Representational similarity (RSA / CKA) across spaces and frames.
#include <algorithm>
#include <set>
#include <tuple>

#include "report/sections/common.h"

namespace wmgeom::report {

Section rsa_section(const ReportData& d, const ReportOptions& o) {
  Section s{"rsa", "Representational similarity across spaces and time (RSA / CKA)", "", "", 0};
  s.omitted = unavailable(d, "rsa", {"frame_a", "frame_b", "cka"}, {"model", "space_a", "space_b"});
  if (!s.omitted.empty()) return s;
  Columns c(d.tables.at("rsa"));
  auto pick = pick_models(c, o.max_models);
  auto frames = distinct_numbers(c, "frame_a");
  for (double f : distinct_numbers(c, "frame_b"))
    if (std::find(frames.begin(), frames.end(), f) == frames.end()) frames.push_back(f);
  std::sort(frames.begin(), frames.end());
  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::size_t i = 0; i < c.rows(); ++i) {
    std::pair pr{c.txt("space_a", i), c.txt("space_b", i)};
    if (std::find(pairs.begin(), pairs.end(), pr) == pairs.end()) pairs.push_back(pr);
  }
  auto by_model = rows_by_model(c);
  std::string figs;
  for (const auto& m : pick.shown) {
    std::map<std::tuple<std::string, std::string, double, double>, Stat> cka;
    for (std::size_t i : by_model[m])
      cka[{c.txt("space_a", i), c.txt("space_b", i), c.num("frame_a", i), c.num("frame_b", i)}].add(
          c.num("cka", i));
    HeatmapGrid g;
    g.id = next_id(s);
    g.title = pick.title[m];
    g.row_axis = "frame";
    g.col_axis = "frame";
    g.scale_label = "linear CKA";
    g.columns = std::min<int>(4, static_cast<int>(pairs.size()));
    g.cell = frames.size() > 8 ? 14 : 26;
    for (const auto& [a, b] : pairs) {
      HeatPanel p;
      p.title = a + " (rows) vs " + b + " (columns)";
      bool any = square_panel(p, frames, [&](double x, double y) {
        auto it = cka.find({a, b, x, y});
        return it != cka.end() && it->second.n ? it->second.mean() : kNaN;
      });
      if (any) g.panels.push_back(std::move(p));
    }
    if (g.panels.empty()) {
      --s.figures;
      continue;
    }
    figs += figure(render(g));
  }
  s.body = caption(
               "Linear CKA between the representations of the same trials in two spaces (or one "
               "space at two "
               "frames): 1 = identical geometry up to rotation and scale, 0 = unrelated. The RDM "
               "Spearman "
               "correlations are in the exported `rsa` table.") +
           figs + pick.note_html();
  return s;
}

}  // namespace wmgeom::report
