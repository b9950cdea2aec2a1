// The Slurm executor's submission: the plan's cache misses as one job (or
// job array) per declaration, chained by afterok dependencies, recorded in
// OUT/slurm/submission.json (slurm.h).
#include "cluster/slurm.h"
#include "cluster/slurm_detail.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "core/embedded.h"
#include "core/error.h"
#include "core/format.h"

namespace wmgeom {

namespace fs = std::filesystem;

using namespace slurm_detail;

namespace {

// "HH:MM:00" for sbatch --time, from minutes (at least 1).
std::string slurm_time(int minutes) {
  minutes = std::max(1, minutes);
  return std::to_string(minutes / 60) + ":" + (minutes % 60 < 10 ? "0" : "") +
         std::to_string(minutes % 60) + ":00";
}

// The profile's cap on running array tasks for a stage type (its own, else
// the [slurm] one; 0: none).
int max_running_of(const ClusterProfile& profile, const std::string& type) {
  if (auto it = profile.stages.find(type); it != profile.stages.end() && it->second.max_running > 0)
    return it->second.max_running;
  return profile.max_running;
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
}  // namespace

std::vector<std::string> request_options(const Resources& res, const std::string& partition,
                                         int max_running, std::size_t tasks) {
  std::vector<std::string> out = {"--cpus-per-task=" + std::to_string(std::max(1, res.cpus)),
                                  "--mem=" + std::to_string(std::max(1, res.mem_mb)) + "M",
                                  "--time=" + slurm_time(res.minutes)};
  if (tasks > 1) {
    // A cap at or above the array's size changes nothing: left out.
    const bool capped = max_running > 0 && static_cast<std::size_t>(max_running) < tasks;
    out.push_back("--array=0-" + std::to_string(tasks - 1) +
                  (capped ? "%" + std::to_string(max_running) : std::string()));
  }
  if (res.gpus > 0) out.push_back("--gres=gpu:" + std::to_string(res.gpus));
  if (!partition.empty()) out.push_back("--partition=" + partition);
  return out;
}

std::map<std::string, Submission::Job> SlurmExecutor::still_active(const SlurmRun& run) {
  std::map<std::string, Submission::Job> running;
  std::optional<Submission> earlier;
  if (auto j = read_json(submission_file(run.out_dir))) {
    try {
      earlier = Submission::from_json(*j);
    } catch (const Error&) {
    }
  }
  if (!earlier) return running;
  std::vector<std::string> ids;
  for (const auto& job : earlier->jobs) ids.push_back(job.id);
  const auto active = active_jobs(ids);
  for (const auto& job : earlier->jobs) {
    for (std::size_t t = 0; t < job.instances.size(); ++t) {
      const std::string id = job.array ? job.id + "_" + std::to_string(t) : job.id;
      if (active.count(id)) running[job.instances[t]] = job;
    }
  }
  return running;
}

SlurmExecutor::Misses SlurmExecutor::misses_of(const SlurmRun& run) {
  Executor local(plan_, cache_, log_);
  const RunSummary planned = local.dry_run(run.selection);
  const std::map<std::string, Submission::Job> running = still_active(run);
  Misses m;
  m.fresh.resize(plan_.spec.stages.size());
  std::map<std::string, std::size_t> kept_at;  // job id -> index in m.kept
  for (std::size_t i = 0; i < plan_.instances.size(); ++i) {
    if (planned.instances[i].cache == CacheStatus::kHit)
      m.cached.push_back(plan_.instances[i].name);
    if (planned.instances[i].cache != CacheStatus::kMiss) continue;
    // A miss an earlier job still queued or running holds: wait for that
    // job rather than submitting it again.
    if (auto it = running.find(plan_.instances[i].name); it != running.end()) {
      auto [at, added] = kept_at.emplace(it->second.id, m.kept.size());
      if (added) m.kept.push_back({it->second, {}});
      m.kept[at->second].holds.push_back(i);
      continue;
    }
    m.fresh[plan_.instances[i].decl].push_back(i);
  }
  return m;
}

std::vector<SlurmExecutor::PlannedJob> SlurmExecutor::plan_jobs(const SlurmRun& run,
                                                                std::vector<PlannedJob>* waiting) {
  const Misses m = misses_of(run);
  if (waiting != nullptr) {
    for (const auto& k : m.kept) {
      PlannedJob job;
      job.decl = k.job.decl;
      job.type = plan_.spec.stages[plan_.instances[k.holds.front()].decl].type;
      job.request = {"job " + k.job.id};
      for (std::size_t i : k.holds) job.instances.push_back(plan_.instances[i].name);
      waiting->push_back(std::move(job));
    }
  }
  const std::map<std::size_t, JobRequest> fitted = fit_requests(run, m.fresh);
  std::vector<PlannedJob> jobs;
  for (std::size_t d : decl_order(plan_)) {
    if (m.fresh[d].empty()) continue;
    const StageDecl& decl = plan_.spec.stages[d];
    PlannedJob job;
    job.decl = decl.name;
    job.type = decl.type;
    for (std::size_t i : m.fresh[d]) job.instances.push_back(plan_.instances[i].name);
    const JobRequest& req = fitted.at(d);
    job.request = request_options(req.res, req.partition, max_running_of(run.profile, decl.type),
                                  job.instances.size());
    jobs.push_back(std::move(job));
  }
  return jobs;
}

Submission SlurmExecutor::submit(const SlurmRun& run) {
  // What a local run would compute: the same selection, the same keys.
  const Misses m = misses_of(run);
  const std::vector<std::vector<std::size_t>>& misses = m.fresh;
  Submission sub;
  sub.pipeline = plan_.spec.name;
  sub.sets = run.sets;  // what the jobs plan with: status plans the same keys
  sub.cached = m.cached;
  const fs::path slurm_dir = run.out_dir / "slurm";
  fs::create_directories(slurm_dir / "jobs");
  fs::create_directories(slurm_dir / "logs");
  fs::create_directories(slurm_dir / "runs");
  // Jobs of an earlier submission from this folder that are still queued or
  // running keep their instances: the same command run again waits for them
  // instead of submitting twice.
  std::map<std::size_t, std::set<std::string>> jobs_of_decl;
  for (const auto& k : m.kept) {
    for (std::size_t i : k.holds) jobs_of_decl[plan_.instances[i].decl].insert(k.job.id);
    sub.jobs.push_back(k.job);
    log_.info("still queued or running: " + k.job.decl + " (job " + k.job.id + "); waiting for it");
  }
  const std::vector<std::size_t> order = decl_order(plan_);
  // Every request checked against its partition before the first sbatch.
  const std::map<std::size_t, JobRequest> fitted = fit_requests(run, misses);
  for (std::size_t d : order) {
    if (misses[d].empty()) continue;
    const StageDecl& decl = plan_.spec.stages[d];
    const Resources& res = fitted.at(d).res;
    const std::string& partition = fitted.at(d).partition;
    std::vector<std::string> extra = run.profile.sbatch;
    const int max_running = max_running_of(run.profile, decl.type);
    if (auto it = run.profile.stages.find(decl.type); it != run.profile.stages.end())
      extra.insert(extra.end(), it->second.sbatch.begin(), it->second.sbatch.end());
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
    // An earlier job's verdicts on these instances are not this job's.
    for (const auto& n : names) {
      std::error_code ec;
      fs::remove(slurm_dir / "runs" / instance_folder_name(n) / "stuck.json", ec);
      fs::remove(slurm_dir / "runs" / instance_folder_name(n) / "requeue.json", ec);
    }

    // The job script: the embedded template src/cluster/job.sh, filled.
    std::string setup, instances, dirs, keys, more;
    for (const auto& line : run.profile.setup) setup += (setup.empty() ? "" : "\n") + line;
    for (const auto& n : names) instances.append(" ").append(shell_quote(n));
    for (const auto& n : names)
      dirs.append(" ").append(shell_quote((slurm_dir / "runs" / instance_folder_name(n)).string()));
    for (std::size_t i : misses[d]) keys += " " + plan_.instances[i].key;
    // --from on the submitting side must reach the job: without it the job
    // finds the instance's old result in the cache and recomputes nothing.
    if (!run.selection.from.empty()) more += " --from \"$inst\"";
    for (const auto& s : run.sets) more += " --set " + shell_quote(s);
    const std::string max_requeues = std::to_string(run.profile.max_requeues);
    const std::string text =
        fill_template(job_script_template(),
                      {{"DECL", decl.name},
                       {"PIPELINE", run.pipeline_file.string()},
                       {"WHAT", std::to_string(names.size()) +
                                    (array ? " instances, one array task each" : " instance")},
                       {"SETUP", setup},
                       {"INSTANCES", instances},
                       {"DIRS", dirs},
                       {"KEYS", keys},
                       {"WMGEOM", shell_quote(run.wmgeom)},
                       {"PIPELINE_ARG", shell_quote(run.pipeline_file.string())},
                       {"CACHE", shell_quote(run.cache_dir.string())},
                       {"THREADS", std::to_string(std::max(1, res.cpus))},
                       {"MORE", more},
                       {"STOPPED", std::to_string(kExitStopped)},
                       {"RC_USR1", std::to_string(128 + SIGUSR1)},
                       {"RC_TERM", std::to_string(128 + SIGTERM)},
                       {"MAX_REQUEUES", max_requeues},
                       {"TYPE", decl.type}},
                      "src/cluster/job.sh");
    const fs::path script = slurm_dir / "jobs" / (instance_folder_name(decl.name) + ".sh");
    {
      std::ofstream f(script);
      f << text;
      if (!f) throw Error("cannot write " + script.string());
    }
    std::vector<std::string> argv = {
        "sbatch",
        "--parsable",
        "--job-name=wmgeom:" + plan_.spec.name + ":" + decl.name,
        "--output=" + (slurm_dir / "logs" /
                       (instance_folder_name(decl.name) + (array ? "-%A_%a.log" : "-%j.log")))
                          .string(),
        "--signal=B:USR1@" + std::to_string(run.profile.warn_seconds),
        "--requeue",
        "--open-mode=append",  // a requeued run adds to its log
        "--kill-on-invalid-dep=yes"};
    const std::vector<std::string> sized =
        request_options(res, partition, max_running, names.size());
    argv.insert(argv.end(), sized.begin(), sized.end());
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
      throw Error("sbatch refused stage " + decl.name + " (exit " + std::to_string(r.status) +
                  "): " + (r.err.empty() ? r.out : r.err));
    }
    jobs_of_decl[d].insert(id);
    sub.jobs.push_back({id, decl.name, names, array, now_epoch()});
    log_.info("submitted " + decl.name + ": job " + id +
              (array ? " (array of " + std::to_string(names.size()) +
                           (max_running > 0 && static_cast<std::size_t>(max_running) < names.size()
                                ? ", at most " + std::to_string(max_running) + " at once"
                                : std::string()) +
                           ")"
                     : "") +
              ", " + std::to_string(res.cpus) + " CPU, " + std::to_string(res.mem_mb) + " MB, " +
              std::to_string(res.minutes) + " min" +
              (res.gpus > 0 ? ", " + std::to_string(res.gpus) + " GPU" : "") +
              (deps.empty() ? "" : ", after " + std::to_string(deps.size()) + " job(s)"));
  }
  std::ofstream f(submission_file(run.out_dir));
  f << sub.to_json().dump(2) << "\n";
  if (!f) throw Error("cannot write " + submission_file(run.out_dir).string());
  return sub;
}

}  // namespace wmgeom
