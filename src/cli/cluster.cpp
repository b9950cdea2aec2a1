// `wmgeom run P.toml --executor slurm`, `wmgeom status`, `wmgeom cancel`
// (cluster/slurm.h does the submitting and watching).
#include <unistd.h>

#include <fstream>

#include "cache/cache.h"
#include "cli/commands.h"
#include "cluster/slurm.h"
#include "config/cluster_profile.h"
#include "config/diagnostics.h"
#include "core/error.h"
#include "core/format.h"

namespace wmgeom::cli {
namespace {

namespace fs = std::filesystem;

std::string self_executable() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("wmgeom") : p.string();
}

struct Prepared {
  std::optional<Plan> plan;
  SlurmRun run;
};

// The profile, the pipeline parsed (its declarations, for the profile's
// per-type --set lines; its name, for the output folder), then the one plan
// with those lines (the jobs plan with the same lines, so the keys agree).
// `recorded_sets` (status): the sets a submission recorded, planned as they
// are. 2 on invalid input.
int prepare(const RunArgs& a, const Common& c, const StageRegistry& registry, std::ostream& err,
            Prepared& p, const std::vector<std::string>* recorded_sets = nullptr) {
  if (a.pipeline.rfind("embedded:", 0) == 0) {
    err << "error: the slurm executor needs a pipeline file that the nodes can read (not "
        << a.pipeline << ")\n";
    return 2;
  }
  if (!a.profile.empty()) {
    Diagnostics diags;
    auto profile = load_cluster_profile(a.profile, registry.types(), diags);
    if (!profile) {
      err << diags.format_all() << diags.all().size()
          << (diags.all().size() == 1 ? " error" : " errors") << " in " << a.profile
          << "; nothing was submitted\n";
      return 2;
    }
    p.run.profile = *profile;
  }
  std::vector<std::string> sets = recorded_sets ? *recorded_sets : a.sets;
  if (!recorded_sets) {
    auto spec = spec_or_report(a.pipeline, a.sets, registry, err);
    if (!spec) return 2;
    for (const auto& s : SlurmExecutor::profile_sets(*spec, p.run.profile)) sets.push_back(s);
  }
  p.plan = plan_or_report(a.pipeline, sets, registry, err);
  if (!p.plan) return 2;
  if (auto clash = nested_folders(a.out_dir_for(p.plan->spec.name), c.cache_dir); !clash.empty()) {
    err << "error: " << clash << "\n";
    return 2;
  }
  p.run.pipeline_file = fs::absolute(a.pipeline);
  p.run.sets = sets;
  p.run.cache_dir = fs::absolute(c.cache_dir);
  p.run.out_dir = fs::absolute(a.out_dir_for(p.plan->spec.name));
  p.run.wmgeom = p.run.profile.wmgeom.empty() ? self_executable() : p.run.profile.wmgeom;
  p.run.selection.only = a.only;
  p.run.selection.from = a.from;
  return 0;
}

// The output folder of a submitted run: --out, or from the pipeline's name
// (the file parsed, not planned).
std::optional<fs::path> submitted_out_dir(const RunArgs& a, const StageRegistry& registry,
                                          std::ostream& err) {
  if (!a.out_dir.empty()) return fs::absolute(a.out_dir);
  auto spec = spec_or_report(a.pipeline, a.sets, registry, err);
  if (!spec) return std::nullopt;
  return fs::absolute(a.out_dir_for(spec->name));
}

std::optional<Submission> read_submission(const fs::path& out_dir, std::ostream& err) {
  const fs::path file = SlurmExecutor::submission_file(out_dir);
  std::ifstream f(file);
  if (!f) {
    err << "error: no Slurm submission in " << out_dir.string() << " (" << file.filename().string()
        << "); submit with wmgeom run P.toml --executor slurm\n";
    return std::nullopt;
  }
  try {
    return Submission::from_json(nlohmann::json::parse(f));
  } catch (const std::exception& e) {
    err << "error: " << file.string() << ": " << e.what() << "\n";
    return std::nullopt;
  }
}

}  // namespace

