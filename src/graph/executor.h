// The executor: runs a Plan as one oneTBB flow graph. Each instance that must
// be computed is a continue_node; cache hits are loaded lazily, only when a
// computing stage needs them. Independent instances run concurrently inside
// one task_arena of `threads` threads; instances that name the same resource
// (e.g. "cuda:0") take a token and never overlap. The first failure sets a
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
#include "graph/plan.h"

namespace wmgeom {

struct RunOptions {
  int threads = 0;                // 0: every core
  std::vector<std::string> only;  // run these (and what they need), nothing else
  std::vector<std::string> from;  // recompute these and everything downstream
  bool progress = true;
  bool tty = false;  // draw progress bars (stderr is a terminal)
};

struct InstanceReport {
  std::string instance;
  std::string type;
  std::string key;
  std::string items_unit;
  // "hit" (cached; loaded only if needed), "miss" (computed now),
  // "skip" (not needed by this run), "failed", "cancelled".
  std::string cache;
  double seconds = 0;          // time spent in this run (computing or loading)
  double compute_seconds = 0;  // wall time of the computation (now, or when cached)
  std::int64_t items = 0;
  std::uint64_t bytes = 0;
  std::string error;
};

struct RunReport {
  std::vector<InstanceReport> instances;  // plan order
  int exit_code = 0;
  std::string failed_stage;
  std::string error;
  double seconds = 0;
};

class Executor {
 public:
  Executor(const Plan& plan, const Cache& cache, Logger& log);
  ~Executor();

  // Statuses without running anything (for --dry-run). Throws InputError for
  // --only/--from names that match no stage.
  RunReport dry_run(const RunOptions& options);
  RunReport run(const RunOptions& options);
  // Loads or computes one instance (and what it needs), e.g. for export.
  std::shared_ptr<const Artifact> materialize(std::size_t instance, int threads = 0);

 private:
  struct Slot;
  struct Selection {
    std::vector<bool> target, requested, forced, run;
  };
  Selection select(const RunOptions& options) const;
  std::shared_ptr<const Artifact> get(std::size_t i);
  std::shared_ptr<const Artifact> compute(std::size_t i);

  const Plan& plan_;
  const Cache& cache_;
  Logger& log_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::map<std::string, std::unique_ptr<std::mutex>> resources_;
  std::atomic<bool> cancel_{false};
  int threads_ = 1;
  bool show_progress_ = true;
  bool tty_ = false;
  std::atomic<int> started_{0};
  int to_run_ = 0;
};

}  // namespace wmgeom
