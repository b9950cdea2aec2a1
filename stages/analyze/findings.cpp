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
#include <algorithm>
#include <cctype>
#include <set>

#include "analyze/analyses.h"
#include "analyze/findings_rules.h"

namespace wmgeom::analyze {

using namespace findings_detail;

namespace {
const std::string kOneCapture =
    "give a findings stage one capture of each trained network (e.g. a findings stage per "
    "capture stage)";
}  // namespace

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

std::string one_training_twice(const std::vector<ModelData>& models) {
  std::map<std::pair<std::string, std::int64_t>, const ModelData*> first;
  for (const auto& m : models) {
    if (!m.seed_known) continue;
    if (auto [at, fresh] = first.emplace(std::pair{m.group, m.seed}, &m); !fresh) {
      // The groups' names only for the message (the findings stage and
      // findings() both ask, once per run each).
      return "models " + at->second->name + " and " + m.name + " are in one replicate group (" +
             replicate_group_names(models).at(m.group) + ") with the same seed " +
             std::to_string(m.seed) +
             ": one training (captured twice, or trained twice alike), not two replicates";
    }
  }
  return "";
}

void require_distinct_seeds(const std::vector<ModelData>& models) {
  if (const auto twice = one_training_twice(models); !twice.empty()) {
    throw InputError("findings: " + twice + "; " + kOneCapture);
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
  // The settings that define each group: its key (analyze.cpp load), one
  // level of objects flattened ("configuration.lr": the training's
  // configuration, train.cpp), a cache key shortened to 12 characters.
  auto flat = [](const nlohmann::json& config) {
    std::map<std::string, std::string> out;
    if (!config.is_object()) return out;
    auto text = [](const nlohmann::json& v) {
      std::string t = v.is_string() ? v.get<std::string>() : v.dump();
      const bool hex = t.size() >= 32 && std::all_of(t.begin(), t.end(), [](char c) {
                         return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                       });
      return hex ? t.substr(0, 12) : t;
    };
    for (auto it = config.begin(); it != config.end(); ++it) {
      if (it.key() == "seed" || it.key() == "split") continue;
      if (it->is_object()) {
        // A setting the model records at the top too (rnn, hidden) is named once.
        for (auto jt = it->begin(); jt != it->end(); ++jt) {
          if (!config.contains(jt.key())) out[it.key() + "." + jt.key()] = text(*jt);
        }
      } else {
        out[it.key()] = text(*it);
      }
    }
    return out;
  };
  std::map<std::string, std::map<std::string, std::string>> settings;
  for (const auto& [key, m] : first) {
    auto parsed = nlohmann::json::parse(key, nullptr, false);
    settings[key] = flat(parsed.is_discarded() ? m->config : parsed);
  }
  auto setting = [](const std::map<std::string, std::string>& s, const std::string& k) {
    auto it = s.find(k);
    return it == s.end() ? std::string("(unset)") : it->second;
  };
  std::map<std::string, std::string> out;
  for (const auto& [name, keys] : by_base) {
    std::set<std::string> differing;
    for (const auto& a : keys) {
      for (const auto& b : keys) {
        const auto &ca = settings.at(a), &cb = settings.at(b);
        for (const auto* c : {&ca, &cb}) {
          for (const auto& [k, v] : *c) {
            if (setting(ca, k) != setting(cb, k)) differing.insert(k);
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
  // One training counted twice decides nothing (the findings stage refuses
  // it before, exit 2: require_distinct_seeds).
  if (const auto twice = one_training_twice(models); !twice.empty()) {
    nlohmann::json out;
    for (int k = 0; k < 5; ++k)
      out[std::to_string(k + 1)] = not_testable(finding(kDeclared[k], s), twice, kOneCapture);
    return out;
  }
  return {{"1", finding1(tables, models, s)},
          {"2", finding2(tables, models, s)},
          {"3", finding3(tables, models, s)},
          {"4", finding4(tables, models, s)},
          {"5", finding5(tables, models, s)}};
}

}  // namespace wmgeom::analyze
