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
//    handled the same way. A wmgeom killed by the signal its shell forwarded
//    (it came before wmgeom's handler was installed: Slurm may warn up to a
//    minute early) counts as stopped too. A job no longer RUNNING at that
//    point was cancelled (a cancel sends TERM as well) and is not requeued;
//  - one log per job task (OUT/slurm/logs/DECL-JOB_TASK.log) and one run
//    folder per instance (OUT/slurm/runs/INSTANCE/: run.json, job.json);
//  - OUT/slurm/submission.json records the jobs, so that `wmgeom status` and
//    `wmgeom cancel` find them, and a waiting run can be resumed.
//  - requests that fit: before anything is submitted, each job's request is
//    checked against its partition (`scontrol show partition` / `show node`:
//    the CPUs and memory of its nodes, MaxCPUsPerNode, MaxMemPerNode,
//    MaxTime, GPUs). A width the result does not depend on shrinks to the
//    largest node (logged); anything else that cannot fit (a hashed training
//    width, memory, a GPU, minutes over MaxTime, a value the profile sets)
//    is refused, every problem at once (InputError: exit 2);
//  - no silent waits: state lines carry Slurm's reason ("PENDING
//    (Resources)"); a job pending for a reason that waiting cannot clear
//    (slurm_reason) for stuck_seconds fails the run (it and its dependents
//    are cancelled, OUT/slurm/runs/INSTANCE/stuck.json says why); a long
//    wait for a reason that can clear is reported every remind_seconds.
// The shared cache is the source of truth for success: an instance is done
// when its key is in the cache; its job's run.json gives the numbers.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
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
  std::vector<std::string> sets;    // SlurmRun::sets: status plans with them (the jobs' keys)

  nlohmann::json to_json() const;
  static Submission from_json(const nlohmann::json& j);  // throws wmgeom::Error
};

// What a partition offers, from `scontrol -o show partition` and `scontrol -o
// show node` (parse_partitions). -1: unlimited.
struct PartitionLimits {
  struct Node {
    std::string name;
    int cpus = 0;          // CPUEfctv (CPUTot on older Slurm)
    long long mem_mb = 0;  // RealMemory
    int gpus = 0;          // gpu entries of Gres
  };
  std::string name;
  bool is_default = false;
  long long max_minutes = -1;       // MaxTime
  long long max_mem_per_node = -1;  // MaxMemPerNode, MB
  int max_cpus_per_node = -1;       // MaxCPUsPerNode
  std::vector<Node> nodes;
};
std::vector<PartitionLimits> parse_partitions(const std::string& show_partition,
                                              const std::string& show_node);
// Slurm's time format ("UNLIMITED", "MM", "MM:SS", "HH:MM:SS", "D-HH", "D-HH:MM",
// "D-HH:MM:SS") in minutes; -1 for unlimited or unreadable.
long long parse_slurm_minutes(const std::string& text);

// A job's memory when the plan's size estimates know it: the largest
// instance's need (artifact + inputs + working memory, graph/fit.h) in MiB,
// rounded up, times kJobMemoryMargin, plus kJobProcessMiB for the process
// itself (wmgeom with LibTorch loaded: 165 MB resident, measured), in
// Slurm's --mem unit (M: MiB). A stage's own request (Stage::resources)
// stands where it is larger.
inline constexpr double kJobMemoryMargin = 1.25;
inline constexpr int kJobProcessMiB = 256;
inline constexpr int kJobMaxMiB = 1 << 30;  // 1 PiB: beyond any node; the fit check refuses it

