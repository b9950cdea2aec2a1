#include "cluster/slurm.h"

#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/format.h"

extern char** environ;

namespace wmgeom {

namespace fs = std::filesystem;

namespace {

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

// "HH:MM:00" for sbatch --time, from minutes (at least 1).
std::string slurm_time(int minutes) {
  minutes = std::max(1, minutes);
  return std::to_string(minutes / 60) + ":" + (minutes % 60 < 10 ? "0" : "") + std::to_string(minutes % 60) + ":00";
}

// The declarations in an order where every upstream declaration comes first.
std::vector<std::size_t> decl_order(const Plan& plan) {
  const std::size_t n = plan.spec.stages.size();
  std::vector<std::set<std::size_t>> ups(n);
  for (const auto& inst : plan.instances) {
    for (const auto& e : inst.inputs) ups[inst.decl].insert(plan.instances[e.upstream].decl);
  }
  std::vector<std::size_t> order;
  std::vector<bool> placed(n, false);
  while (order.size() < n) {
    bool progress = false;
    for (std::size_t d = 0; d < n; ++d) {
      if (placed[d]) continue;
      bool ready = true;
      for (auto u : ups[d]) ready = ready && placed[u];
      if (!ready) continue;
      placed[d] = true;
      order.push_back(d);
      progress = true;
    }
    if (!progress) throw Error("slurm: the stage graph has a cycle");  // the planner forbids it
  }
  return order;
}

// Active jobs: "12_3" or "12" -> state ("PENDING", "RUNNING", ...), and node.
struct Active {
  std::string state, node, reason;
};
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
    out[line.substr(0, a)] = {line.substr(a + 1, b - a - 1), line.substr(b + 1, c - b - 1), line.substr(c + 1)};
  }
  return out;
}

// JobState and Reason of a job Slurm still remembers ("" otherwise).
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

}  // namespace

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

CommandResult run_command(const std::vector<std::string>& argv) {
  CommandResult r;
  int out_pipe[2], err_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) throw Error("cannot create a pipe for " + argv.at(0));
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
    js.push_back({{"id", j.id}, {"decl", j.decl}, {"instances", j.instances}, {"array", j.array}, {"submitted", j.submitted}});
  }
  return {{"pipeline", pipeline}, {"jobs", js}, {"cached", cached}};
}

Submission Submission::from_json(const nlohmann::json& j) {
  try {
    Submission s;
    s.pipeline = j.at("pipeline").get<std::string>();
    s.cached = j.at("cached").get<std::vector<std::string>>();
    for (const auto& job : j.at("jobs")) {
      s.jobs.push_back({job.at("id").get<std::string>(), job.at("decl").get<std::string>(),
                        job.at("instances").get<std::vector<std::string>>(), job.at("array").get<bool>(),
                        job.at("submitted").get<double>()});
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("slurm submission record: ") + e.what());
  }
}

// ---- SlurmExecutor ----

SlurmExecutor::SlurmExecutor(const Plan& plan, const Cache& cache, Logger& log) : plan_(plan), cache_(cache), log_(log) {}

std::vector<std::string> SlurmExecutor::profile_sets(const PipelineSpec& spec, const ClusterProfile& profile) {
  std::vector<std::string> sets;
  for (const auto& decl : spec.stages) {
    auto it = profile.stages.find(decl.type);
    if (it == profile.stages.end()) continue;
    for (const auto& s : it->second.set) sets.push_back("stage." + decl.name + "." + s);
  }
  return sets;
}

