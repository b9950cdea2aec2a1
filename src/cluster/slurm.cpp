#include "cluster/slurm.h"
#include "cluster/slurm_detail.h"

#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "core/embedded.h"
#include "core/error.h"
#include "core/format.h"

extern char** environ;

namespace wmgeom {

namespace fs = std::filesystem;

namespace slurm_detail {

double now_epoch() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::optional<nlohmann::json> read_json(const fs::path& p) {
  std::ifstream f(p);
  if (!f) return std::nullopt;
  try {
    return nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // being written
  }
}

// Active jobs: "12_3" or "12" -> state ("PENDING", "RUNNING", ...), and node.
std::map<std::string, Active> active_jobs(const std::vector<std::string>& ids) {
  std::map<std::string, Active> out;
  if (ids.empty()) return out;
  std::string list;
  for (const auto& id : ids) list += (list.empty() ? "" : ",") + id;
  // -r: one line per array task (a pending array is otherwise "12_[0-3]").
  const CommandResult r = run_command({"squeue", "-h", "-r", "-o", "%i|%T|%N|%r", "-j", list});
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    const auto a = line.find('|'), b = line.find('|', a + 1), c = line.find('|', b + 1);
    if (a == std::string::npos || b == std::string::npos || c == std::string::npos) continue;
    out[line.substr(0, a)] = {line.substr(a + 1, b - a - 1), line.substr(b + 1, c - b - 1),
                              line.substr(c + 1)};
  }
  return out;
}

}  // namespace slurm_detail

using namespace slurm_detail;

namespace {

std::pair<std::string, std::string> job_state(const std::string& id) {
  const CommandResult r = run_command({"scontrol", "-o", "show", "job", id});
  auto field = [&](const std::string& name) -> std::string {
    const auto at = r.out.find(" " + name + "=");
    if (at == std::string::npos) return "";
    const auto start = at + name.size() + 2;
    return r.out.substr(start, r.out.find(' ', start) - start);
  };
  return {field("JobState"), field("Reason")};
}

std::string waited_text(double seconds) {
  const long long s = static_cast<long long>(seconds);
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min";
  return std::to_string(s / 3600) + " h " + std::to_string(s % 3600 / 60) + " min";
}

}  // namespace