// One job's request, where each value came from, and what fits.
struct JobRequest {
  std::string decl, type;       // stage declaration and its type
  std::string partition;        // "" = the cluster's default
  std::string partition_where;  // profile position of the partition, "" when not set there
  // The largest request of its instances (an array's tasks share one), its
  // memory raised to what the plan's size estimates say the largest needs,
  // with the profile's values over it.
  Resources res;
  std::map<std::string, std::string>
      from_profile;          // "cpus", "mem_mb", "minutes", "gpus" -> position
  std::string profile_file;  // "" for no profile
  // The largest width a result depends on (Resources::fixed_width) among
  // its instances, 0 where none has one; and the largest `threads` parameter
  // among those (-1: none). res.fixed_width says whether res.cpus is one.
  int fixed_cpus = 0;
  std::int64_t threads_param = -1;
  // What the size estimates ask (MiB, Slurm's --mem unit): the largest
  // instance's artifact + inputs + working memory in MiB, rounded up, times
  // kJobMemoryMargin, plus kJobProcessMiB; -1 where no estimate is known.
  int estimate_mb = -1;
  std::string estimate_why;  // "the plan's estimate for NAME: 38433 MiB (40.3 GB: ...), times ..."
};
struct FitResult {
  Resources res;                    // what to ask for
  std::vector<std::string> notes;   // sized down: one line each
  std::vector<std::string> errors;  // can never fit: one message each
};
// Checks `req` against `part`: shrinks a width the result does not depend
// on, refuses (errors) what can never run there.
FitResult fit_request(const JobRequest& req, const PartitionLimits& part);

// Slurm's reasons for a pending job, by whether waiting can clear them
// (https://slurm.schedmd.com/job_reason_codes.html).
enum class ReasonKind {
  kWaits,      // Priority, Resources, Dependency, BeginTime, holds, nodes down, group limits, ...
  kNever,      // the request or the site's configuration must change
  kUserLimit,  // a per-user / per-account limit: clears when the user's running jobs end, never if
               // none runs
};
struct ReasonInfo {
  ReasonKind kind = ReasonKind::kWaits;
  std::string why;     // what it means ("" for the common waiting reasons)
  std::string change;  // what the user changes (for kNever and kUserLimit)
};
ReasonInfo slurm_reason(const std::string& reason);

// One queued or running job task ("12_3"), as squeue reports it.
struct JobTask {
  std::string instance, id, decl, state, reason, node;
  double submitted = 0;
  std::string line() const;  // "PENDING (Resources)", "RUNNING on node1"
};

class SlurmExecutor final : public PlanExecutor {
 public:
  SlurmExecutor(const Plan& plan, const Cache& cache, Logger& log);
  // The executor of one submission: `run` says where it goes (its
  // output folder holds OUT/slurm/submission.json).
  SlurmExecutor(const Plan& plan, const Cache& cache, Logger& log, SlurmRun run);

  // PlanExecutor (graph/executor.h), for the SlurmRun given above.
  // run: submit (the selection: options' only and from), write the
  // submission with the sets the jobs plan with, then wait for the jobs,
  // or return at once with options.detach (submission() says what went).
  RunSummary run(const RunOptions& options) override;
  // status: the submission in the output folder, now (pending() lists the
  // tasks still queued or running). Throws InputError if there is none.
  RunSummary status(const RunOptions& options) override;
  // artifact: from the shared cache (computed here if missing).
  std::shared_ptr<const Artifact> artifact(std::size_t instance, int threads) override;
  const Submission& submission() const { return submission_; }
  // The submission the caller already read (wmgeom status reads it first, for
  // its sets): status() then reports on it without reading the file again.
  void use_submission(Submission sub) {
    submission_ = std::move(sub);
    have_submission_ = true;
  }
  const std::vector<JobTask>& pending() const { return pending_; }

  // The per-type --set lines of the profile, as `wmgeom run --set` takes them
  // ("stage.NAME.PARAM=VALUE" for every declaration of the type). The CLI
  // plans with them, so that the keys are the jobs'.
  static std::vector<std::string> profile_sets(const PipelineSpec& spec,
                                               const ClusterProfile& profile);

