#include "findings/findings_stage.h"

#include <map>
#include <set>

#include "analyze/analyses.h"
#include "analyze/analyze.h"
#include "analyze/calibration.h"
#include "analyze/table_schema.h"
#include "core/artifacts.h"
#include "core/instance_name.h"
#include "core/run_summary.h"
#include "nback/sampler.h"

namespace wmgeom {

namespace {

// Appends `more`'s rows to `into` (the same columns, in the same order: both
// come from the same analysis code); `what` names them in an error.
void append_rows(Table& into, const Table& more, const std::string& what) {
  if (into.columns != more.columns) {
    throw InputError("findings: table " + what +
                     " has other columns in different analyses (analyze versions differ?): "
                     "rerun them with one wmgeom");
  }
  for (const auto& c : more.columns) {
    if (auto it = more.numeric.find(c); it != more.numeric.end()) {
      auto& v = into.numeric.at(c);
      v.insert(v.end(), it->second.begin(), it->second.end());
    } else {
      auto& v = into.text.at(c);
      const auto& w = more.text.at(c);
      v.insert(v.end(), w.begin(), w.end());
    }
  }
}

// What the findings read of a model, from an analysis' record of it.
analyze::ModelData model_of(const nlohmann::json& m, const std::string& analysis) {
  if (!m.contains("group")) {
    throw InputError("findings: analysis " + analysis + " records no replicate group for model " +
                     m.value("name", std::string("?")) +
                     " (it was computed by an analyze stage older than the findings "
                     "stage): rerun it, e.g. wmgeom run FILE --from " +
                     analysis);
  }
  analyze::ModelData d;
  d.name = m.at("name").get<std::string>();
  d.rnn = m.value("rnn", "?");
  d.regime = m.value("regime", "?");
  d.group = m.at("group").get<std::string>();
  d.seed = m.value("seed", std::int64_t{0});
  d.tasks = nback::parse_tasks(m.value("tasks", std::vector<std::string>{}));
  d.network = m.value("network", "");
  return d;
}

}  // namespace

std::string FindingsStage::key_extras_of(const FindingsSettings&) const {
  return "calibration sha256:" + analyze::calibration_sha256().substr(0, 16);
}

// The merged result is the inputs' tables and arrays, whose estimates are
// the analyses' own: their sum (unknown if one is).
SizeEstimate FindingsStage::estimate_of(const FindingsSettings&,
                                        const EstimateInputs& inputs) const {
  const auto it = inputs.find("analysis");
  if (it == inputs.end() || it->second.empty()) return {};
  SizeEstimate e;
  e.known = true;
  for (const auto& a : it->second) {
    if (!a.known) return {};
    e.bytes += a.bytes;
  }
  e.working = e.bytes;  // the inputs' tables are copied once while merging
  return e;
}

Artifact FindingsStage::compute(const FindingsSettings& s, const StageInputs& inputs,
                                RunContext& ctx) const {
  AnalysisResult merged;
  std::vector<analyze::ModelData> models;
  nlohmann::json common;
  std::string first;
  std::map<std::string, std::string> model_from;  // model -> the analysis that has it
  for (const auto& item : inputs.many("analysis")) {
    ctx.check_cancelled();
    AnalysisResult r = AnalysisResult::from_artifact(*item.artifact);
    nlohmann::json rest = r.params;
    rest.erase("models");
    if (first.empty()) {
      first = item.instance;
      common = rest;
      merged.params = r.params;
      merged.params["models"] = nlohmann::json::array();
    } else if (rest != common) {
      std::string keys;
      for (const auto& [k, v] : rest.items()) {
        if (!common.contains(k) || common.at(k) != v) keys += (keys.empty() ? "" : ", ") + k;
      }
      for (const auto& [k, v] : common.items()) {
        if (!rest.contains(k)) keys += (keys.empty() ? "" : ", ") + k;
      }
      throw InputError("findings: analyses " + first + " and " + item.instance + " differ in " +
                       keys +
                       "; findings compare models analysed alike: give every analyze instance the "
                       "same parameters");
    }
    for (const auto& m : r.params.value("models", nlohmann::json::array())) {
      analyze::ModelData d = model_of(m, item.instance);
      if (auto [at, fresh] = model_from.emplace(d.name, item.instance); !fresh) {
        throw InputError("findings: model " + d.name + " is in analyses " + at->second + " and " +
                         item.instance + "; connect each model's analysis once");
      }
      models.push_back(std::move(d));
      merged.params["models"].push_back(m);
    }
    for (auto& [name, t] : r.tables) {
      analyze::check_table(name, t, "findings: analysis " + item.instance);
      if (auto it = merged.tables.find(name); it == merged.tables.end()) {
        merged.tables.emplace(name, std::move(t));
      } else {
        append_rows(it->second, t, name);
      }
    }
    for (auto& [key, a] : r.arrays)
      merged.arrays.emplace(key, std::move(a));  // per-model keys: model names are unique
  }
  if (models.empty()) throw InputError("findings: the analyses hold no model");
  if (s.verdicts_required) {
    analyze::require_seeds(models, s.min_seeds, "findings",
                           "analyse more seeds of that configuration");
  }
  // The analyses' own settings that the findings read, and this stage's.
  analyze::Settings as;
  as.alpha = s.alpha;
  as.min_seeds = s.min_seeds;
  as.causal_dose = common.value("causal_dose", as.causal_dose);
  as.causal_frame = common.value("causal_frame", as.causal_frame);
  as.image_bootstraps = common.value("image_bootstraps", as.image_bootstraps);
  merged.findings = analyze::findings(merged.tables, models, as);
  // How far to trust each verdict: the embedded calibration table's entries
  // (keyed: key_extras_of).
  analyze::attach_calibration(merged.findings);
  ctx.set_items(static_cast<std::int64_t>(models.size()));
  return merged.to_artifact();
}

std::vector<std::filesystem::path> FindingsStage::after_run(
    const Artifact& artifact, const RunSummary& run, const std::string& instance,
    const std::filesystem::path& out_dir) const {
  return write_analysis_outputs(artifact, run, instance, out_dir);
}

}  // namespace wmgeom
