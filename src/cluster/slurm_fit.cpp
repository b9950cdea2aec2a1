// The Slurm executor's request fitting: each job's request (the stage's
// estimate, then the cluster profile) checked against its partition, read
// from `scontrol -o show partition` and `show node` (slurm.h).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cluster/slurm.h"
#include "cluster/slurm_detail.h"
#include "core/error.h"
#include "core/format.h"
#include "graph/fit.h"

namespace wmgeom {

namespace {

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
    out.errors.push_back(
        who + " asks " + std::to_string(res.mem_mb) + " MB of memory (" +
        origin("mem_mb", req.estimate_mb == req.res.mem_mb && !req.estimate_why.empty()
                             ? req.estimate_why
                             : "the stage's request") +
        "); " + where + " offers at most " + std::to_string(most_mem) + " MB on a node" +
        (part.max_mem_per_node >= 0
             ? " (MaxMemPerNode " + std::to_string(part.max_mem_per_node) + ")"
             : "") +
        ". Memory is not sized down: set " + table + " mem_mb (at most " +
        std::to_string(most_mem) + ") in " + profile + " if the stage needs less, " + elsewhere);
  } else {
    keep([&](const auto& n) { return mem_of(n) >= res.mem_mb; });
    int most_cpus = 0;
    for (const auto& n : nodes) most_cpus = std::max(most_cpus, cpus_of(n));
    // The largest width a result depends on (not sized down).
    const int width = std::max(req.fixed_cpus, res.fixed_width ? res.cpus : 0);
    if (res.cpus > most_cpus) {
      const std::string offer = where + " offers at most " + std::to_string(most_cpus) +
                                " CPU(s) on a node" +
                                (res.gpus > 0 ? " with the GPUs it asks" : "");
      if (req.from_profile.count("cpus")) {
        out.errors.push_back(who + " asks " + std::to_string(res.cpus) + " CPUs (" +
                             origin("cpus", "") + "); " + offer + ". Set " + table +
                             " cpus to at most " + std::to_string(most_cpus) + " in " + profile);
      } else if (width > most_cpus) {
        const std::string t = std::to_string(most_cpus);
        out.errors.push_back(who + " asks " + std::to_string(width) +
                             " CPUs, the width it trains at (its threads = " +
                             std::to_string(req.threads_param >= 0 ? req.threads_param : width) +
                             ", hashed: its result depends on it, so it is not sized down); " +
                             offer + ". Set threads to at most " + t + " (--set stage." + req.decl +
                             ".threads=" + t + ", the pipeline file, or " + table +
                             " set = [\"threads=" + t + "\"] in " + profile +
                             "; a new cache key) " + elsewhere);
      } else {
        out.notes.push_back(who + " asks " + std::to_string(res.cpus) + " CPUs; " + offer +
                            ": sized down to " + std::to_string(most_cpus) +
                            (req.fixed_cpus > 0
                                 ? " (the widths its array's results depend on, at most " +
                                       std::to_string(req.fixed_cpus) + ", still fit)"
                                 : " (its result does not depend on its width)"));
        res.cpus = most_cpus;
      }
    }
  }
  if (part.max_minutes >= 0 && res.minutes > part.max_minutes) {
    out.errors.push_back(
        who + " asks a time limit of " + minutes_text(res.minutes) + " (" +
        origin("minutes", "the stage's request") + "); " + where + " allows at most " +
        minutes_text(part.max_minutes) + " (MaxTime). Set " + table + " minutes (at most " +
        std::to_string(part.max_minutes) + ") in " + profile +
        " (a training stopped by its limit checkpoints and requeues itself, up to max_requeues) " +
        elsewhere);
  }
  return out;
}

