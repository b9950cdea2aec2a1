// The findings (the paper's four and its causal test) as findings.json states them
// (stages/analyze/findings.cpp): per finding its verdict, the decisive test's effect with 95% CI,
// p, n and unit of replication; a "not testable" finding says why and what to add to the pipeline.
// Sub-tests and per-model numbers are collapsed under each row.
#include <algorithm>

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

const nlohmann::json& field(const nlohmann::json& f, const char* key) {
  static const nlohmann::json kNull;
  return f.is_object() && f.contains(key) ? f.at(key) : kNull;
}

std::string text_of(const nlohmann::json& f, const char* key) {
  const auto& v = field(f, key);
  return v.is_string() ? v.get<std::string>() : "";
}

// "held" | "not held" | "not testable": `verdict`, or from `held` (older results).
std::string verdict_of(const nlohmann::json& f) {
  std::string v = text_of(f, "verdict");
  if (!v.empty()) return v;
  const auto& held = field(f, "held");
  if (held.is_boolean()) return held.get<bool>() ? "held" : "not held";
  return "not testable";
}

std::string verdict_badge(const std::string& verdict) {
  const char* cls = verdict == "held" ? "yes" : verdict == "not held" ? "no" : "na";
  return std::string("<span class=\"badge ") + cls + "\">" + escape(verdict) + "</span>";
}

// n: a count, or [n_a, n_b] for a two-group test ("3 vs 3").
std::string n_text(const nlohmann::json& n) {
  if (n.is_number()) return fmt(n.get<double>(), 6);
  if (n.is_array()) {
    std::string s;
    for (const auto& v : n) s += (s.empty() ? "" : " vs ") + n_text(v);
    return s;
  }
  return n.is_null() ? "" : number_text(n);
}

// A one-sided test's interval has one bound: findings.json writes the
// infinite side as null ([lo, null] is [lo, +inf), [null, hi] is (-inf, hi]).
std::string ci_text(const nlohmann::json& ci) {
  if (!ci.is_array() || ci.size() != 2) return "";
  if (ci[0].is_number() && ci[1].is_null()) return "[" + number_text(ci[0]) + ", +inf)";
  if (ci[0].is_null() && ci[1].is_number()) return "(-inf, " + number_text(ci[1]) + "]";
  return "[" + number_text(ci[0]) + ", " + number_text(ci[1]) + "]";
}

std::string p_text(const nlohmann::json& p) {
  if (!p.is_number()) return p.is_null() ? "" : number_text(p);
  const double v = p.get<double>();
  return v < 1e-4 ? "&lt; 0.0001" : fmt(v, 2);
}

// The finding's own tests (decisive and supporting), one table row each.
std::string tests_table(const nlohmann::json& tests) {
  if (!tests.is_array() || tests.empty()) return "";
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : tests) {
    const auto& passed = field(t, "passed");
    rows.push_back(
        {escape(text_of(t, "name")), escape(text_of(t, "test")), escape(text_of(t, "unit")),
         n_text(field(t, "n")), number_text(field(t, "effect")), ci_text(field(t, "ci")),
         number_text(field(t, "statistic")), number_text(field(t, "df")), p_text(field(t, "p")),
         passed.is_boolean() ? (passed.get<bool>() ? "yes" : "no") : "",
         test_decides(t) ? "yes" : "no"});
  }
  return collapsed("tests (" + std::to_string(rows.size()) + ")",
                   "<div class=\"tests\">" +
                       html_table({"test", "statistic", "unit", "n", "effect", "95% CI", "t", "df",
                                   "p", "p < alpha", "decides the verdict"},
                                  rows) +
                       "</div>");
}

std::string numbers_block(const nlohmann::json& numbers) {
  if (!numbers.is_object() || numbers.empty()) return "";
  std::string h;
  for (const auto& [name, v] : numbers.items())
    h += "<div><span class=\"dim\">" + escape(name) + "</span> " + number_text(v) + "</div>";
  return collapsed("per-model numbers (" + std::to_string(numbers.size()) + ")",
                   "<div class=\"numbers\">" + h + "</div>");
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

// How far to trust a verdict (findings.json's `calibration`, from the
// analyze stage's embedded calibration table): its sentence, and the
// scenarios behind it collapsed (scenario, kind, effect scale, count of
// draws, rate, Clopper-Pearson 95% interval).
std::string trust_sentence(const nlohmann::json& f) {
  const auto& c = field(f, "calibration");
  return text_of(c, "trust");
}

std::string calibration_table(const nlohmann::json& c) {
  const auto& scenarios = field(c, "scenarios");
  if (!scenarios.is_array() || scenarios.empty()) return "";
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : scenarios) {
    const auto& ci = field(e, "ci95");
    std::string cp;
    if (ci.is_array() && ci.size() == 2)
      cp = "[" + number_text(ci[0]) + ", " + number_text(ci[1]) + "]";
    rows.push_back({escape(text_of(e, "scenario")), escape(text_of(e, "kind")),
                    number_text(field(e, "scale")), escape(text_of(e, "counted")),
                    number_text(field(e, "count")) + " of " + number_text(field(e, "draws")),
                    number_text(field(e, "rate")), cp});
  }
  return collapsed("calibration scenarios (" + std::to_string(rows.size()) + ")",
                   "<div class=\"tests\">" +
                       html_table({"scenario", "kind", "effect scale", "counted", "draws", "rate",
                                   "Clopper-Pearson 95%"},
                                  rows) +
                       "</div>");
}
}  // namespace

