// The Slurm executor: a plan's cache misses as Slurm jobs. Slurm schedules;
// wmgeom only submits, watches and reads results back from the shared cache.
//
//  - one job per stage declaration with misses: a plain job for one
//    instance, a job array for the members of a sweep (task i runs the i-th
//    missing member); each task runs `wmgeom run P.toml --only INSTANCE`
//    against the same cache with the same overrides, so the keys are the
//    submitter's;
//  - --dependency=afterok on the jobs of every upstream declaration, with
//    --kill-on-invalid-dep=yes: a failure cancels what depends on it;
//  - --signal=B:USR1@warn_seconds and --requeue: the job's shell forwards the
//    signal to wmgeom, which stops its stages (train checkpoints), exits 75,
//    and the shell requeues the job (scontrol requeue) until max_requeues,
//    then fails with a message naming the cap. SIGTERM (preemption) is
//    handled the same way;
//  - one log per job task (OUT/slurm/logs/DECL-JOB_TASK.log) and one run
//    folder per instance (OUT/slurm/runs/INSTANCE/: run.json, job.json);
//  - OUT/slurm/submission.json records the jobs, so that `wmgeom status` and
//    `wmgeom cancel` find them, and a waiting run can be resumed.
// The shared cache is the source of truth for success: an instance is done
// when its key is in the cache; its job's run.json gives the numbers.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cache/cache.h"
#include "config/cluster_profile.h"
#include "core/log.h"
#include "core/run_summary.h"
#include "graph/executor.h"
#include "graph/plan.h"

namespace wmgeom {

struct SlurmRun {
  ClusterProfile profile;
  std::filesystem::path pipeline_file;  // absolute
  std::vector<std::string> sets;        // the run's --set, then the profile's per-type ones
  std::filesystem::path cache_dir;      // absolute, on the shared filesystem
  std::filesystem::path out_dir;        // absolute: the run's output folder
  std::string wmgeom;                   // the executable the jobs run
  RunOptions selection;                 // only / from
};

struct Submission {
  struct Job {
    std::string id;  // Slurm job id (array: the array's id)
    std::string decl;
    std::vector<std::string> instances;  // task i runs instances[i]
    bool array = false;
    double submitted = 0;  // epoch seconds
  };
  std::string pipeline;
  std::vector<Job> jobs;
  std::vector<std::string> cached;  // instances that were cache hits at submission

  nlohmann::json to_json() const;
  static Submission from_json(const nlohmann::json& j);  // throws wmgeom::Error
};

class SlurmExecutor {
 public:
  SlurmExecutor(const Plan& plan, const Cache& cache, Logger& log);

  // The per-type --set lines of the profile, as `wmgeom run --set` takes them
  // ("stage.NAME.PARAM=VALUE" for every declaration of the type). The CLI
  // plans with them, so that the keys are the jobs'.
  static std::vector<std::string> profile_sets(const PipelineSpec& spec, const ClusterProfile& profile);

  // Submits every needed cache miss; writes OUT/slurm/submission.json.
  // Throws wmgeom::Error when sbatch refuses (its message included).
  Submission submit(const SlurmRun& run);
  // Where each instance stands now (no waiting): the run's summary with
  // statuses hit / miss (done) / failed / cancelled, and `pending` listing
  // instances whose jobs are still queued or running ("gru[seed=1]: RUNNING").
  RunSummary status(const Submission& sub, const SlurmRun& run, std::vector<std::string>* pending = nullptr);
  // Polls until every job has left the queue, logging each change of state.
  RunSummary wait(const Submission& sub, const SlurmRun& run);
  // scancel every job of the submission; returns how many were asked.
  static int cancel(const Submission& sub);

  static std::filesystem::path submission_file(const std::filesystem::path& out_dir) {
    return out_dir / "slurm" / "submission.json";
  }

 private:
  const Plan& plan_;
  const Cache& cache_;
  Logger& log_;
};

// Runs a command (argv[0] looked up in PATH); returns its exit status and
// standard output. Standard error goes to `err` when given.
struct CommandResult {
  int status = -1;
  std::string out, err;
};
CommandResult run_command(const std::vector<std::string>& argv);

// POSIX shell quoting ('...').
std::string shell_quote(const std::string& s);

}  // namespace wmgeom
