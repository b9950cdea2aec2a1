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
#include "core/log.h"
#include "core/run_summary.h"
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
  // Slurm: return once the jobs are submitted (`wmgeom status` and
  // `wmgeom cancel` follow them); the local executor ignores it.
  bool detach = false;
};

// Exit code of a run stopped through RunOptions::stop (EX_TEMPFAIL):
// finished instances are cached, checkpoints saved; rerunning resumes.
inline constexpr int kExitStopped = 75;

// The run's record (core/run_summary.h); the executor fills it.
using InstanceReport = InstanceSummary;
using RunReport = RunSummary;

// What the CLI asks of whatever runs a plan (issue 24 item 3): this
// process (Executor, below) or Slurm jobs (SlurmExecutor, cluster/slurm.h).
// The CLI plans once and hands the plan to the one its --executor names
// (cli/commands.h, ExecutorKind); what a run ends with (run.json, the
// after-run hooks, the table) is the same for both.
class PlanExecutor {
 public:
  virtual ~PlanExecutor() = default;
  // Where each instance stands, nothing started: a local dry run (cache
  // hit or miss); a submitted Slurm run's jobs (queued, running, done,
  // failed: the shared cache says what succeeded).
  virtual RunSummary status(const RunOptions& options) = 0;
  // Computes what `options` selects: here, or as Slurm jobs waited for
  // (submitted only, with options.detach). Throws InputError before
  // anything starts when a selection names nothing or a request can never
  // fit.
  virtual RunSummary run(const RunOptions& options) = 0;
  // An instance's artifact for the after-run hooks: from the (shared) cache,
  // computed here if it is missing.
  virtual std::shared_ptr<const Artifact> artifact(std::size_t instance, int threads) = 0;
};

class Executor final : public PlanExecutor {
 public:
  Executor(const Plan& plan, const Cache& cache, Logger& log);
  ~Executor() override;

  // Statuses without running or changing anything (for --dry-run): a damaged
  // entry is reported (log) and counted a miss, not removed. Throws InputError for
  // --only/--from names that match no stage.
  RunReport dry_run(const RunOptions& options);
  RunSummary status(const RunOptions& options) override { return dry_run(options); }
  // Whether what the run would compute fits the free memory and disk
  // (graph/fit.h). run() calls it first and throws InputError (exit 2)
  // listing every instance that cannot fit; warnings go to the log.
  FitReport fit(const RunOptions& options) const;
  RunReport run(const RunOptions& options) override;
  // Loads or computes one instance (and what it needs), e.g. for export.
  std::shared_ptr<const Artifact> materialize(std::size_t instance, int threads = 0);
  std::shared_ptr<const Artifact> artifact(std::size_t instance, int threads) override {
    return materialize(instance, threads);
  }

 private:
  RunSummary blank_summary() const;  // the pipeline's fields, no instances yet
  struct Slot;
  struct Selection {
    std::vector<bool> target, requested, forced, run;
  };
  // repair: remove the damaged entries found (a run); false: only report
  // them (dry runs and fit checks change nothing on disk).
  Selection select(const RunOptions& options, bool repair) const;
  FitReport fit_of(const Selection& selection, const RunOptions& options) const;
  std::shared_ptr<const Artifact> get(std::size_t i);
  std::shared_ptr<const Artifact> compute(std::size_t i);
  // Throws InputError naming the parameter when a file an instance's key
  // hashed has changed since the plan: before it runs (ran = false) or
  // after, before its result is stored (ran = true).
  void require_planned_content(std::size_t i, bool ran) const;

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
