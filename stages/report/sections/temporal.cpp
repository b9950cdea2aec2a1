// Finding 4 (Fig. 4): cross-temporal decoding, the slot (H1) vs shared
// encoding (H2) tests, the Procrustes swap tests beside their no-rotation
// controls, and finding 4's three measures across models.
#include <algorithm>
#include <tuple>

#include "report/sections/common.h"

namespace wmgeom::report {
namespace {

// Rows of the task-relevant feature where the table has any, else every row.
struct Filter {
  bool relevant_only = false;
  explicit Filter(const Columns& c) {
    for (std::size_t i = 0; i < c.rows() && !relevant_only; ++i)
      relevant_only = relevance_of(c, i) == "relevant";
  }
  bool keep(const Columns& c, std::size_t i) const {
    return !relevant_only || relevance_of(c, i) == "relevant";
  }
  std::string over() const {
    return relevant_only ? "tasks for which the feature is relevant" : "tasks";
  }
};

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
  const Filter filter(c);
  auto by_model = rows_by_model(c);
  std::string figs;
  for (const auto& m : pick.shown) {
    std::map<std::tuple<std::string, double, double, double>, Stat> acc,
        p95;  // feature, stim, train, test
    for (std::size_t i : by_model[m]) {
      if (!filter.keep(c, i)) continue;
      std::tuple key{c.txt("feature", i), c.num("stim_frame", i), c.num("train_frame", i),
                     c.num("test_frame", i)};
      acc[key].add(c.num("accuracy", i));
      p95[key].add(c.num("chance_p95", i));
    }
    HeatmapGrid g{.id = next_id(s), .title = pick.title[m], .row_axis = "train frame", .col_axis = "test frame",
                  .scale_label = "accuracy (%)",
                  .columns = std::max<int>(1, std::min<int>(6, static_cast<int>(stims.size()))),
                  .cell = frames.size() > 8 ? 12 : 20, .percent = true};
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
        if (!any) continue;
        p.notes.assign(p.values.size(), "");
        p.faded.assign(p.values.size(), false);
        for (std::size_t a = 0; a < fr.size(); ++a) {
          for (std::size_t b = 0; b < fr.size(); ++b) {
            auto it = p95.find({f, st, fr[a], fr[b]});
            const double v = p.values[a * fr.size() + b];
            if (it == p95.end() || !it->second.n || !std::isfinite(v)) continue;
            p.notes[a * fr.size() + b] = "permutation null 95th pct " + fmt(it->second.mean());
            p.faded[a * fr.size() + b] = !(v > it->second.mean());
          }
        }
        g.panels.push_back(std::move(p));
      }
    }
    if (g.panels.empty()) {
      --s.figures;
      continue;
    }
    figs += figure(render(g));
  }
  return "<h3>Cross-temporal decoding</h3>" +
         caption(
             "Decoders of the stimulus shown at one frame, trained on the states of one frame "
             "(rows) "
             "and tested at another (columns), averaged over " +
             filter.over() +
             ". The diagonal is ordinary decoding; off-diagonal accuracy means a code that "
             "persists "
             "over time. Faded cells do not exceed the 95th percentile of their permutation null "
             "(hover a cell for it). Paper: the encoding frame's decoder fails at later frames (H1 "
             "rejected).") +
         figs + pick.note_html();
}

