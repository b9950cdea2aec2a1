#include "report/sections.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "report/report.h"
#include "report/svg.h"

namespace wmgeom::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ------------------------------------------------------------------ helpers

std::string next_id(Section& s) { return "fig-" + s.id + "-" + std::to_string(++s.figures); }

std::string figure(const std::string& svg) { return "<figure>" + svg + "</figure>"; }

std::string caption(const std::string& html) { return "<p class=\"caption\">" + html + "</p>"; }

std::string note(const std::string& text) { return "<p class=\"note\">" + escape(text) + "</p>"; }

std::string row_of_figures(const std::string& figures) {
  return "<div class=\"figures\">" + figures + "</div>";
}

std::string html_table(const std::vector<std::string>& headers,
                       const std::vector<std::vector<std::string>>& rows) {
  std::string h = "<table><thead><tr>";
  for (const auto& x : headers) h += "<th>" + escape(x) + "</th>";
  h += "</tr></thead><tbody>";
  for (const auto& r : rows) {
    h += "<tr>";
    for (const auto& x : r) h += "<td>" + x + "</td>";  // cells are HTML (escaped by the caller)
    h += "</tr>";
  }
  return h + "</tbody></table>";
}

// The paper's features keep their colours in every figure.
std::string feature_color(const std::string& f, const std::vector<std::string>& all) {
  if (f == "loc" || f == "location") return palette(0);
  if (f == "cat" || f == "category") return palette(1);
  if (f == "id" || f == "identity") return palette(2);
  auto it = std::find(all.begin(), all.end(), f);
  return palette(3 + static_cast<std::size_t>(it - all.begin()));
}

