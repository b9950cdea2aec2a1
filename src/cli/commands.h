// Internal to src/cli: what the command files share (cli.cpp: run, validate,
// stages, export, cache; cluster.cpp: run --executor slurm, status, cancel).
#pragma once

#include <atomic>
#include <csignal>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/embed.h"
#include "core/log.h"
#include "core/run_summary.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "graph/registry.h"

namespace wmgeom::cli {

struct Common {
  std::string cache_dir;
  int threads = 0;
  bool verbose = false;
  bool quiet = false;
};

// Where a run's instances are computed: in this process, or as Slurm jobs
// (cluster/slurm.h). Both start from the one plan the command makes.
enum class ExecutorKind { kLocal, kSlurm };

struct RunArgs {
  std::string pipeline = "embedded:quickstart";
  std::vector<std::string> sets, only, from;
  bool dry_run = false;
  std::string out_dir;
  std::string json_file;
  bool no_progress = false;
  ExecutorKind executor = ExecutorKind::kLocal;  // --executor local | slurm
  std::string profile;                           // cluster profile file (slurm)
  bool detach = false;                           // slurm: submit and exit
  std::string expect_key;  // a cluster job: the --only instance must plan to this key
  // Set by run_embedded (cli/embed.h): the embedder's stop flag, log sink
  // and result slots, used instead of signal handlers, the terminal and text.
  const EmbeddedRun* embed = nullptr;

  // The run's output folder: --out, or wmgeom-out/<pipeline name>.
  std::string out_dir_for(const std::string& pipeline_name) const {
    return out_dir.empty() ? "wmgeom-out/" + pipeline_name : out_dir;
  }
};

// Plans a pipeline; prints diagnostics and returns nullopt on invalid input.
// With `keep`, the diagnostics are also copied there.
std::optional<Plan> plan_or_report(const std::string& file, const std::vector<std::string>& sets,
                                   const StageRegistry& registry, std::ostream& err,
                                   Diagnostics* keep = nullptr);
// The pipeline file parsed and checked against the schemas, not planned
// (no stage validated, no file hashed, no key): what a command needs before
// it can plan (the pipeline's name for its output folder, its declarations
// for a cluster profile's per-type overrides). Prints diagnostics and
// returns nullopt on invalid input.
std::optional<PipelineSpec> spec_or_report(const std::string& file,
                                           const std::vector<std::string>& sets,
                                           const StageRegistry& registry, std::ostream& err);
void print_table(const RunSummary& report, std::ostream& out);
// "" unless the output folder and the cache are one inside the other (a
// cache gc or an output cleanup would then delete the other's files).
std::string nested_folders(const std::string& out_dir, const std::string& cache_dir);
// run.json, the after-run hooks, the table, the exit code and the failure.
int finish_run(const Plan& plan, PlanExecutor& exec, const RunSummary& r,
               const std::string& out_dir, const RunArgs& a, const Common& c, Logger& log,
               bool profile, std::ostream& out, std::ostream& err);
Logger::Level log_level(const Common& c);
// A dry run's table (what is cached, each instance's estimate) and the
// plan-time fit check (warnings, errors); `r` receives the dry run. 2 when
// something cannot fit, where the instances run `here` (a local run); for
// a cluster's jobs the check's findings about this machine are notes only.
int print_dry_run(const Plan& plan, Executor& exec, const RunOptions& opt, RunReport& r,
                  std::ostream& out, std::ostream& err, bool here = true);

// cluster.cpp
int do_run_slurm(const RunArgs& a, const Common& c, const StageRegistry& registry,
                 std::ostream& out, std::ostream& err, bool profile);
// --executor slurm --dry-run: the plan with the profile's overrides (the
// keys and estimates the jobs will have), then the jobs that would be
// submitted with the options that size them, fitted to the partitions
// when scontrol can read them; nothing is submitted or written.
int do_dry_run_slurm(const RunArgs& a, const Common& c, const StageRegistry& registry,
                     std::ostream& out, std::ostream& err);
int do_status(const RunArgs& a, const Common& c, const StageRegistry& registry, std::ostream& out,
              std::ostream& err);
int do_cancel(const RunArgs& a, const Common& c, const StageRegistry& registry, std::ostream& out,
              std::ostream& err);

// SIGUSR1, SIGTERM and SIGINT (Ctrl-C) set `flag` while this object lives
// (the run stops, saving checkpoints, and exits kExitStopped with a message:
// RunOptions::stop); a second SIGINT kills at once. The previous handlers
// come back after.
class StopOnSignals {
 public:
  explicit StopOnSignals(std::atomic<bool>& flag);
  ~StopOnSignals();
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

 private:
  struct sigaction old_usr1_ {
  }, old_term_{}, old_int_{};
};

}  // namespace wmgeom::cli