  // Submits every needed cache miss; writes OUT/slurm/submission.json (with
  // run.sets, so that status plans the same keys). Throws wmgeom::Error
  // when sbatch refuses (its message included).
  Submission submit(const SlurmRun& run);
  // Where each instance stands now (no waiting): the run's summary with
  // statuses hit / miss (done) / failed / cancelled, and `pending` listing
  // the tasks still queued or running, with Slurm's state and reason.
  RunSummary status(const Submission& sub, const SlurmRun& run,
                    std::vector<JobTask>* pending = nullptr);
  // Polls until every job has left the queue, logging each change of state
  // (with Slurm's reason), a reminder of long waits every remind_seconds, and
  // failing a job stuck for stuck_seconds on a reason that cannot clear.
  RunSummary wait(const Submission& sub, const SlurmRun& run);
  // What submit() would ask for, submitting nothing (`wmgeom run
  // --executor slurm --dry-run`): one job per declaration with misses in
  // the selection, in submission order, its instances (an array's tasks)
  // and the options that size it (request_options), fitted to the
  // partitions as submit() fits them: fit_requests, so a request that can
  // never run throws InputError here too. Misses that a job of an earlier
  // submission from the same output folder still holds (queued or
  // running) are not submitted again: `waiting` receives those jobs (their
  // request: "job ID").
  struct PlannedJob {
    std::string decl, type;
    std::vector<std::string> instances;
    std::vector<std::string> request;  // --cpus-per-task=... --mem=... --time=... [--array=...]
  };
  std::vector<PlannedJob> plan_jobs(const SlurmRun& run,
                                    std::vector<PlannedJob>* waiting = nullptr);
  // Each job's request for the instances `misses` (by declaration), checked
  // against its partition (`res` fitted: a width sized down); throws
  // InputError naming every request that can never run. Reads the cluster's
  // partitions (no partition read: unchecked, with a warning).
  std::map<std::size_t, JobRequest> fit_requests(
      const SlurmRun& run, const std::vector<std::vector<std::size_t>>& misses);
  // scancel every job of the submission; returns how many were asked.
  static int cancel(const Submission& sub);

  static std::filesystem::path submission_file(const std::filesystem::path& out_dir) {
    return out_dir / "slurm" / "submission.json";
  }

 private:
  // The instances that jobs of the earlier submission in run.out_dir still
  // hold (queued or running), with their job.
  static std::map<std::string, Submission::Job> still_active(const SlurmRun& run);
  // What submit() and plan_jobs() start from: the selection's misses (a
  // local dry run: the same keys), by declaration, less those an earlier
  // job still holds (still_active); those jobs, in the order their first
  // such miss comes in the plan, each with the misses it holds; and what is
  // cached.
  struct Misses {
    std::vector<std::vector<std::size_t>> fresh;  // by declaration: to submit
    struct Kept {
      Submission::Job job;
      std::vector<std::size_t> holds;  // the plan's misses it holds
    };
    std::vector<Kept> kept;
    std::vector<std::string> cached;
  };
  Misses misses_of(const SlurmRun& run);
  const Plan& plan_;
  const Cache& cache_;
  Logger& log_;
  SlurmRun run_;
  Submission submission_;
  bool have_submission_ = false;  // use_submission() was called
  std::vector<JobTask> pending_;
  std::unique_ptr<Executor> local_;  // artifact(): loads from the shared cache
};

// The sbatch options that size a job of `tasks` instances: CPUs, memory,
// time, its array (0-(tasks-1), capped at max_running where that is below
// its size; none for one instance), GPUs and partition where set.
std::vector<std::string> request_options(const Resources& res, const std::string& partition,
                                         int max_running, std::size_t tasks);

// Runs a command (argv[0] looked up in PATH); returns its exit status and
// standard output. Standard error goes to `err` when given.
struct CommandResult {
  int status = -1;
  std::string out, err;
};
CommandResult run_command(const std::vector<std::string>& argv);

// POSIX shell quoting ('...').
std::string shell_quote(const std::string& s);

// The job script's template (src/cluster/job.sh, compiled into the binary
// as the schemas are): bash with @NAME@ placeholders.
std::string_view job_script_template();
// `text` with every @NAME@ (NAME: capital letters, digits, _) replaced by
// values[NAME], in one pass (an inserted value is never scanned again).
// Throws wmgeom::Error naming `what` for a placeholder without a value or a
// value no placeholder uses: the template and its caller disagree.
std::string fill_template(std::string_view text, const std::map<std::string, std::string>& values,
                          const std::string& what);

}  // namespace wmgeom
