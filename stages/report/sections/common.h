// What the report's sections share (one .cpp per section or figure family in
// this folder): HTML snippets, feature and RNN colours, the models a figure
// shows, and heatmap panels over frames.
#pragma once

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "report/data.h"
#include "report/sections.h"
#include "report/svg.h"

namespace wmgeom::report {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string next_id(Section& s);  // "fig-<section>-<n>", counting the section's figures
std::string figure(const std::string& svg);
std::string caption(const std::string& html);
std::string note(const std::string& text);  // escaped
std::string row_of_figures(const std::string& figures);
// Cells are HTML (escaped by the caller); headers are text.
std::string html_table(const std::vector<std::string>& headers,
                       const std::vector<std::vector<std::string>>& rows);

// The paper's features keep their colours in every figure.
std::string feature_color(const std::string& f, const std::vector<std::string>& all);
// loc, cat, id first (the paper's order), then any others as they appear.
std::vector<std::string> feature_order(std::vector<std::string> features);
std::string rnn_color(const std::string& rnn, std::vector<std::string>& seen);

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

ModelPick pick_models(const Columns& c, int max_models);

// Row indices per model, so that per-model loops do not rescan the table.
std::map<std::string, std::vector<std::size_t>> rows_by_model(const Columns& c);

std::string frame_label(double f);

// The values of a text column in a fixed reading order: the `known` ones
// first (those present), then any others as they appear.
std::vector<std::string> ordered_present(std::vector<std::string> known,
                                         const std::vector<std::string>& present);

// A frames x frames heat panel whose cell (a, b) is value(frames[a],
// frames[b]) (NaN: no data). Returns false, and no panel, when every cell is
// empty.
bool square_panel(HeatPanel& p, const std::vector<double>& frames,
                  const std::function<double(double, double)>& value);

}  // namespace wmgeom::report
