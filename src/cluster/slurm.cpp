#include "cluster/slurm.h"

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
  return std::to_string(minutes / 60) + ":" + (minutes % 60 < 10 ? "0" : "") +
         std::to_string(minutes % 60) + ":00";
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
    out[line.substr(0, a)] = {line.substr(a + 1, b - a - 1), line.substr(b + 1, c - b - 1),
                              line.substr(c + 1)};
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

// The value of `name=` in one line of `scontrol -o show ...` ("" if absent).
// Values end at a space (the fields wmgeom reads hold none).
std::string scontrol_field(const std::string& line, const std::string& name) {
  std::size_t at = line.rfind(name + "=", 0) == 0 ? 0 : std::string::npos;
  if (at == std::string::npos) {
    at = line.find(" " + name + "=");
    if (at == std::string::npos) return "";
    ++at;
  }
  const std::size_t start = at + name.size() + 1;
  const std::size_t end = line.find(' ', start);
  return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

bool all_digits(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

long long number_or(const std::string& s, long long fallback) {
  return all_digits(s) ? std::stoll(s) : fallback;
}

// GPUs in a node's Gres ("gpu:2", "gpu:a100:4(S:0-1),mps:100", "(null)").
int gpus_of(const std::string& gres) {
  int n = 0;
  for (std::string entry : split(gres, ',')) {
    entry = entry.substr(0, entry.find('('));
    const auto parts = split(entry, ':');
    if (parts.empty() || parts[0] != "gpu") continue;
    n += parts.size() > 1 && all_digits(parts.back()) ? std::stoi(parts.back()) : 1;
  }
  return n;
}

std::string minutes_text(long long minutes) { return std::to_string(minutes) + " min"; }

std::string waited_text(double seconds) {
  const long long s = static_cast<long long>(seconds);
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min";
  return std::to_string(s / 3600) + " h " + std::to_string(s % 3600 / 60) + " min";
}

}  // namespace

long long parse_slurm_minutes(const std::string& text) {
  if (text.empty() || text == "UNLIMITED" || text == "INFINITE" || text == "NONE") return -1;
  long long days = 0;
  std::string rest = text;
  if (auto dash = text.find('-'); dash != std::string::npos) {
    if (!all_digits(text.substr(0, dash))) return -1;
    days = std::stoll(text.substr(0, dash));
    rest = text.substr(dash + 1);
  }
  const auto parts = split(rest, ':');
  for (const auto& p : parts) {
    if (!all_digits(p)) return -1;
  }
  long long h = 0, m = 0, sec = 0;
  if (text.find('-') != std::string::npos) {  // D-HH, D-HH:MM, D-HH:MM:SS
    h = std::stoll(parts[0]);
    if (parts.size() > 1) m = std::stoll(parts[1]);
    if (parts.size() > 2) sec = std::stoll(parts[2]);
  } else if (parts.size() == 1) {  // MM
    m = std::stoll(parts[0]);
  } else if (parts.size() == 2) {  // MM:SS
    m = std::stoll(parts[0]);
    sec = std::stoll(parts[1]);
  } else {  // HH:MM:SS
    h = std::stoll(parts[0]);
    m = std::stoll(parts[1]);
    sec = std::stoll(parts[2]);
  }
  return days * 1440 + h * 60 + m + (sec > 0 ? 1 : 0);
}

std::vector<PartitionLimits> parse_partitions(const std::string& show_partition,
                                              const std::string& show_node) {
  std::vector<PartitionLimits> parts;
  std::istringstream pl(show_partition);
  for (std::string line; std::getline(pl, line);) {
    const std::string name = scontrol_field(line, "PartitionName");
    if (name.empty()) continue;
    PartitionLimits p;
    p.name = name;
    p.is_default = scontrol_field(line, "Default") == "YES";
    p.max_minutes = parse_slurm_minutes(scontrol_field(line, "MaxTime"));
    p.max_mem_per_node = number_or(scontrol_field(line, "MaxMemPerNode"), -1);
    p.max_cpus_per_node = static_cast<int>(number_or(scontrol_field(line, "MaxCPUsPerNode"), -1));
    parts.push_back(p);
  }
  std::istringstream nl(show_node);
  for (std::string line; std::getline(nl, line);) {
    PartitionLimits::Node n;
    n.name = scontrol_field(line, "NodeName");
    if (n.name.empty()) continue;
    std::string cpus = scontrol_field(line, "CPUEfctv");
    if (!all_digits(cpus)) cpus = scontrol_field(line, "CPUTot");
    n.cpus = static_cast<int>(number_or(cpus, 0));
    n.mem_mb = number_or(scontrol_field(line, "RealMemory"), 0);
    n.gpus = gpus_of(scontrol_field(line, "Gres"));
    for (const auto& part : split(scontrol_field(line, "Partitions"), ',')) {
      for (auto& p : parts) {
        if (p.name == part) p.nodes.push_back(n);
      }
    }
  }
  return parts;
}

FitResult fit_request(const JobRequest& req, const PartitionLimits& part) {
  FitResult out;
  out.res = req.res;
  Resources& res = out.res;
  res.cpus = std::max(1, res.cpus);
  const std::string who = "stage " + req.decl + " (" + req.type + ")";
  const std::string where = "partition " + part.name;
  const std::string profile =
      req.profile_file.empty() ? "a cluster profile (--profile FILE)" : req.profile_file;
  const std::string table = "[stage." + req.type + "]";
  auto origin = [&](const std::string& key, const std::string& estimate) {
    auto it = req.from_profile.find(key);
    return it == req.from_profile.end() ? estimate : table + " " + key + " at " + it->second;
  };
  const std::string elsewhere = "or send its jobs to another partition (" + table +
                                " partition = \"...\" in " + profile + ")";
  if (part.nodes.empty()) {
    out.errors.push_back(who + ": " + where + " has no nodes; " + elsewhere.substr(3));
    return out;
  }
  auto cpus_of = [&](const PartitionLimits::Node& n) {
    return part.max_cpus_per_node >= 0 ? std::min(n.cpus, part.max_cpus_per_node) : n.cpus;
  };
  auto mem_of = [&](const PartitionLimits::Node& n) {
    return part.max_mem_per_node >= 0 ? std::min(n.mem_mb, part.max_mem_per_node) : n.mem_mb;
  };
  std::vector<PartitionLimits::Node> nodes = part.nodes;
  auto keep = [&](auto pred) {
    nodes.erase(std::remove_if(nodes.begin(), nodes.end(), [&](const auto& n) { return !pred(n); }),
                nodes.end());
  };
  if (res.gpus > 0) {
    int most = 0;
    for (const auto& n : nodes) most = std::max(most, n.gpus);
    if (most < res.gpus) {
      out.errors.push_back(
          who + " asks " + std::to_string(res.gpus) + " GPU(s) (" +
          origin("gpus", "its device is CUDA") + "); " + where + " has " +
          (most == 0 ? "no GPU" : "at most " + std::to_string(most) + " on a node") +
          ". Run it on the CPU (" + table + " gpus = 0 and set = [\"device=\\\"cpu\\\"\"] in " +
          profile + ") " + elsewhere);
      return out;
    }
    keep([&](const auto& n) { return n.gpus >= res.gpus; });
  }
  long long most_mem = 0;
  for (const auto& n : nodes) most_mem = std::max(most_mem, mem_of(n));
  if (res.mem_mb > most_mem) {
    out.errors.push_back(who + " asks " + std::to_string(res.mem_mb) + " MB of memory (" +
                         origin("mem_mb", "the stage's estimate") + "); " + where +
                         " offers at most " + std::to_string(most_mem) + " MB on a node" +
                         (part.max_mem_per_node >= 0
                              ? " (MaxMemPerNode " + std::to_string(part.max_mem_per_node) + ")"
                              : "") +
                         ". Memory is not sized down: set " + table + " mem_mb (at most " +
                         std::to_string(most_mem) + ") in " + profile +
                         " if the stage needs less, " + elsewhere);
  } else {
    keep([&](const auto& n) { return mem_of(n) >= res.mem_mb; });
    int most_cpus = 0;
    for (const auto& n : nodes) most_cpus = std::max(most_cpus, cpus_of(n));
    if (res.cpus > most_cpus) {
      const std::string offer = where + " offers at most " + std::to_string(most_cpus) +
                                " CPU(s) on a node" +
                                (res.gpus > 0 ? " with the GPUs it asks" : "");
      if (req.from_profile.count("cpus")) {
        out.errors.push_back(who + " asks " + std::to_string(res.cpus) + " CPUs (" +
                             origin("cpus", "") + "); " + offer + ". Set " + table +
                             " cpus to at most " + std::to_string(most_cpus) + " in " + profile);
      } else if (res.fixed_width) {
        const std::string t = std::to_string(most_cpus);
        out.errors.push_back(who + " asks " + std::to_string(res.cpus) +
                             " CPUs, the width it trains at (its threads = " +
                             std::to_string(req.threads_param >= 0 ? req.threads_param : res.cpus) +
                             ", hashed: its result depends on it, so it is not sized down); " +
                             offer + ". Set threads to at most " + t + " (--set stage." + req.decl +
                             ".threads=" + t + ", the pipeline file, or " + table +
                             " set = [\"threads=" + t + "\"] in " + profile +
                             "; a new cache key) " + elsewhere);
      } else {
        out.notes.push_back(who + " asks " + std::to_string(res.cpus) + " CPUs; " + offer +
                            ": sized down to " + std::to_string(most_cpus) +
                            " (its result does not depend on its width)");
        res.cpus = most_cpus;
      }
    }
  }
  if (part.max_minutes >= 0 && res.minutes > part.max_minutes) {
    out.errors.push_back(
        who + " asks a time limit of " + minutes_text(res.minutes) + " (" +
        origin("minutes", "the stage's estimate") + "); " + where + " allows at most " +
        minutes_text(part.max_minutes) + " (MaxTime). Set " + table + " minutes (at most " +
        std::to_string(part.max_minutes) + ") in " + profile +
        " (a training stopped by its limit checkpoints and requeues itself, up to max_requeues) " +
        elsewhere);
  }
  return out;
}

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
  return {{"pipeline", pipeline}, {"jobs", js}, {"cached", cached}};
}

