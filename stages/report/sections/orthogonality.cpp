// Finding 3 (Fig. 3): orthogonalisation indices of the perceptual and the RNN
// space, each minus its own shuffled-label null at matched dimensionality;
// the per-model summary table; finding 3's measure across models.
#include <algorithm>
#include <set>
#include <tuple>

#include "report/sections/common.h"

namespace wmgeom::report {

Section orthogonality_section(const ReportData& d, const ReportOptions& o) {
  Section s{"orthogonality",
            "Orthogonalisation: perceptual vs RNN space, null-corrected (finding 3, Fig. 3)", "",
            "", 0};
  s.omitted = unavailable(d, "orthogonality", {"index", "null_shuffle_mean"},
                          {"model", "feature", "space"});
  if (!s.omitted.empty()) return s;
  Columns c(d.tables.at("orthogonality"));
  auto pick = pick_models(c, o.max_models);
  auto features = feature_order(distinct(c, "feature"));
  auto by_model = rows_by_model(c);
  // O - O(shuffled labels): the `corrected` column, or computed where absent.
  auto corrected = [&](std::size_t i) {
    const double v = c.num("corrected", i);
    return std::isfinite(v) ? v : c.num("index", i) - c.num("null_shuffle_mean", i);
  };
  // (model, feature, space) -> corrected index, its null's sd, raw index, over tasks and frames.
  std::map<std::tuple<std::string, std::string, std::string>, Stat> corr, null_sd, raw;
  std::map<std::pair<std::string, std::string>, Stat> equidistant, dims,
      random;  // (model, feature)
  for (std::size_t i = 0; i < c.rows(); ++i) {
    std::tuple key{c.txt("model", i), c.txt("feature", i), c.txt("space", i)};
    corr[key].add(corrected(i));
    null_sd[key].add(c.num("null_shuffle_sd", i));
    raw[key].add(c.num("index", i));
    std::pair mf{c.txt("model", i), c.txt("feature", i)};
    equidistant[mf].add(c.num("equidistant", i));
    dims[mf].add(c.num("dims", i));
    if (c.txt("space", i) == "rnn") random[mf].add(c.num("null_random_mean", i));
  }

  std::string figs;
  for (const auto& m : pick.shown) {
    BarChart b;
    b.id = next_id(s);
    b.title = pick.title[m];
    b.ylabel = "corrected index O - O(shuffled)";
    b.bars = {"perceptual", "RNN"};
    b.colors = {"#9c755f", "#4e79a7"};
    b.band_label = "shuffled-label null, 95% range";
    b.err_label = "sd over tasks and frames";
    for (const auto& f : features) {
      BarGroup g;
      g.label = f;
      for (const char* space : {"perceptual", "rnn"}) {
        std::tuple key{m, f, std::string(space)};
        auto it = corr.find(key);
        const bool has = it != corr.end() && it->second.n;
        g.value.push_back(has ? it->second.mean() : kNaN);
        g.err.push_back(has ? it->second.sd() : kNaN);
        const double sd = has ? null_sd[key].mean() : kNaN;
        g.band_lo.push_back(std::isfinite(sd) ? -1.96 * sd : kNaN);
        g.band_hi.push_back(std::isfinite(sd) ? 1.96 * sd : kNaN);
      }
      if (std::isfinite(g.value[0]) || std::isfinite(g.value[1])) b.groups.push_back(std::move(g));
    }
    if (b.groups.empty()) {
      --s.figures;
      continue;
    }
    figs += figure(render(b));
  }

  // Every model: corrected perceptual vs corrected RNN, and finding 3's measure.
  ScatterChart sc;
  sc.title = "corrected O: RNN vs perceptual, per model and feature";
  sc.xlabel = "O - O(shuffled), perceptual space";
  sc.ylabel = "O - O(shuffled), RNN space";
  std::vector<std::string> rnns_seen;
  std::set<std::string> color_names;
  std::vector<double> all_models;
  std::map<std::string, std::vector<double>> per_rnn;
  for (std::size_t k = 0; k < pick.all.size(); ++k) {
    const auto& m = pick.all[k];
    const std::string rnn = pick.rnn[m];
    Stat difference;
    for (std::size_t fi = 0; fi < features.size(); ++fi) {
      const auto& f = features[fi];
      const double px = corr[{m, f, "perceptual"}].mean(), py = corr[{m, f, "rnn"}].mean();
      if (!std::isfinite(px) || !std::isfinite(py)) continue;
      difference.add(py - px);
      const std::string name = rnn.empty() ? m : rnn_label(rnn);
      const std::string color = rnn.empty() ? palette(k) : rnn_color(rnn, rnns_seen);
      if (color_names.insert(name).second) sc.color_legend.push_back({name, color});
      sc.points.push_back({px, py, color, static_cast<int>(fi),
                           m + ", " + f + ": perceptual " + fmt(px) + ", RNN " + fmt(py)});
    }
    if (difference.n) {
      all_models.push_back(difference.mean());
      per_rnn[rnn].push_back(difference.mean());
    }
  }
  for (std::size_t k = 0; k < features.size(); ++k)
    sc.shape_legend.push_back({features[k], static_cast<int>(k)});

  std::string body =
      caption(
          "O = mean over pairs of one-vs-rest decoder normals of 1 - |cos| (1: orthogonal class "
          "axes), "
          "fitted on every trial of the task on the principal-component scores as they are (each "
          "unit "
          "z-scored before the PCA unless the analysis says ortho_space = raw), both spaces "
          "projected "
          "to the same number of components. Raw indices of spaces of different sizes are not "
          "comparable: each is shown "
          "minus "
          "the mean index of decoders refitted on labels shuffled between images (its own null), "
          "so 0 = "
          "no more orthogonal than shuffled labels. Bars: the CNN's perceptual space and the RNN's "
          "state "
          "at the encoding frame, mean over tasks and stimulus frames; whiskers: their sd (a "
          "spread, not "
          "a CI: the tasks and frames of one model share images and weights); grey band: the "
          "null's 95% "
          "range (&plusmn;1.96 sd of the shuffled indices). K equidistant classes give O = 1 - "
          "1/(K-1) "
          "(table below), far below the level of random directions, which is therefore no "
          "reference. Paper: the RNN's "
          "class axes are less orthogonal than the perceptual ones in most models.") +
      row_of_figures(figs) + pick.note_html();
  if (!sc.points.empty()) {
    sc.id = next_id(s);
    body +=
        figure(render(sc)) +
        caption(
            "Below the dashed diagonal: after subtracting each space's own null, the RNN made the "
            "feature's class axes less orthogonal than they were in the perceptual space. Colour: "
            "RNN type; shape: feature.");
  }
  if (!all_models.empty()) {
    std::vector<std::pair<std::string, std::vector<std::vector<double>>>> groups{
        {"all models", {all_models}}};
    for (const char* r : {"rnn", "vanilla", "gru", "lstm"})
      if (auto it = per_rnn.find(r); it != per_rnn.end())
        groups.push_back({rnn_label(r), {it->second}});
    for (const auto& [r, v] : per_rnn)
      if (r != "rnn" && r != "vanilla" && r != "gru" && r != "lstm")
        groups.push_back({rnn_label(r), {v}});
    BarChart rep = replicate_chart({"corrected O(RNN) - O(perceptual)"}, {"#4e79a7"}, groups);
    rep.id = next_id(s);
    rep.title = "finding 3 across models";
    rep.ylabel = "corrected RNN - perceptual";
    body +=
        figure(render(rep)) +
        caption(
            "Finding 3's measure, one dot per model: the null-corrected RNN index minus the "
            "null-corrected perceptual index, mean over features. Below 0: de-orthogonalised. "
            "Bars: "
            "mean, whiskers: 95% t-interval across models (seeds), from 2 models up. The verdict's "
            "test (one-sample t across models, &lt; 0) is in the findings table; no p-value is "
            "computed within one model.");
  }
  if (std::string why =
          unavailable(d, "orthogonality_summary", {"corrected_difference"}, {"model", "feature"});
      why.empty()) {
    Columns t(d.tables.at("orthogonality_summary"));
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < t.rows(); ++i) {
      std::pair mf{t.txt("model", i), t.txt("feature", i)};
      rows.push_back({escape(mf.first), escape(t.txt("rnn", i)), escape(mf.second),
                      fmt(t.num("mean_perceptual", i)), fmt(t.num("mean_rnn", i)),
                      fmt(equidistant[mf].mean()), fmt(random[mf].mean()), fmt(dims[mf].mean()),
                      fmt(t.num("corrected_perceptual", i)), fmt(t.num("corrected_rnn", i)),
                      fmt(t.num("corrected_difference", i)), fmt(t.num("z_perceptual", i)),
                      fmt(t.num("z_rnn", i)), fmt(t.num("n", i), 6)});
    }
    body +=
        "<h3>Per model and feature</h3>" +
        html_table({"model", "rnn", "feature", "O perceptual", "O RNN", "K equidistant 1-1/(K-1)",
                    "random directions", "PCA dims", "corrected perceptual", "corrected RNN",
                    "corrected RNN - perceptual", "z perceptual", "z RNN", "task x frame cells"},
                   rows) +
        caption(
            "Raw indices with their references, the null-corrected indices and their z-scores "
            "against the shuffled-label null, averaged over the model's tasks and frames "
            "(orthogonality_summary).");
  } else {
    body += note("Summary table omitted: " + why + ".");
  }
  s.body = body;
  return s;
}

}  // namespace wmgeom::report