// loc, cat, id first (the paper's order), then any others as they appear.
std::vector<std::string> feature_order(std::vector<std::string> features) {
  auto rank = [](const std::string& f) {
    if (f == "loc" || f == "location") return 0;
    if (f == "cat" || f == "category") return 1;
    if (f == "id" || f == "identity") return 2;
    return 3;
  };
  std::stable_sort(features.begin(), features.end(),
                   [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  return features;
}

std::string rnn_color(const std::string& rnn, std::vector<std::string>& seen) {
  if (rnn == "vanilla" || rnn == "rnn") return palette(0);
  if (rnn == "gru") return palette(1);
  if (rnn == "lstm") return palette(2);
  auto it = std::find(seen.begin(), seen.end(), rnn);
  if (it == seen.end()) it = seen.insert(seen.end(), rnn);
  return palette(3 + static_cast<std::size_t>(it - seen.begin()));
}

// Models of a table in order of first appearance, capped at max_models, with
// a title that names the RNN type and regime where the table has them.
struct ModelPick {
  std::vector<std::string> shown;
  std::size_t total = 0;
  std::map<std::string, std::string> title;
  std::string note_html() const {
    if (shown.size() >= total) return "";
    return note(
        "Per-model figures show the first " + std::to_string(shown.size()) + " of " +
        std::to_string(total) +
        " models (parameter max_models); every row is in the CSV files of `wmgeom export`.");
  }
};

ModelPick pick_models(const Columns& c, int max_models) {
  ModelPick p;
  auto names = distinct(c, "model");
  p.total = names.size();
  for (const auto& m : names) {
    if (static_cast<int>(p.shown.size()) < max_models) p.shown.push_back(m);
    p.title[m] = m.empty() ? "(unnamed model)" : m;
  }
  std::set<std::string> done;
  for (std::size_t i = 0; i < c.rows(); ++i) {
    std::string m = c.txt("model", i);
    if (!done.insert(m).second) continue;
    std::string extra;
    for (const char* col : {"rnn", "regime"}) {
      std::string v = c.txt(col, i);
      if (!v.empty() && m.find(v) == std::string::npos) extra += (extra.empty() ? "" : ", ") + v;
    }
    if (!extra.empty()) p.title[m] += " (" + extra + ")";
  }
  return p;
}

// Row indices per model, so that per-model loops do not rescan the table.
std::map<std::string, std::vector<std::size_t>> rows_by_model(const Columns& c) {
  std::map<std::string, std::vector<std::size_t>> out;
  for (std::size_t i = 0; i < c.rows(); ++i) out[c.txt("model", i)].push_back(i);
  return out;
}

std::string frame_label(double f) { return fmt(f, 6); }

// The values of a text column in a fixed reading order: the `known` ones
// first (those present), then any others as they appear.
std::vector<std::string> ordered_present(std::vector<std::string> known, const std::vector<std::string>& present) {
  for (const auto& v : present)
    if (std::find(known.begin(), known.end(), v) == known.end()) known.push_back(v);
  std::erase_if(known, [&](const std::string& v) {
    return std::find(present.begin(), present.end(), v) == present.end();
  });
  return known;
}

// A frames x frames heat panel whose cell (a, b) is value(frames[a],
// frames[b]) (NaN: no data). Returns false, and no panel, when every cell is
// empty.
bool square_panel(HeatPanel& p, const std::vector<double>& frames,
                  const std::function<double(double, double)>& value) {
  for (double x : frames) p.row_labels.push_back(frame_label(x)), p.col_labels.push_back(frame_label(x));
  p.values.assign(frames.size() * frames.size(), kNaN);
  bool any = false;
  for (std::size_t a = 0; a < frames.size(); ++a) {
    for (std::size_t b = 0; b < frames.size(); ++b) {
      double v = value(frames[a], frames[b]);
      if (!std::isnan(v)) p.values[a * frames.size() + b] = v, any = true;
    }
  }
  return any;
}

// ------------------------------------------------------------ model curves

int n_tasks_of(const TrainedModel& m) {
  return m.curve_val_acc.empty()
             ? (m.curve_train_acc.empty() ? 0 : static_cast<int>(m.curve_train_acc.dim(1)))
             : static_cast<int>(m.curve_val_acc.dim(1));
}

std::vector<double> column_of(const Array& a, std::int64_t col) {
  std::vector<double> out;
  if (a.empty() || a.ndim() != 2 || col >= a.dim(1)) return out;
  auto v = a.values<float>();
  for (std::int64_t k = 0; k < a.dim(0); ++k)
    out.push_back(v[static_cast<std::size_t>(k * a.dim(1) + col)]);
  return out;
}

}  // namespace

Section training_section(const ReportData& d, const ReportOptions& o) {
  Section s{"training", "Training curves", "", "", 0};
  if (d.models.empty()) {
    s.omitted = "no trained models were connected (the optional `models` port)";
    return s;
  }
  std::string body;
  int shown = 0;
  for (const auto& item : d.models) {
    if (shown >= o.max_models) break;
    const TrainedModel& m = item.model;
    std::string rnn = m.config.value("rnn", std::string());
    auto task_names = m.config.value("tasks", std::vector<std::string>{});
    const int nt = n_tasks_of(m);
    std::string head =
        "<h3>" + escape(item.instance) +
        (rnn.empty() ? ""
                     : " <span class=\"dim\">(" + escape(rnn) + ", " + std::to_string(nt) +
                           (nt == 1 ? " task" : " tasks") + ")</span>") +
        "</h3>";
    if (m.curve_step.empty() || nt == 0) {
      body += head + note("this model has no training curves");
      continue;
    }
    ++shown;
    std::vector<double> steps;
    for (auto v : m.curve_step.values<std::int64_t>()) steps.push_back(static_cast<double>(v));
    auto task_name = [&](int t) {
      return t < static_cast<int>(task_names.size()) ? task_names[t] : "task " + std::to_string(t);
    };
    LineChart train, val, loss;
    for (auto* c : {&train, &val}) {
      c->xlabel = "training step";
      c->ylabel = "accuracy";
      c->ymin = 0;
      c->ymax = 1;
      c->integer_x = true;
    }
    train.id = next_id(s);
    train.title = "train accuracy";
    train.legend = false;
    train.width = 340;
    val.id = next_id(s);
    val.title = "held-out accuracy (novel views)";
    val.width = 470;
    val.refs.push_back({0.9, "paper: > 90% held-out", "#555555", true});
    for (int t = 0; t < nt; ++t) {
      train.series.push_back(
          {task_name(t), steps, column_of(m.curve_train_acc, t), {}, {}, palette(t), false});
      val.series.push_back(
          {task_name(t), steps, column_of(m.curve_val_acc, t), {}, {}, palette(t), false});
    }
    loss.id = next_id(s);
    loss.title = "training loss";
    loss.xlabel = "training step";
    loss.ylabel = "cross-entropy";
    loss.ymin = 0;
    loss.integer_x = true;
    loss.legend = false;
    loss.width = 320;
    if (!m.curve_loss.empty()) {
      auto lv = m.curve_loss.values<float>();
      loss.series.push_back(
          {"loss", steps, std::vector<double>(lv.begin(), lv.end()), {}, {}, "#333333", false});
    }
    body += head + row_of_figures(figure(render(train)) + figure(render(val)) +
                                  (loss.series.empty() ? "" : figure(render(loss))));
    if (loss.series.empty()) --s.figures;
  }
  if (static_cast<int>(d.models.size()) > o.max_models) {
    body += note("Showing the first " + std::to_string(o.max_models) + " of " +
                 std::to_string(d.models.size()) + " models (parameter max_models).");
  }
  s.body = caption(
               "Accuracy on the decision frames of each task (colours: tasks; legend beside the "
               "held-out panel) "
               "over training, on training trials and on held-out trials with novel views. The "
               "paper's models "
               "reached &gt; 95% train and &gt; 90% held-out accuracy.") +
           body;
  return s;
}

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

Section orthogonality_section(const ReportData& d, const ReportOptions& o) {
  Section s{"orthogonality", "Orthogonalisation: perceptual vs RNN space (finding 3, Fig. 3)", "",
            "", 0};
  std::string why = unavailable(d, "orthogonality", {"index"}, {"model", "feature", "space"});
  std::string why_test = unavailable(d, "orthogonality_test", {}, {"model", "feature"});
  if (!why.empty() && !why_test.empty()) {
    s.omitted = why;
    return s;
  }
  std::string body;
  if (why.empty()) {
    Columns c(d.tables.at("orthogonality"));
    auto pick = pick_models(c, o.max_models);
    auto features = feature_order(distinct(c, "feature"));
    auto by_model = rows_by_model(c);
    std::string figs;
    ScatterChart sc;
    sc.title = "O(RNN) vs O(perceptual), one point per model and feature";
    sc.xlabel = "orthogonalisation index, perceptual space";
    sc.ylabel = "orthogonalisation index, RNN space";
    std::vector<std::string> rnns_seen;
    std::set<std::string> color_names;
    for (const auto& m : pick.shown) {
      std::map<std::pair<std::string, std::string>, Stat> idx, shuf, shuf_sd,
          rnd;  // (feature, space)
      std::string rnn;
      for (std::size_t i : by_model[m]) {
        std::pair key{c.txt("feature", i), c.txt("space", i)};
        idx[key].add(c.num("index", i));
        shuf[key].add(c.num("null_shuffle_mean", i));
        shuf_sd[key].add(c.num("null_shuffle_sd", i));
        rnd[key].add(c.num("null_random_mean", i));
        if (rnn.empty()) rnn = c.txt("rnn", i);
      }
      BarChart b;
      b.id = next_id(s);
      b.title = pick.title[m];
      b.ylabel = "orthogonalisation index O";
      b.bars = {"perceptual", "RNN"};
      b.colors = {"#9c755f", "#4e79a7"};
      b.band_label = "shuffled-label null (mean ± sd)";
      b.tick_label = "random-direction null";
      b.ymin = 0;
      b.ymax = 1;
      for (const auto& f : features) {
        BarGroup g;
        g.label = f;
        for (const char* space : {"perceptual", "rnn"}) {
          std::pair key{f, std::string(space)};
          const Stat& st = idx[key];
          g.value.push_back(st.mean());
          g.err.push_back(st.sd());
          double mu = shuf[key].mean(), sd = shuf_sd[key].mean();
          g.band_lo.push_back(std::isfinite(mu) ? mu - (std::isfinite(sd) ? sd : 0) : kNaN);
          g.band_hi.push_back(std::isfinite(mu) ? mu + (std::isfinite(sd) ? sd : 0) : kNaN);
          g.tick.push_back(rnd[key].mean());
        }
        if (std::isfinite(g.value[0]) || std::isfinite(g.value[1]))
          b.groups.push_back(std::move(g));
        double px = idx[{f, "perceptual"}].mean(), py = idx[{f, "rnn"}].mean();
        if (std::isfinite(px) && std::isfinite(py)) {
          std::string key = rnn.empty() ? m : rnn;
          std::string color = rnn.empty() ? palette(static_cast<std::size_t>(&m - &pick.shown[0]))
                                          : rnn_color(rnn, rnns_seen);
          if (color_names.insert(key).second) sc.color_legend.push_back({key, color});
          int shape =
              static_cast<int>(std::find(features.begin(), features.end(), f) - features.begin());
          sc.points.push_back({px, py, color, shape,
                               m + ", " + f + ": perceptual " + fmt(px) + ", RNN " + fmt(py)});
        }
      }
      if (b.groups.empty()) {
        --s.figures;
        continue;
      }
      figs += figure(render(b));
    }
    for (std::size_t k = 0; k < features.size(); ++k)
      sc.shape_legend.push_back({features[k], static_cast<int>(k)});
    body += caption(
                "O = mean over pairs of one-vs-rest decoders of 1 - |cos| between their normals: 1 "
                "= orthogonal "
                "class axes. Bars: mean over tasks and stimulus frames (whiskers: sd), in the "
                "CNN's perceptual "
                "space and the RNN's state at the encoding frame. Grey band: O of decoders fitted "
                "to shuffled "
                "labels; dotted tick: O of random directions of the same dimension "
                "(high-dimensional normals are "
                "near-orthogonal by chance). Paper: O(RNN) &lt; O(perceptual) in most models.") +
            row_of_figures(figs) + pick.note_html();
    if (!sc.points.empty()) {
      sc.id = next_id(s);
      body +=
          figure(render(sc)) + caption(
                                   "Below the dashed diagonal: the RNN made the feature's class "
                                   "axes less orthogonal than they were "
                                   "in the perceptual space. Colour: RNN type; shape: feature.");
    }
  } else {
    body += note("Bars omitted: " + why + ".");
  }
  if (why_test.empty()) {
    Columns t(d.tables.at("orthogonality_test"));
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < t.rows(); ++i) {
      double p = t.num("p", i), mr = t.num("mean_rnn", i), mp = t.num("mean_perceptual", i);
      std::string verdict = !std::isfinite(p) ? "n/a"
                            : (p < 0.05 && mr < mp)
                                ? "RNN &lt; perceptual"
                                : (p < 0.05 ? "RNN &gt; perceptual" : "no difference");
      rows.push_back({escape(t.txt("model", i)), escape(t.txt("rnn", i)),
                      escape(t.txt("feature", i)), fmt(mp), fmt(mr), fmt(t.num("t", i)),
                      fmt(t.num("df", i)), fmt(p, 2), verdict});
    }
    body += "<h3>t-test, RNN vs perceptual</h3>" +
            html_table({"model", "rnn", "feature", "mean O perceptual", "mean O RNN", "t", "df",
                        "p", "at p < 0.05"},
                       rows);
  } else {
    body += note("t-test table omitted: " + why_test + ".");
  }
  s.body = body;
  return s;
}