namespace slurm_detail {

// Declaration d's request for the instances of one job (an array's tasks
// share one request, so the largest of each field), memory raised to the
// size estimates' need, then the profile's values for its type, and where
// each came from.
JobRequest request_of(const Plan& plan, std::size_t d, const std::vector<std::size_t>& instances,
                      const ClusterProfile& profile) {
  const StageDecl& decl = plan.spec.stages[d];
  JobRequest req;
  req.decl = decl.name;
  req.type = decl.type;
  req.profile_file = profile.file;
  bool first = true;
  for (std::size_t i : instances) {
    const Instance& inst = plan.instances[i];
    const Resources r = instance_resources(inst);
    if (first) {
      req.res = r;
      first = false;
    } else {
      req.res.cpus = std::max(req.res.cpus, r.cpus);
      req.res.mem_mb = std::max(req.res.mem_mb, r.mem_mb);
      req.res.minutes = std::max(req.res.minutes, r.minutes);
      req.res.gpus = std::max(req.res.gpus, r.gpus);
    }
    // A hashed width is the width of its own instance only: an array of
    // trainings at 2 threads and inferences at 8 must not read as training
    // at 8 (the 8 may be sized down, the 2 may not).
    if (r.fixed_width) {
      req.fixed_cpus = std::max(req.fixed_cpus, r.cpus);
      if (inst.params.has("threads"))
        req.threads_param = std::max(req.threads_param, inst.params.i("threads"));
    }
    // The plan's estimate: what the run's own fit check (graph/fit.h)
    // compares with the memory free in the job once it starts on the node.
    const MemoryNeed need = memory_need(plan, i);
    if (!need.known) continue;
    constexpr double kMiB = 1024.0 * 1024.0;
    const double need_mib = std::ceil(
        std::max(0.0, (static_cast<double>(need.artifact) + static_cast<double>(need.inputs) +
                       static_cast<double>(need.working)) /
                          kMiB));
    const double mb = std::ceil(need_mib * kJobMemoryMargin) + kJobProcessMiB;
    const int want = static_cast<int>(std::min(mb, static_cast<double>(kJobMaxMiB)));
    if (want > req.estimate_mb) {
      req.estimate_mb = want;
      std::ostringstream why;
      why << "the plan's estimate for " << inst.name << ": "
          << static_cast<long long>(std::min(need_mib, 1e18)) << " MiB ("
          << format_bytes(static_cast<double>(need.total())) << ": " << need.parts() << "), times "
          << kJobMemoryMargin << ", plus " << kJobProcessMiB << " MiB for the process";
      req.estimate_why = why.str();
    }
  }
  // The width the result depends on, where the largest is one.
  req.res.fixed_width = req.fixed_cpus > 0 && req.fixed_cpus >= req.res.cpus;
  if (req.estimate_mb > req.res.mem_mb) req.res.mem_mb = req.estimate_mb;
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

}  // namespace slurm_detail

std::map<std::size_t, JobRequest> SlurmExecutor::fit_requests(
    const SlurmRun& run, const std::vector<std::vector<std::size_t>>& misses) {
  std::map<std::size_t, JobRequest> out;
  std::vector<JobRequest> reqs;
  std::vector<std::size_t> decls;
  for (std::size_t d = 0; d < misses.size(); ++d) {
    if (misses[d].empty()) continue;
    reqs.push_back(slurm_detail::request_of(plan_, d, misses[d], run.profile));
    decls.push_back(d);
    const JobRequest& req = reqs.back();
    out[d] = req;
    if (auto at = req.from_profile.find("mem_mb");
        at != req.from_profile.end() && req.estimate_mb > req.res.mem_mb) {
      log_.warn("slurm: stage " + req.decl + " (" + req.type + ") asks " +
                std::to_string(req.res.mem_mb) + " MB of memory ([stage." + req.type +
                "] mem_mb at " + at->second + "), less than the " +
                std::to_string(req.estimate_mb) + " MB of " + req.estimate_why +
                "; Slurm may stop its jobs for memory, or the run's own check may refuse them");
    }
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
    out[decls[k]].res = fit.res;
  }
  if (!errors.empty()) {
    std::string msg = std::to_string(errors.size()) +
                      " job request(s) can never run on this cluster; nothing was submitted:";
    for (const auto& e : errors) msg += "\n  " + e;
    throw InputError(msg);
  }
  return out;
}

}  // namespace wmgeom
