// The calibration table of the findings' tests (stages/analyze/calibration.json,
// written by calibrate.py from test_calibration*'s planted-truth scenarios),
// embedded in the stage at build time (CMakeLists.txt generates
// calibration_table.cpp from the committed file; nothing is read at run
// time). Each finding in findings.json carries its scenarios' rates and
// Clopper-Pearson bounds and one sentence on how far to trust its verdict.
// The findings stage attaches the entries and keys the table's SHA-256
// (FindingsStage::key_extras_of), so a new table never comes back with an old
// cached findings.json, and reruns only the findings and the report: an
// analysis (one model, no verdict across seeds) carries no calibration.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace wmgeom::analyze {

// The embedded calibration.json (parsed once) and the SHA-256 of its bytes.
const nlohmann::json& calibration_table();
const std::string& calibration_sha256();

// The `calibration` entry of finding `key` ("1" .. "5") from `table`: its
// scenarios (name, kind, scale, draws, count, rate, ci95, counted, commit),
// the commits they were measured at, `trust` (one sentence: the highest
// false-positive rate of its nulls with its upper bound, power at the
// realistic effect with its bounds, and "not calibrated" where a null's
// Clopper-Pearson lower bound is above 0.05 or power at 1x is below 0.9),
// and `calibrated` (true, false, or null when there are no entries).
nlohmann::json calibration_entry(const std::string& key, const nlohmann::json& table);

// Adds calibration_entry(k, calibration_table()) as f[k]["calibration"] for
// every finding k of `findings`.
// A decided verdict (held, not held, depends on ...) whose test misses a
// bound ("calibrated": false) gets the entry's trust sentence as its
// `caveat`, also appended to its `detail`. `table`: calibration_table()
// unless given (tests).
void attach_calibration(nlohmann::json& findings, const nlohmann::json& table);
void attach_calibration(nlohmann::json& findings);

}  // namespace wmgeom::analyze
