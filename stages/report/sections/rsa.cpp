// Representational similarity (RSA / linear CKA over condition means) across
// spaces and frames, with the permutation p-values of CKA and of the RDM
// correlation.
#include <algorithm>
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
  const bool has_p = c.has("cka_p");
  auto by_model = rows_by_model(c);
  std::string figs;
  std::vector<std::vector<std::string>> table;
  for (const auto& m : pick.shown) {
    std::map<std::tuple<std::string, std::string, double, double>, std::size_t>
        cell;  // the row of each cell
    for (std::size_t i : by_model[m]) {
      cell[{c.txt("space_a", i), c.txt("space_b", i), c.num("frame_a", i), c.num("frame_b", i)}] =
          i;
      if (c.txt("space_a", i) != c.txt("space_b", i)) {
        table.push_back({escape(m),
                         escape(c.txt("space_a", i)) + " vs " + escape(c.txt("space_b", i)),
                         frame_label(c.num("frame_a", i)), fmt(c.num("cka", i)),
                         fmt(c.num("cka_null_mean", i)), fmt(c.num("cka_p", i), 2),
                         fmt(c.num("rdm_spearman", i)), fmt(c.num("rdm_spearman_null_mean", i)),
                         fmt(c.num("rdm_p", i), 2), fmt(c.num("cka_trials", i)),
                         fmt(c.num("conditions", i), 6), fmt(c.num("permutations", i), 6)});
      }
    }
    HeatmapGrid g{.id = next_id(s),
                  .title = pick.title[m],
                  .row_axis = "frame",
                  .col_axis = "frame",
                  .scale_label = "linear CKA",
                  .columns = std::min<int>(4, static_cast<int>(pairs.size())),
                  .cell = frames.size() > 8 ? 14 : 26};
    for (const auto& [a, b] : pairs) {
      HeatPanel p;
      p.title = a + " (rows) vs " + b + " (columns)";
      auto row_of = [&](double x, double y) -> std::ptrdiff_t {
        auto it = cell.find({a, b, x, y});
        return it == cell.end() ? -1 : static_cast<std::ptrdiff_t>(it->second);
      };
      bool any = square_panel(p, frames, [&](double x, double y) {
        auto i = row_of(x, y);
        return i < 0 ? kNaN : c.num("cka", static_cast<std::size_t>(i));
      });
      if (!any) continue;
      p.notes.assign(p.values.size(), "");
      p.faded.assign(p.values.size(), false);
      for (std::size_t x = 0; x < frames.size(); ++x) {
        for (std::size_t y = 0; y < frames.size(); ++y) {
          auto i = row_of(frames[x], frames[y]);
          if (i < 0 || !has_p) continue;
          const auto r = static_cast<std::size_t>(i);
          const double pv = c.num("cka_p", r);
          p.notes[x * frames.size() + y] = "p = " + fmt(pv, 2) + ", null mean " +
                                           fmt(c.num("cka_null_mean", r)) + "; RDM Spearman " +
                                           fmt(c.num("rdm_spearman", r)) +
                                           ", p = " + fmt(c.num("rdm_p", r), 2);
          p.faded[x * frames.size() + y] = !(pv < 0.05);
        }
      }
      g.panels.push_back(std::move(p));
    }
    if (g.panels.empty()) {
      --s.figures;
      continue;
    }
    figs += figure(render(g));
  }
  std::string body =
      caption(
          "Linear CKA between the condition means (the stimulus's identity, category and location "
          "at the "
          "row's frame) of "
          "two spaces, or of one space at two frames: 1 = the same geometry up to rotation and "
          "scale. "
          "Tests run over conditions, not trials (trials that share a stimulus are not "
          "independent): "
          "p is the share of condition relabellings of the second space with a CKA at least as "
          "high. " +
          std::string(has_p
                          ? "Faded cells: p &ge; 0.05 (hover a cell for p, the null's mean and the "
                            "RDM correlation)."
                          : "This analysis has no p-values (an older result).")) +
      figs + pick.note_html();
  if (!table.empty()) {
    body += collapsed(
        "perceptual and embedding vs RNN, per frame: CKA and RDM correlation with their "
        "permutation nulls (" +
            std::to_string(table.size()) + " rows)",
        html_table({"model", "spaces", "frame", "CKA", "CKA null mean", "CKA p", "RDM Spearman",
                    "RDM null mean", "RDM p", "CKA over trials (descriptive)", "conditions",
                    "permutations"},
                   table));
  }
  s.body = body;
  return s;
}

}  // namespace wmgeom::report
