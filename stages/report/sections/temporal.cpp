// Finding 4 (Fig. 4): cross-temporal decoding, the slot (H1) vs shared
// encoding (H2) tests, the Procrustes swap tests beside their no-rotation
// controls, and finding 4's three measures across models.
#include <algorithm>
#include <optional>
#include <tuple>

#include "analyze/hypothesis_rows.h"
#include "analyze/swap_pairs.h"
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
    HeatmapGrid g{.id = next_id(s),
                  .title = pick.title[m],
                  .row_axis = "train frame",
                  .col_axis = "test frame",
                  .scale_label = "accuracy (%)",
                  .columns = std::max<int>(1, std::min<int>(6, static_cast<int>(stims.size()))),
                  .cell = frames.size() > 8 ? 12 : 20,
                  .percent = true};
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
    {"time_shifted_same_cell", "time-shifted on the elapsed-shifted cell: R(i+1, j) at (i+1, j+2)",
     "#f28e2b"},
};

const SwapTest* swap_test(const std::string& name) {
  for (const auto& t : kTests) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

// The swap table a figure draws: finding 4's declared swap on the class
// centroids (`procrustes_centroids`, analyze version 9) where the analysis
// has it, else the paper's swap on decoder weights (`procrustes`).
struct SwapTable {
  std::string name;
  bool centroids = false;
};
std::optional<SwapTable> swap_table(const ReportData& d, const std::vector<std::string>& numeric,
                                    const std::vector<std::string>& text) {
  if (unavailable(d, "procrustes_centroids", numeric, text).empty())
    return SwapTable{"procrustes_centroids", true};
  if (unavailable(d, "procrustes", numeric, text).empty()) return SwapTable{"procrustes", false};
  return std::nullopt;
}

// What the bars of a swap table are, and why comparing them is not the test.
std::string swap_caption(bool centroids, const std::string& over) {
  const std::string how =
      centroids
          ? "Finding 4's declared swap (table <code>procrustes_centroids</code>), on the codes "
            "themselves: per fold, the class centroids of the stimulus at frame i read at frame j, "
            "fitted on the fold's training trials jointly with the other stimuli's codes, are "
            "mapped onto those at j+1 by an orthogonal map with a common scale (Procrustes), "
            "R(i,j); held-out states of the target cell, less the other stimuli's codes, are "
            "classified by the nearest predicted centroid. Fitted: the target's own fitted "
            "centroids, scored the same way. Reconstructed: R applied to the source centroids; "
            "since R is fitted from only K class correspondences (K centroids in a space of many "
            "more dimensions), reconstructed &asymp; fitted is near-guaranteed and says little. "
            "The evidence is in the swap tests: time-shifted (R(i,j) applied to the centroids at "
            "(i, j+1) to predict those at (i, j+2): the same stimulus one frame later) and "
            "elapsed-shifted (applied to those at (i+1, j+1) to predict (i+1, j+2): the next "
            "stimulus at the same elapsed time), each beside its no-rotation control (the source "
            "centroids put in the target's place unrotated, R = I; lighter bar)."
          : "The paper's swap on decoder weights (table <code>procrustes</code>; the analysis has "
            "no usable <code>procrustes_centroids</code> table, finding 4's declared swap since "
            "analyze version 9, so this is the supporting decoder-weight swap): an orthogonal map "
            "with a "
            "common scale (Procrustes), R(i,j), takes the standardised decoder of the stimulus at "
            "frame i read at frame j, M(i,j), onto the one read at j+1. Fitted: the decoder "
            "fitted at j+1. Reconstructed: the mapped decoder; since R is fitted from only K "
            "class correspondences (K weight vectors in a space of many more dimensions), "
            "reconstructed &asymp; fitted is near-guaranteed and says little. The evidence is in "
            "the swap tests: time-shifted (R(i,j) reused one frame later for the same stimulus) "
            "and elapsed-shifted (reused for the next stimulus at the same elapsed time), each "
            "beside its no-rotation control (the source decoder put in the target's place "
            "unrotated, R = I; lighter bar).";
  return how + " Bars: raw accuracies, mean over " + over +
         " and frames; whiskers: 95% CI over folds; grey band: the target's permutation null "
         "(mean to 95th percentile); dotted tick: the analytic 1/K. The two swaps' targets are "
         "read at different elapsed times (the elapsed-shifted target has been held one frame "
         "less), so comparing their raw bars rewards any forgetting" +
         (centroids
              ? ". Finding 4's test compares two swaps on one cell: the elapsed-shifted swap of "
                "R(i, j) onto (i+1, j+2) beside the time-shifted swap of the next stimulus's own "
                "R(i+1, j) onto the same cell, from the same centroids and on the same trials "
                "(orange bar), so that they differ only in the rotation borrowed, each relative "
                "to that cell's target, (swap - chance) / (fitted - chance) (the chart of "
                "finding 4 below)."
              : ": finding 4's test takes each swap relative to its own target at the same "
                "cell, (swap - chance) / (fitted - chance) with the target's empirical chance, "
                "paired by source cell (the chart of finding 4 below).") +
         " Paper: time-shifted accuracy drops, elapsed-shifted holds (chronological memory "
         "subspaces); a rotation matters where the swap beats its no-rotation control." +
         (centroids ? " The decoder-weight swap (<code>procrustes</code>, supporting: not "
                      "calibrated) is not drawn; its rows are in the CSV files of "
                      "<code>wmgeom export</code>."
                    : "");
}

std::string procrustes_part(Section& s, const ReportData& d, const ReportOptions& o) {
  const auto table = swap_table(d, {"accuracy"}, {"model", "test"});
  if (!table) {
    return note("Procrustes swap tests omitted: " +
                unavailable(d, "procrustes", {"accuracy"}, {"model", "test"}) + ".");
  }
  Columns c(d.tables.at(table->name));
  auto pick = pick_models(c, o.max_models);
  const Filter filter(c);
  std::vector<std::string> known;
  for (const auto& t : kTests) known.push_back(t.name);
  auto tests = ordered_present(known, distinct(c, "test"));
  auto by_model = rows_by_model(c);
  BarChart b;
  b.id = next_id(s);
  b.title = table->centroids
                ? "Procrustes swap tests on class centroids and their no-rotation controls"
                : "Procrustes swap tests on decoder weights and their no-rotation controls";
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
         caption(swap_caption(table->centroids, filter.over())) + pick.note_html();
}

// Finding 4's per-model numbers in findings.json (stages/analyze/
// finding4_chronology.cpp), "<model>: <what>".
constexpr const char* kH1Margin = ": H1 - halfway";
constexpr const char* kH2Margin = ": H2 - chance";
constexpr const char* kSwapMeasure =
    ": elapsed-shifted - time-shifted swap, relative to own targets";
constexpr const char* kRotationMeasure = ": elapsed-shifted swap relative, rotation - no rotation";

// Finding 4's number `key` from the findings of the first analysis that has
// it: a number, NaN for null (no usable pair); nullopt where none has it.
std::optional<double> finding4_number(const ReportData& d, const std::string& key) {
  for (const auto& a : d.analyses) {
    if (!a.findings.is_object() || !a.findings.contains("4")) continue;
    const auto& f = a.findings.at("4");
    if (!f.is_object() || !f.contains("numbers") || !f.at("numbers").is_object()) continue;
    const auto& n = f.at("numbers");
    if (!n.contains(key)) continue;
    if (n.at(key).is_number()) return n.at(key).get<double>();
    if (n.at(key).is_null()) return kNaN;
  }
  return std::nullopt;
}

// Whether the findings read make the rotation's control (the swap with the
// fitted rotation against the same swap with none) a deciding test of
// finding 4, as since findings version 5, or a supporting one, as before:
// the `deciding` flag of that test (test_decides; one per replicate group,
// deciding in the multi-task groups only, so any deciding one answers).
// Findings without the test (not testable, or tables alone): the current rule.
bool rotation_decides(const ReportData& d) {
  for (const auto& a : d.analyses) {
    if (!a.findings.is_object() || !a.findings.contains("4")) continue;
    const auto& f = a.findings.at("4");
    if (!f.is_object() || !f.contains("tests") || !f.at("tests").is_array()) continue;
    bool found = false;
    for (const auto& t : f.at("tests")) {
      const std::string name = t.is_object() ? t.value("name", "") : "";
      if (name.find("no rotation") == std::string::npos &&
          name.find("no-rotation") == std::string::npos)
        continue;
      if (test_decides(t)) return true;
      found = true;
    }
    if (found) return false;
  }
  return true;
}

// A plain mean that, like findings.cpp's, is NaN when any value is.
double plain_mean(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

// H1 - halfway and H2 - its empirical chance of one model, as findings.cpp
// computes them: task-relevant rows whose accuracy, empirical chance and (H1)
// validation are finite; every other hypothesis counts as H2, its rows with
// s < N only (analyze/hypothesis_rows.h).
struct Margins {
  double h1 = kNaN, h2 = kNaN;
  bool any_h1 = false, any_h2 = false;
};
Margins margins_of(const Columns& h, const std::vector<std::size_t>& rows) {
  Stat h1, h1c, val, h2, h2c;
  for (std::size_t i : rows) {
    if (relevance_of(h, i) != "relevant") continue;
    const bool is_h1 = h.txt("hypothesis", i) == "H1_slot";
    const double acc = h.num("accuracy", i), chance = h.num("chance_empirical", i),
                 v = is_h1 ? h.num("validation", i) : 0.0;
    if (!std::isfinite(acc) || !std::isfinite(chance) || !std::isfinite(v)) continue;
    if (!is_h1 && !analyze::h2_row_tested(h.num("stim_frame", i), h.txt("task", i))) continue;
    (is_h1 ? h1 : h2).add(acc);
    (is_h1 ? h1c : h2c).add(chance);
    if (is_h1) val.add(v);
  }
  Margins out;
  out.any_h1 = h1.n > 0;
  out.any_h2 = h2.n > 0;
  out.h1 = h1.mean() - (h1c.mean() + 0.5 * (val.mean() - h1c.mean()));
  out.h2 = h2.mean() - h2c.mean();
  return out;
}

// The elapsed-shifted minus time-shifted swap and rotation minus no
// rotation of one model, by the findings' own pairing rule
// (analyze/swap_pairs.h) on the model's task-relevant rows: the means over
// the usable pairs, and the cells that have both swaps (`pairs`). The
// time-shifted partner is `time_shifted_same_cell` where the table has it
// (the centroid swap since analyze version 10: both swaps on one cell),
// else `time_shifted` (the decoder-weight swap; older analyses).
struct SwapMeasures {
  double swap = kNaN, rotation = kNaN;
  int pairs = 0;
};
SwapMeasures swap_measures(const Columns& c, const std::vector<std::size_t>& rows) {
  std::vector<std::size_t> relevant;
  std::string partner = "time_shifted";
  for (std::size_t i : rows) {
    if (relevance_of(c, i) == "relevant") relevant.push_back(i);
    if (c.txt("test", i) == "time_shifted_same_cell") partner = "time_shifted_same_cell";
  }
  const analyze::SwapPairs pairs = analyze::pair_swaps(c, relevant, partner);
  return {plain_mean(pairs.swaps), plain_mean(pairs.rotations), pairs.pairs};
}

// "3 models" / "1 model".
std::string models_text(int n) { return std::to_string(n) + (n == 1 ? " model" : " models"); }

// Finding 4's measures per model, the ones its verdict tests: from
// findings.json's numbers where they are (so figure and verdict cannot
// disagree), else recomputed from the tables as findings.cpp does (results
// of older analyses): H1 - halfway, H2 - its empirical chance, the
// elapsed-shifted minus the time-shifted swap each relative to its own
// target, and rotation minus no rotation.
std::string finding4_part(Section& s, const ReportData& d) {
  if (!unavailable(d, "temporal_hypotheses", {"accuracy"}, {"model", "hypothesis"}).empty())
    return "";
  Columns h(d.tables.at("temporal_hypotheses"));
  auto h_rows = rows_by_model(h);
  auto pick = pick_models(h, 1 << 30);
  // The table the swap is recomputed from where findings lack it: the
  // declared centroid swap, else the decoder-weight swap, each only with
  // the like-with-like columns (raw accuracies at different elapsed times
  // would reward forgetting, so without `relative` the swap is not drawn).
  const auto table = swap_table(d,
                                {"accuracy", "fitted_accuracy", "relative", "target_above_chance",
                                 "source_stim", "source_frame"},
                                {"model", "test", "task", "feature"});
  std::optional<Columns> p;
  std::map<std::string, std::vector<std::size_t>> p_rows;
  if (table) {
    p.emplace(d.tables.at(table->name));
    p_rows = rows_by_model(*p);
  }
  int margins_found = 0, margins_recomputed = 0, swap_found = 0, swap_recomputed = 0, swap_none = 0;
  std::map<std::string, std::vector<std::vector<double>>> per_rnn;
  for (const auto& m : pick.all) {
    const auto f_h1 = finding4_number(d, m + kH1Margin), f_h2 = finding4_number(d, m + kH2Margin),
               f_swap = finding4_number(d, m + kSwapMeasure);
    const bool margins_in_findings = f_h1 && f_h2, swap_in_findings = f_swap.has_value();
    double h1 = kNaN, h2 = kNaN, swap = kNaN, rotation = kNaN;
    if (margins_in_findings) {
      h1 = *f_h1, h2 = *f_h2;
    } else {
      const Margins mg = margins_of(h, h_rows[m]);
      if (!mg.any_h1 || !mg.any_h2) continue;  // findings.cpp uses no such model
      h1 = mg.h1, h2 = mg.h2;
    }
    if (swap_in_findings) {
      swap = *f_swap;
      rotation = finding4_number(d, m + kRotationMeasure).value_or(kNaN);
    } else if (p) {
      const SwapMeasures sw = swap_measures(*p, p_rows[m]);
      // findings.cpp uses no model without a pair of both swaps.
      if (sw.pairs == 0 && !margins_in_findings) continue;
      swap = sw.swap, rotation = sw.rotation;
    }
    ++(margins_in_findings ? margins_found : margins_recomputed);
    ++(swap_in_findings ? swap_found : p ? swap_recomputed : swap_none);
    auto& slot = per_rnn[pick.rnn[m]];
    slot.resize(4);
    slot[0].push_back(h1);
    slot[1].push_back(h2);
    slot[2].push_back(swap);
    slot[3].push_back(rotation);
  }
  if (per_rnn.empty()) return "";
  std::vector<std::pair<std::string, std::vector<std::vector<double>>>> groups;
  for (const char* r : {"rnn", "vanilla", "gru", "lstm"})
    if (auto it = per_rnn.find(r); it != per_rnn.end())
      groups.push_back({rnn_label(r), it->second});
  for (const auto& [r, v] : per_rnn)
    if (r != "rnn" && r != "vanilla" && r != "gru" && r != "lstm")
      groups.push_back({rnn_label(r), v});
  const bool decides = rotation_decides(d);
  BarChart rep =
      replicate_chart({"H1 - halfway (paper: < 0)", "H2 - empirical chance (> 0)",
                       "rel. swap: elapsed - time (> 0)",
                       decides ? "rotation - no rotation (> 0)" : "rotation - no rotation (supp.)"},
                      {"#e15759", "#59a14f", "#4e79a7", "#8cd17d"}, groups);
  rep.id = next_id(s);
  rep.title = "finding 4 across models";
  rep.ylabel = "difference";
  // Where each model's values come from.
  std::vector<std::string> sources;
  if (margins_found || swap_found) {
    sources.push_back(
        "from findings.json's numbers, the values the verdict tested (H1 and H2 for " +
        models_text(margins_found) + ", the swaps for " + models_text(swap_found) + ")");
  }
  if (margins_recomputed)
    sources.push_back(
        "H1 and H2 recomputed here from <code>temporal_hypotheses</code> as "
        "findings.cpp does (rows with a non-finite accuracy, empirical chance or "
        "validation skipped) for " +
        models_text(margins_recomputed) + " whose findings lack them");
  if (swap_recomputed) {
    sources.push_back(
        "the swaps recomputed here from " +
        std::string(table->centroids
                        ? "<code>procrustes_centroids</code> (the declared centroid swap)"
                        : "<code>procrustes</code> (the decoder-weight swap, supporting: the "
                          "analysis has no usable <code>procrustes_centroids</code> table, "
                          "finding 4's declared swap since analyze version 9)") +
        " as findings.cpp does for " + models_text(swap_recomputed) + " whose findings lack them");
  }
  if (swap_none)
    sources.push_back("the swaps not drawn for " + models_text(swap_none) +
                      ": neither the findings nor a swap table with <code>relative</code> and "
                      "<code>target_above_chance</code> have them (an older analysis), and raw "
                      "accuracies would reward forgetting");
  std::string source_text;
  for (std::size_t i = 0; i < sources.size(); ++i) source_text += (i ? "; " : "") + sources[i];
  return figure(render(rep)) +
         caption(
             "Finding 4's measures (task-relevant features), one dot per model: H1's "
             "accuracy minus halfway between its own empirical chance and its validation (the "
             "same decoder at its own frame, same trials, same excluded classes); H2's accuracy "
             "minus its empirical chance; \"rel. swap\": the elapsed-shifted minus the "
             "time-shifted centroid swap, each relative to its own target at the same cell, (swap "
             "- chance) / (fitted "
             "- chance) with the target's empirical chance, paired by source cell (task, feature, "
             "s, t) over the pairs whose two targets beat the 95th percentile of their chance "
             "(not the difference of the raw bars above: the two targets are read at different "
             "elapsed times); and the elapsed-shifted swap's relative score minus its no-rotation "
             "control's (R = I: the next stimulus's centroids put in place unrotated), " +
             std::string(decides
                             ? "finding 4's fourth test since findings version 5 (ordinal slots "
                               "need no rotation and pass the other three)"
                             : "supporting in these findings (before findings version 5)") +
             ". Values: " + source_text +
             ". Bars: mean per RNN type, whiskers: 95% t-interval across models (seeds), from 2 "
             "models up. The verdict needs all " +
             std::string(decides ? "four" : "three") +
             " tests to pass for every architecture "
             "(findings table).");
}

}  // namespace

Section temporal_section(const ReportData& d, const ReportOptions& o) {
  Section s{"temporal", "Encoding and memory subspaces over time (finding 4, Fig. 4)", "", "", 0};
  bool any = d.tables.count("cross_temporal") || d.tables.count("temporal_hypotheses") ||
             d.tables.count("procrustes") || d.tables.count("procrustes_centroids");
  if (!any) {
    s.omitted =
        "the analysis has no `cross_temporal`, `temporal_hypotheses`, `procrustes_centroids` or "
        "`procrustes` table (not requested)";
    return s;
  }
  s.body = cross_temporal_part(s, d, o) + hypotheses_part(s, d, o) + procrustes_part(s, d, o) +
           finding4_part(s, d);
  if (s.figures == 0) {
    s.omitted =
        "none of the `cross_temporal`, `temporal_hypotheses`, `procrustes_centroids` and "
        "`procrustes` tables could be drawn (absent, empty or lacking columns)";
  }
  return s;
}

}  // namespace wmgeom::report
