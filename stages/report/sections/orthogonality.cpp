// Finding 3 (Fig. 3): orthogonalisation indices, perceptual vs RNN space.
#include <algorithm>
#include <set>
#include <tuple>

#include "report/sections/common.h"

namespace wmgeom::report {

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

}  // namespace wmgeom::report