std::string hypotheses_part(Section& s, const ReportData& d, const ReportOptions& o) {
  std::string why = unavailable(d, "temporal_hypotheses", {"accuracy"}, {"model", "hypothesis"});
  if (!why.empty()) return note("Hypothesis tests omitted: " + why + ".");
  Columns c(d.tables.at("temporal_hypotheses"));
  auto pick = pick_models(c, o.max_models);
  const Filter filter(c);
  auto hyps = ordered_present({"H1_slot", "H2_shared"}, distinct(c, "hypothesis"));
  auto by_model = rows_by_model(c);
  BarChart b;
  b.id = next_id(s);
  b.title = "H1 (slot) vs H2 (shared encoding)";
  b.ylabel = "decoding accuracy";
  b.bars.push_back("validation: E(i,i) on its own frame");
  for (const auto& h : hyps) {
    b.bars.push_back(h == "H1_slot"     ? "H1 slot: E(i,i) on M(i,k)"
                     : h == "H2_shared" ? "H2 shared: E(i,i) on E(j,j)"
                                        : h);
  }
  b.colors = {"#4e79a7", "#e15759", "#59a14f", "#76b7b2", "#edc948"};
  b.ymin = 0;
  b.ymax = 1;
  accuracy_legend(b);
  b.chance_label = "halfway: null to validation";
  for (const auto& m : pick.shown) {
    std::map<std::string, AccuracyStat> acc;
    AccuracyStat val;
    Stat v, vc;
    for (std::size_t i : by_model[m]) {
      if (!filter.keep(c, i) || !std::isfinite(c.num("accuracy", i))) continue;
      const std::string h = c.txt("hypothesis", i);
      acc[h].add(c, i);
      if (h != "H1_slot") continue;
      v.add(c.num("validation", i));
      vc.add(c.num("validation_chance", i));
      val.acc.add(c.num("validation", i), kNaN);
      val.chance.analytic.add(c.num("chance", i));
      val.chance.empirical.add(c.num("validation_chance", i));
    }
    BarGroup g;
    g.label = m;
    push_bar(g, val);
    for (const auto& h : hyps) push_bar(g, acc[h]);
    if (v.n && vc.n) g.chance = vc.mean() + 0.5 * (v.mean() - vc.mean());
    b.groups.push_back(std::move(g));
  }
  return "<h3>Slot (H1) vs shared encoding (H2)</h3>" + figure(render(b)) +
         caption(
             "H1: the encoding decoder of the stimulus at frame i, E(S=i,T=i), tested on the "
             "states "
             "that hold it in memory later, M(S=i,T=k). H2: E(S=i,T=i) tested on the encoding of "
             "the "
             "stimulus at a later frame, E(S=j,T=j). Both are scored only on trials held out in "
             "the decoder's fold whose labels at the two frames differ (in an N-back trial they "
             "agree about half the time at lags that are multiples of N; for identity, whose "
             "categories differ: hard non-matches make the sibling rank second) and whose image "
             "at the later frame was not among the fold's training images; H1 is the argmax over "
             "the classes other than the later stimulus's (and its siblings), H2 over those other "
             "than the earlier one's (chance 1/(K-1), identity 1/(K - its category's size)); "
             "validation is E(S=i,T=i) at its own frame on the same "
             "trials with H1's excluded classes. Bars: mean over " +
             filter.over() +
             " and frames; whiskers: 95% CI over folds; grey band: the permutation null (mean to "
             "95th "
             "percentile; for validation a grey line at its null's mean); dotted tick: the "
             "analytic "
             "1/K; dashed line: halfway between validation's null and validation, the bar H1 must "
             "stay "
             "under. Paper: H1 fails, H2 holds.") +
         pick.note_html();
}

// The Procrustes swap tests in drawing order, each with its label and colour.
struct SwapTest {
  const char* name;
  const char* label;
  const char* color;
};
constexpr SwapTest kTests[] = {
    {"fitted", "fitted at (i, j+1)", "#4e79a7"},
    {"reconstructed", "reconstructed: R M(i,j)", "#499894"},
    {"reconstructed_no_rotation", "reconstructed, R = I", "#86bcb6"},
    {"time_shifted", "time-shifted: R at (i, j+2)", "#e15759"},
    {"time_shifted_no_rotation", "time-shifted, R = I", "#ff9d9a"},
    {"elapsed_shifted", "elapsed-shifted: R at (i+1, j+2)", "#59a14f"},
    {"elapsed_shifted_no_rotation", "elapsed-shifted, R = I", "#8cd17d"},
};

