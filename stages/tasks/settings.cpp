#include "tasks/settings.h"

namespace wmgeom {

TasksSettings TasksSettings::from_params(const Params& p) {
  TasksSettings s;
  s.tasks = p.strings("tasks");
  s.trial_length = static_cast<std::int32_t>(p.i("trial_length"));
  s.match_prob = p.f("match_prob");
  s.hard_nonmatch = p.f("hard_nonmatch");
  s.eval_trials_per_task = p.i("eval_trials_per_task");
  s.task_cue = p.s("task_cue");
  s.eval_splits = p.strings("eval_splits");
  s.seed = static_cast<std::uint64_t>(p.i("seed"));
  return s;
}

}  // namespace wmgeom