namespace {

// Fig. 4a: one heatmap grid per model, panels (feature x stimulus frame).
std::string cross_temporal_part(Section& s, const ReportData& d, const ReportOptions& o) {
  std::string why =
      unavailable(d, "cross_temporal", {"stim_frame", "train_frame", "test_frame", "accuracy"},
                  {"model", "feature"});
  if (!why.empty()) return note("Cross-temporal decoding omitted: " + why + ".");
  Columns c(d.tables.at("cross_temporal"));
  auto pick = pick_models(c, o.max_models);
  auto features = feature_order(distinct(c, "feature"));
  auto stims = distinct_numbers(c, "stim_frame");
  auto frames = distinct_numbers(c, "train_frame");
  for (double f : distinct_numbers(c, "test_frame"))
    if (std::find(frames.begin(), frames.end(), f) == frames.end()) frames.push_back(f);
  std::sort(frames.begin(), frames.end());
  bool relevant_only = false;
  for (std::size_t i = 0; i < c.rows() && !relevant_only; ++i)
    relevant_only = c.num("relevant", i) > 0.5;
  auto by_model = rows_by_model(c);
  std::string figs;
  for (const auto& m : pick.shown) {
    std::map<std::tuple<std::string, double, double, double>, Stat>
        acc;  // feature, stim, train, test
    for (std::size_t i : by_model[m]) {
      if (relevant_only && !(c.num("relevant", i) > 0.5)) continue;
      acc[{c.txt("feature", i), c.num("stim_frame", i), c.num("train_frame", i),
           c.num("test_frame", i)}]
          .add(c.num("accuracy", i));
    }
    HeatmapGrid g;
    g.id = next_id(s);
    g.title = pick.title[m];
    g.row_axis = "train frame";
    g.col_axis = "test frame";
    g.scale_label = "accuracy (%)";
    g.percent = true;
    g.columns = std::max<int>(1, std::min<int>(6, static_cast<int>(stims.size())));
    g.cell = frames.size() > 8 ? 12 : 20;
    for (const auto& f : features) {
      for (double st : stims) {
        std::vector<double> fr;
        for (double x : frames)
          if (x >= st) fr.push_back(x);
        HeatPanel p;
        p.title = f + ", stimulus at frame " + frame_label(st);
        bool any = square_panel(p, fr, [&](double a, double b) {
          auto it = acc.find({f, st, a, b});
          return it != acc.end() && it->second.n ? it->second.mean() : kNaN;
        });
        if (any) g.panels.push_back(std::move(p));
      }
    }
    if (g.panels.empty()) {
      --s.figures;
      continue;
    }
    figs += figure(render(g));
  }
  return "<h3>Cross-temporal decoding</h3>" +
         caption(std::string("Decoders of the stimulus shown at one frame, trained on the states "
                             "of one frame (rows) "
                             "and tested at another (columns), averaged over ") +
                 (relevant_only ? "tasks for which the feature is relevant" : "tasks") +
                 ". The diagonal is ordinary decoding; off-diagonal accuracy means a code that "
                 "persists over time. "
                 "Paper: the encoding frame's decoder fails at later frames (H1 rejected).") +
         figs + pick.note_html();
}

std::string hypotheses_part(Section& s, const ReportData& d, const ReportOptions& o) {
  std::string why = unavailable(d, "temporal_hypotheses", {"accuracy"}, {"model", "hypothesis"});
  if (!why.empty()) return note("Hypothesis tests omitted: " + why + ".");
  Columns c(d.tables.at("temporal_hypotheses"));
  auto pick = pick_models(c, o.max_models);
  auto hyps = ordered_present({"H1_slot", "H2_shared"}, distinct(c, "hypothesis"));
  auto by_model = rows_by_model(c);
  BarChart b;
  b.id = next_id(s);
  b.title = "H1 (slot) vs H2 (shared encoding)";
  b.ylabel = "decoding accuracy";
  for (const auto& h : hyps) {
    b.bars.push_back(h == "H1_slot"     ? "H1 slot: E(i,i) on M(i,k)"
                     : h == "H2_shared" ? "H2 shared: E(i,i) on E(j,j)"
                                        : h);
  }
  b.colors = {"#e15759", "#59a14f", "#76b7b2", "#edc948"};
  b.tick_label = "validation (decoder's own frame)";
  b.ymin = 0;
  b.ymax = 1;
  for (const auto& m : pick.shown) {
    std::map<std::string, Stat> acc, val;
    Stat chance;
    for (std::size_t i : by_model[m]) {
      acc[c.txt("hypothesis", i)].add(c.num("accuracy", i));
      val[c.txt("hypothesis", i)].add(c.num("validation", i));
      chance.add(c.num("chance", i));
    }
    BarGroup g;
    g.label = m;
    for (const auto& h : hyps) {
      g.value.push_back(acc[h].mean());
      g.err.push_back(acc[h].sd());
      g.tick.push_back(val[h].mean());
    }
    if (chance.n) g.chance = chance.mean();
    b.groups.push_back(std::move(g));
  }
  return "<h3>Slot (H1) vs shared encoding (H2)</h3>" + figure(render(b)) +
         caption(
             "H1: the encoding decoder of the stimulus at frame i, E(S=i,T=i), tested on the "
             "states that hold "
             "it in memory later, M(S=i,T=k). H2: E(S=i,T=i) tested on the encoding of the "
             "stimulus at another "
             "frame, E(S=j,T=j). Bars: mean over tasks, features and frames (whiskers: sd); dotted "
             "ticks: the "
             "decoders' own validation accuracy; dashed: chance. Paper: H1 fails, H2 holds.") +
         pick.note_html();
}

std::string procrustes_part(Section& s, const ReportData& d, const ReportOptions& o) {
  std::string why = unavailable(d, "procrustes", {"accuracy"}, {"model", "test"});
  if (!why.empty()) return note("Procrustes swap tests omitted: " + why + ".");
  Columns c(d.tables.at("procrustes"));
  auto pick = pick_models(c, o.max_models);
  auto tests = ordered_present({"fitted", "reconstructed", "time_shifted", "elapsed_shifted"}, distinct(c, "test"));
  auto by_model = rows_by_model(c);
  BarChart b;
  b.id = next_id(s);
  b.title = "Procrustes swap tests";
  b.ylabel = "decoding accuracy";
  for (const auto& t : tests) {
    b.bars.push_back(t == "fitted"            ? "fitted M(i,j+1)"
                     : t == "reconstructed"   ? "reconstructed from M(i,j)"
                     : t == "time_shifted"    ? "time-shifted: R(i,j) reused at j+1"
                     : t == "elapsed_shifted" ? "elapsed-shifted: R(i,j) at (i+k,j+k)"
                                              : t);
  }
  b.colors = {"#4e79a7", "#76b7b2", "#e15759", "#59a14f", "#edc948"};
  b.ymin = 0;
  b.ymax = 1;
  for (const auto& m : pick.shown) {
    std::map<std::string, Stat> acc;
    Stat chance;
    for (std::size_t i : by_model[m]) {
      acc[c.txt("test", i)].add(c.num("accuracy", i));
      chance.add(c.num("chance", i));
    }
    BarGroup g;
    g.label = m;
    for (const auto& t : tests) g.value.push_back(acc[t].mean()), g.err.push_back(acc[t].sd());
    if (chance.n) g.chance = chance.mean();
    b.groups.push_back(std::move(g));
  }
  return "<h3>Transformations between memory subspaces</h3>" + figure(render(b)) +
         caption(
             "An orthogonal map with a common scale (Procrustes) takes the standardised decoder of "
             "the stimulus at "
             "frame i read at frame j onto the one read at j+1. Fitted: the decoder fitted at j+1; "
             "reconstructed: "
             "the mapped decoder; time-shifted: the map of (i,j) reused one frame later; "
             "elapsed-shifted: reused "
             "for another stimulus at the same elapsed time. Dashed: chance. Paper: time-shifted "
             "accuracy drops, "
             "elapsed-shifted holds (chronological memory subspaces).") +
         pick.note_html();
}

}  // namespace

