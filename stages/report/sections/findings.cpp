// The four findings table.
#include <algorithm>
#include <set>
#include <tuple>

#include "report/sections/common.h"

namespace wmgeom::report {

namespace {

std::string number_text(const nlohmann::json& v) {
  if (v.is_number()) return fmt(v.get<double>(), 4);
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_string()) return escape(v.get<std::string>());
  if (v.is_null()) return "n/a";
  return escape(v.dump());
}

std::string held_badge(const nlohmann::json& f) {
  const nlohmann::json held = f.is_object() && f.contains("held") ? f.at("held") : nlohmann::json();
  if (held.is_boolean()) {
    return held.get<bool>() ? "<span class=\"badge yes\">yes</span>"
                            : "<span class=\"badge no\">no</span>";
  }
  return "<span class=\"badge na\">not testable</span>";
}

// "1" < "2" < ... < "10", then other keys by text.
bool finding_order(const std::string& a, const std::string& b) {
  auto numeric = [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (numeric(a) && numeric(b)) return a.size() != b.size() ? a.size() < b.size() : a < b;
  if (numeric(a) != numeric(b)) return numeric(a);
  return a < b;
}

}  // namespace

Section findings_section(const ReportData& d, const ReportOptions& o) {
  Section s{"findings", "The four findings", "", "", 0};
  std::vector<std::vector<std::string>> rows;
  const bool several = d.analyses.size() > 1;
  for (const auto& a : d.analyses) {
    if (!a.findings.is_object()) continue;
    std::vector<std::string> keys;
    for (const auto& [k, v] : a.findings.items()) keys.push_back(k);
    std::sort(keys.begin(), keys.end(), finding_order);
    for (const auto& k : keys) {
      const auto& f = a.findings.at(k);
      std::string title = f.is_object() ? f.value("title", std::string()) : "";
      std::string numbers;
      if (f.is_object() && f.contains("numbers") && f.at("numbers").is_object()) {
        for (const auto& [name, v] : f.at("numbers").items())
          numbers +=
              "<div><span class=\"dim\">" + escape(name) + "</span> " + number_text(v) + "</div>";
        if (!numbers.empty()) numbers = "<div class=\"numbers\">" + numbers + "</div>";
      }
      std::string detail = f.is_object() && f.contains("detail") ? number_text(f.at("detail")) : "";
      std::vector<std::string> row;
      if (several) row.push_back(escape(a.instance));
      row.insert(row.end(), {escape(k), escape(title), held_badge(f), numbers, detail});
      rows.push_back(std::move(row));
    }
  }
  if (rows.empty()) {
    s.omitted = "the analysis reported no findings";
    return s;
  }
  std::vector<std::string> headers = {"#", "finding", "held", "numbers", "detail"};
  if (several) headers.insert(headers.begin(), "analysis");
  s.body = caption(
               "Each finding of the paper, tested on this run's models: yes / no, or not testable "
               "when the run "
               "lacks what it needs (e.g. a single RNN type, or a single-task regime).") +
           "<div class=\"findings\">" + html_table(headers, rows) + "</div>";
  return s;
}

}  // namespace wmgeom::report
