// What the report reads: every analysis input's tables concatenated, the
// findings, the trained models' curves and the stimulus set, with small
// helpers to read columns by name and aggregate rows. Nothing here draws.
#pragma once

#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/artifacts.h"
#include "core/stage.h"

namespace wmgeom::report {

struct ReportData {
  std::map<std::string, Table> tables;  // by table name, rows of every analysis
  struct Source {
    std::string instance;  // the analysis instance, e.g. "analysis[rnn=gru]"
    nlohmann::json findings, params;
  };
  std::vector<Source> analyses;
  struct Model {
    std::string instance;
    TrainedModel model;
  };
  std::vector<Model> models;
  std::optional<StimulusSet> stimuli;
};

// Reads the ports `analysis` (many), `models` (many, optional) and `stimuli`
// (optional). Tables of several analyses (a sweep) are concatenated: the union
// of their columns in order of first appearance, missing numeric cells NaN,
// missing text cells "", a missing `model` column filled with the analysis's
// instance name. Throws InputError if no analysis arrived or a column is
// numeric in one analysis and text in another.
ReportData gather(const StageInputs& inputs);

// Appends `from`'s rows to `into` (see gather). `source` names the input in
// errors and fills a missing `model` column.
void append_table(Table& into, const Table& from, const std::string& table_name,
                  const std::string& source);

// Read access to a table's columns by name; absent columns read as NaN / "".
class Columns {
 public:
  explicit Columns(const Table& table) : t_(table) {}
  std::size_t rows() const { return t_.rows(); }
  bool has(const std::string& column) const {
    return t_.numeric.count(column) || t_.text.count(column);
  }
  // The columns of `names` that the table lacks, or that have the wrong kind
  // (numeric names must be numeric; `text` names must be text).
  std::vector<std::string> missing(const std::vector<std::string>& numeric,
                                   const std::vector<std::string>& text) const;
  double num(const std::string& column, std::size_t row) const;
  std::string txt(const std::string& column, std::size_t row) const;

 private:
  const Table& t_;
};

// Running mean and sample standard deviation; NaN values are ignored.
struct Stat {
  double sum = 0, sq = 0;
  int n = 0;
  void add(double v) {
    if (!std::isfinite(v)) return;
    sum += v;
    sq += v * v;
    ++n;
  }
  double mean() const { return n ? sum / n : std::numeric_limits<double>::quiet_NaN(); }
  double sd() const {
    if (n < 2) return n == 1 ? 0.0 : std::numeric_limits<double>::quiet_NaN();
    double m = mean();
    return std::sqrt(std::max(0.0, (sq - n * m * m) / (n - 1)));
  }
};

// Distinct values of a text column in order of first appearance.
std::vector<std::string> distinct(const Columns& c, const std::string& column);
// Distinct finite values of a numeric column, sorted.
std::vector<double> distinct_numbers(const Columns& c, const std::string& column);

// Why a section cannot be drawn from `table` ("" if it can): the table is
// absent, empty, or lacks columns.
std::string unavailable(const ReportData& data, const std::string& table,
                        const std::vector<std::string>& numeric,
                        const std::vector<std::string>& text);

}  // namespace wmgeom::report