Section temporal_section(const ReportData& d, const ReportOptions& o) {
  Section s{"temporal", "Encoding and memory subspaces over time (finding 4, Fig. 4)", "", "", 0};
  bool any = d.tables.count("cross_temporal") || d.tables.count("temporal_hypotheses") ||
             d.tables.count("procrustes");
  if (!any) {
    s.omitted =
        "the analysis has no `cross_temporal`, `temporal_hypotheses` or `procrustes` table (not "
        "requested)";
    return s;
  }
  s.body = cross_temporal_part(s, d, o) + hypotheses_part(s, d, o) + procrustes_part(s, d, o);
  if (s.figures == 0) {
    s.omitted =
        "none of the `cross_temporal`, `temporal_hypotheses` and `procrustes` tables could be "
        "drawn (absent, "
        "empty or lacking columns)";
  }
  return s;
}

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
  std::map<std::tuple<std::string, std::string, double>, Stat> pr;  // model, space, frame
  for (std::size_t i = 0; i < c.rows(); ++i) {
    std::string m = c.txt("model", i), sp = c.txt("space", i);
    if (has_all.count({m, sp}) && c.txt("task", i) != "all") continue;
    pr[{m, sp, c.num("frame", i)}].add(c.num("participation_ratio", i));
  }
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
      }
      if (!se.x.empty()) ch.series.push_back(std::move(se));
    }
    if (ch.series.empty()) {
      --s.figures;
      continue;
    }
    figs += figure(render(ch));
  }
  s.body = caption(
               "Participation ratio (sum of PCA eigenvalues)&sup2; / sum of squares: the number of "
               "dimensions the "
               "states effectively occupy at each frame, pooled over tasks where available.") +
           row_of_figures(figs) + pick.note_html();
  return s;
}

