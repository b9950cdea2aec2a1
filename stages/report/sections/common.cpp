#include "report/sections/common.h"

#include <algorithm>
#include <array>
#include <set>

namespace wmgeom::report {

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
    for (const auto& x : r) h += "<td>" + x + "</td>";
    h += "</tr>";
  }
  return h + "</tbody></table>";
}

std::string collapsed(const std::string& summary, const std::string& html) {
  return "<details><summary>" + escape(summary) + "</summary>" + html + "</details>";
}

std::string feature_color(const std::string& f, const std::vector<std::string>& all) {
  if (f == "loc" || f == "location") return palette(0);
  if (f == "cat" || f == "category") return palette(1);
  if (f == "id" || f == "identity") return palette(2);
  auto it = std::find(all.begin(), all.end(), f);
  return palette(3 + static_cast<std::size_t>(it - all.begin()));
}

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

bool test_decides(const nlohmann::json& test) {
  if (!test.is_object()) return false;
  if (auto it = test.find("deciding"); it != test.end() && it->is_boolean()) return it->get<bool>();
  const auto name = test.find("name");
  return name != test.end() && name->is_string() &&
         name->get<std::string>().find("(supporting") == std::string::npos;
}

std::string rnn_label(const std::string& rnn) {
  if (rnn == "rnn" || rnn == "vanilla") return "vanilla RNN";
  if (rnn == "gru") return "GRU";
  if (rnn == "lstm") return "LSTM";
  return rnn.empty() ? "(unknown RNN)" : rnn;
}

std::vector<std::string> ordered_present(std::vector<std::string> known,
                                         const std::vector<std::string>& present) {
  for (const auto& v : present)
    if (std::find(known.begin(), known.end(), v) == known.end()) known.push_back(v);
  std::erase_if(known, [&](const std::string& v) {
    return std::find(present.begin(), present.end(), v) == present.end();
  });
  return known;
}

std::string frame_label(double f) { return fmt(f, 6); }

std::string relevance_of(const Columns& c, std::size_t row) {
  std::string r = c.txt("relevance", row);
  if (!r.empty()) return r;
  return c.num("relevant", row) > 0.5 ? "relevant" : "irrelevant";
}

std::string ModelPick::note_html() const {
  if (shown.size() >= all.size()) return "";
  return note("Per-model figures show the first " + std::to_string(shown.size()) + " of " +
              std::to_string(all.size()) +
              " models (parameter max_models); every row is in the CSV files of `wmgeom export`.");
}

ModelPick pick_models(const Columns& c, int max_models) {
  ModelPick p;
  p.all = distinct(c, "model");
  for (const auto& m : p.all) {
    if (static_cast<int>(p.shown.size()) < max_models) p.shown.push_back(m);
    p.title[m] = m.empty() ? "(unnamed model)" : m;
  }
  std::set<std::string> done;
  for (std::size_t i = 0; i < c.rows(); ++i) {
    std::string m = c.txt("model", i);
    if (!done.insert(m).second) continue;
    p.rnn[m] = c.txt("rnn", i);
    std::string extra;
    for (const char* col : {"rnn", "regime"}) {
      std::string v = c.txt(col, i);
      if (!v.empty() && m.find(v) == std::string::npos) extra += (extra.empty() ? "" : ", ") + v;
    }
    if (!extra.empty()) p.title[m] += " (" + extra + ")";
  }
  return p;
}

std::map<std::string, std::vector<std::size_t>> rows_by_model(const Columns& c) {
  std::map<std::string, std::vector<std::size_t>> out;
  for (std::size_t i = 0; i < c.rows(); ++i) out[c.txt("model", i)].push_back(i);
  return out;
}