Submission Submission::from_json(const nlohmann::json& j) {
  try {
    Submission s;
    s.pipeline = j.at("pipeline").get<std::string>();
    s.cached = j.at("cached").get<std::vector<std::string>>();
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
  pending_.clear();
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

namespace {

// Declaration d's request: the stage's estimate for its first instance, then
// the profile's values for its type, and where each came from.
JobRequest request_of(const Plan& plan, std::size_t d, const Instance& first,
                      const ClusterProfile& profile) {
  const StageDecl& decl = plan.spec.stages[d];
  JobRequest req;
  req.decl = decl.name;
  req.type = decl.type;
  req.profile_file = profile.file;
  req.res = instance_resources(first);
  if (first.params.has("threads")) req.threads_param = first.params.i("threads");
  req.partition = profile.partition;
  if (auto w = profile.where.find("partition"); w != profile.where.end())
    req.partition_where = "[slurm] partition at " + w->second;
  if (auto it = profile.stages.find(decl.type); it != profile.stages.end()) {
    const ClusterStage& c = it->second;
    auto at = [&](const char* key) {
      auto w = c.where.find(key);
      return w == c.where.end() ? std::string(profile.file) : w->second;
    };
    if (c.cpus > 0) req.res.cpus = c.cpus, req.from_profile["cpus"] = at("cpus");
    if (c.mem_mb > 0) req.res.mem_mb = c.mem_mb, req.from_profile["mem_mb"] = at("mem_mb");
    if (c.minutes > 0) req.res.minutes = c.minutes, req.from_profile["minutes"] = at("minutes");
    if (c.gpus >= 0) req.res.gpus = c.gpus, req.from_profile["gpus"] = at("gpus");
    if (!c.partition.empty()) {
      req.partition = c.partition;
      req.partition_where = "[stage." + decl.type + "] partition at " + at("partition");
    }
  }
  return req;
}

}  // namespace

std::map<std::size_t, Resources> SlurmExecutor::fit_requests(
    const SlurmRun& run, const std::vector<std::vector<std::size_t>>& misses) {
  std::map<std::size_t, Resources> out;
  std::vector<JobRequest> reqs;
  std::vector<std::size_t> decls;
  for (std::size_t d = 0; d < misses.size(); ++d) {
    if (misses[d].empty()) continue;
    reqs.push_back(request_of(plan_, d, plan_.instances[misses[d].front()], run.profile));
    decls.push_back(d);
    out[d] = reqs.back().res;
  }
  if (reqs.empty()) return out;
  const CommandResult parts_cmd = run_command({"scontrol", "-o", "show", "partition"});
  const CommandResult nodes_cmd = run_command({"scontrol", "-o", "show", "node"});
  if (parts_cmd.status != 0 || nodes_cmd.status != 0) {
    const CommandResult& bad = parts_cmd.status != 0 ? parts_cmd : nodes_cmd;
    log_.warn("slurm: cannot read the partitions' limits (scontrol exit " +
              std::to_string(bad.status) + ": " + bad.err.substr(0, bad.err.find('\n')) +
              "); the jobs' requests are not checked against them");
    return out;
  }
  const std::vector<PartitionLimits> parts = parse_partitions(parts_cmd.out, nodes_cmd.out);
  std::vector<std::string> errors;
  const std::string profile =
      run.profile.file.empty() ? "a cluster profile (--profile FILE)" : run.profile.file;
  for (std::size_t k = 0; k < reqs.size(); ++k) {
    const JobRequest& req = reqs[k];
    const PartitionLimits* part = nullptr;
    std::string names;
    for (const auto& p : parts) {
      names += (names.empty() ? "" : ", ") + p.name;
      if (req.partition.empty() ? p.is_default : p.name == req.partition) part = &p;
    }
    if (!part) {
      errors.push_back(
          "stage " + req.decl + " (" + req.type + "): " +
          (req.partition.empty()
               ? "the cluster has no default partition"
               : "partition \"" + req.partition + "\" does not exist" +
                     (req.partition_where.empty() ? "" : " (" + req.partition_where + ")")) +
          "; the cluster has: " + (names.empty() ? "none" : names) +
          ". Set [slurm] partition (or [stage." + req.type + "] partition) in " + profile);
      continue;
    }
    FitResult fit = fit_request(req, *part);
    for (const auto& n : fit.notes) log_.info("slurm: " + n);
    errors.insert(errors.end(), fit.errors.begin(), fit.errors.end());
    out[decls[k]] = fit.res;
  }
  if (!errors.empty()) {
    std::string msg = std::to_string(errors.size()) +
                      " job request(s) can never run on this cluster; nothing was submitted:";
    for (const auto& e : errors) msg += "\n  " + e;
    throw InputError(msg);
  }
  return out;
}

Submission SlurmExecutor::submit(const SlurmRun& run) {
  // What a local run would compute: the same selection, the same keys.
  Executor local(plan_, cache_, log_);
  const RunSummary planned = local.dry_run(run.selection);
  Submission sub;
  sub.pipeline = plan_.spec.name;
  std::vector<std::vector<std::size_t>> misses(plan_.spec.stages.size());
  for (std::size_t i = 0; i < plan_.instances.size(); ++i) {
    if (planned.instances[i].cache == CacheStatus::kMiss)
      misses[plan_.instances[i].decl].push_back(i);
    if (planned.instances[i].cache == CacheStatus::kHit)
      sub.cached.push_back(plan_.instances[i].name);
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
  const std::vector<std::size_t> order = decl_order(plan_);
  for (std::size_t d : order) {
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
        log_.info("still queued or running: " + it->second->decl + " (job " + it->second->id +
                  "); waiting for it");
      }
    }
    misses[d] = fresh;
  }
  // Every request checked against its partition before the first sbatch.
  const std::map<std::size_t, Resources> fitted = fit_requests(run, misses);
  for (std::size_t d : order) {
    if (misses[d].empty()) continue;
    const StageDecl& decl = plan_.spec.stages[d];
    const JobRequest req = request_of(plan_, d, plan_.instances[misses[d].front()], run.profile);
    const Resources res = fitted.at(d);
    const std::string& partition = req.partition;
    std::vector<std::string> extra = run.profile.sbatch;
    int max_running = run.profile.max_running;
    if (auto it = run.profile.stages.find(decl.type); it != run.profile.stages.end()) {
      extra.insert(extra.end(), it->second.sbatch.begin(), it->second.sbatch.end());
      if (it->second.max_running > 0) max_running = it->second.max_running;
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
    // An earlier job's verdicts on these instances are not this job's.
    for (const auto& n : names) {
      std::error_code ec;
      fs::remove(slurm_dir / "runs" / instance_folder_name(n) / "stuck.json", ec);
      fs::remove(slurm_dir / "runs" / instance_folder_name(n) / "requeue.json", ec);
    }

    // The job script: the embedded template src/cluster/job.sh, filled.
    std::string setup, instances, dirs, keys, more;
    for (const auto& line : run.profile.setup) setup += (setup.empty() ? "" : "\n") + line;
    for (const auto& n : names) instances += " " + shell_quote(n);
    for (const auto& n : names)
      dirs += " " + shell_quote((slurm_dir / "runs" / instance_folder_name(n)).string());
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
        "--cpus-per-task=" + std::to_string(std::max(1, res.cpus)),
        "--mem=" + std::to_string(std::max(1, res.mem_mb)) + "M",
        "--time=" + slurm_time(res.minutes),
        "--signal=B:USR1@" + std::to_string(run.profile.warn_seconds),
        "--requeue",
        "--open-mode=append",  // a requeued run adds to its log
        "--kill-on-invalid-dep=yes"};
    if (array) {
      // A cap at or above the array's size changes nothing: left out.
      const bool capped = max_running > 0 && static_cast<std::size_t>(max_running) < names.size();
      argv.push_back("--array=0-" + std::to_string(names.size() - 1) +
                     (capped ? "%" + std::to_string(max_running) : std::string()));
    }
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
      nlohmann::json record = sub.to_json();
      record["sets"] = run.sets;
      std::ofstream(submission_file(run.out_dir)) << record.dump(2) << "\n";
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
  nlohmann::json record = sub.to_json();
  record["sets"] = run.sets;  // what the jobs plan with: status plans the same keys
  std::ofstream f(submission_file(run.out_dir));
  f << record.dump(2) << "\n";
  if (!f) throw Error("cannot write " + submission_file(run.out_dir).string());
  return sub;
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
