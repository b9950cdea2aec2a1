// The tasks stage's parameters as typed values (stages/tasks/schema.toml is
// the single source of names, types, ranges and defaults: the fields have no
// defaults of their own and are set only by from_params).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/params.h"

namespace wmgeom {

struct TasksSettings {
  std::vector<std::string> tasks;  // "loc-1", "cat-2", ...
  std::int32_t trial_length{};     // frames per trial
  double match_prob{};
  double hard_nonmatch{};
  std::int64_t eval_trials_per_task{};
  std::string task_cue;                  // nback::kCueOneHot or the factored cue
  std::vector<std::string> eval_splits;  // "train", "validation", as listed
  std::uint64_t seed{};

  static TasksSettings from_params(const Params& p);
  bool operator==(const TasksSettings&) const = default;
};

}  // namespace wmgeom
