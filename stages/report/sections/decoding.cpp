// Finding 1 (Fig. A5): decoding of the task-relevant, implied and
// task-irrelevant features of a stimulus at its encoding frame (t = s) and
// while it is retained (t > s), against the decoders' permutation null and
// the analytic 1/K; the summary bars; finding 1's measure across models.
#include <algorithm>
#include <set>
#include <tuple>

#include "report/sections/common.h"

namespace wmgeom::report {
namespace {

const std::vector<std::string> kRelevance = {"relevant", "implied", "irrelevant"};

std::string relevance_title(const std::string& r) {
  if (r == "relevant") return "task-relevant (the task's own feature)";
  if (r == "implied") return "implied (category in an identity task)";
  if (r == "irrelevant") return "task-irrelevant";
  return r;
}

// Encoding (dark) and retention (light) colour of a relevance class.
std::pair<std::string, std::string> relevance_colors(const std::string& r) {
  if (r == "relevant") return {"#4e79a7", "#a0cbe8"};
  if (r == "implied") return {"#f28e2b", "#ffbe7d"};
  if (r == "irrelevant") return {"#e15759", "#ff9d9a"};
  return {"#9c755f", "#d7b5a6"};
}

// Rows scored by the lag rule (`scoring` "differ", analyze version 9: at
// lags t - s = kN, trials whose labels at s and t are not kin, argmax over
// the classes that are not; analytic chance 1/(K-1), identity 1/(K - its
// category's size)). Other rows ("all", or no column: older tables) were
// scored on all trials, chance 1/K; "none" rows have no score.
bool lag_rule(const Columns& c, std::size_t i) { return c.txt("scoring", i) == "differ"; }

// Accuracy rows whose analytic chance is kept per scoring rule, so that 1/K
// and the lag rule's 1/(K-1) are never averaged: `acc`'s analytic chance
// takes the rows scored on all trials only, `lag` the lag-rule rows'. The
// accuracy and its permutation null take every row (each row's null is
// scored the same way as the row).
struct RuleStat {
  AccuracyStat acc;
  Stat lag;
  void add(const Columns& c, std::size_t i) {
    if (!lag_rule(c, i)) {
      acc.add(c, i);
      return;
    }
    acc.acc.add(c.num("accuracy", i), fold_half_width(c, i));
    acc.chance.empirical.add(c.num("chance_empirical", i));
    acc.chance.p95.add(c.num("chance_p95", i));
    lag.add(c.num("chance", i));
  }
  // A bar's tick, one rule: the all-trials rows' 1/K where it has any, else
  // the lag rule's.
  double tick() const { return acc.chance.analytic.n ? acc.chance.analytic.mean() : lag.mean(); }
};

}  // namespace

Section decoding_section(const ReportData& d, const ReportOptions& o) {
  Section s{"decoding",
            "Decoding relevant, implied and irrelevant features: encoding and retention (finding "
            "1, Fig. A5)",
            "", "", 0};
  s.omitted = unavailable(d, "decoding", {"relevant", "stim_frame", "train_frame", "accuracy"},
                          {"model", "feature"});
  if (!s.omitted.empty()) return s;
  Columns c(d.tables.at("decoding"));
  auto pick = pick_models(c, o.max_models);
  auto features = feature_order(distinct(c, "feature"));
  auto by_model = rows_by_model(c);
  std::vector<std::string> present;
  for (std::size_t i = 0; i < c.rows(); ++i) {
    std::string r = relevance_of(c, i);
    if (std::find(present.begin(), present.end(), r) == present.end()) present.push_back(r);
  }
  const auto rels = ordered_present(kRelevance, present);
  // Decoding proper: the decoder tested at its own frame.
  auto diagonal = [&](std::size_t i) {
    const double train = c.num("train_frame", i), test = c.num("test_frame", i);
    return !c.has("test_frame") || !std::isfinite(test) || test == train;
  };

  std::string figs;
  for (const auto& m : pick.shown) {
    std::map<std::tuple<std::string, std::string, double>, AccuracyStat>
        acc;  // relevance, feature, elapsed
    // The analytic chance per relevance and feature, one per scoring rule.
    std::map<std::pair<std::string, std::string>, RuleStat> analytic;
    for (std::size_t i : by_model[m]) {
      const double elapsed = c.num("train_frame", i) - c.num("stim_frame", i);
      if (!diagonal(i) || !std::isfinite(elapsed)) continue;
      acc[{relevance_of(c, i), c.txt("feature", i), elapsed}].add(c, i);
      analytic[{relevance_of(c, i), c.txt("feature", i)}].add(c, i);
    }
    std::string row;
    for (const auto& rel : rels) {
      LineChart ch;
      ch.id = next_id(s);
      ch.title = relevance_title(rel);
      ch.xlabel = "frames since the stimulus (0 = encoding, > 0 = retention)";
      ch.ylabel = "decoding accuracy";
      ch.ymin = 0;
      ch.ymax = 1;
      ch.integer_x = true;
      ch.width = 440;
      for (const auto& f : features) {
        Series se;
        se.name = f;
        se.color = feature_color(f, features);
        std::vector<double> empirical, p95;
        for (const auto& [key, st] : acc) {
          if (std::get<0>(key) != rel || std::get<1>(key) != f) continue;
          se.x.push_back(std::get<2>(key));
          se.y.push_back(st.acc.mean());
          se.lo.push_back(st.acc.lo());
          se.hi.push_back(st.acc.hi());
          empirical.push_back(st.chance.empirical.mean());
          p95.push_back(st.chance.p95.mean());
        }
        if (se.x.empty()) continue;
        const auto x = se.x;
        ch.series.push_back(std::move(se));
        const RuleStat& chance = analytic[{rel, f}];
        chance_lines(ch, f, feature_color(f, features), x, empirical, p95,
                     chance.acc.chance.analytic.mean());
        if (chance.lag.n)
          ch.refs.push_back(
              {chance.lag.mean(), f + " chance, lag rule", feature_color(f, features), false});
      }
      if (ch.series.empty()) {
        --s.figures;
        continue;
      }
      row += figure(render(ch));
    }
    if (row.empty()) {
      figs += note(pick.title[m] + ": no decoding rows with train frame == test frame");
      continue;
    }
    figs += "<h3>" + escape(pick.title[m]) + "</h3>" + row_of_figures(row);
  }

  // Summary over every model: encoding vs retention per relevance class.
  BarChart summary;
  summary.id = next_id(s);
  summary.title = "encoding (t = s) and retention (t > s), mean over tasks, features and frames";
  summary.ylabel = "decoding accuracy";
  summary.ymin = 0;
  summary.ymax = 1;
  accuracy_legend(summary);
  summary.tick_label = "analytic chance (one rule)";
  for (const auto& rel : rels) {
    auto [dark, light] = relevance_colors(rel);
    summary.bars.push_back(rel + ": encoding");
    summary.bars.push_back(rel + ": retention");
    summary.colors.push_back(dark);
    summary.colors.push_back(light);
  }
  // Finding 1's measure per model: irrelevant retention above the empirical chance.
  std::vector<double> multi, single;
  for (const auto& m : pick.all) {
    std::map<std::pair<std::string, bool>, RuleStat> acc;  // relevance, retention
    Stat margin;
    std::set<std::string> tasks;
    for (std::size_t i : by_model[m]) {
      tasks.insert(c.txt("task", i));
      const double t = c.num("train_frame", i), st = c.num("stim_frame", i);
      if (!diagonal(i) || !std::isfinite(t - st)) continue;
      const std::string rel = relevance_of(c, i);
      acc[{rel, t > st}].add(c, i);
      if (rel == "irrelevant" && t > st)
        margin.add(c.num("accuracy", i) - c.num("chance_empirical", i));
    }
    BarGroup g;
    g.label = m;
    for (const auto& rel : rels) {
      for (const bool retention : {false, true}) {
        const RuleStat& st = acc[{rel, retention}];
        push_bar(g, st.acc);
        g.tick.back() = st.tick();
      }
    }
    summary.groups.push_back(std::move(g));
    if (margin.n) (tasks.size() > 1 ? multi : single).push_back(margin.mean());
  }
  std::string body =
      caption(
          "Cross-validated linear decoding (folds grouped by the image shown at the decoded frame, "
          "so no "
          "test trial has an identical twin in training) of each feature of the stimulus shown at "
          "frame s, "
          "from the state t - s frames later: 0 = the encoding frame, later frames = retention. "
          "One panel "
          "per relevance: the task's own feature; a feature implied by it (category in an identity "
          "task); "
          "the others. Lines: mean over tasks and stimulus frames, band: its 95% CI (t-interval "
          "over folds "
          "from accuracy_sd and folds; averaged rows take the mean half-width, conservative since "
          "they "
          "share images). Dotted (\"null\"): the mean accuracy of the same decoders fitted on "
          "image-level "
          "label permutations, with a faint band up to its 95th percentile; dashed (\"1/K\"): the "
          "analytic chance of the rows scored on all trials, 1/K. Rows at lags t - s = kN scored "
          "by the lag rule (column <code>scoring</code> = differ: trials whose labels at s and t "
          "are not kin, argmax over the classes that are not) have their own, higher analytic "
          "chance, 1/(K-1) (identity: 1/(K - its category's size)): a second dashed line "
          "(\"chance, lag rule\") where a panel has such rows; the two rules' chances are never "
          "averaged. Paper: multi-task models keep irrelevant features decodable, "
          "single-task ones "
          "do not.") +
      figs + pick.note_html() + figure(render(summary)) +
      caption(
          "Every model: bars = mean accuracy at encoding (dark) and during retention (light) per "
          "relevance class; whiskers: 95% CI over folds; grey band: the permutation null from its "
          "mean "
          "to its 95th percentile (each row's null is scored as the row); dotted tick: the "
          "analytic chance of the bar's rows scored on all trials, 1/K; a bar whose rows are all "
          "scored by the lag rule (retention at lags kN) gets theirs, 1/(K-1); in a bar that "
          "mixes the rules, the lag-rule rows count in the bar and its null band but not in its "
          "tick.");
  if (!multi.empty() || !single.empty()) {
    std::vector<std::pair<std::string, std::vector<std::vector<double>>>> groups;
    if (!multi.empty()) groups.push_back({"multi-task", {multi}});
    if (!single.empty()) groups.push_back({"single-task", {single}});
    BarChart rep =
        replicate_chart({"irrelevant retention - empirical chance"}, {"#e15759"}, groups);
    rep.id = next_id(s);
    rep.title = "finding 1 across models";
    rep.ylabel = "above empirical chance";
    body +=
        figure(render(rep)) +
        caption(
            "Finding 1's measure, one dot per model: mean accuracy above the empirical chance of "
            "task-irrelevant features at frames t &gt; s. Bars: mean over the models of a group "
            "(multi-task: more than one task), whiskers: 95% t-interval across models (seeds), "
            "drawn from 2 models up. The verdict's test (Welch, multi-task &gt; single-task) is "
            "in the findings table.");
  }
  s.body = body;
  return s;
}

}  // namespace wmgeom::report
