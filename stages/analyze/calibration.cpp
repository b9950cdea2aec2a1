#include "analyze/calibration.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <vector>

namespace wmgeom::analyze {
namespace generated {
extern const char* const kCalibrationJson;
extern const char* const kCalibrationSha256;
}  // namespace generated

const nlohmann::json& calibration_table() {
  static const nlohmann::json table = nlohmann::json::parse(generated::kCalibrationJson);
  return table;
}

const std::string& calibration_sha256() {
  static const std::string hash = generated::kCalibrationSha256;
  return hash;
}

namespace {

std::string fixed(double v, int digits) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(digits) << v;
  return o.str();
}

// "k of n (CP 95% lo-hi)".
std::string count_text(const nlohmann::json& e) {
  return std::to_string(e.at("count").get<int>()) + " of " +
         std::to_string(e.at("draws").get<int>()) + " (95% " +
         fixed(e.at("ci95")[0].get<double>(), 3) + "-" + fixed(e.at("ci95")[1].get<double>(), 3) +
         ")";
}

// The part a sub-test's entries speak for ("the verdict" or "sub-test swap").
std::string part_of(const nlohmann::json& e) {
  const std::string counted = e.value("counted", "verdict held");
  if (counted.rfind("sub-test ", 0) == 0)
    return counted.substr(0, counted.size() - std::string(" passed").size());
  return "the verdict";
}

}  // namespace

nlohmann::json calibration_entry(const std::string& key, const nlohmann::json& table) {
  nlohmann::json out = {
      {"source", "stages/analyze/calibration.json (embedded at build time; calibrate.py)"},
      {"sha256", calibration_sha256()},
      {"scenarios", nlohmann::json::array()},
      {"commits", nlohmann::json::array()},
      {"calibrated", nullptr}};
  const nlohmann::json* entries = nullptr;
  if (table.contains("findings") && table.at("findings").contains(key))
    entries = &table.at("findings").at(key);
  if (entries == nullptr || entries->empty()) {
    out["trust"] =
        "No calibration of this finding's test in calibration.json (see stages/analyze/README.md, "
        "Calibration): how often it is held on nulls, and its power, are not measured here.";
    return out;
  }
  std::set<std::string> commits;
  // Per part (the verdict, each sub-test): the worst null and the power at 1x.
  std::vector<std::string> parts;
  std::map<std::string, const nlohmann::json*> worst_null, power1;
  std::map<std::string, int> nulls;
  bool calibrated = true;
  std::vector<std::string> failures;
  for (const auto& e : *entries) {
    out["scenarios"].push_back({{"scenario", e.at("scenario")},
                                {"kind", e.at("kind")},
                                {"scale", e.at("scale")},
                                {"counted", e.value("counted", "verdict held")},
                                {"seeds_per_group", e.value("seeds_per_group", nlohmann::json())},
                                {"draws", e.at("draws")},
                                {"count", e.at("count")},
                                {"rate", e.at("rate")},
                                {"ci95", e.at("ci95")},
                                {"commit", e.value("commit", "")}});
    commits.insert(e.value("commit", ""));
    const std::string part = part_of(e);
    if (std::find(parts.begin(), parts.end(), part) == parts.end()) parts.push_back(part);
    const std::string kind = e.at("kind");
    if (kind == "null" || kind == "adversarial-null") {
      ++nulls[part];
      if (!worst_null.count(part) ||
          e.at("rate").get<double>() > worst_null[part]->at("rate").get<double>()) {
        worst_null[part] = &e;
      }
      if (e.at("ci95")[0].get<double>() > 0.05) {
        calibrated = false;
        failures.push_back(part + " on " + e.at("scenario").get<std::string>() +
                           " (held or passed in " + count_text(e) + ")");
      }
    } else if (kind == "power" && std::abs(e.at("scale").get<double>() - 1.0) < 1e-9) {
      power1[part] = &e;
      if (e.at("rate").get<double>() < 0.9) {
        calibrated = false;
        failures.push_back(part + ": power " + fixed(e.at("rate").get<double>(), 2) +
                           " at the realistic effect");
      }
    }
  }
  for (const auto& c : commits) {
    if (!c.empty()) out["commits"].push_back(c);
  }
  std::string sentence;
  for (const auto& part : parts) {
    std::string s;
    if (worst_null.count(part)) {
      const auto& e = *worst_null.at(part);
      s += "on " + std::to_string(nulls.at(part)) + (nulls.at(part) == 1 ? " null" : " nulls") +
           " at most " + count_text(e) + " (" + e.at("scenario").get<std::string>() +
           ": false-positive rate at most " + fixed(e.at("ci95")[1].get<double>(), 3) + ")";
    }
    if (power1.count(part)) {
      const auto& e = *power1.at(part);
      const std::string seeds =
          e.value("seeds_per_group", nlohmann::json()).is_number_integer()
              ? ", " + std::to_string(e.at("seeds_per_group").get<int>()) + " seeds per group,"
              : "";
      s += std::string(s.empty() ? "" : "; ") + "at the study's effect size" + seeds + " " +
           count_text(e) + " (power)";
    }
    if (s.empty()) continue;
    std::string who =
        part == "the verdict"
            ? "The verdict was held "
            : "Its " + part.substr(std::string("sub-test ").size()) + " sub-test passed ";
    sentence += (sentence.empty() ? "" : " ") + who + s + ".";
  }
  std::string commit_text;
  for (const auto& c : out["commits"])
    commit_text += (commit_text.empty() ? "" : ", ") + c.get<std::string>().substr(0, 7);
  sentence += " Planted-truth draws at commit " + commit_text + ".";
  if (!calibrated) {
    std::string list;
    for (const auto& f : failures) list += (list.empty() ? "" : "; ") + f;
    sentence = "Not calibrated: " + list + ". " + sentence;
  }
  out["calibrated"] = calibrated;
  out["trust"] = sentence;
  return out;
}

void attach_calibration(nlohmann::json& findings) {
  attach_calibration(findings, calibration_table());
}

void attach_calibration(nlohmann::json& findings, const nlohmann::json& table) {
  if (!findings.is_object()) return;
  for (auto& [key, f] : findings.items()) {
    if (!f.is_object()) continue;
    f["calibration"] = calibration_entry(key, table);
    // A decided verdict whose test misses a calibration bound says so where
    // the verdict is read: the caveat, from the table (never a number typed
    // into the findings' code), also at the end of the detail.
    const std::string verdict = f.value("verdict", "");
    const nlohmann::json& calibrated = f["calibration"]["calibrated"];
    if (calibrated.is_boolean() && !calibrated.get<bool>() && verdict != "not testable" &&
        !verdict.empty()) {
      f["caveat"] = f["calibration"].at("trust");
      if (f.contains("detail") && f.at("detail").is_string()) {
        f["detail"] =
            f.at("detail").get<std::string>() + " Caveat: " + f["caveat"].get<std::string>();
      }
    }
  }
}

}  // namespace wmgeom::analyze
