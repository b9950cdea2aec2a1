// Finding 2 (Fig. 2): cross-task generalisation.
#include <algorithm>
#include <set>
#include <tuple>

#include "report/sections/common.h"

namespace wmgeom::report {

Section cross_task_section(const ReportData& d, const ReportOptions& o) {
  Section s{"cross-task", "Cross-task generalisation (finding 2, Fig. 2)", "", "", 0};
  s.omitted =
      unavailable(d, "cross_task", {"accuracy"}, {"model", "feature", "train_task", "test_task"});
  if (!s.omitted.empty()) return s;
  Columns c(d.tables.at("cross_task"));
  auto pick = pick_models(c, o.max_models);
  auto features = feature_order(distinct(c, "feature"));
  std::vector<std::string> tasks = distinct(c, "train_task");
  for (const auto& t : distinct(c, "test_task"))
    if (std::find(tasks.begin(), tasks.end(), t) == tasks.end()) tasks.push_back(t);
  std::map<std::string, std::size_t> task_index;
  for (std::size_t k = 0; k < tasks.size(); ++k) task_index[tasks[k]] = k;
  auto by_model = rows_by_model(c);
  const bool has_kind = c.has("kind");

  std::string figs;
  BarChart summary;
  summary.id = next_id(s);
  summary.title = "validation vs generalisation (mean over features and task pairs)";
  summary.ylabel = "decoding accuracy";
  summary.bars = {"validation (same task)", "generalisation (other task)"};
  summary.colors = {"#4e79a7", "#f28e2b"};
  summary.ymin = 0;
  summary.ymax = 1;
  for (const auto& m : pick.shown) {
    std::map<std::tuple<std::string, std::size_t, std::size_t>, Stat> acc;
    Stat val, gen, chance;
    for (std::size_t i : by_model[m]) {
      std::string train = c.txt("train_task", i), test = c.txt("test_task", i);
      double a = c.num("accuracy", i);
      acc[{c.txt("feature", i), task_index[train], task_index[test]}].add(a);
      bool validation = has_kind ? c.txt("kind", i) == "validation" : train == test;
      (validation ? val : gen).add(a);
      chance.add(c.num("chance", i));
    }
    HeatmapGrid g;
    g.id = next_id(s);
    g.title = pick.title[m];
    g.row_axis = "decoder trained on";
    g.col_axis = "tested on";
    g.scale_label = "accuracy (%)";
    g.percent = true;
    g.columns = std::min<int>(3, static_cast<int>(features.size()));
    g.cell = tasks.size() > 12 ? 16 : 24;
    for (const auto& f : features) {
      HeatPanel p;
      p.title = f;
      p.row_labels = tasks;
      p.col_labels = tasks;
      p.outline_diagonal = true;
      p.values.assign(tasks.size() * tasks.size(), kNaN);
      bool any = false;
      for (const auto& [key, st] : acc) {
        if (std::get<0>(key) != f) continue;
        p.values[std::get<1>(key) * tasks.size() + std::get<2>(key)] = st.mean();
        any = any || st.n > 0;
      }
      if (any) g.panels.push_back(std::move(p));
    }
    if (g.panels.empty()) {
      --s.figures;
      continue;
    }
    figs += figure(render(g));
    BarGroup bg;
    bg.label = m;
    bg.value = {val.mean(), gen.mean()};
    bg.err = {val.sd(), gen.sd()};
    if (chance.n) bg.chance = chance.mean();
    summary.groups.push_back(std::move(bg));
  }
  s.body =
      caption(
          "For each feature, a decoder fitted on one task's states at the encoding frame is tested "
          "on every "
          "task's states (cells: accuracy in %, averaged over stimulus frames). Outlined diagonal: "
          "validation on the same task; off-diagonal: generalisation. Paper: the vanilla RNN "
          "generalises "
          "across tasks (shared subspaces); GRU and LSTM drop off the diagonal (task-specific "
          "subspaces).") +
      figs + figure(render(summary)) +
      caption(
          "Summary: mean validation and generalisation accuracy per model (whiskers: sd across "
          "cells; "
          "dashed: chance).") +
      pick.note_html();
  return s;
}

}  // namespace wmgeom::report
