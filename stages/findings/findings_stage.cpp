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
  // null: a model whose seed nobody recorded (imported states)
  d.seed_known = m.contains("seed") && m.at("seed").is_number_integer();
  d.seed = d.seed_known ? m.at("seed").get<std::int64_t>() : 0;
  d.tasks = nback::parse_tasks(m.value("tasks", std::vector<std::string>{}));
  d.network = m.value("network", "");
  return d;
}

// The models whose rows a table holds (its `model` column), or, for a
// table without one, every model of its analysis.
std::set<std::string> models_in(const Table& t, const std::vector<std::string>& all) {
  if (auto it = t.text.find("model"); it != t.text.end())
    return {it->second.begin(), it->second.end()};
  return {all.begin(), all.end()};
}

}  // namespace

std::string FindingsStage::key_extras_of(const FindingsSettings&) const {
  return "calibration sha256:" + analyze::calibration_sha256().substr(0, 16);
}

void FindingsStage::check_inputs_of(const FindingsSettings&, const PlanInputs& inputs,
                                    ParamIssues& issues) const {
  const auto it = inputs.find("analysis");
  if (it == inputs.end()) return;
  const PlanInput* first = nullptr;
  // (the model's states key, an analysis) -> the instance that runs it.
  std::map<std::pair<std::string, std::string>, const PlanInput*> owner;
  for (const auto& in : it->second) {
    // compare, recordings and findings produce AnalysisResults too; only
    // analyze instances have analyze's parameters to compare.
    if (in.stage->type() != "analyze") continue;
    if (!first) {
      first = &in;
    } else if (const auto unlike = analyze::unlike_parameters(*first->params, *in.params);
               !unlike.empty()) {
      std::string list;
      for (const auto& u : unlike) list += (list.empty() ? "" : ", ") + u;
      issues.error("analysis", "analyses " + first->instance + " and " + in.instance +
                                   " differ in " + list +
                                   "; findings compare models analysed alike: give every analyze "
                                   "stage it reads these parameters alike, or give each its own "
                                   "findings stage");
      return;
    }
    const auto& analyses = AnalyzeStage::settings(*in.params).analyses;
    const auto states = in.reads.find("states");
    if (states == in.reads.end()) continue;
    for (const auto& model : states->second) {
      std::string twice;
      const PlanInput* other = nullptr;
      for (const auto& a : analyses) {
        if (auto [at, fresh] = owner.emplace(std::pair{model.key, a}, &in); !fresh) {
          twice += (twice.empty() ? "\"" : ", \"") + a + "\"";
          other = at->second;
        }
      }
      if (other) {
        issues.error("analysis", "model " + model.instance + " would be analysed twice: " + twice +
                                     " in both " + other->instance + " and " + in.instance +
                                     "; each analysis of a model comes from one instance: "
                                     "leave it out of one stage's `analyses`");
        return;
      }
    }
  }
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
  nlohmann::json common;
  std::string first;
  // Each model in the order first met, its record merged across the
  // analyses that hold it; which analysis wrote each of its tables.
  std::vector<std::string> order;
  std::map<std::string, nlohmann::json> record;
  std::map<std::string, std::string> model_from;  // model -> the first analysis that has it
  std::map<std::pair<std::string, std::string>, std::string> table_from;  // (model, table)
  // states key -> (the model's name, the analysis that first named it)
  std::map<std::string, std::pair<std::string, std::string>> name_of_source;
  for (const auto& item : inputs.many("analysis")) {
    ctx.check_cancelled();
    AnalysisResult r = AnalysisResult::from_artifact(*item.artifact);
    nlohmann::json rest = r.params;
    rest.erase("models");
    if (first.empty()) {
      first = item.instance;
      common = rest;
    } else {
      // Every parameter both analyses record must agree; one that only
      // one records (causal_dose: only an analysis that runs causal has
      // it) joins the merged parameters.
      std::string keys;
      for (const auto& [k, v] : rest.items()) {
        if (!common.contains(k)) {
          common[k] = v;
        } else if (common.at(k) != v) {
          keys += (keys.empty() ? "" : ", ") + k;
        }
      }
      if (!keys.empty()) {
        throw InputError("findings: analyses " + first + " and " + item.instance + " differ in " +
                         keys +
                         "; findings compare models analysed alike: give every analyze instance "
                         "the same parameters");
      }
    }
    std::vector<std::string> mine;
    for (const auto& m : r.params.value("models", nlohmann::json::array())) {
      model_of(m, item.instance);  // checks the record
      const std::string name = m.at("name").get<std::string>();
      // Names are not in cache keys: an analysis cached before its capture
      // stage was renamed still says the old name. One model under two names
      // would be merged as two models; the states' key says it is one.
      if (const auto src = m.find("source"); src != m.end() && src->is_string()) {
        if (auto [at, fresh] =
                name_of_source.emplace(src->get<std::string>(), std::pair{name, item.instance});
            !fresh && at->second.first != name) {
          throw InputError("findings: analyses " + at->second.second + " and " + item.instance +
                           " name the same states (cache key " +
                           src->get<std::string>().substr(0, 12) + "...) differently, " +
                           at->second.first + " and " + name +
                           ": a stage was renamed after one of them was cached (names are not "
                           "in cache keys); recompute that model's analyses so that they name "
                           "it alike: wmgeom run FILE --from CAPTURE (its capture stage, by its "
                           "current name)");
        }
      }
      mine.push_back(name);
      if (auto [at, fresh] = model_from.emplace(name, item.instance); fresh) {
        order.push_back(name);
        record[name] = m;
      } else {
        // The same model in another analysis: one model's analyses split
        // across instances (`analyses`), each table from one of them.
        auto& rec = record.at(name);
        for (const auto& [k, v] : m.items()) {
          if (!rec.contains(k)) {
            rec[k] = v;
          } else if (rec.at(k) != v) {
            throw InputError("findings: model " + name + " is recorded differently in analyses " +
                             at->second + " and " + item.instance + " (" + k +
                             "): connect the same model's states to both");
          }
        }
      }
    }
    for (auto& [name, t] : r.tables) {
      analyze::check_table(name, t, "findings: analysis " + item.instance);
      for (const auto& m : models_in(t, mine)) {
        if (auto [at, fresh] = table_from.emplace(std::pair{m, name}, item.instance); !fresh) {
          throw InputError("findings: model " + m + " is in analyses " + at->second + " and " +
                           item.instance + " (both have its table \"" + name +
                           "\"); connect each model's analysis once, or split one model's "
                           "analyses across instances with `analyses`, each analysis in one");
        }
      }
      if (auto it = merged.tables.find(name); it == merged.tables.end()) {
        merged.tables.emplace(name, std::move(t));
      } else {
        append_rows(it->second, t, name);
      }
    }
    for (auto& [key, a] : r.arrays) {
      if (!merged.arrays.emplace(key, std::move(a)).second) {
        throw InputError("findings: array " + key + " is in two analyses (the second " +
                         item.instance + "): connect each model's analysis once");
      }
    }
  }
  // The merged parameters: those of every analysis (all equal where both
  // record one) and the models in the order first met.
  merged.params = common;
  merged.params["models"] = nlohmann::json::array();
  std::vector<analyze::ModelData> models;
  for (const auto& name : order) {
    models.push_back(model_of(record.at(name), model_from.at(name)));
    merged.params["models"].push_back(record.at(name));
  }
  if (models.empty()) throw InputError("findings: the analyses hold no model");
  analyze::require_distinct_seeds(models);
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
