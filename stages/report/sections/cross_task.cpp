// Finding 2 (Fig. 2): decoders fitted on one task's states at the encoding
// frame, tested on every task's; validation, generalisation and
// generalisation on task-centred states against their permutation nulls; the
// chance-normalised generalisation across models.
#include <algorithm>
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
  auto is_validation = [&](std::size_t i) {
    return has_kind ? c.txt("kind", i) == "validation"
                    : c.txt("train_task", i) == c.txt("test_task", i);
  };

  std::string figs;
  for (const auto& m : pick.shown) {
    std::map<std::tuple<std::string, std::size_t, std::size_t>, Stat> acc, p95;
    for (std::size_t i : by_model[m]) {
      std::tuple key{c.txt("feature", i), task_index[c.txt("train_task", i)],
                     task_index[c.txt("test_task", i)]};
      acc[key].add(c.num("accuracy", i));
      p95[key].add(c.num("chance_p95", i));
    }
    HeatmapGrid g{.id = next_id(s),
                  .title = pick.title[m],
                  .row_axis = "decoder trained on",
                  .col_axis = "tested on",
                  .scale_label = "accuracy (%)",
                  .columns = std::min<int>(3, static_cast<int>(features.size())),
                  .cell = tasks.size() > 12 ? 16 : 24,
                  .percent = true};
    for (const auto& f : features) {
      HeatPanel p;
      p.title = f;
      p.row_labels = tasks;
      p.col_labels = tasks;
      p.outline_diagonal = true;
      p.values.assign(tasks.size() * tasks.size(), kNaN);
      p.notes.assign(p.values.size(), "");
      p.faded.assign(p.values.size(), false);
      bool any = false;
      for (const auto& [key, st] : acc) {
        if (std::get<0>(key) != f || !st.n) continue;
        const std::size_t at = std::get<1>(key) * tasks.size() + std::get<2>(key);
        p.values[at] = st.mean();
        const double null95 = p95[key].mean();
        if (std::isfinite(null95)) {
          p.notes[at] = "permutation null 95th pct " + fmt(null95);
          p.faded[at] = !(st.mean() > null95);
        }
        any = true;
      }
      if (any) g.panels.push_back(std::move(p));
    }
    if (g.panels.empty()) {
      --s.figures;
      continue;
    }
    figs += figure(render(g));
  }

  BarChart summary;
  summary.id = next_id(s);
  summary.title = "validation vs generalisation (mean over features and task pairs)";
  summary.ylabel = "decoding accuracy";
  summary.bars = {"validation (same task)", "generalisation (other task)",
                  "generalisation, task-centred states"};
  summary.colors = {"#4e79a7", "#f28e2b", "#ffbe7d"};
  summary.ymin = 0;
  summary.ymax = 1;
  accuracy_legend(summary);
  // Finding 2's measure: (gen - its chance) / (val - its chance) at the first stimulus frame.
  double first = INFINITY;
  for (std::size_t i = 0; i < c.rows(); ++i)
    if (std::isfinite(c.num("stim_frame", i))) first = std::min(first, c.num("stim_frame", i));
  std::map<std::string, std::vector<std::vector<double>>> normalised;  // rnn -> [measure][model]
  for (const auto& m : pick.all) {
    AccuracyStat val, gen, centred;
    Stat g, gc, v, vc, cen, cenc;
    std::string rnn;
    for (std::size_t i : by_model[m]) {
      if (rnn.empty()) rnn = c.txt("rnn", i);
      if (is_validation(i)) {
        val.add(c, i);
        continue;
      }
      gen.add(c, i);
      centred.acc.add(c.num("accuracy_centred", i), kNaN);
      centred.chance.analytic.add(c.num("chance", i));
      centred.chance.empirical.add(c.num("chance_empirical_centred", i));
      if (c.num("stim_frame", i) != first) continue;
      g.add(c.num("accuracy", i)), gc.add(c.num("chance_empirical", i));
      v.add(c.num("validation", i)), vc.add(c.num("validation_chance", i));
      cen.add(c.num("accuracy_centred", i)), cenc.add(c.num("chance_empirical_centred", i));
    }
    BarGroup bg;
    bg.label = m;
    push_bar(bg, val);
    push_bar(bg, gen);
    push_bar(bg, centred);
    summary.groups.push_back(std::move(bg));
    const double denominator = v.mean() - vc.mean();
    const double score = (g.mean() - gc.mean()) / denominator,
                 score_c = (cen.mean() - cenc.mean()) / denominator;
    if (std::isfinite(score) || std::isfinite(score_c)) {
      auto& slot = normalised[rnn];
      slot.resize(2);
      slot[0].push_back(score);
      slot[1].push_back(score_c);
    }
  }
  std::string body =
      caption(
          "For each feature, a decoder fitted on one task's states at the encoding frame is tested "
          "on "
          "every task's states (cells: accuracy in %, averaged over stimulus frames). Outlined "
          "diagonal: "
          "validation on the same task's held-out folds; off-diagonal: generalisation. Faded cells "
          "do not "
          "exceed the 95th percentile of their permutation null (hover a cell for it). Paper: the "
          "vanilla "
          "RNN generalises across tasks (shared subspaces); GRU and LSTM drop off the diagonal "
          "(task-specific subspaces).") +
      figs + pick.note_html() + figure(render(summary)) +
      caption(
          "Every model: mean validation, generalisation, and generalisation of the same decoders "
          "on the "
          "other task's states centred on that task's own mean (no labels used: what a mere "
          "translation "
          "between the tasks' state clouds costs is removed). Whiskers: 95% CI over folds; grey "
          "band: "
          "the permutation null (mean to 95th percentile; a grey line where only its mean is "
          "known); "
          "dotted tick: the analytic 1/K.");
  std::vector<std::pair<std::string, std::vector<std::vector<double>>>> groups;
  for (const char* r : {"rnn", "vanilla", "gru", "lstm"}) {
    if (auto it = normalised.find(r); it != normalised.end())
      groups.push_back({rnn_label(r), it->second});
  }
  for (const auto& [r, v] : normalised) {
    if (r != "rnn" && r != "vanilla" && r != "gru" && r != "lstm")
      groups.push_back({rnn_label(r), v});
  }
  if (!groups.empty()) {
    BarChart rep = replicate_chart({"normalised generalisation", "task-centred states"},
                                   {"#f28e2b", "#ffbe7d"}, groups);
    rep.id = next_id(s);
    rep.title = "finding 2 across models";
    rep.ylabel = "(gen - chance) / (val - chance)";
    body +=
        figure(render(rep)) +
        caption(
            "Finding 2's measure, one dot per multi-task model: the chance-normalised "
            "generalisation "
            "(generalisation - its empirical chance) / (validation - its empirical chance) at the "
            "first stimulus frame; 1 = as good as on the training task, 0 = chance. Bars: mean per "
            "RNN type, whiskers: 95% t-interval across models (seeds), from 2 models up. The "
            "verdict's test (Welch, vanilla &gt; gated) is in the findings table.");
  }
  s.body = body;
  return s;
}

}  // namespace wmgeom::report