bool square_panel(HeatPanel& p, const std::vector<double>& frames,
                  const std::function<double(double, double)>& value) {
  for (double x : frames)
    p.row_labels.push_back(frame_label(x)), p.col_labels.push_back(frame_label(x));
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

double t975(double df) {
  static const std::array<double, 30> kTable = {
      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
      2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
      2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (!std::isfinite(df) || df < 1) return kNaN;
  if (df <= 30 && df == std::floor(df)) return kTable[static_cast<std::size_t>(df) - 1];
  // Cornish-Fisher expansion around the normal quantile (error < 1e-3 for df > 30).
  const double z = 1.959964, z3 = z * z * z, z5 = z3 * z * z;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df * df);
}

double fold_half_width(const Columns& c, std::size_t row, const std::string& sd_column) {
  const double folds = c.num("folds", row), sd = c.num(sd_column, row);
  if (!(folds >= 2) || !std::isfinite(sd)) return kNaN;
  return t975(folds - 1) * sd / std::sqrt(folds);
}

Interval replicate_interval(const std::vector<double>& values) {
  Stat s;
  for (double v : values) s.add(v);
  Interval out;
  out.n = s.n;
  out.mean = s.mean();
  if (s.n >= 2) {
    const double half = t975(s.n - 1) * s.sd() / std::sqrt(static_cast<double>(s.n));
    out.lo = out.mean - half;
    out.hi = out.mean + half;
  }
  return out;
}

void push_bar(BarGroup& g, const AccuracyStat& s) {
  g.value.push_back(s.acc.mean());
  g.lo.push_back(s.acc.lo());
  g.hi.push_back(s.acc.hi());
  const double e = s.chance.empirical.mean(), p = s.chance.p95.mean();
  g.band_lo.push_back(e);
  g.band_hi.push_back(std::isfinite(p) ? std::max(p, e) : e);
  g.tick.push_back(s.chance.analytic.mean());
}

void accuracy_legend(BarChart& b) {
  b.band_label = "permutation null (mean to 95th pct)";
  b.tick_label = "analytic chance 1/K";
  b.err_label = "95% CI over folds";
}

BarChart replicate_chart(
    const std::vector<std::string>& measures, const std::vector<std::string>& colors,
    const std::vector<std::pair<std::string, std::vector<std::vector<double>>>>& values) {
  BarChart b;
  b.bars = measures;
  b.colors = colors;
  b.err_label = "95% CI across models (seeds)";
  b.dot_label = "one model";
  b.group_width = static_cast<int>(std::max<std::size_t>(measures.size() * 18 + 18, 130));
  for (const auto& [group, per_measure] : values) {
    BarGroup g;
    int n = 0;
    for (std::size_t k = 0; k < measures.size(); ++k) {
      const std::vector<double> v = k < per_measure.size() ? per_measure[k] : std::vector<double>{};
      Interval iv = replicate_interval(v);
      g.value.push_back(iv.mean);
      g.lo.push_back(iv.lo);
      g.hi.push_back(iv.hi);
      g.dots.push_back(v);
      n = std::max(n, iv.n);
    }
    g.label = group + " (n = " + std::to_string(n) + ")";
    b.groups.push_back(std::move(g));
  }
  return b;
}

void chance_lines(LineChart& ch, const std::string& feature, const std::string& color,
                  const std::vector<double>& x, const std::vector<double>& empirical,
                  const std::vector<double>& p95, double analytic) {
  bool any = false;
  for (double v : empirical) any = any || std::isfinite(v);
  if (any) {
    Series null;
    null.name = feature + " null";
    null.x = x;
    null.y = empirical;
    null.lo = empirical;
    null.hi = p95;
    for (std::size_t i = 0; i < null.hi.size(); ++i)
      if (!std::isfinite(null.hi[i])) null.hi[i] = null.y[i];
    null.color = color;
    null.dotted = true;
    null.band_opacity = 0.10;
    ch.series.push_back(std::move(null));
  }
  if (std::isfinite(analytic)) ch.refs.push_back({analytic, feature + " 1/K", color, false});
}

}  // namespace wmgeom::report