ReasonInfo slurm_reason(const std::string& r) {
  // Slurm's job reason codes (https://slurm.schedmd.com/job_reason_codes.html),
  // sorted by whether waiting clears them. Not listed here: the reasons
  // waiting does clear (Priority, Resources, Dependency, BeginTime, JobHeldUser,
  // JobHeldAdmin, NodeDown, PartitionDown, PartitionInactive, ReqNodeNotAvail,
  // Reservation, Licenses, AssocGrp*, QOSGrp*, QOSJobLimit, ...), and any
  // reason this list does not know (a newer Slurm's).
  static const std::map<std::string, std::pair<std::string, std::string>> never = {
      {"PartitionConfig",
       {"the request exceeds what the partition allows (CPUs, memory, nodes, GPUs)",
        "lower the request ([stage.TYPE] cpus, mem_mb, gpus or sbatch in the cluster profile) or "
        "choose another partition ([stage.TYPE] partition)"}},
      {"PartitionTimeLimit",
       {"the time limit exceeds the partition's MaxTime",
        "lower [stage.TYPE] minutes in the cluster profile or choose another partition "
        "([stage.TYPE] partition)"}},
      {"PartitionNodeLimit",
       {"the node count is outside the partition's MinNodes / MaxNodes",
        "check the sbatch flags of the cluster profile ([slurm] sbatch, [stage.TYPE] sbatch) or "
        "choose another partition"}},
      {"BadConstraints",
       {"no node satisfies the job's constraints (features, GRES, or its CPUs and memory together)",
        "check the sbatch flags of the cluster profile (--constraint, --gres) and [stage.TYPE] "
        "cpus, mem_mb, gpus"}},
      {"AccountNotAllowed",
       {"the job's account may not use the partition",
        "change [slurm] account or the partition in the cluster profile"}},
      {"InvalidAccount",
       {"the job's account is invalid",
        "set [slurm] account in the cluster profile to an account of yours (sacctmgr show assoc "
        "user=$USER)"}},
      {"InvalidQOS",
       {"the job's QOS is invalid",
        "set [slurm] qos in the cluster profile to a QOS of yours (sacctmgr show assoc user=$USER "
        "format=qos)"}},
      {"QOSNotAllowed",
       {"the job's QOS may not use the partition",
        "change [slurm] qos or the partition in the cluster profile"}},
      {"DependencyNeverSatisfied",
       {"a job it depends on failed", "fix the failed stage (see its log) and run again"}},
      {"MaxMemPerLimit",
       {"the job's memory per CPU or node exceeds a limit",
        "lower [stage.TYPE] mem_mb or raise cpus in the cluster profile"}},
  };
  ReasonInfo info;
  if (auto it = never.find(r); it != never.end()) {
    info.kind = ReasonKind::kNever;
    info.why = it->second.first;
    info.change = it->second.second;
    return info;
  }
  auto has = [&](const char* part) { return r.find(part) != std::string::npos; };
  // A per-job limit of an association or QOS (QOSMaxCpuPerJobLimit,
  // AssocMaxWallDurationPerJobLimit, QOSMaxGRESPerJob, ...) or a QOS minimum
  // (QOSMinCpuNotSatisfied, QOSMinGRES, ...): this job alone breaks it.
  if ((r.rfind("QOSMax", 0) == 0 || r.rfind("AssocMax", 0) == 0) && has("PerJob")) {
    info.kind = ReasonKind::kNever;
    info.why = "the request exceeds a per-job limit of the job's " +
               std::string(r.rfind("QOS", 0) == 0 ? "QOS" : "association");
    info.change =
        "lower the request ([stage.TYPE] cpus, mem_mb, minutes, gpus in the cluster profile) or "
        "use another qos / account ([slurm] qos, account)";
    return info;
  }
  if (r.rfind("QOSMin", 0) == 0) {
    info.kind = ReasonKind::kNever;
    info.why = "the request is below a minimum of the job's QOS";
    info.change =
        "raise the request ([stage.TYPE] cpus, mem_mb, gpus in the cluster profile) or use another "
        "qos ([slurm] qos)";
    return info;
  }
  // A per-user or per-account limit (QOSMaxCpuPerUserLimit,
  // QOSMaxJobsPerUserLimit, MaxCpuPerAccount, ...): the user's other running
  // jobs count toward it, so it clears when they end, and never when none runs.
  if ((r.rfind("QOSMax", 0) == 0 || r.rfind("Max", 0) == 0 || r.rfind("AssocMax", 0) == 0) &&
      (has("PerUser") || has("PerAccount"))) {
    info.kind = ReasonKind::kUserLimit;
    info.why =
        "the request exceeds a per-user or per-account limit of the QOS, and none of your jobs "
        "runs whose end would clear it";
    info.change =
        "lower the request ([stage.TYPE] cpus, mem_mb, gpus in the cluster profile) or use another "
        "qos ([slurm] qos)";
    return info;
  }
  return info;
}

