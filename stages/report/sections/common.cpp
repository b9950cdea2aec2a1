#include "report/sections/common.h"

#include <algorithm>
#include <set>

namespace wmgeom::report {

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

}  // namespace wmgeom::report