Section findings_section(const ReportData& d, const ReportOptions&) {
  Section s{"findings", "The findings: the paper's four and its causal test", "", "", 0};
  std::vector<std::vector<std::string>> rows, trust_rows;
  const bool several = d.analyses.size() > 1;
  for (const auto& a : d.analyses) {
    if (!a.findings.is_object()) continue;
    std::vector<std::string> keys;
    for (const auto& [k, v] : a.findings.items()) keys.push_back(k);
    std::sort(keys.begin(), keys.end(), finding_order);
    for (const auto& k : keys) {
      const auto& f = a.findings.at(k);
      const std::string verdict = verdict_of(f);
      std::string finding = "<strong>" + escape(text_of(f, "title")) + "</strong>";
      if (std::string test = text_of(f, "test"); !test.empty())
        finding += "<div class=\"dim\">Declared test: " + escape(test) + "</div>";
      std::string p = p_text(field(f, "p"));
      if (field(f, "alpha").is_number() && !p.empty())
        p += "<div class=\"dim\">alpha " + number_text(field(f, "alpha")) + "</div>";
      std::string detail;
      if (verdict == "not testable") {
        const std::string reason = text_of(f, "reason"), add = text_of(f, "to_make_testable");
        if (!reason.empty())
          detail +=
              "<div class=\"why\"><strong>Not testable:</strong> " + escape(reason) + ".</div>";
        if (!add.empty())
          detail +=
              "<div class=\"why\"><strong>To make it testable:</strong> " + escape(add) + ".</div>";
        if (reason.empty() && add.empty())
          detail += "<div>" + number_text(field(f, "detail")) + "</div>";
      } else if (const auto& dt = field(f, "detail");
                 !dt.is_null() && !(dt.is_string() && dt.get<std::string>().empty())) {
        detail += "<div>" + number_text(dt) + "</div>";
      }
      if (const std::string trust = trust_sentence(f); !trust.empty())
        detail += "<div class=\"trust\"><strong>How far to trust this verdict:</strong> " +
                  escape(trust) + "</div>";
      detail += tests_table(field(f, "tests")) + numbers_block(field(f, "numbers"));
      std::vector<std::string> row;
      if (several) row.push_back(escape(a.instance));
      const auto& effect = field(f, "effect");
      row.insert(row.end(), {escape(k), finding, verdict_badge(verdict),
                             effect.is_number() ? number_text(effect) : "", ci_text(field(f, "ci")),
                             p, n_text(field(f, "n")), escape(text_of(f, "unit")), detail});
      rows.push_back(std::move(row));
      if (const std::string trust = trust_sentence(f); !trust.empty()) {
        std::vector<std::string> t;
        if (several) t.push_back(escape(a.instance));
        t.insert(t.end(), {escape(k), escape(trust) + calibration_table(field(f, "calibration"))});
        trust_rows.push_back(std::move(t));
      }
    }
  }
  if (rows.empty()) {
    s.omitted = "the analysis reported no findings";
    return s;
  }
  std::vector<std::string> headers = {"#", "finding", "verdict", "effect", "95% CI",
                                      "p", "n",       "unit",    "detail"};
  if (several) headers.insert(headers.begin(), "analysis");
  s.body =
      caption(
          "Each finding of the paper as one test declared in advance, run across independently "
          "trained models (the unit of replication: a model, i.e. a seed; never the tasks or "
          "frames "
          "of one model, which share images and weights). <em>held</em>: the test passes at alpha "
          "with the effect in the paper's direction; <em>not held</em>: it does not; <em>not "
          "testable</em>: the run lacks what the test needs (the row says what to add); "
          "<em>depends on "
          "preprocessing</em> or <em>on sample size</em>: the sign of the effect changes under "
          "another "
          "defensible choice, so no verdict is picked (finding 3). Effect, "
          "95% CI, p and n are the decisive test's; every test and the per-model numbers are under "
          "each row.") +
      "<div class=\"findings\">" + html_table(headers, rows) + "</div>";
  if (!trust_rows.empty()) {
    std::vector<std::string> trust_headers = {"#", "calibration on planted truth"};
    if (several) trust_headers.insert(trust_headers.begin(), "analysis");
    s.body += "<h3>How far to trust each verdict</h3>" +
              caption(
                  "Each test run on synthetic states with a planted truth (stages/analyze/"
                  "calibration.json, embedded in the analyze stage): how often the verdict is "
                  "held on nulls built with the study's structure and on adversarial nulls built "
                  "to fool it (false positives), and at 0 to 2 times an effect sized from the "
                  "study's (power), each as a count of draws with its Clopper-Pearson 95% "
                  "interval.") +
              "<div class=\"trust-table\">" + html_table(trust_headers, trust_rows) + "</div>";
  }
  return s;
}

}  // namespace wmgeom::report