Submission SlurmExecutor::submit(const SlurmRun& run) {
  // What a local run would compute: the same selection, the same keys.
  Executor local(plan_, cache_, log_);
  const RunSummary planned = local.dry_run(run.selection);
  Submission sub;
  sub.pipeline = plan_.spec.name;
  std::vector<std::vector<std::size_t>> misses(plan_.spec.stages.size());
  for (std::size_t i = 0; i < plan_.instances.size(); ++i) {
    if (planned.instances[i].cache == CacheStatus::kMiss) misses[plan_.instances[i].decl].push_back(i);
    if (planned.instances[i].cache == CacheStatus::kHit) sub.cached.push_back(plan_.instances[i].name);
  }
  const fs::path slurm_dir = run.out_dir / "slurm";
  // Jobs of an earlier submission from this folder that are still queued or
  // running keep their instances: the same command run again waits for them
  // instead of submitting twice.
  std::map<std::string, const Submission::Job*> running;
  std::optional<Submission> earlier;
  if (auto j = read_json(submission_file(run.out_dir))) {
    try {
      earlier = Submission::from_json(*j);
    } catch (const Error&) {
    }
  }
  if (earlier) {
    std::vector<std::string> ids;
    for (const auto& job : earlier->jobs) ids.push_back(job.id);
    const auto active = active_jobs(ids);
    for (const auto& job : earlier->jobs) {
      for (std::size_t t = 0; t < job.instances.size(); ++t) {
        const std::string id = job.array ? job.id + "_" + std::to_string(t) : job.id;
        if (active.count(id)) running[job.instances[t]] = &job;
      }
    }
  }
  fs::create_directories(slurm_dir / "jobs");
  fs::create_directories(slurm_dir / "logs");
  fs::create_directories(slurm_dir / "runs");
  std::map<std::size_t, std::set<std::string>> jobs_of_decl;
  std::set<std::string> kept;
  for (std::size_t d : decl_order(plan_)) {
    // Misses already running in an earlier job: keep that job.
    std::vector<std::size_t> fresh;
    for (std::size_t i : misses[d]) {
      auto it = running.find(plan_.instances[i].name);
      if (it == running.end()) {
        fresh.push_back(i);
        continue;
      }
      jobs_of_decl[d].insert(it->second->id);
      if (kept.insert(it->second->id).second) {
        sub.jobs.push_back(*it->second);
        log_.info("still queued or running: " + it->second->decl + " (job " + it->second->id + "); waiting for it");
      }
    }
    misses[d] = fresh;
    if (misses[d].empty()) continue;
    const StageDecl& decl = plan_.spec.stages[d];
    const Instance& first = plan_.instances[misses[d].front()];
    const Stage& stage = *first.entry->stage;
    // The stage's estimate, then the profile's overrides for its type.
    Resources res = stage.resources(first.params);
    std::string partition = run.profile.partition;
    std::vector<std::string> extra = run.profile.sbatch;
    if (auto it = run.profile.stages.find(decl.type); it != run.profile.stages.end()) {
      const ClusterStage& c = it->second;
      if (c.cpus > 0) res.cpus = c.cpus;
      if (c.mem_mb > 0) res.mem_mb = c.mem_mb;
      if (c.minutes > 0) res.minutes = c.minutes;
      if (c.gpus >= 0) res.gpus = c.gpus;
      if (!c.partition.empty()) partition = c.partition;
      extra.insert(extra.end(), c.sbatch.begin(), c.sbatch.end());
    }
    std::set<std::string> deps;
    for (std::size_t i : misses[d]) {
      for (const auto& e : plan_.instances[i].inputs) {
        auto it = jobs_of_decl.find(plan_.instances[e.upstream].decl);
        if (it != jobs_of_decl.end()) deps.insert(it->second.begin(), it->second.end());
      }
    }
    std::vector<std::string> names;
    for (std::size_t i : misses[d]) names.push_back(plan_.instances[i].name);
    const bool array = names.size() > 1;

    std::ostringstream sh;
    sh << "#!/bin/bash\n# wmgeom: stage " << decl.name << " of " << run.pipeline_file.string() << " ("
       << names.size() << (array ? " instances, one array task each" : " instance") << ")\n";
    sh << "set -u\n";
    for (const auto& line : run.profile.setup) sh << line << "\n";
    sh << "instances=(";
    for (const auto& n : names) sh << " " << shell_quote(n);
    sh << " )\ndirs=(";
    for (const auto& n : names) sh << " " << shell_quote((slurm_dir / "runs" / instance_folder_name(n)).string());
    sh << " )\nkeys=(";
    for (std::size_t i : misses[d]) sh << " " << plan_.instances[i].key;
    sh << " )\n"
       << "task=${SLURM_ARRAY_TASK_ID:-0}\n"
       << "inst=${instances[$task]}\ndir=${dirs[$task]}\n"
       << "job=${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}${SLURM_ARRAY_TASK_ID:+_$SLURM_ARRAY_TASK_ID}\n"
       << "mkdir -p \"$dir\"\n"
       << "printf '{\"job\": \"%s\", \"node\": \"%s\", \"start\": %s, \"restarts\": %s}\\n' \"$job\" \"$(hostname -s)\" "
          "\"$(date +%s)\" \"${SLURM_RESTART_COUNT:-0}\" > \"$dir/job.json\"\n";
    sh << shell_quote(run.wmgeom) << " run " << shell_quote(run.pipeline_file.string()) << " --only \"$inst\" --cache-dir "
       << shell_quote(run.cache_dir.string()) << " --out \"$dir\" --no-progress --expect-key \"${keys[$task]}\" --threads "
       << std::max(1, res.cpus);
    for (const auto& s : run.sets) sh << " --set " << shell_quote(s);
    sh << " &\nchild=$!\n"
       << "# The time-limit warning (USR1, to this shell) and preemption (TERM) stop wmgeom,\n"
       << "# which saves checkpoints and exits " << kExitStopped << ".\n"
       << "trap 'kill -USR1 $child 2>/dev/null' USR1\n"
       << "trap 'kill -TERM $child 2>/dev/null' TERM\n"
       << "while :; do wait $child; rc=$?; kill -0 $child 2>/dev/null || break; done\n"
       << "if [ $rc -eq " << kExitStopped << " ]; then\n"
       << "  n=${SLURM_RESTART_COUNT:-0}\n"
       << "  if [ $n -ge " << run.profile.max_requeues << " ]; then\n"
       << "    echo \"wmgeom: $inst was stopped by its time limit or preemption $((n + 1)) times; max_requeues = "
       << run.profile.max_requeues << " in the cluster profile: failing. Raise minutes for stage type " << decl.type
       << " in the profile.\" >&2\n"
       << "    echo \"{\\\"error\\\": \\\"stopped $((n + 1)) times by its time limit or preemption (max_requeues = "
       << run.profile.max_requeues << ")\\\"}\" > \"$dir/requeue.json\"\n"
       << "    exit 1\n"
       << "  fi\n"
       << "  echo \"wmgeom: $inst stopped, checkpoint saved; requeueing (restart $((n + 1)) of at most "
       << run.profile.max_requeues << ")\" >&2\n"
       << "  scontrol requeue \"$job\"\n"
       << "  exit 0\n"
       << "fi\n"
       << "exit $rc\n";
    const fs::path script = slurm_dir / "jobs" / (instance_folder_name(decl.name) + ".sh");
    {
      std::ofstream f(script);
      f << sh.str();
      if (!f) throw Error("cannot write " + script.string());
    }
    std::vector<std::string> argv = {"sbatch", "--parsable",
                                     "--job-name=wmgeom:" + plan_.spec.name + ":" + decl.name,
                                     "--output=" + (slurm_dir / "logs" / (instance_folder_name(decl.name) + (array ? "-%A_%a.log" : "-%j.log"))).string(),
                                     "--cpus-per-task=" + std::to_string(std::max(1, res.cpus)),
                                     "--mem=" + std::to_string(std::max(1, res.mem_mb)) + "M",
                                     "--time=" + slurm_time(res.minutes),
                                     "--signal=B:USR1@" + std::to_string(run.profile.warn_seconds),
                                     "--requeue",
                                     "--open-mode=append",  // a requeued run adds to its log
                                     "--kill-on-invalid-dep=yes"};
    if (array) argv.push_back("--array=0-" + std::to_string(names.size() - 1));
    if (res.gpus > 0) argv.push_back("--gres=gpu:" + std::to_string(res.gpus));
    if (!partition.empty()) argv.push_back("--partition=" + partition);
    if (!run.profile.account.empty()) argv.push_back("--account=" + run.profile.account);
    if (!run.profile.qos.empty()) argv.push_back("--qos=" + run.profile.qos);
    if (!deps.empty()) {
      std::string list;
      for (const auto& id : deps) list += ":" + id;
      argv.push_back("--dependency=afterok" + list);
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(script.string());
    const CommandResult r = run_command(argv);
    std::string id = r.out.substr(0, r.out.find_first_of(";\n"));
    if (r.status != 0 || id.empty()) {
      // What is already submitted stays recorded, so that `wmgeom cancel` finds it.
      std::ofstream(submission_file(run.out_dir)) << sub.to_json().dump(2) << "\n";
      throw Error("sbatch refused stage " + decl.name + " (exit " + std::to_string(r.status) + "): " +
                  (r.err.empty() ? r.out : r.err));
    }
    jobs_of_decl[d].insert(id);
    sub.jobs.push_back({id, decl.name, names, array, now_epoch()});
    log_.info("submitted " + decl.name + ": job " + id +
              (array ? " (array of " + std::to_string(names.size()) + ")" : "") + ", " + std::to_string(res.cpus) +
              " CPU, " + std::to_string(res.mem_mb) + " MB, " + std::to_string(res.minutes) + " min" +
              (res.gpus > 0 ? ", " + std::to_string(res.gpus) + " GPU" : "") +
              (deps.empty() ? "" : ", after " + std::to_string(deps.size()) + " job(s)"));
  }
  std::ofstream f(submission_file(run.out_dir));
  f << sub.to_json().dump(2) << "\n";
  if (!f) throw Error("cannot write " + submission_file(run.out_dir).string());
  return sub;
}

RunSummary SlurmExecutor::status(const Submission& sub, const SlurmRun& run, std::vector<std::string>* pending) {
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
  double first_submit = 0;
  for (const auto& j : sub.jobs) first_submit = first_submit == 0 ? j.submitted : std::min(first_submit, j.submitted);
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
          s.compute_seconds = info->seconds;
          s.items = info->items;
          s.bytes = info->bytes;
        }
      }
      summary.instances.push_back(s);
      continue;
    }
    const Submission::Job& job = *it->second.first;
    const std::size_t task = it->second.second;
    s.job.id = job.array ? job.id + "_" + std::to_string(task) : job.id;
    s.job.log = (run.out_dir / "slurm" / "logs" / (instance_folder_name(job.decl) + "-" + (job.array ? s.job.id : job.id) + ".log")).string();
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
        pending->push_back(inst.name + ": " + act->second.state + (act->second.node.empty() ? "" : " on " + act->second.node));
      }
      // Slurm holds a requeued job for about two minutes (reason BeginTime);
      // a task that has run before was requeued by wmgeom: release it now.
      if (act->second.state == "PENDING" && act->second.reason == "BeginTime" && fs::exists(dir / "job.json")) {
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
        s.compute_seconds = info->seconds;
        s.items = info->items;
        s.bytes = info->bytes;
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
    if (auto rq = read_json(dir / "requeue.json")) {
      s.cache = CacheStatus::kFailed;
      s.error = rq->value("error", "requeued too often");
    } else if (rj && rj->value("exit_code", 0) != 0) {
      s.cache = CacheStatus::kFailed;
      s.error = rj->value("error", "failed");
    } else if (state == "CANCELLED" || reason == "DependencyNeverSatisfied" || !fs::exists(dir / "job.json")) {
      s.cache = CacheStatus::kCancelled;
      s.error = "job " + s.job.id + (state.empty() ? " never ran" : " " + state) +
                (reason.empty() || reason == "None" ? "" : " (" + reason + ")");
    } else {
      s.cache = CacheStatus::kFailed;
      s.error = "job " + s.job.id + " ended " + (state.empty() ? "without a result" : state) + "; see its log";
    }
    summary.instances.push_back(s);
  }
  for (const auto& s : summary.instances) {
    if (s.cache == CacheStatus::kFailed && summary.failed_stage.empty()) {
      summary.failed_stage = s.instance;
      summary.error = s.error + " (job " + s.job.id + ", log " + s.job.log + ")";
      summary.exit_code = 1;
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

RunSummary SlurmExecutor::wait(const Submission& sub, const SlurmRun& run) {
  std::map<std::string, std::string> last;
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    std::vector<std::string> pending;
    RunSummary s = status(sub, run, &pending);
    std::map<std::string, std::string> now;
    for (const auto& p : pending) now[p.substr(0, p.find(": "))] = p.substr(p.find(": ") + 2);
    for (const auto& i : s.instances) {
      if (i.job.id.empty()) continue;
      std::string state = now.count(i.instance) ? now[i.instance] : to_string(i.cache);
      if (state == "miss") state = "done";
      if (last[i.instance] != state) {
        log_.info("[slurm] " + i.instance + " (job " + i.job.id + "): " + state +
                  (i.cache == CacheStatus::kFailed || i.cache == CacheStatus::kCancelled ? ": " + i.error : ""));
        last[i.instance] = state;
      }
    }
    if (pending.empty()) {
      s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return s;
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

}  // namespace wmgeom
