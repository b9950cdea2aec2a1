#include "report/data.h"

#include <algorithm>
#include <set>

#include "core/error.h"
#include "report/svg.h"

namespace wmgeom::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

void append_table(Table& into, const Table& from, const std::string& table_name,
                  const std::string& source) {
  const std::size_t before = into.columns.empty() ? 0 : into.rows();
  const std::size_t added = from.rows();
  for (const auto& col : from.columns) {
    const bool from_num = from.numeric.count(col) != 0;
    const bool into_num = into.numeric.count(col) != 0, into_txt = into.text.count(col) != 0;
    if ((into_num && !from_num) || (into_txt && from_num)) {
      throw InputError(
          "report: column \"" + col + "\" of table \"" + table_name + "\" is " +
          (from_num ? "numeric" : "text") + " in " + source + " but " +
          (into_num ? "numeric" : "text") +
          " in an earlier analysis; the analyses of one report must agree on their table layout");
    }
    if (from_num) {
      if (!into_num) into.add(col, std::vector<double>(before, kNaN));
      const auto& v = from.numeric.at(col);
      auto& out = into.numeric[col];
      out.resize(before, kNaN);
      out.insert(out.end(), v.begin(), v.end());
    } else if (from.text.count(col)) {
      if (!into_txt) into.add(col, std::vector<std::string>(before, ""));
      const auto& v = from.text.at(col);
      auto& out = into.text[col];
      out.resize(before, "");
      out.insert(out.end(), v.begin(), v.end());
    }
  }
  if (!from.numeric.count("model") && !from.text.count("model")) {
    if (!into.text.count("model") && !into.numeric.count("model"))
      into.add("model", std::vector<std::string>(before, ""));
    if (auto it = into.text.find("model"); it != into.text.end()) {
      it->second.resize(before, "");
      it->second.insert(it->second.end(), added, source);
    }
  }
  // Columns this analysis lacks: blanks.
  for (auto& [col, v] : into.numeric) v.resize(before + added, kNaN);
  for (auto& [col, v] : into.text) v.resize(before + added, "");
}

ReportData gather(const StageInputs& inputs) {
  if (!inputs.has("analysis") || inputs.many("analysis").empty()) {
    throw InputError("report: no analysis input; name an analyze stage in `analysis = [\"...\"]`");
  }
  ReportData d;
  for (const auto& item : inputs.many("analysis")) {
    if (item.artifact->kind != AnalysisResult::kKind) {
      throw InputError("report: input " + item.instance + " is a " + item.artifact->kind +
                       ", expected an AnalysisResult");
    }
    AnalysisResult r = AnalysisResult::from_artifact(*item.artifact);
    for (const auto& [name, t] : r.tables) append_table(d.tables[name], t, name, item.instance);
    d.analyses.push_back({item.instance, r.findings, r.params});
  }
  if (inputs.has("models")) {
    for (const auto& item : inputs.many("models")) {
      d.models.push_back({item.instance, TrainedModel::from_artifact(*item.artifact)});
    }
  }
  if (inputs.has("stimuli")) d.stimuli = StimulusSet::from_artifact(inputs.one("stimuli"));
  return d;
}

std::vector<std::string> Columns::missing(const std::vector<std::string>& numeric,
                                          const std::vector<std::string>& text) const {
  std::vector<std::string> out;
  for (const auto& c : numeric)
    if (!t_.numeric.count(c)) out.push_back(t_.text.count(c) ? c + " (text, expected numbers)" : c);
  for (const auto& c : text)
    if (!t_.text.count(c)) out.push_back(t_.numeric.count(c) ? c + " (numbers, expected text)" : c);
  return out;
}

double Columns::num(const std::string& column, std::size_t row) const {
  auto it = t_.numeric.find(column);
  return it != t_.numeric.end() && row < it->second.size() ? it->second[row] : kNaN;
}

std::string Columns::txt(const std::string& column, std::size_t row) const {
  if (auto it = t_.text.find(column); it != t_.text.end())
    return row < it->second.size() ? it->second[row] : "";
  if (auto it = t_.numeric.find(column); it != t_.numeric.end() && row < it->second.size())
    return fmt(it->second[row], 6);
  return "";
}

std::vector<std::string> distinct(const Columns& c, const std::string& column) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < c.rows(); ++i) {
    std::string v = c.txt(column, i);
    if (seen.insert(v).second) out.push_back(v);
  }
  return out;
}

std::vector<double> distinct_numbers(const Columns& c, const std::string& column) {
  std::set<double> seen;
  for (std::size_t i = 0; i < c.rows(); ++i) {
    double v = c.num(column, i);
    if (std::isfinite(v)) seen.insert(v);
  }
  return {seen.begin(), seen.end()};
}

std::string unavailable(const ReportData& data, const std::string& table,
                        const std::vector<std::string>& numeric,
                        const std::vector<std::string>& text) {
  auto it = data.tables.find(table);
  if (it == data.tables.end())
    return "the analysis has no `" + table + "` table (that analysis was not requested)";
  if (it->second.rows() == 0) return "the `" + table + "` table is empty";
  auto miss = Columns(it->second).missing(numeric, text);
  if (!miss.empty()) return "the `" + table + "` table lacks column(s) " + join(miss);
  return "";
}

}  // namespace wmgeom::report
