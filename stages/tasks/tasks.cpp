#include "tasks/tasks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <set>

#include "core/artifacts.h"
#include "core/error.h"
#include "core/format.h"
#include "nback/sampler.h"

namespace wmgeom {
namespace {

using Report = std::function<void(const std::string& key, const std::string& message)>;

// The plan-time checks, shared with run() so that a direct call (tests,
// benchmarks) meets the same rules as a pipeline.
void check_params(const TasksSettings& s, const Report& report) {
  std::set<std::string> seen;
  const nback::Task* longest = nullptr;
  std::vector<nback::Task> tasks;
  for (const auto& name : s.tasks) {
    try {
      tasks.push_back(nback::parse_task(name));
    } catch (const InputError& e) {
      report("tasks", e.what());
      continue;
    }
    if (!seen.insert(name).second) {
      report("tasks", "expected distinct task names, found \"" + name + "\" twice");
    }
  }
  for (const auto& t : tasks) {
    if (longest == nullptr || t.n > longest->n) longest = &t;
  }
  const std::int64_t length = s.trial_length;
  if (longest != nullptr && length <= longest->n) {
    report("trial_length", "expected trial_length > " + std::to_string(longest->n) +
                               " (the largest N, task \"" + longest->name + "\"), found " +
                               std::to_string(length));
  }
  const auto& splits = s.eval_splits;
  if (std::set<std::string>(splits.begin(), splits.end()).size() != splits.size()) {
    report("eval_splits", "expected distinct split names, found a repeated one");
  }
}

std::int32_t split_value(const std::string& name) {
  return name == "validation" ? kSplitValidation : kSplitTrain;
}

std::string split_key(std::int32_t split) {
  return split == kSplitValidation ? "validation" : "train";
}

// The cue layout written into the TrialSet, so that the train stage and a
// reader in numpy can build the cue without this code.
nlohmann::json cue_info(const std::vector<nback::Task>& tasks, const std::string& kind) {
  nlohmann::json per_task = nlohmann::json::object();
  for (std::size_t k = 0; k < tasks.size(); ++k) {
    per_task[tasks[k].name] = nback::cue_slots(tasks, kind, k);
  }
  const std::string layout =
      kind == nback::kCueOneHot
          ? "one-hot over the task list: slot k is task k of `tasks`"
          : "slots 0-2: one-hot of the feature (loc, cat, id); slot 3 + N - 1: one-hot of N, "
            "for N = 1 to the largest N";
  return {{"kind", kind},
          {"dim", nback::cue_dim(tasks, kind)},
          {"layout", layout},
          {"slots", nback::cue_slot_names(tasks, kind)},
          {"hot", per_task}};
}

}  // namespace

void TasksStage::check(const TasksSettings& s, ParamIssues& issues) const {
  check_params(
      s, [&](const std::string& key, const std::string& message) { issues.error(key, message); });
}

void TasksStage::check_inputs_of(const TasksSettings& s, const PlanInputs& inputs,
                                 ParamIssues& issues) const {
  if (std::find(s.eval_splits.begin(), s.eval_splits.end(), "validation") == s.eval_splits.end())
    return;
  const auto it = inputs.find("stimuli");
  if (it == inputs.end()) return;
  for (const PlanInput& in : it->second) {
    const std::int64_t held =
        in.estimate != nullptr && in.estimate->known ? in.estimate->dim("validation_stimuli") : -1;
    if (held != 0) continue;  // some, or not known before it runs
    issues.error("eval_splits", "\"validation\" needs held-out images, but " + in.instance +
                                    " holds out none (split 1 is empty): hold out views or "
                                    "identities there (holdout_views, holdout_every, "
                                    "holdout_identities) or set eval_splits = [\"train\"]");
    return;
  }
}

SizeEstimate TasksStage::estimate_of(const TasksSettings& s, const EstimateInputs& inputs) const {
  const auto it = inputs.find("stimuli");
  const std::int64_t n =
      it == inputs.end() || it->second.empty() ? -1 : it->second.front().dim("stimuli");
  if (n < 0) return {};
  const auto per_split = static_cast<std::int64_t>(s.tasks.size()) * s.eval_trials_per_task;
  const std::int64_t m = per_split * static_cast<std::int64_t>(s.eval_splits.size());
  const std::int64_t t = s.trial_length;
  SizeEstimate e;
  e.known = true;
  e.bytes = m * (2 * t + 2) * 4 + n * 5 * 4;
  e.dims = {{"trials", m},
            {"trials_per_split", per_split},
            {"trial_length", t},
            {"tasks", static_cast<std::int64_t>(s.tasks.size())}};
  return e;
}

Artifact TasksStage::compute(const TasksSettings& s, const StageInputs& inputs,
                             RunContext& ctx) const {
  check_params(s, [](const std::string& key, const std::string& message) {
    throw InputError(key + ": " + message);
  });
  const StimulusSet stimuli = inputs.get<StimulusSet>("stimuli");
  const std::vector<nback::Task> tasks = nback::parse_tasks(s.tasks);
  const std::int32_t length = s.trial_length;
  const double match_prob = s.match_prob;
  const double hard_nonmatch = s.hard_nonmatch;
  const std::int64_t per_task = s.eval_trials_per_task;
  const std::string& cue = s.task_cue;
  const std::uint64_t seed = s.seed;
  std::vector<std::int32_t> splits;
  for (const auto& name : s.eval_splits) splits.push_back(split_value(name));
  std::sort(splits.begin(), splits.end());  // train trials first, whatever the listing order

  const nback::StimulusTable table = nback::StimulusTable::from(stimuli);
  std::int64_t rows_in[2] = {0, 0};
  for (auto s : table.split) ++rows_in[s == kSplitValidation ? 1 : 0];
  // The training split must be usable even when no evaluation set is drawn
  // from it: the train stage streams its trials from there. Throws
  // InputError for an empty split or a single-valued feature.
  const nback::Sampler train(table, tasks, length, match_prob, kSplitTrain, hard_nonmatch);
  std::optional<nback::Sampler> validation;
  if (std::count(splits.begin(), splits.end(), kSplitValidation) != 0) {
    if (rows_in[1] == 0) {
      throw InputError(
          "the stimulus set has no validation-split images (split 1) but eval_splits asks for "
          "\"validation\": hold out views or identities in the render stage (holdout_views, "
          "holdout_every, holdout_identities) or set eval_splits = [\"train\"]");
    }
    validation.emplace(table, tasks, length, match_prob, kSplitValidation, hard_nonmatch);
  }
  // Hard non-matches need another identity of the same category in the
  // split; where some identity has none (e.g. novel-identity validation with
  // one held-out identity per category) those frames fall back to ordinary
  // non-matches. Said once per task and split, and recorded in info.
  nlohmann::json coverage = nlohmann::json::object();
  for (std::int32_t split : {kSplitTrain, kSplitValidation}) {
    const nback::Sampler* sampler = split == kSplitTrain ? &train
                                    : validation         ? &*validation
                                                         : nullptr;
    if (sampler == nullptr) continue;
    nlohmann::json per = nlohmann::json::object();
    for (std::size_t k = 0; k < tasks.size(); ++k) {
      const double c = sampler->hard_coverage(k);
      if (std::isnan(c)) continue;
      per[tasks[k].name] = c;
      if (hard_nonmatch > 0 && c < 1.0) {
        ctx.warn("task \"" + tasks[k].name + "\": only " + format_percent(c, 0) + " of the " +
                 split_key(split) + "-split stimuli have another " +
                 nback::feature_name(tasks[k].feature) +
                 " of their category in the split; hard non-matches fall back to ordinary ones "
                 "after the others, so fewer than hard_nonmatch of its non-matches are hard");
      }
    }
    coverage[split_key(split)] = per;
  }

  const std::int64_t per_split = per_task * static_cast<std::int64_t>(tasks.size());
  const std::int64_t total = per_split * static_cast<std::int64_t>(splits.size());
  TrialSet out;
  for (const auto& t : tasks) out.tasks.push_back({t.name, nback::feature_name(t.feature), t.n});
  out.trial_length = length;
  out.match_prob = match_prob;
  out.hard_nonmatch = hard_nonmatch;
  out.task_cue = cue;
  out.stimuli = Array::zeros<std::int32_t>({total, length});
  out.targets = Array::zeros<std::int32_t>({total, length});
  out.task = Array::zeros<std::int32_t>({total});
  out.split = Array::zeros<std::int32_t>({total});
  // The attribute table travels with the trials (shared, not copied).
  out.stimulus_location = stimuli.location;
  out.stimulus_category = stimuli.category;
  out.stimulus_identity = stimuli.identity;
  out.stimulus_split = stimuli.split;
  out.stimulus_view = stimuli.view;

  nlohmann::json trials = nlohmann::json::object(), counts = nlohmann::json::object(),
                 match_rate = nlohmann::json::object(), hard_rate = nlohmann::json::object(),
                 images = nlohmann::json::object();
  std::int64_t done = 0;
  ctx.progress(0, total);
  for (const std::int32_t split : splits) {
    ctx.check_cancelled();
    const nback::Sampler& sampler = split == kSplitTrain ? train : *validation;
    const nback::Batch b = sampler.per_task(seed, per_task);
    const auto frames = static_cast<std::size_t>(length);
    const auto offset = static_cast<std::size_t>(done);
    std::copy(b.stimuli.begin(), b.stimuli.end(),
              out.stimuli.data<std::int32_t>() + offset * frames);
    std::copy(b.targets.begin(), b.targets.end(),
              out.targets.data<std::int32_t>() + offset * frames);
    std::copy(b.task.begin(), b.task.end(), out.task.data<std::int32_t>() + offset);
    std::fill_n(out.split.data<std::int32_t>() + offset, static_cast<std::size_t>(b.trials), split);

    // Realised match rate per task: matches among the frames t >= N; and,
    // for tasks with a parent feature, the share of hard non-matches among
    // the non-matches.
    const std::vector<std::uint8_t> hard = nback::hard_nonmatch_mask(table, tasks, b);
    std::vector<std::int64_t> matches(tasks.size(), 0), judged(tasks.size(), 0),
        hard_frames(tasks.size(), 0);
    for (std::int64_t i = 0; i < b.trials; ++i) {
      const auto k = static_cast<std::size_t>(b.task[static_cast<std::size_t>(i)]);
      for (std::int32_t f = tasks[k].n; f < length; ++f) {
        const std::size_t at = static_cast<std::size_t>(i) * frames + static_cast<std::size_t>(f);
        matches[k] += b.targets[at] == nback::kMatch;
        hard_frames[k] += hard[at];
        ++judged[k];
      }
    }
    nlohmann::json per = nlohmann::json::object(), rate = nlohmann::json::object(),
                   hard_share = nlohmann::json::object();
    for (std::size_t k = 0; k < tasks.size(); ++k) {
      per[tasks[k].name] = per_task;
      rate[tasks[k].name] =
          judged[k] > 0 ? static_cast<double>(matches[k]) / static_cast<double>(judged[k]) : 0.0;
      const std::int64_t non_matches = judged[k] - matches[k];
      if (nback::parent_feature(tasks[k].feature) && non_matches > 0) {
        hard_share[tasks[k].name] =
            static_cast<double>(hard_frames[k]) / static_cast<double>(non_matches);
      }
    }
    const std::string key = split_key(split);
    trials[key] = b.trials;
    counts[key] = per;
    match_rate[key] = rate;
    hard_rate[key] = hard_share;
    done += b.trials;
    ctx.progress(done, total);
  }
  images["train"] = rows_in[0];
  images["validation"] = rows_in[1];
  out.info = {{"cue", cue_info(tasks, cue)},
              {"eval_trials_per_task", per_task},
              {"trials", trials},
              {"trials_per_task", counts},
              {"match_rate", match_rate},
              {"hard_nonmatch_rate", hard_rate},
              {"hard_nonmatch_coverage", coverage},
              {"stimuli_per_split", images},
              {"seed", seed}};
  ctx.set_items(total);
  return out.to_artifact();
}

}  // namespace wmgeom
