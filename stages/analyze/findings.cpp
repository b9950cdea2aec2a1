// findings.json: each of the paper's four findings and its causal test
// (SCIENCE.md sections 4 and 6; finding 5) as one test declared here, in advance, across
// independently trained models (seeds) — never across the tasks or frames of one model, which share
// images and weights. A finding is "held" only when its test passes at
// alpha with the effect in the paper's direction, "not held" otherwise, and
// "not testable" (with what to add to the pipeline) when the run lacks the
// replicates or the model kinds the test needs.
//
// Replicates are the seeds of one replicate group: a configuration minus its
// seed (architecture, regime, task list, every training setting). Groups are
// never pooled as replicates; each group a test uses needs min_seeds seeds.
//
// Every finding carries: the test, the unit of replication and n per group,
// the effect with its (1 - alpha) CI (one-sided tests: the one-sided bound,
// so CI and p agree), the p-value, alpha, the rule that decides, the
// per-model values the test used, and every test run. Findings 2, 3 and 4
// decide by intersection-union rules over replicate groups (each test at
// alpha, so the conjunction keeps level alpha without correction).
//
// One file per finding (finding<N>_*.cpp), the pieces they share in
// findings_rules.h; this file: the findings together, replicate groups'
// names and the seeds check of verdicts = "required".
#include <set>

#include "analyze/analyses.h"
#include "analyze/findings_rules.h"

namespace wmgeom::analyze {

using namespace findings_detail;

void require_seeds(const std::vector<ModelData>& models, int min_seeds, const std::string& who,
                   const std::string& remedy) {
  const auto group_names = replicate_group_names(models);
  std::map<std::string, std::set<std::string>> per;
  for (const auto& m : models) per[m.group].insert(m.name);
  for (const auto& [group, names] : per) {
    if (static_cast<int>(names.size()) < min_seeds) {
      throw InputError(who + ": parameter verdicts = \"required\", but the replicate group " +
                       group_names.at(group) + " has " + std::to_string(names.size()) +
                       " model(s) (seeds), fewer than min_seeds = " + std::to_string(min_seeds) +
                       " (replicates are models that differ only in their seed): " + remedy +
                       " or set verdicts = \"when_testable\"");
    }
  }
}

std::map<std::string, std::string> replicate_group_names(const std::vector<ModelData>& models) {
  // Base name: architecture, regime and task list.
  std::map<std::string, std::string> base;
  std::map<std::string, const ModelData*> first;
  for (const auto& m : models) {
    if (first.count(m.group)) continue;
    first[m.group] = &m;
    std::string tasks;
    for (const auto& t : m.tasks) tasks += (tasks.empty() ? "" : ", ") + t.name;
    base[m.group] = rnn_label(m.rnn) + ", " +
                    (m.tasks.size() > 1 ? "multi-task " : "single-task ") + m.regime + " (" +
                    tasks + ")";
  }
  // Groups that share a base name differ in other settings: name those.
  std::map<std::string, std::vector<std::string>> by_base;
  for (const auto& [key, name] : base) by_base[name].push_back(key);
  auto setting = [](const nlohmann::json& config, const std::string& k) {
    if (!config.is_object() || !config.contains(k)) return std::string("(unset)");
    const auto& v = config.at(k);
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  // The settings that define each group: its key (analyze.cpp load).
  std::map<std::string, nlohmann::json> settings;
  for (const auto& [key, m] : first) {
    settings[key] = nlohmann::json::parse(key, nullptr, false);
    if (settings[key].is_discarded()) settings[key] = m->config;
  }
  std::map<std::string, std::string> out;
  for (const auto& [name, keys] : by_base) {
    std::set<std::string> differing;
    for (const auto& a : keys) {
      for (const auto& b : keys) {
        const auto &ca = settings.at(a), &cb = settings.at(b);
        for (const auto* c : {&ca, &cb}) {
          if (!c->is_object()) continue;
          for (auto it = c->begin(); it != c->end(); ++it) {
            const std::string& k = it.key();
            if (k != "seed" && k != "split" && setting(ca, k) != setting(cb, k))
              differing.insert(k);
          }
        }
      }
    }
    for (const auto& key : keys) {
      std::string extra;
      for (const auto& k : differing)
        extra += (extra.empty() ? "" : ", ") + k + " = " + setting(settings.at(key), k);
      out[key] = extra.empty() ? name : name + " with " + extra;
    }
  }
  return out;
}

nlohmann::json findings(const std::map<std::string, Table>& tables,
                        const std::vector<ModelData>& models, const Settings& s) {
  return {{"1", finding1(tables, models, s)},
          {"2", finding2(tables, models, s)},
          {"3", finding3(tables, models, s)},
          {"4", finding4(tables, models, s)},
          {"5", finding5(tables, models, s)}};
}

}  // namespace wmgeom::analyze