namespace {

std::string number_text(const nlohmann::json& v) {
  if (v.is_number()) return fmt(v.get<double>(), 4);
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_string()) return escape(v.get<std::string>());
  if (v.is_null()) return "n/a";
  return escape(v.dump());
}

std::string held_badge(const nlohmann::json& f) {
  const nlohmann::json held = f.is_object() && f.contains("held") ? f.at("held") : nlohmann::json();
  if (held.is_boolean()) {
    return held.get<bool>() ? "<span class=\"badge yes\">yes</span>"
                            : "<span class=\"badge no\">no</span>";
  }
  return "<span class=\"badge na\">not testable</span>";
}

// "1" < "2" < ... < "10", then other keys by text.
bool finding_order(const std::string& a, const std::string& b) {
  auto numeric = [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (numeric(a) && numeric(b)) return a.size() != b.size() ? a.size() < b.size() : a < b;
  if (numeric(a) != numeric(b)) return numeric(a);
  return a < b;
}

}  // namespace

Section findings_section(const ReportData& d, const ReportOptions& o) {
  Section s{"findings", "The four findings", "", "", 0};
  std::vector<std::vector<std::string>> rows;
  const bool several = d.analyses.size() > 1;
  for (const auto& a : d.analyses) {
    if (!a.findings.is_object()) continue;
    std::vector<std::string> keys;
    for (const auto& [k, v] : a.findings.items()) keys.push_back(k);
    std::sort(keys.begin(), keys.end(), finding_order);
    for (const auto& k : keys) {
      const auto& f = a.findings.at(k);
      std::string title = f.is_object() ? f.value("title", std::string()) : "";
      std::string numbers;
      if (f.is_object() && f.contains("numbers") && f.at("numbers").is_object()) {
        for (const auto& [name, v] : f.at("numbers").items())
          numbers +=
              "<div><span class=\"dim\">" + escape(name) + "</span> " + number_text(v) + "</div>";
        if (!numbers.empty()) numbers = "<div class=\"numbers\">" + numbers + "</div>";
      }
      std::string detail = f.is_object() && f.contains("detail") ? number_text(f.at("detail")) : "";
      std::vector<std::string> row;
      if (several) row.push_back(escape(a.instance));
      row.insert(row.end(), {escape(k), escape(title), held_badge(f), numbers, detail});
      rows.push_back(std::move(row));
    }
  }
  if (rows.empty()) {
    s.omitted = "the analysis reported no findings";
    return s;
  }
  std::vector<std::string> headers = {"#", "finding", "held", "numbers", "detail"};
  if (several) headers.insert(headers.begin(), "analysis");
  s.body = caption(
               "Each finding of the paper, tested on this run's models: yes / no, or not testable "
               "when the run "
               "lacks what it needs (e.g. a single RNN type, or a single-task regime).") +
           "<div class=\"findings\">" + html_table(headers, rows) + "</div>";
  return s;
}

