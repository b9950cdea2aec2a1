// The executor: runs a Plan as one oneTBB flow graph. Each instance that must
// be computed is a continue_node; cache hits are loaded lazily, only when a
// computing stage needs them. Independent instances run concurrently inside
// one task_arena of `threads` threads; instances that name the same resource
// (e.g. "cuda:0") never overlap: the resource's one token circulates in the
// graph (a buffer_node, paired with each instance's readiness by a reserving
// join_node), so an instance waiting for it is no task yet and holds no
// worker. The first failure sets a
// cancel flag: instances not yet started are skipped, running ones can poll
// RunContext::cancelled(); finished instances stay cached.
//
// Thread-safety: one Executor runs one plan at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cache/cache.h"
#include "core/run_summary.h"
#include "core/log.h"
#include "graph/fit.h"
#include "graph/plan.h"

namespace wmgeom {

struct RunOptions {
  int threads = 0;                // 0: the CPUs this process may use (core/cpus.h)
  std::vector<std::string> only;  // run these (and what they need), nothing else
  std::vector<std::string> from;  // recompute these and everything downstream
  bool progress = true;
  bool tty = false;  // draw progress bars (stderr is a terminal)
  // Set from outside (a signal handler: SIGUSR1 before a cluster job's time
  // limit, SIGTERM at preemption): running stages are cancelled (train
  // checkpoints first), nothing more starts, and the run ends with
  // exit_code kExitStopped and error "stopped by a signal".
  const std::atomic<bool>* stop = nullptr;
  // What is free for the plan-time resource check (graph/fit.h); null:
  // measured (measure_free_space of the cache). Tests pretend.
  const FreeSpace* free = nullptr;
};

// Exit code of a run stopped through RunOptions::stop (EX_TEMPFAIL):
// finished instances are cached, checkpoints saved; rerunning resumes.
inline constexpr int kExitStopped = 75;

// The run's record (core/run_summary.h); the executor fills it.
using InstanceReport = InstanceSummary;
using RunReport = RunSummary;

class Executor {
 public:
  Executor(const Plan& plan, const Cache& cache, Logger& log);
  ~Executor();

  // Statuses without running anything (for --dry-run). Throws InputError for
  // --only/--from names that match no stage.
  RunReport dry_run(const RunOptions& options);
  // Whether what the run would compute fits the free memory and disk
  // (graph/fit.h). run() calls it first and throws InputError (exit 2)
  // listing every instance that cannot fit; warnings go to the log.
  FitReport fit(const RunOptions& options) const;
  RunReport run(const RunOptions& options);
  // Loads or computes one instance (and what it needs), e.g. for export.
  std::shared_ptr<const Artifact> materialize(std::size_t instance, int threads = 0);

 private:
  RunSummary blank_summary() const;  // the pipeline's fields, no instances yet
  struct Slot;
  struct Selection {
    std::vector<bool> target, requested, forced, run;
  };
  Selection select(const RunOptions& options) const;
  FitReport fit_of(const Selection& selection, const RunOptions& options) const;
  std::shared_ptr<const Artifact> get(std::size_t i);
  std::shared_ptr<const Artifact> compute(std::size_t i);

  const Plan& plan_;
  const Cache& cache_;
  Logger& log_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<bool> cancel_{false};
  int threads_ = 1;
  bool show_progress_ = true;
  bool tty_ = false;
  std::atomic<int> started_{0};
  int to_run_ = 0;
};

}  // namespace wmgeom
