// Model-vs-model geometry (the compare stage): the distance matrices
// (Procrustes angle and linear CKA, averaged over frames) and the MDS
// embedding, coloured by the architecture or configuration the test groups.
#include <algorithm>
#include <map>

#include "report/sections/common.h"

namespace wmgeom::report {

Section models_section(const ReportData& d, const ReportOptions&) {
  Section s{"models", "Distances between models (compare stage)", "", "", 0};
  s.omitted = unavailable(d, "model_pairs", {"frame", "cka", "procrustes_angle"},
                          {"model_a", "model_b", "label_a", "label_b"});
  if (s.omitted.empty()) s.omitted = unavailable(d, "model_mds", {"x", "y"}, {"model", "label"});
  if (!s.omitted.empty()) return s;
  Columns mds(d.tables.at("model_mds")), pairs(d.tables.at("model_pairs"));
  std::vector<std::string> names, labels;
  for (std::size_t i = 0; i < mds.rows(); ++i) {
    names.push_back(mds.txt("model", i));
    labels.push_back(mds.txt("label", i));
  }
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < names.size(); ++i) index.emplace(names[i], i);
  const std::size_t n = names.size();
  std::vector<Stat> angle(n * n), cka(n * n);
  for (std::size_t r = 0; r < pairs.rows(); ++r) {
    const auto a = index.find(pairs.txt("model_a", r)), b = index.find(pairs.txt("model_b", r));
    if (a == index.end() || b == index.end()) continue;
    for (std::size_t k : {a->second * n + b->second, b->second * n + a->second}) {
      angle[k].add(pairs.num("procrustes_angle", r));
      cka[k].add(pairs.num("cka", r));
    }
  }
  auto panel = [&](const std::string& title, const std::vector<Stat>& stat, double diagonal) {
    HeatPanel p;
    p.title = title;
    p.row_labels = p.col_labels = names;
    for (std::size_t i = 0; i < n * n; ++i)
      p.values.push_back(i / n == i % n ? diagonal : stat[i].mean());
    return p;
  };
  // One model x model matrix, averaged over frames; cells shrink past 12 models.
  auto matrix = [&](const std::string& title, const std::string& scale, double hi,
                    const std::vector<Stat>& stat, double diagonal) {
    HeatmapGrid g{.id = next_id(s),
                  .title = title,
                  .row_axis = "model",
                  .col_axis = "model",
                  .scale_label = scale,
                  .hi = hi,
                  .columns = 1,
                  .cell = n > 12 ? 14 : 30,
                  .annotate = n <= 12};
    g.panels.push_back(panel("mean over frames", stat, diagonal));
    return g;
  };
  const HeatmapGrid ga = matrix("Procrustes shape distance (radians; 0 = the same geometry)",
                                "angle (radians)", 1.5707963267948966, angle, 0.0);
  const HeatmapGrid gc = matrix("Linear CKA (1 = the same geometry up to rotation and scale)",
                                "linear CKA", 1.0, cka, 1.0);

  ScatterChart sc{.id = next_id(s),
                  .title = "MDS embedding of the distances",
                  .xlabel = "MDS 1",
                  .ylabel = "MDS 2",
                  .diagonal = false};
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string color = rnn_color(labels[i], seen);
    sc.points.push_back(
        {mds.num("x", i), mds.num("y", i), color, 0, names[i] + " (" + labels[i] + ")"});
  }
  std::vector<std::string> distinct;
  for (const auto& l : labels)
    if (std::find(distinct.begin(), distinct.end(), l) == distinct.end()) distinct.push_back(l);
  for (const auto& l : distinct) sc.color_legend.emplace_back(rnn_label(l), rnn_color(l, seen));
  s.body = caption(
               "For every pair of models, on the trials both ran (per frame, then averaged): the "
               "Procrustes shape distance (the angle between the centred, unit-norm "
               "representations after the best rotation; Williams et al. 2021) and linear CKA. "
               "The test of whether groups differ more than the models within a group is in "
               "the findings table (\"models\").") +
           row_of_figures(figure(render(ga)) + figure(render(gc))) + figure(render(sc));
  return s;
}

}  // namespace wmgeom::report