int do_run_slurm(const RunArgs& a, const Common& c, const StageRegistry& registry,
                 std::ostream& out, std::ostream& err, bool profile) {
  Prepared p;
  if (int rc = prepare(a, c, registry, err, p)) return rc;
  Cache cache(c.cache_dir);
  Logger log(err, log_level(c));
  log.open_file(p.run.out_dir / "wmgeom.log");
  log.file_only("wmgeom run " + p.plan->spec.file + " --executor slurm, cache " +
                cache.root().string());
  SlurmExecutor slurm(*p.plan, cache, log, p.run);
  PlanExecutor& executor = slurm;
  RunOptions opt;
  opt.only = a.only;
  opt.from = a.from;
  opt.detach = a.detach;
  RunSummary r;
  try {
    r = executor.run(opt);
  } catch (const InputError& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
  const Submission& sub = slurm.submission();
  std::size_t tasks = 0;
  for (const auto& j : sub.jobs) tasks += j.instances.size();
  if (!c.quiet) {
    out << "submitted " << sub.jobs.size() << " job(s), " << tasks << " instance(s); "
        << sub.cached.size() << " cached\n";
  }
  if (a.detach) {
    if (!c.quiet) {
      out << "follow with: wmgeom status " << a.pipeline
          << (a.out_dir.empty() ? "" : " --out " + a.out_dir) << "; cancel with: wmgeom cancel "
          << a.pipeline << (a.out_dir.empty() ? "" : " --out " + a.out_dir) << "\n";
    }
    return 0;
  }
  return finish_run(*p.plan, executor, r, p.run.out_dir.string(), a, c, log, profile, out, err);
}

int do_dry_run_slurm(const RunArgs& a, const Common& c, const StageRegistry& registry,
                     std::ostream& out, std::ostream& err) {
  Prepared p;
  if (int rc = prepare(a, c, registry, err, p)) return rc;
  Cache cache(c.cache_dir);
  Logger log(err, log_level(c));
  Executor local(*p.plan, cache, log);
  RunOptions opt;
  opt.only = a.only;
  opt.from = a.from;
  RunReport r;
  print_dry_run(*p.plan, local, opt, r, out, err, /*here=*/false);
  SlurmExecutor slurm(*p.plan, cache, log, p.run);
  std::vector<SlurmExecutor::PlannedJob> jobs, waiting;
  try {
    jobs = slurm.plan_jobs(p.run, &waiting);
  } catch (const InputError& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
  for (const auto& j : waiting) {
    out << "still queued or running from an earlier submission: " << j.decl << " (" << j.type
        << "), " << j.instances.size() << " instance(s) in " << j.request.front()
        << ": waited for, not submitted again\n";
  }
  std::size_t tasks = 0;
  for (const auto& j : jobs) tasks += j.instances.size();
  out << "would submit " << jobs.size() << " job(s), " << tasks << " instance(s)"
      << (p.run.profile.file.empty() ? " (no cluster profile)"
                                     : " (cluster profile " + p.run.profile.file + ")")
      << ":\n";
  for (const auto& j : jobs) {
    out << "  " << j.decl << " (" << j.type << "): " << j.instances.size()
        << (j.instances.size() == 1 ? " instance" : " instances, one array task each") << ";";
    for (const auto& o : j.request) out << " " << o;
    out << "\n";
  }
  return 0;
}

int do_status(const RunArgs& a, const Common& c, const StageRegistry& registry, std::ostream& out,
              std::ostream& err) {
  // The submission first (its folder needs only the pipeline's name), then
  // one plan with the sets it recorded, so that the keys are the jobs'.
  const auto out_dir = submitted_out_dir(a, registry, err);
  if (!out_dir) return 2;
  // (read_submission: a missing or unreadable submission is said here.)
  auto sub = read_submission(*out_dir, err);
  if (!sub) return 2;
  Prepared p;
  if (int rc = prepare(a, c, registry, err, p, &sub->sets)) return rc;
  Cache cache(c.cache_dir);
  Logger log(err, log_level(c));
  SlurmExecutor slurm(*p.plan, cache, log, p.run);
  slurm.use_submission(std::move(*sub));  // read once
  PlanExecutor& executor = slurm;
  RunSummary r;
  try {
    r = executor.status({});
  } catch (const InputError& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
  print_table(r, out);
  for (const auto& task : slurm.pending())
    out << "  " << task.instance << " (job " << task.id << "): " << task.line() << "\n";
  int done = 0, failed = 0;
  for (const auto& i : r.instances) {
    done += i.cache == CacheStatus::kMiss || i.cache == CacheStatus::kHit;
    failed += i.cache == CacheStatus::kFailed || i.cache == CacheStatus::kCancelled;
  }
  out << done << " done, " << slurm.pending().size() << " pending or running, " << failed
      << " failed or cancelled\n";
  if (!r.failed_stage.empty())
    out << "first failure: " << r.failed_stage << ": " << r.error << "\n";
  return 0;
}

int do_cancel(const RunArgs& a, const Common&, const StageRegistry& registry, std::ostream& out,
              std::ostream& err) {
  // No plan: the submission names the jobs.
  const auto out_dir = submitted_out_dir(a, registry, err);
  if (!out_dir) return 2;
  auto sub = read_submission(*out_dir, err);
  if (!sub) return 2;
  const int n = SlurmExecutor::cancel(*sub);
  out << "asked Slurm to cancel " << n << " job(s) of " << sub->pipeline
      << "; finished instances stay cached\n";
  return 0;
}

}  // namespace wmgeom::cli