// ---------------------------------------------------------------- the page

namespace {

constexpr const char* kCss = R"(
:root { color-scheme: light; }
body { font-family: system-ui, 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #1f2d3d; color: #f4f4f4; padding: 18px 28px 12px; }
header h1 { margin: 0 0 6px; font-size: 22px; }
header p { margin: 4px 0; color: #c9d3dd; font-size: 13px; }
nav { margin-top: 10px; font-size: 13px; line-height: 1.8; }
nav a { color: #9fd0ff; margin-right: 14px; text-decoration: none; white-space: nowrap; }
nav a.omitted { color: #8a99a8; }
main { padding: 8px 28px 40px; max-width: 1380px; }
section { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 6px 18px 14px; margin: 16px 0; }
section h2 { font-size: 18px; margin: 10px 0 6px; }
section h3 { font-size: 14px; margin: 14px 0 4px; }
.caption { color: #555; font-size: 13px; max-width: 1000px; margin: 4px 0 8px; }
.note { color: #777; font-size: 13px; font-style: italic; margin: 4px 0; }
.dim { color: #888; font-weight: normal; }
.figures { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: flex-start; }
figure { margin: 4px 0; overflow-x: auto; max-width: 100%; }
svg.figure { background: #fff; display: block; }
table { border-collapse: collapse; font-size: 12.5px; margin: 6px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f2f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.findings table { width: 100%; }
.findings td:nth-last-child(2) { width: 46%; }
.findings td:last-child { width: 26%; }
.numbers { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 0 14px; }
.numbers div { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 9px; font-weight: 600; font-size: 12px; }
.badge.yes { background: #d8f0d8; color: #1d6b1d; }
.badge.no { background: #f8dada; color: #9b1c1c; }
.badge.na { background: #e8e8e8; color: #555; }
pre { background: #f5f5f5; border: 1px solid #e3e3e3; padding: 8px 10px; font-size: 12px; overflow-x: auto; }
details summary { cursor: pointer; color: #345; font-size: 13px; }
)";

// Proves in a browser that every figure drew something (see README.md, Tests):
// sets <body data-figures-ok="drawn/total" data-figures-bad="ids">.
constexpr const char* kLoadCheck = R"(<script>
window.addEventListener('load', function () {
  var figs = document.querySelectorAll('svg.figure'), ok = 0, bad = [];
  for (var i = 0; i < figs.length; i++) {
    var g = figs[i].querySelector('g.data'), b = g ? g.getBBox() : null;
    if (b && b.width > 0 && b.height > 0 && g.childElementCount > 0) ok++; else bad.push(figs[i].id);
  }
  document.body.setAttribute('data-figures-ok', ok + '/' + figs.length);
  document.body.setAttribute('data-figures-bad', bad.join(' '));
});
</script>)";

std::string section_html(const Section& s) {
  std::string h = "<section id=\"" + s.id + "\"><h2>" + escape(s.title) + "</h2>";
  if (!s.omitted.empty()) return h + note("Omitted: " + s.omitted + ".") + "</section>\n";
  return h + s.body + "</section>\n";
}

Section profile_section() {
  return {"profile", "Stage profile of this run",
          caption("Per stage instance: cache status (hit: loaded from the cache, miss: computed "
                  "now), seconds spent in "
                  "this run, items processed and throughput of the computation.") +
              kProfilePlaceholder,
          "", 0};
}

Section pipeline_section(const ReportData& d) {
  std::string params;
  for (const auto& a : d.analyses) {
    params += "<details><summary>analysis parameters: " + escape(a.instance) + "</summary><pre>" +
              escape(a.params.dump(2)) + "</pre></details>";
  }
  return {"pipeline", "Pipeline and versions", std::string(kPipelinePlaceholder) + params, "", 0};
}

std::string summary_line(const ReportData& d) {
  std::set<std::string> models;
  for (const auto& [name, t] : d.tables) {
    Columns c(t);
    for (const auto& m : distinct(c, "model")) models.insert(m);
  }
  std::string s = std::to_string(d.analyses.size()) +
                  (d.analyses.size() == 1 ? " analysis" : " analyses") + ", " +
                  std::to_string(models.size()) + (models.size() == 1 ? " model" : " models") +
                  " in the tables";
  if (!d.models.empty()) s += ", training curves of " + std::to_string(d.models.size());
  if (d.stimuli) s += ", " + std::to_string(d.stimuli->size()) + " stimuli";
  return s +
         ". Produced by wmgeom's report stage; every number is in the CSV/NPY files of `wmgeom "
         "export`.";
}

}  // namespace

std::string build_html(const ReportData& d, const ReportOptions& o, nlohmann::json& info) {
  std::vector<Section> sections = {
      findings_section(d, o),       stimuli_section(d, o),    training_section(d, o),
      decoding_section(d, o),       cross_task_section(d, o), orthogonality_section(d, o),
      temporal_section(d, o),       causal_section(d, o),     rsa_section(d, o),
      dimensionality_section(d, o), profile_section(),        pipeline_section(d)};
  std::string nav, body;
  int figures = 0;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : sections) {
    nav += "<a href=\"#" + s.id + "\"" +
           (s.omitted.empty() ? "" : " class=\"omitted\" title=\"omitted\"") + ">" +
           escape(s.title) + "</a> ";
    body += section_html(s);
    if (s.omitted.empty()) figures += s.figures;
    list.push_back({{"id", s.id},
                    {"title", s.title},
                    {"drawn", s.omitted.empty()},
                    {"note", s.omitted},
                    {"figures", s.omitted.empty() ? s.figures : 0}});
  }
  info = {{"sections", list}, {"figures", figures}};
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<link rel=\"icon\" href=\"data:,\"><title>" +
         escape(o.title) + "</title><style>" + kCss + "</style></head>\n<body>\n<header><h1>" +
         escape(o.title) + "</h1><p>" + escape(summary_line(d)) + "</p><nav>" + nav +
         "</nav></header>\n<main>\n" + body + "</main>\n" + kLoadCheck + "\n</body></html>\n";
}

}  // namespace wmgeom::report