const SwapTest* swap_test(const std::string& name) {
  for (const auto& t : kTests) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

std::string procrustes_part(Section& s, const ReportData& d, const ReportOptions& o) {
  std::string why = unavailable(d, "procrustes", {"accuracy"}, {"model", "test"});
  if (!why.empty()) return note("Procrustes swap tests omitted: " + why + ".");
  Columns c(d.tables.at("procrustes"));
  auto pick = pick_models(c, o.max_models);
  const Filter filter(c);
  std::vector<std::string> known;
  for (const auto& t : kTests) known.push_back(t.name);
  auto tests = ordered_present(known, distinct(c, "test"));
  auto by_model = rows_by_model(c);
  BarChart b;
  b.id = next_id(s);
  b.title = "Procrustes swap tests and their no-rotation controls";
  b.ylabel = "decoding accuracy";
  for (const auto& t : tests) {
    const SwapTest* known_test = swap_test(t);  // an unknown test keeps its name, in grey
    b.bars.push_back(known_test ? known_test->label : t);
    b.colors.push_back(known_test ? known_test->color : "#bab0ac");
  }
  b.ymin = 0;
  b.ymax = 1;
  accuracy_legend(b);
  for (const auto& m : pick.shown) {
    std::map<std::string, AccuracyStat> acc;
    for (std::size_t i : by_model[m])
      if (filter.keep(c, i)) acc[c.txt("test", i)].add(c, i);
    BarGroup g;
    g.label = m;
    for (const auto& t : tests) push_bar(g, acc[t]);
    b.groups.push_back(std::move(g));
  }
  return "<h3>Transformations between memory subspaces</h3>" + figure(render(b)) +
         caption(
             "An orthogonal map with a common scale (Procrustes), R(i,j), takes the standardised "
             "decoder of the stimulus at frame i read at frame j, M(i,j), onto the one read at "
             "j+1. "
             "Fitted: the decoder fitted at j+1. Reconstructed: the mapped decoder; since R is "
             "fitted "
             "from only K class correspondences (K weight vectors in a space of many more "
             "dimensions), "
             "reconstructed &asymp; fitted is near-guaranteed and says little. The evidence is in "
             "the "
             "swap tests: time-shifted (R(i,j) reused one frame later for the same stimulus) and "
             "elapsed-shifted (reused for the next stimulus at the same elapsed time), each beside "
             "its "
             "no-rotation control (the source decoder put in the target's place unrotated, R = I; "
             "lighter bar). Bars: mean over " +
             filter.over() +
             " and frames; whiskers: 95% CI over folds; grey band: the target decoder's "
             "permutation "
             "null (mean to 95th percentile); dotted tick: the analytic 1/K. Paper: time-shifted "
             "accuracy drops, elapsed-shifted holds (chronological memory subspaces); a rotation "
             "matters where the swap beats its no-rotation control.") +
         pick.note_html();
}

// Finding 4's measures per model (as stages/analyze/findings.cpp computes
// them, task-relevant rows): H1 - halfway, H2 - its empirical chance, the
// elapsed-shifted minus the time-shifted swap, and rotation minus no rotation.
std::string finding4_part(Section& s, const ReportData& d) {
  if (!unavailable(d, "temporal_hypotheses", {"accuracy"}, {"model", "hypothesis"}).empty() ||
      !unavailable(d, "procrustes", {"accuracy"}, {"model", "test"}).empty())
    return "";
  Columns h(d.tables.at("temporal_hypotheses")), p(d.tables.at("procrustes"));
  auto h_rows = rows_by_model(h), p_rows = rows_by_model(p);
  auto pick = pick_models(h, 1 << 30);
  std::map<std::string, std::vector<std::vector<double>>> per_rnn;
  for (const auto& m : pick.all) {
    Stat h1, h2, h2c, v, vc;
    for (std::size_t i : h_rows[m]) {
      if (relevance_of(h, i) != "relevant" || !std::isfinite(h.num("accuracy", i))) continue;
      if (h.txt("hypothesis", i) == "H1_slot") {
        h1.add(h.num("accuracy", i)), v.add(h.num("validation", i)),
            vc.add(h.num("chance_empirical", i));
      } else {
        h2.add(h.num("accuracy", i)), h2c.add(h.num("chance_empirical", i));
      }
    }
    std::map<std::string, Stat> by;
    for (std::size_t i : p_rows[m])
      if (relevance_of(p, i) == "relevant") by[p.txt("test", i)].add(p.num("accuracy", i));
    if (!h1.n || !by["elapsed_shifted"].n || !by["time_shifted"].n) continue;
    auto& slot = per_rnn[pick.rnn[m]];
    slot.resize(4);
    slot[0].push_back(h1.mean() - (vc.mean() + 0.5 * (v.mean() - vc.mean())));
    slot[1].push_back(h2.mean() - h2c.mean());
    slot[2].push_back(by["elapsed_shifted"].mean() - by["time_shifted"].mean());
    slot[3].push_back(by["elapsed_shifted"].mean() - by["elapsed_shifted_no_rotation"].mean());
  }
  if (per_rnn.empty()) return "";
  std::vector<std::pair<std::string, std::vector<std::vector<double>>>> groups;
  for (const char* r : {"rnn", "vanilla", "gru", "lstm"})
    if (auto it = per_rnn.find(r); it != per_rnn.end())
      groups.push_back({rnn_label(r), it->second});
  for (const auto& [r, v] : per_rnn)
    if (r != "rnn" && r != "vanilla" && r != "gru" && r != "lstm")
      groups.push_back({rnn_label(r), v});
  BarChart rep =
      replicate_chart({"H1 - halfway (paper: < 0)", "H2 - empirical chance (> 0)",
                       "elapsed - time-shifted swap (> 0)", "rotation - no rotation (supporting)"},
                      {"#e15759", "#59a14f", "#4e79a7", "#8cd17d"}, groups);
  rep.id = next_id(s);
  rep.title = "finding 4 across models";
  rep.ylabel = "accuracy difference";
  return figure(render(rep)) +
         caption(
             "Finding 4's three measures (task-relevant features), one dot per model: H1's "
             "accuracy "
             "minus halfway between its own empirical chance and its validation (the same "
             "decoder at its own frame, same trials, same excluded classes); H2's accuracy minus its "
             "empirical chance; the elapsed-shifted minus the time-shifted Procrustes swap; and, "
             "supporting only, the elapsed-shifted swap minus its no-rotation control. Bars: mean "
             "per "
             "RNN type, whiskers: 95% t-interval across models (seeds), from 2 models up. The "
             "verdict "
             "needs all three tests to pass for every architecture (findings table).");
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
  s.body = cross_temporal_part(s, d, o) + hypotheses_part(s, d, o) + procrustes_part(s, d, o) +
           finding4_part(s, d);
  if (s.figures == 0) {
    s.omitted =
        "none of the `cross_temporal`, `temporal_hypotheses` and `procrustes` tables could be "
        "drawn (absent, empty or lacking columns)";
  }
  return s;
}

}  // namespace wmgeom::report
