// Finding 4 (Fig. 4): cross-temporal decoding, H1 / H2, Procrustes swap tests.
#include <algorithm>
#include <set>
#include <tuple>

#include "report/sections/common.h"

namespace wmgeom::report {

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

}  // namespace wmgeom::report
