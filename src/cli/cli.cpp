#include "cli/cli.h"
#include "cli/commands.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cache/cache.h"
#include "config/diagnostics.h"
#include "core/artifact.h"
#include "core/cpus.h"
#include "core/error.h"
#include "core/format.h"
#include "core/log.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "graph/progress.h"
#include "graph/registry.h"

namespace wmgeom {
namespace cli {

namespace {
std::atomic<bool>* g_stop = nullptr;
extern "C" void on_stop_signal(int sig) {
  // A second Ctrl-C while stopping: the user wants out now (the default
  // action; a killed run loses nothing but the stages it was computing).
  if (sig == SIGINT && g_stop && g_stop->load()) {
    ::signal(SIGINT, SIG_DFL);
    ::raise(SIGINT);
    return;
  }
  if (g_stop) g_stop->store(true);
}

// "" when `dir` is a folder, or can be made one (its nearest existing
// ancestor is a folder this process may write in); otherwise why not.
// Checked before anything is computed for it.
std::string folder_problem(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  if (dir.empty()) return "expected a folder, found an empty path";
  std::error_code ec;
  const fs::path full = fs::absolute(dir, ec);
  if (ec) return ec.message();
  for (fs::path at = full;; at = at.parent_path()) {
    const fs::file_status st = fs::status(at, ec);
    if (fs::exists(st)) {
      if (!fs::is_directory(st))
        return at == full ? "it is a file, not a folder" : at.string() + " is a file, not a folder";
      if (at != full && ::access(at.c_str(), W_OK | X_OK) != 0)
        return "cannot create it in " + at.string() + ": " + std::strerror(errno);
      return "";
    }
    if (at == at.parent_path()) return "";
  }
}
// CLI11 answers `wmgeom cache bogus` with "A subcommand is required" (the
// word is an extra positional of `cache`), and `wmgeom bogus` with a
// generic message: the unknown word, where it stood and what would have
// been accepted, or "" when every command word is known (options and what
// follows them are left to CLI11).
std::string unknown_command(CLI::App& app, const std::vector<std::string>& args) {
  CLI::App* at = &app;
  std::string path = "wmgeom";
  for (const auto& word : args) {
    if (word.empty() || word[0] == '-') return "";
    const std::vector<CLI::App*> subs = at->get_subcommands([](CLI::App*) { return true; });
    if (subs.empty()) return "";
    std::vector<std::string> names;
    CLI::App* next = nullptr;
    for (CLI::App* sub : subs) {
      names.push_back(sub->get_name());
      if (sub->get_name() == word) next = sub;
    }
    if (next == nullptr) {
      std::string list;
      for (std::size_t i = 0; i < names.size(); ++i)
        list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
      const std::string hint = closest(word, names);
      return "unknown command \"" + word + "\" after `" + path + "`: expected " + list +
             (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)") + "; see " + path +
             " --help";
    }
    at = next;
    path += " " + word;
  }
  return "";
}

}  // namespace

StopOnSignals::StopOnSignals(std::atomic<bool>& flag) {
  g_stop = &flag;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, &old_usr1_);
  sigaction(SIGTERM, &sa, &old_term_);
  sigaction(SIGINT, &sa, &old_int_);
}

StopOnSignals::~StopOnSignals() {
  sigaction(SIGUSR1, &old_usr1_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  sigaction(SIGINT, &old_int_, nullptr);
  g_stop = nullptr;
}

Logger::Level log_level(const Common& c) {
  return c.quiet ? Logger::Level::kWarn : c.verbose ? Logger::Level::kDebug : Logger::Level::kInfo;
}

void add_common(CLI::App* cmd, Common& c, bool with_threads) {
  cmd->add_option("--cache-dir", c.cache_dir,
                  "Cache directory (default: $WMGEOM_CACHE or .wmgeom-cache)");
  if (with_threads)
    cmd->add_option("--threads", c.threads,
                    "Worker threads (default: the CPUs this process may use: affinity mask, cgroup "
                    "quota, SLURM_CPUS_PER_TASK)")
        ->check(CLI::Range(0, 4096));
  cmd->add_flag("-v,--verbose", c.verbose, "More log output");
  cmd->add_flag("-q,--quiet", c.quiet, "Only warnings and errors");
}

// Plans a pipeline; prints diagnostics and returns nullopt on invalid input.
std::optional<Plan> plan_or_report(const std::string& file, const std::vector<std::string>& sets,
                                   const StageRegistry& registry, std::ostream& err,
                                   Diagnostics* keep) {
  Diagnostics diags;
  auto plan = make_plan(file, sets, registry, diags);
  if (keep) *keep = diags;
  if (!plan) {
    err << diags.format_all();
    err << diags.all().size() << (diags.all().size() == 1 ? " error" : " errors") << " in " << file
        << "; nothing was run\n";
  }
  return plan;
}

std::optional<PipelineSpec> spec_or_report(const std::string& file,
                                           const std::vector<std::string>& sets,
                                           const StageRegistry& registry, std::ostream& err) {
  Diagnostics diags;
  PipelineSpec spec = load_pipeline_file(file, sets, schema_lookup(registry), diags);
  if (!diags.ok()) {
    err << diags.format_all();
    err << diags.all().size() << (diags.all().size() == 1 ? " error" : " errors") << " in " << file
        << "; nothing was run\n";
    return std::nullopt;
  }
  return spec;
}

std::string pad(std::string s, std::size_t w) {
  if (s.size() < w) s.resize(w, ' ');
  return s;
}

void print_table(const RunReport& report, std::ostream& out) {
  std::size_t w = 5;
  bool jobs = false;
  for (const auto& r : report.instances) {
    w = std::max(w, r.instance.size());
    jobs = jobs || !r.job.id.empty();
  }
  out << pad("stage", w + 2) << pad("type", 10) << pad("cache", 10) << pad("seconds", 10)
      << pad("items", 18) << pad("items/s", 12)
      << (jobs ? pad("bytes", 10) + pad("job", 10) + pad("node", 10) + "queue s" : "bytes") << "\n";
  for (const auto& r : report.instances) {
    out << pad(r.instance, w + 2) << pad(r.type, 10) << pad(to_string(r.cache), 10)
        << pad(format_fixed(r.seconds, 3), 10)
        << pad(std::to_string(r.items) + " " + r.items_unit, 18)
        << pad(format_fixed(r.items_per_s(), 1), 12);
    // Not computed yet (a dry run's miss): the plan's estimate, marked "~".
    const bool pending = r.bytes == 0 && r.cache == CacheStatus::kMiss;
    const std::string bytes = !pending ? format_bytes(static_cast<double>(r.bytes))
                              : r.estimated_bytes >= 0
                                  ? "~" + format_bytes(static_cast<double>(r.estimated_bytes))
                                  : "?";
    if (!jobs)
      out << bytes << "\n";
    else {
      out << pad(bytes, 10) << pad(r.job.id.empty() ? "-" : r.job.id, 10)
          << pad(r.job.node.empty() ? "-" : r.job.node, 10)
          << (r.job.id.empty() ? "-" : format_fixed(r.job.queue_seconds, 1)) << "\n";
    }
  }
}

std::string nested_folders(const std::string& out_dir, const std::string& cache_dir) {
  namespace fs = std::filesystem;
  const fs::path o = fs::weakly_canonical(fs::absolute(out_dir)),
                 k = fs::weakly_canonical(fs::absolute(cache_dir));
  auto inside = [](const fs::path& a, const fs::path& b) {  // a within or equal to b
    auto [ib, ia] = std::mismatch(b.begin(), b.end(), a.begin(), a.end());
    return ib == b.end();
  };
  if (inside(o, k))
    return "--out " + o.string() + " is inside the cache " + k.string() +
           "; choose an output folder outside it";
  if (inside(k, o))
    return "the cache " + k.string() + " is inside --out " + o.string() +
           "; choose a cache outside it";
  return "";
}

// What every run ends with, local or on a cluster: run.json, the after-run
// hooks (Stage::after_run), the table, and the exit code with the failure.
int finish_run(const Plan& plan, PlanExecutor& exec, const RunReport& report,
               const std::string& out_dir, const RunArgs& a, const Common& c, Logger& log,
               bool profile, std::ostream& out, std::ostream& err) {
  // The dependency graph goes into the record (run.json's "inputs" and
  // "critical_path"), from the plan both executors ran, with each
  // instance's artifact kind.
  RunReport r = report;
  for (std::size_t i = 0; i < plan.instances.size() && i < r.instances.size(); ++i) {
    r.instances[i].kind = plan.instances[i].entry->schema.output;
    r.instances[i].inputs.clear();
    for (const auto& e : plan.instances[i].inputs)
      r.instances[i].inputs.push_back(plan.instances[e.upstream].name);
  }
  nlohmann::json prof = r.to_json();
  {
    std::filesystem::create_directories(out_dir);
    std::ofstream f(std::filesystem::path(out_dir) / "run.json");
    f << prof.dump(2) << "\n";
  }
  if (a.embed && a.embed->summary) *a.embed->summary = r;
  if (profile && !a.json_file.empty()) {
    std::ofstream f(a.json_file);
    f << prof.dump(2) << "\n";
    if (!f) {
      err << "error: cannot write " << a.json_file << "\n";
      return 1;
    }
  }
  // After-run hooks (Stage::after_run): e.g. the report stage's report.html
  // with this run's profile and pipeline file.
  std::vector<std::filesystem::path> reports;
  if (r.exit_code == 0) {
    for (std::size_t i = 0; i < plan.instances.size(); ++i) {
      const Stage& stage = *plan.instances[i].entry->stage;
      if (!stage.has_after_run() || !part_of_run(r.instances[i].cache)) continue;
      auto written =
          stage.after_run(*exec.artifact(i, c.threads), r, plan.instances[i].name, out_dir);
      reports.insert(reports.end(), written.begin(), written.end());
    }
  }
  if (!c.quiet || profile) print_table(r, out);
  if (r.exit_code != 0) {
    log.file_only("failed: " + r.error);
    if (r.failed_stage.empty()) {
      err << "error: " << r.error << "\n";
    } else {
      err << "error: stage " << r.failed_stage << " failed: "
          << (r.error.rfind(r.failed_stage + ": ", 0) == 0
                  ? r.error.substr(r.failed_stage.size() + 2)
                  : r.error)
          << "\n";
    }
    err << "  (log: " << log.file().string() << "; finished stages are cached)\n";
    return r.exit_code;
  }
  if (!c.quiet) {
    const CriticalPath path = r.critical_path();
    if (path.instances.size() > 1 && path.seconds > 0) {
      out << "critical path: " << format_seconds(path.seconds) << " of "
          << format_seconds(path.total_seconds) << " computed in all (" << path.instances.front()
          << " -> ... -> " << path.instances.back() << ", " << path.instances.size()
          << " instances; cached ones count the time they took): enough nodes would take about "
          << format_fixed(path.total_seconds / path.seconds, 1) << "x less than one (run.json)\n";
    }
    out << "done in " << format_seconds(r.seconds) << "; outputs in " << out_dir
        << "/ (run.json, wmgeom.log";
    for (const auto& f : reports) out << ", " << f.filename().string();
    out << ")\n";
  }
  return 0;
}

int print_dry_run(const Plan& plan, Executor& exec, const RunOptions& opt, RunReport& r,
                  std::ostream& out, std::ostream& err, bool here) {
  r = exec.dry_run(opt);
  out << "plan of " << plan.spec.file << " (" << plan.instances.size()
      << " instances; bytes: ~ the estimate of what is not cached yet, ? none):\n";
  print_table(r, out);
  const FitReport fit = exec.fit(opt);
  if (!here) {
    // Jobs run on the cluster's nodes, not on this machine: what would not
    // fit here is said, and decides nothing (a submission does not check it).
    for (const auto& w : fit.warnings) err << "note: on this machine: " << w << "\n";
    for (const auto& e : fit.errors) err << "note: on this machine: " << e << "\n";
    return 0;
  }
  for (const auto& w : fit.warnings) err << "warning: " << w << "\n";
  for (const auto& e : fit.errors) err << "error: " << e << "\n";
  return fit.errors.empty() ? 0 : 2;
}

int do_run(const RunArgs& a, const Common& c, const StageRegistry& registry, std::ostream& out,
           std::ostream& err, bool profile) {
  // A cluster profile is read by the Slurm executor alone: given to a local
  // run it was silently ignored (even when the file did not exist).
  if (!a.profile.empty() && a.executor != ExecutorKind::kSlurm) {
    err << "error: --profile " << a.profile
        << ": a cluster profile is read only with --executor slurm; this run is local\n";
    return 2;
  }
  // Slurm plans with its profile's overrides (cluster.cpp), its dry run too
  // (the plan a local dry run showed lacked them); each path plans once.
  if (a.executor == ExecutorKind::kSlurm)
    return a.dry_run ? do_dry_run_slurm(a, c, registry, out, err)
                     : do_run_slurm(a, c, registry, out, err, profile);
  auto plan =
      plan_or_report(a.pipeline, a.sets, registry, err, a.embed ? a.embed->diagnostics : nullptr);
  if (!plan) return 2;
  if (auto clash = nested_folders(a.out_dir_for(plan->spec.name), c.cache_dir); !clash.empty()) {
    err << "error: " << clash << "\n";
    return 2;
  }
  Cache cache(c.cache_dir);
  Logger log(err, log_level(c));
  if (a.embed && a.embed->log) {
    log.set_level(Logger::Level::kDebug);  // the embedder filters
    log.set_sink(a.embed->log);
  }
  std::string out_dir = a.out_dir_for(plan->spec.name);
  if (!a.expect_key.empty()) {
    // A cluster job: its instance must have the submitter's key, or its
    // result would land where the submitter never looks.
    std::vector<std::size_t> picked;
    for (const auto& name : a.only) {
      const auto sel = plan->select(name);
      picked.insert(picked.end(), sel.begin(), sel.end());
    }
    if (picked.size() != 1) {
      err << "error: --expect-key needs --only naming exactly one instance\n";
      return 2;
    }
    const Instance& inst = plan->instances[picked.front()];
    if (inst.key != a.expect_key) {
      std::string extras;
      for (const auto& e : inst.extras) extras += (extras.empty() ? "" : ", ") + e;
      err << "error: " << inst.name << " plans to key " << inst.key << " here but to "
          << a.expect_key << " where it was submitted (here: " << extras
          << "); a setting resolves differently on this node, e.g. device = \"auto\": set it "
             "explicitly in the "
             "pipeline or in the cluster profile ([stage.TYPE] set = [\"device=\\\"cuda\\\"\"])\n";
      return 2;
    }
  }
  Executor exec(*plan, cache, log);
  RunOptions opt;
  opt.threads = c.threads;
  opt.only = a.only;
  opt.from = a.from;
  opt.progress = !a.no_progress && !c.quiet && !a.embed;
  opt.tty = (&err == &std::cerr) && ::isatty(STDERR_FILENO);
  try {
    if (a.dry_run) {
      RunReport r;
      const int rc = print_dry_run(*plan, exec, opt, r, out, err);
      if (a.embed && a.embed->summary) *a.embed->summary = r;
      return rc;
    }
    log.open_file(std::filesystem::path(out_dir) / "wmgeom.log");
    log.file_only("wmgeom run " + plan->spec.file + " cache " + cache.root().string());
    {
      const CpuBudget cpus = cpu_budget();
      const char* wait = std::getenv("OMP_WAIT_POLICY");
      log.file_only("threads: " +
                    (c.threads > 0 ? std::to_string(c.threads) + " (--threads)" : cpus.describe()) +
                    "; this process may use " + cpus.describe() +
                    "; OMP_WAIT_POLICY=" + (wait ? wait : "(unset)"));
    }
    for (const auto& inst : plan->instances)
      log.file_only("plan: " + inst.name + " key " + inst.key);
    std::atomic<bool> stop{false};
    std::optional<StopOnSignals> signals;
    if (a.embed && a.embed->stop) {
      opt.stop = a.embed->stop;  // the embedder owns the signals
    } else {
      opt.stop = &stop;
      signals.emplace(stop);
    }
    RunReport r = exec.run(opt);
    return finish_run(*plan, exec, r, out_dir, a, c, log, profile, out, err);
  } catch (const InputError& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
}

int do_validate(const std::string& file, const std::vector<std::string>& sets,
                const StageRegistry& registry, std::ostream& out, std::ostream& err) {
  auto plan = plan_or_report(file, sets, registry, err);
  if (!plan) return 2;
  out << file << ": ok (" << plan->spec.stages.size() << " stages, " << plan->instances.size()
      << " instances)\n";
  for (const auto& inst : plan->instances) {
    out << "  " << inst.name << " (" << inst.entry->schema.type << ")";
    if (inst.estimate.known) out << "  ~" << format_bytes(static_cast<double>(inst.estimate.bytes));
    out << "\n";
  }
  return 0;
}

int do_stages(const std::string& type, const StageRegistry& registry, std::ostream& out,
              std::ostream& err) {
  if (type.empty()) {
    for (const auto& t : registry.types()) {
      const auto& s = registry.find(t)->schema;
      std::string first = s.doc.substr(
          0, s.doc.find('.') == std::string::npos ? s.doc.size() : s.doc.find('.') + 1);
      out << pad(t, 12) << pad(s.output, 16) << first << "\n";
    }
    out << "\n`wmgeom stages TYPE` documents one type.\n";
    return 0;
  }
  const StageEntry* e = registry.find(type);
  if (!e) {
    err << "error: unknown stage type \"" << type << "\"";
    std::string hint = closest(type, registry.types());
    if (!hint.empty()) err << " (did you mean \"" << hint << "\"?)";
    err << "\n";
    return 2;
  }
  out << describe_schema(e->schema);
  return 0;
}

int do_export(const RunArgs& a, const std::string& stage, const std::string& dir, const Common& c,
              const StageRegistry& registry, std::ostream& out, std::ostream& err, bool force) {
  auto plan = plan_or_report(a.pipeline, a.sets, registry, err);
  if (!plan) return 2;
  auto sel = plan->select(stage);
  if (sel.empty()) {
    err << "error: " << plan->unknown_selection(stage) << "\n";
    return 2;
  }
  // The folder is checked before anything is computed, and made (with its
  // marker) only once the first artifact is in hand: a refused or failed
  // export leaves no folder behind.
  if (std::string problem = folder_problem(dir); !problem.empty()) {
    err << "error: export folder \"" << dir << "\": " << problem << "\n";
    return 2;
  }
  // Never into a folder with someone else's files: empty, new, or an earlier export's (its marker).
  constexpr const char* kMarker = ".wmgeom-export";
  std::error_code ec;
  if (!force && std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec) &&
      !std::filesystem::exists(std::filesystem::path(dir) / kMarker, ec)) {
    err << "error: " << dir
        << " is not empty and was not written by wmgeom export; export into a new or empty "
        << "folder, or pass --force\n";
    return 2;
  }
  bool made = false;
  auto make_folder = [&]() -> bool {
    if (made) return true;
    std::filesystem::create_directories(dir, ec);
    std::ofstream marker(std::filesystem::path(dir) / kMarker);
    marker << "written by wmgeom export\n";
    if (ec || !marker) {
      err << "error: export folder \"" << dir
          << "\": cannot create it: " << (ec ? ec.message() : std::strerror(errno)) << "\n";
      return false;
    }
    return made = true;
  };
  Cache cache(c.cache_dir);
  Logger log(err, c.quiet ? Logger::Level::kWarn : Logger::Level::kInfo);
  Executor exec(*plan, cache, log);
  for (auto i : sel) {
    const Instance& inst = plan->instances[i];
    std::filesystem::path target =
        sel.size() == 1 ? std::filesystem::path(dir)
                        : std::filesystem::path(dir) / instance_folder_name(inst.name);
    try {
      auto art = exec.materialize(i, c.threads);
      if (!make_folder()) return 2;
      export_artifact(*art, target);
      inst.entry->stage->export_extras(*art, target);
    } catch (const Error& e) {
      err << "error: " << e.what() << "\n";
      return e.exit_code();
    }
    out << "exported " << inst.name << " -> " << target.string() << "\n";
  }
  return 0;
}

int do_cache(const std::string& sub, const std::vector<std::string>& pipelines,
             const std::string& stage, const std::vector<std::string>& sets, bool remove_corrupt,
             bool dry_run, const Common& c, const StageRegistry& registry, std::ostream& out,
             std::ostream& err) {
  Cache cache(c.cache_dir);
  if (sub == "ls") {
    auto entries = cache.list();
    out << pad("key", 14) << pad("stage", 28) << pad("type", 10) << pad("created", 22)
        << pad("seconds", 10) << pad("items", 10) << pad("size", 12) << "stored\n";
    std::uint64_t total = 0;
    for (const auto& e : entries) {
      out << pad(e.key.substr(0, 12), 14) << pad(e.stage, 28) << pad(e.type, 10)
          << pad(e.created, 22) << pad(format_fixed(e.seconds, 2), 10)
          << pad(std::to_string(e.items), 10) << pad(format_bytes(static_cast<double>(e.bytes)), 12)
          << format_bytes(static_cast<double>(e.stored)) << "\n";
      total += e.stored;
    }
    out << entries.size() << " entries, " << format_bytes(static_cast<double>(total))
        << " on disk in " << cache.root().string() << "\n";
    return 0;
  }
  if (sub == "verify") {
    int bad = 0;
    for (const auto& e : cache.list()) {
      std::string problem = cache.verify(e.key);
      if (problem.empty()) {
        out << "ok       " << e.key << "  " << e.stage << "\n";
      } else {
        ++bad;
        out << "CORRUPT  " << e.key << "  " << e.stage << ": " << problem << "\n";
        if (remove_corrupt) cache.remove(e.key);
      }
    }
    out << (bad ? std::to_string(bad) + " corrupt entries" + (remove_corrupt ? " (removed)" : "")
                : "all entries intact")
        << "\n";
    return bad ? 1 : 0;
  }
  if (sub == "explain") {
    auto plan = plan_or_report(pipelines.at(0), sets, registry, err);
    if (!plan) return 2;
    auto sel = plan->select(stage);
    if (sel.empty()) {
      err << "error: " << plan->unknown_selection(stage) << "\n";
      return 2;
    }
    for (auto i : sel) {
      const Instance& inst = plan->instances[i];
      out << "# " << inst.name << ": key " << inst.key << " ("
          << (cache.contains(inst.key) ? "cached" : "not cached") << ")\n"
          << inst.key_text << "\n";
    }
    return 0;
  }
  if (sub == "gc") {
    std::set<std::string> keep;
    for (const auto& p : pipelines) {
      auto plan = plan_or_report(p, {}, registry, err);
      if (!plan) return 2;
      for (const auto& inst : plan->instances) keep.insert(inst.key);
    }
    std::size_t removed = 0, kept = 0;
    std::uint64_t freed = 0;
    for (const auto& e : cache.list()) {
      if (keep.count(e.key)) {
        ++kept;
        continue;
      }
      ++removed;
      freed += e.stored;
      out << (dry_run ? "would remove " : "removed ") << e.key << "  " << e.stage << "\n";
      if (!dry_run) {
        cache.remove(e.key);
        std::error_code ec;
        std::filesystem::remove_all(cache.work_dir(e.key), ec);
      }
    }
    std::size_t tmp = dry_run ? 0 : cache.clean_tmp();
    out << (dry_run ? "would remove " : "removed ") << removed << " entries ("
        << format_bytes(static_cast<double>(freed)) << "), kept " << kept
        << (tmp ? ", cleaned " + std::to_string(tmp) + " temporary files" : "") << "\n";
    return 0;
  }
  err << "error: unknown cache command \"" << sub << "\"\n";
  return 2;
}

// A command's exit code: what `command` returns, or, when it throws, the
// error printed as "error: ..." and its exit code (wmgeom::Error's own, 1
// for anything else).
template <typename F>
int exit_code_of(std::ostream& err, F command) {
  try {
    return command();
  } catch (const Error& e) {
    err << "error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace cli

std::string default_cache_dir() {
  const char* env = std::getenv("WMGEOM_CACHE");
  return env && *env ? env : ".wmgeom-cache";
}

int run_embedded(const EmbeddedRun& run, const StageRegistry& registry, std::ostream& out,
                 std::ostream& err) {
  using namespace cli;
  RunArgs a;
  a.pipeline = run.pipeline;
  a.sets = run.sets;
  a.only = run.only;
  a.from = run.from;
  a.out_dir = run.out_dir;
  a.dry_run = run.dry_run;
  a.no_progress = true;
  a.embed = &run;
  Common c;
  c.cache_dir = run.cache_dir.empty() ? default_cache_dir() : run.cache_dir;
  c.threads = run.threads;
  return exit_code_of(err, [&] { return do_run(a, c, registry, out, err, false); });
}

int run_cli(const std::vector<std::string>& args, const StageRegistry& registry, std::ostream& out,
            std::ostream& err) {
  using namespace cli;
  CLI::App app{"wmgeom: working-memory geometry pipelines (Lei, Ito & Bashivan, NeurIPS 2024)"};
  app.require_subcommand(1);
  Common common;
  RunArgs ra;

  auto* run = app.add_subcommand("run", "Run a pipeline (default: the embedded quickstart)");
  run->add_option("pipeline", ra.pipeline, "Pipeline TOML file");
  run->add_option("--set", ra.sets, "Override a value: stage.NAME.KEY=VALUE or pipeline.KEY=VALUE");
  run->add_option("--only", ra.only, "Run only this stage or instance (and what it needs)");
  run->add_option("--from", ra.from, "Recompute this stage or instance and everything downstream");
  run->add_flag("--dry-run", ra.dry_run,
                "Print the plan with cache hit/miss per instance; run nothing");
  run->add_option("--out", ra.out_dir, "Output folder (default: wmgeom-out/<pipeline name>)");
  run->add_flag("--no-progress", ra.no_progress, "No progress display");
  const std::map<std::string, ExecutorKind> executors = {{"local", ExecutorKind::kLocal},
                                                         {"slurm", ExecutorKind::kSlurm}};
  run->add_option("--executor", ra.executor,
                  "local (this machine) or slurm (one job per stage instance)")
      ->transform(CLI::CheckedTransformer(executors));
  run->add_option("--profile", ra.profile,
                  "Cluster profile TOML (slurm: partition, account, per-type resources)");
  run->add_flag("--detach", ra.detach, "slurm: submit and exit (wmgeom status / cancel follow it)");
  run->add_option("--expect-key", ra.expect_key,
                  "With --only INSTANCE: refuse to run unless it plans to this key (cluster jobs)");
  add_common(run, common, true);

  auto* status = app.add_subcommand("status", "Where a run submitted to Slurm stands");
  status->add_option("pipeline", ra.pipeline, "Pipeline TOML file")->required();
  status->add_option("--out", ra.out_dir,
                     "The run's output folder (default: wmgeom-out/<pipeline name>)");
  add_common(status, common, false);
  auto* cancel = app.add_subcommand("cancel", "Cancel the Slurm jobs of a submitted run");
  cancel->add_option("pipeline", ra.pipeline, "Pipeline TOML file")->required();
  cancel->add_option("--out", ra.out_dir,
                     "The run's output folder (default: wmgeom-out/<pipeline name>)");
  add_common(cancel, common, false);

  std::string validate_file;
  auto* validate = app.add_subcommand("validate", "Check a pipeline file; print every problem");
  validate->add_option("pipeline", validate_file, "Pipeline TOML file")->required();
  validate->add_option("--set", ra.sets, "Override a value: stage.NAME.KEY=VALUE");

  std::string stage_type;
  auto* stages = app.add_subcommand("stages", "List stage types, or document one");
  stages->add_option("type", stage_type, "Stage type");

  std::string export_stage, export_dir;
  auto* exp = app.add_subcommand(
      "export", "Write a stage's artifact as NPY + meta.json (computing it if needed)");
  exp->add_option("pipeline", ra.pipeline, "Pipeline TOML file")->required();
  exp->add_option("stage", export_stage, "Stage or instance name")->required();
  exp->add_option("dir", export_dir, "Output directory")->required();
  exp->add_option("--set", ra.sets, "Override a value: stage.NAME.KEY=VALUE");
  bool export_force = false;
  exp->add_flag("--force", export_force, "Write into a non-empty folder not made by wmgeom export");
  add_common(exp, common, true);

  auto* prof = app.add_subcommand("profile", "Run a pipeline and report per-stage throughput");
  prof->add_option("pipeline", ra.pipeline, "Pipeline TOML file")->required();
  prof->add_option("--json", ra.json_file, "Write the profile as JSON to this file");
  prof->add_option("--set", ra.sets, "Override a value: stage.NAME.KEY=VALUE");
  prof->add_option("--only", ra.only, "Profile only this stage (and what it needs)");
  prof->add_option("--from", ra.from, "Recompute this stage and everything downstream");
  prof->add_option("--out", ra.out_dir, "Output folder (default: wmgeom-out/<pipeline name>)");
  prof->add_option("--executor", ra.executor,
                   "local or slurm (then each job's node and queue wait too)")
      ->transform(CLI::CheckedTransformer(executors));
  prof->add_option("--profile", ra.profile, "Cluster profile TOML (slurm)");
  add_common(prof, common, true);

  auto* cache = app.add_subcommand("cache", "Inspect and maintain the cache");
  cache->require_subcommand(1);
  std::vector<std::string> cache_pipelines;
  std::string cache_stage;
  bool remove_corrupt = false, gc_dry = false;
  auto* ls = cache->add_subcommand("ls", "List entries");
  add_common(ls, common, false);
  auto* explain = cache->add_subcommand("explain", "Print the hashed text of a stage's cache key");
  std::string explain_pipeline;
  explain->add_option("pipeline", explain_pipeline, "Pipeline TOML file")->required();
  explain->add_option("stage", cache_stage, "Stage or instance name")->required();
  explain->add_option("--set", ra.sets, "Override a value: stage.NAME.KEY=VALUE");
  add_common(explain, common, false);
  auto* verify = cache->add_subcommand("verify", "Check every entry's checksums");
  verify->add_flag("--remove,--repair", remove_corrupt,
                   "Remove corrupt entries (they are recomputed when next needed)");
  add_common(verify, common, false);
  auto* gc = cache->add_subcommand("gc", "Remove entries that none of the given pipelines uses");
  gc->add_option("pipelines", cache_pipelines, "Pipeline TOML files")->required();
  gc->add_flag("--dry-run", gc_dry, "Only list what would be removed");
  add_common(gc, common, false);

  std::vector<std::string> argv_store = {"wmgeom"};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const auto& s : argv_store) argv.push_back(s.c_str());
  if (std::string unknown = unknown_command(app, args); !unknown.empty()) {
    err << "error: " << unknown << "\n";
    return 2;
  }
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e, out, err);
    return code == 0 ? 0 : 2;
  }
  if (common.cache_dir.empty()) common.cache_dir = default_cache_dir();
  // A cache folder that is a file (or under one) made every entry a miss
  // and every write fail: refused before anything is planned.
  if (*run || *prof || *exp || *cache || *status || *cancel) {
    if (std::string problem = folder_problem(common.cache_dir); !problem.empty()) {
      err << "error: cache folder \"" << common.cache_dir
          << "\" (--cache-dir, $WMGEOM_CACHE or .wmgeom-cache): " << problem << "\n";
      return 2;
    }
  }

  return exit_code_of(err, [&] {
    if (*run) return do_run(ra, common, registry, out, err, false);
    if (*prof) return do_run(ra, common, registry, out, err, true);
    if (*status) return do_status(ra, common, registry, out, err);
    if (*cancel) return do_cancel(ra, common, registry, out, err);
    if (*validate) return do_validate(validate_file, ra.sets, registry, out, err);
    if (*stages) return do_stages(stage_type, registry, out, err);
    if (*exp)
      return do_export(ra, export_stage, export_dir, common, registry, out, err, export_force);
    if (*cache) {
      if (*explain) cache_pipelines = {explain_pipeline};
      for (auto* sub : {ls, explain, verify, gc}) {
        if (*sub)
          return do_cache(sub->get_name(), cache_pipelines, cache_stage, ra.sets, remove_corrupt,
                          gc_dry, common, registry, out, err);
      }
    }
    return 2;
  });
}

}  // namespace wmgeom