std::string JobTask::line() const {
  std::string out = state;
  if (!reason.empty() && reason != "None") {
    out += " (" + reason + ")";
    if (state == "PENDING" && slurm_reason(reason).kind == ReasonKind::kNever)
      out += ", which waiting cannot clear";
  }
  if (!node.empty() && state != "PENDING") out += " on " + node;
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

CommandResult run_command(const std::vector<std::string>& argv) {
  CommandResult r;
  int out_pipe[2], err_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0)
    throw Error("cannot create a pipe for " + argv.at(0));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&fa, out_pipe[0]);
  posix_spawn_file_actions_addclose(&fa, err_pipe[0]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    r.err = argv[0] + ": cannot run it (" + std::strerror(rc) + ")";
    return r;
  }
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open = 2;
  char buf[4096];
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t got = ::read(fds[k].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[k]->append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(fds[k].fd);
        fds[k].fd = -1;
        --open;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// ---- Submission ----

nlohmann::json Submission::to_json() const {
  nlohmann::json js = nlohmann::json::array();
  for (const auto& j : jobs) {
    js.push_back({{"id", j.id},
                  {"decl", j.decl},
                  {"instances", j.instances},
                  {"array", j.array},
                  {"submitted", j.submitted}});
  }
  return {{"pipeline", pipeline}, {"jobs", js}, {"cached", cached}, {"sets", sets}};
}

Submission Submission::from_json(const nlohmann::json& j) {
  try {
    Submission s;
    s.pipeline = j.at("pipeline").get<std::string>();
    s.cached = j.at("cached").get<std::vector<std::string>>();
    s.sets = j.value("sets", std::vector<std::string>{});
    for (const auto& job : j.at("jobs")) {
      s.jobs.push_back({job.at("id").get<std::string>(), job.at("decl").get<std::string>(),
                        job.at("instances").get<std::vector<std::string>>(),
                        job.at("array").get<bool>(), job.at("submitted").get<double>()});
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("slurm submission record: ") + e.what());
  }
}

// ---- SlurmExecutor ----

SlurmExecutor::SlurmExecutor(const Plan& plan, const Cache& cache, Logger& log)
    : plan_(plan), cache_(cache), log_(log) {}

SlurmExecutor::SlurmExecutor(const Plan& plan, const Cache& cache, Logger& log, SlurmRun run)
    : plan_(plan), cache_(cache), log_(log), run_(std::move(run)) {}

RunSummary SlurmExecutor::run(const RunOptions& options) {
  run_.selection.only = options.only;
  run_.selection.from = options.from;
  submission_ = submit(run_);
  std::size_t tasks = 0;
  for (const auto& j : submission_.jobs) tasks += j.instances.size();
  log_.file_only("submitted " + std::to_string(submission_.jobs.size()) + " job(s), " +
                 std::to_string(tasks) + " instance(s); " +
                 std::to_string(submission_.cached.size()) + " cached");
  if (options.detach) return status(submission_, run_, &pending_);
  return wait(submission_, run_);
}

RunSummary SlurmExecutor::status(const RunOptions&) {
  pending_.clear();
  if (have_submission_) return status(submission_, run_, &pending_);
  const fs::path file = submission_file(run_.out_dir);
  const auto j = read_json(file);
  if (!j) {
    throw InputError("no Slurm submission in " + run_.out_dir.string() + " (" +
                     file.filename().string() +
                     "); submit with wmgeom run P.toml --executor slurm");
  }
  try {
    submission_ = Submission::from_json(*j);
  } catch (const Error& e) {
    throw InputError(file.string() + ": " + e.what());
  }
  return status(submission_, run_, &pending_);
}

std::shared_ptr<const Artifact> SlurmExecutor::artifact(std::size_t instance, int threads) {
  if (!local_) local_ = std::make_unique<Executor>(plan_, cache_, log_);
  return local_->materialize(instance, threads);
}

std::vector<std::string> SlurmExecutor::profile_sets(const PipelineSpec& spec,
                                                     const ClusterProfile& profile) {
  std::vector<std::string> sets;
  for (const auto& decl : spec.stages) {
    auto it = profile.stages.find(decl.type);
    if (it == profile.stages.end()) continue;
    for (const auto& s : it->second.set) sets.push_back("stage." + decl.name + "." + s);
  }
  return sets;
}

RunSummary SlurmExecutor::status(const Submission& sub, const SlurmRun& run,
                                 std::vector<JobTask>* pending) {
  std::vector<std::string> ids;
  for (const auto& j : sub.jobs) ids.push_back(j.id);
  const auto active = active_jobs(ids);
  std::map<std::string, std::pair<const Submission::Job*, std::size_t>> job_of;
  for (const auto& j : sub.jobs) {
    for (std::size_t t = 0; t < j.instances.size(); ++t) job_of[j.instances[t]] = {&j, t};
  }
  const std::set<std::string> cached(sub.cached.begin(), sub.cached.end());
  RunSummary summary;
  summary.pipeline = plan_.spec.name;
  summary.file = plan_.spec.file;
  summary.overrides = plan_.spec.overrides;
  std::set<std::string> stuck;  // failed because their jobs could never start: exit 2
  double first_submit = 0;
  for (const auto& j : sub.jobs)
    first_submit = first_submit == 0 ? j.submitted : std::min(first_submit, j.submitted);
  for (const auto& inst : plan_.instances) {
    InstanceSummary s;
    s.instance = inst.name;
    s.type = inst.entry->schema.type;
    s.key = inst.key;
    s.items_unit = inst.entry->schema.items;
    s.versions = inst.extras;
    auto it = job_of.find(inst.name);
    if (it == job_of.end()) {
      if (cached.count(inst.name)) {
        s.cache = CacheStatus::kHit;
        if (auto info = cache_.info(inst.key)) {
          record_entry(s, *info);
        }
      }
      summary.instances.push_back(s);
      continue;
    }
    const Submission::Job& job = *it->second.first;
    const std::size_t task = it->second.second;
    s.job.id = job.array ? job.id + "_" + std::to_string(task) : job.id;
    s.job.log = (run.out_dir / "slurm" / "logs" /
                 (instance_folder_name(job.decl) + "-" + (job.array ? s.job.id : job.id) + ".log"))
                    .string();
    const fs::path dir = run.out_dir / "slurm" / "runs" / instance_folder_name(inst.name);
    if (auto jj = read_json(dir / "job.json")) {
      s.job.node = jj->value("node", "");
      s.job.requeues = jj->value("restarts", 0);
      s.job.queue_seconds = std::max(0.0, jj->value("start", job.submitted) - job.submitted);
    }
    auto act = active.find(s.job.id);
    if (act == active.end() && !job.array) act = active.find(job.id);
    if (act != active.end()) {
      if (pending) {
        pending->push_back({inst.name, s.job.id, job.decl, act->second.state, act->second.reason,
                            act->second.node, job.submitted});
      }
      // Slurm holds a requeued job for about two minutes (reason BeginTime);
      // a task that has run before was requeued by wmgeom: release it now.
      if (act->second.state == "PENDING" && act->second.reason == "BeginTime" &&
          fs::exists(dir / "job.json")) {
        run_command({"scontrol", "update", "JobId=" + s.job.id, "StartTime=now"});
      }
      if (s.job.node.empty()) s.job.node = act->second.node;
      s.cache = CacheStatus::kSkip;  // not finished
      summary.instances.push_back(s);
      continue;
    }
    const auto rj = read_json(dir / "run.json");
    if (cache_.contains(inst.key)) {
      s.cache = CacheStatus::kMiss;  // computed by its job
      if (auto info = cache_.info(inst.key)) {
        record_entry(s, *info);
      }
      if (rj) {
        for (const auto& st : rj->value("stages", nlohmann::json::array())) {
          if (st.value("stage", "") == inst.name) s.seconds = st.value("seconds", 0.0);
        }
      }
      summary.instances.push_back(s);
      continue;
    }
    // Not cached and no longer queued: failed, or cancelled with a failed dependency.
    const auto [state, reason] = job_state(s.job.id);
    if (auto st = read_json(dir / "stuck.json")) {
      s.cache = CacheStatus::kFailed;
      s.error = st->value("error", "could not start");
      stuck.insert(inst.name);
    } else if (auto rq = read_json(dir / "requeue.json")) {
      s.cache = CacheStatus::kFailed;
      s.error = rq->value("error", "requeued too often");
    } else if (rj && rj->value("exit_code", 0) != 0) {
      s.cache = CacheStatus::kFailed;
      s.error = rj->value("error", "failed");
    } else if (state == "CANCELLED" || reason == "DependencyNeverSatisfied" ||
               !fs::exists(dir / "job.json")) {
      s.cache = CacheStatus::kCancelled;
      s.error = "job " + s.job.id + (state.empty() ? " never ran" : " " + state) +
                (reason.empty() || reason == "None" ? "" : " (" + reason + ")");
    } else {
      s.cache = CacheStatus::kFailed;
      s.error = "job " + s.job.id + " ended " + (state.empty() ? "without a result" : state) +
                "; see its log";
    }
    summary.instances.push_back(s);
  }
  for (const auto& s : summary.instances) {
    if (s.cache == CacheStatus::kFailed && summary.failed_stage.empty()) {
      summary.failed_stage = s.instance;
      summary.error = stuck.count(s.instance)
                          ? s.error
                          : s.error + " (job " + s.job.id + ", log " + s.job.log + ")";
      summary.exit_code = stuck.count(s.instance) ? 2 : 1;
    }
  }
  if (summary.failed_stage.empty()) {
    for (const auto& s : summary.instances) {
      if (s.cache == CacheStatus::kCancelled && summary.failed_stage.empty()) {
        summary.failed_stage = s.instance;
        summary.error = s.error + " (log " + s.job.log + ")";
        summary.exit_code = 1;
      }
    }
  }
  summary.seconds = std::max(0.0, (first_submit > 0 ? now_epoch() - first_submit : 0.0));
  return summary;
}

namespace {

// Whether the submitting user has a job running anywhere on the cluster (a
// per-user limit clears when it ends).
bool user_has_running_jobs() {
  const CommandResult r =
      run_command({"squeue", "--me", "-h", "-t", "RUNNING,COMPLETING,CONFIGURING", "-o", "%i"});
  return r.status != 0 ||
         r.out.find_first_not_of(" \n") != std::string::npos;  // unknown: assume it may clear
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

}  // namespace

RunSummary SlurmExecutor::wait(const Submission& sub, const SlurmRun& run) {
  using Clock = std::chrono::steady_clock;
  std::map<std::string, std::string> last;
  std::map<std::string, Clock::time_point>
      hopeless_since;  // task id -> first seen pending for a reason that cannot clear
  std::set<std::string> given_up;
  const auto t0 = Clock::now();
  auto last_reminder = t0;
  // Declarations downstream of each declaration (their jobs wait on its job).
  const std::size_t n = plan_.spec.stages.size();
  std::vector<std::set<std::size_t>> downs(n);
  for (const auto& inst : plan_.instances) {
    for (const auto& e : inst.inputs) downs[plan_.instances[e.upstream].decl].insert(inst.decl);
  }
  std::map<std::string, std::size_t> decl_index;
  for (std::size_t d = 0; d < n; ++d) decl_index[plan_.spec.stages[d].name] = d;
  auto dependent_jobs = [&](const std::string& decl) {
    std::set<std::size_t> seen;
    std::vector<std::size_t> todo = {decl_index.at(decl)};
    while (!todo.empty()) {
      const std::size_t d = todo.back();
      todo.pop_back();
      for (std::size_t x : downs[d]) {
        if (seen.insert(x).second) todo.push_back(x);
      }
    }
    std::vector<std::string> ids;
    for (const auto& j : sub.jobs) {
      auto it = decl_index.find(j.decl);
      if (it != decl_index.end() && seen.count(it->second)) ids.push_back(j.id);
    }
    return ids;
  };
  // A job that cannot start: say why; it and what depends on it are cancelled
  // (`cancel`, one scancel per poll).
  std::set<std::string> cancelled;
  std::vector<std::string> to_cancel;
  auto give_up = [&](const JobTask& task, const ReasonInfo& info, double waited) {
    const std::string type = plan_.spec.stages[decl_index.at(task.decl)].type;
    const std::vector<std::string> deps = dependent_jobs(task.decl);
    const std::string msg =
        "job " + task.id + " could not start: PENDING (" + task.reason + ") for " +
        waited_text(waited) + ": " + info.why + ", which waiting cannot clear. To change, in " +
        (run.profile.file.empty() ? "a cluster profile (--profile FILE)" : run.profile.file) +
        ": " + replace_all(info.change, "TYPE", type) + ". Cancelled it" +
        (deps.empty() ? ""
                      : " and the " + std::to_string(deps.size()) + " job(s) that depend on it");
    const fs::path dir = run.out_dir / "slurm" / "runs" / instance_folder_name(task.instance);
    fs::create_directories(dir);
    std::ofstream(dir / "stuck.json")
        << nlohmann::json{{"error", msg}, {"reason", task.reason}, {"job", task.id}}.dump() << "\n";
    log_.warn("[slurm] " + task.instance + " (job " + task.id + "): PENDING (" + task.reason +
              ") for " + waited_text(waited) + ", which waiting cannot clear: cancelling it" +
              (deps.empty()
                   ? ""
                   : " and the " + std::to_string(deps.size()) + " job(s) that depend on it"));
    given_up.insert(task.id);
    for (const auto& id : deps) {
      if (cancelled.insert(id).second) to_cancel.push_back(id);
    }
    to_cancel.push_back(task.id);
  };
  auto cancel = [&]() {
    if (to_cancel.empty()) return;
    std::vector<std::string> argv = {"scancel"};
    argv.insert(argv.end(), to_cancel.begin(), to_cancel.end());
    const CommandResult r = run_command(argv);
    if (r.status != 0 && r.err.find("already") == std::string::npos) {
      log_.warn("scancel failed (exit " + std::to_string(r.status) + "): " + r.err);
    }
    to_cancel.clear();
  };
  for (;;) {
    std::vector<JobTask> pending;
    RunSummary s = status(sub, run, &pending);
    std::map<std::string, std::string> now;
    for (const auto& p : pending) now[p.instance] = p.line();
    for (const auto& i : s.instances) {
      if (i.job.id.empty()) continue;
      std::string state = now.count(i.instance) ? now[i.instance] : to_string(i.cache);
      if (state == "miss") state = "done";
      if (last[i.instance] != state) {
        log_.info("[slurm] " + i.instance + " (job " + i.job.id + "): " + state +
                  (i.cache == CacheStatus::kFailed || i.cache == CacheStatus::kCancelled
                       ? ": " + i.error
                       : ""));
        last[i.instance] = state;
      }
    }
    if (pending.empty()) {
      s.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      return s;
    }
    // Jobs held for a reason that waiting cannot clear fail after stuck_seconds.
    const auto t = Clock::now();
    std::optional<bool> user_running;
    for (const auto& task : pending) {
      if (task.state != "PENDING" || given_up.count(task.id)) {
        hopeless_since.erase(task.id);
        continue;
      }
      const ReasonInfo info = slurm_reason(task.reason);
      bool hopeless = info.kind == ReasonKind::kNever;
      if (info.kind == ReasonKind::kUserLimit) {
        if (!user_running) user_running = user_has_running_jobs();
        hopeless = !*user_running;
      }
      if (!hopeless) {
        hopeless_since.erase(task.id);
        continue;
      }
      const auto since = hopeless_since.emplace(task.id, t).first->second;
      const double held = std::chrono::duration<double>(t - since).count();
      if (held >= run.profile.stuck_seconds) give_up(task, info, held);
    }
    cancel();
    // A long wait for reasons that can clear: which, why, and for how long.
    if (std::chrono::duration<double>(t - last_reminder).count() >= run.profile.remind_seconds) {
      last_reminder = t;
      std::map<std::string, std::map<std::string, int>> by_job;  // job -> state line -> tasks
      std::map<std::string, const JobTask*> first_of;
      for (const auto& task : pending) {
        const std::string job = task.id.substr(0, task.id.find('_'));
        by_job[job][task.line()] += 1;
        first_of.emplace(job, &task);
      }
      for (const auto& [job, lines] : by_job) {
        bool waiting = false;
        std::string text;
        for (const auto& [line, count] : lines) {
          waiting = waiting || line.rfind("PENDING", 0) == 0;
          text += (text.empty() ? "" : ", ") +
                  (count > 1 || first_of[job]->id != job ? std::to_string(count) + " " : "") + line;
        }
        if (!waiting) continue;
        log_.info("[slurm] still waiting after " +
                  waited_text(now_epoch() - first_of[job]->submitted) + ": " + first_of[job]->decl +
                  " (job " + job + "): " + text);
      }
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(run.profile.poll_seconds));
  }
}

int SlurmExecutor::cancel(const Submission& sub) {
  std::vector<std::string> argv = {"scancel"};
  for (const auto& j : sub.jobs) argv.push_back(j.id);
  if (argv.size() == 1) return 0;
  const CommandResult r = run_command(argv);
  if (r.status != 0 && r.err.find("Invalid job id") == std::string::npos) {
    throw Error("scancel failed (exit " + std::to_string(r.status) + "): " + r.err);
  }
  return static_cast<int>(argv.size() - 1);
}

std::string_view job_script_template() {
  const auto text = embedded_file("src/cluster/job.sh");
  if (!text) throw Error("the job script template src/cluster/job.sh is not compiled in");
  return *text;
}

std::string fill_template(std::string_view text, const std::map<std::string, std::string>& values,
                          const std::string& what) {
  std::string out;
  std::set<std::string> used;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t open = text.find('@', at);
    if (open == std::string_view::npos) break;
    std::size_t end = open + 1;
    while (end < text.size() &&
           (std::isupper(static_cast<unsigned char>(text[end])) ||
            std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '_')) {
      ++end;
    }
    if (end == open + 1 || end >= text.size() || text[end] != '@') {  // a lone '@': text
      out.append(text.substr(at, end - at));
      at = end;
      continue;
    }
    const std::string name(text.substr(open + 1, end - open - 1));
    const auto it = values.find(name);
    if (it == values.end()) throw Error(what + ": placeholder @" + name + "@ has no value");
    used.insert(name);
    out.append(text.substr(at, open - at));
    out += it->second;
    at = end + 1;
  }
  out.append(text.substr(std::min(at, text.size())));
  for (const auto& [name, value] : values) {
    if (!used.count(name))
      throw Error(what + ": no placeholder @" + name + "@ for the value given");
  }
  return out;
}

}  // namespace wmgeom
