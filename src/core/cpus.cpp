#include "core/cpus.h"

#include <sched.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace wmgeom {

namespace fs = std::filesystem;

namespace {

// CPUs of a cgroup quota: v2 "QUOTA PERIOD" or "max PERIOD"; 0 for none.
double quota_v2(const fs::path& file) {
  std::ifstream f(file);
  std::string quota;
  double period = 0;
  if (!(f >> quota >> period) || quota == "max" || period <= 0) return 0;
  try {
    return std::stod(quota) / period;
  } catch (const std::exception&) {
    return 0;
  }
}

double quota_v1(const fs::path& dir) {
  std::ifstream q(dir / "cpu.cfs_quota_us"), p(dir / "cpu.cfs_period_us");
  double quota = 0, period = 0;
  if (!(q >> quota) || !(p >> period) || quota <= 0 || period <= 0) return 0;
  return quota / period;
}

}  // namespace

std::vector<fs::path> cgroup_dirs(const std::string& controller, const std::string& cgroup_root,
                                  const std::string& proc_self_cgroup) {
  std::vector<fs::path> dirs;
  std::ifstream f(proc_self_cgroup);
  for (std::string line; std::getline(f, line);) {
    // "0::/path" (v2) or "4:cpu,cpuacct:/path" (v1)
    const auto a = line.find(':');
    const auto c = a == std::string::npos ? a : line.find(':', a + 1);
    if (c == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, c - a - 1);
    const bool match =
        controller.empty()
            ? controllers.empty()
            : ("," + controllers + ",").find("," + controller + ",") != std::string::npos;
    if (!match) continue;
    const fs::path base =
        controller.empty() ? fs::path(cgroup_root) : fs::path(cgroup_root) / controllers;
    for (fs::path dir = base / fs::path(line.substr(c + 1)).relative_path();;
         dir = dir.parent_path()) {
      dirs.push_back(dir);
      if (dir == base || dir.string().size() <= base.string().size()) break;
    }
    break;
  }
  return dirs;
}

std::string CpuBudget::describe() const {
  std::string s = std::to_string(cpus) + (cpus == 1 ? " CPU" : " CPUs") + " (" + limit;
  if (limit != "cores") s += "; " + std::to_string(cores) + " cores";
  return s + ")";
}

CpuBudget cpu_budget() { return cpu_budget("/sys/fs/cgroup", "/proc/self/cgroup"); }

CpuBudget cpu_budget(const std::string& cgroup_root, const std::string& proc_self_cgroup) {
  CpuBudget b;
  b.cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  b.cpus = b.cores;
  b.limit = "cores";
  auto take = [&](int n, const char* why) {
    if (n >= 1 && n < b.cpus) {
      b.cpus = n;
      b.limit = why;
    }
  };
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    b.affinity = CPU_COUNT(&set);
    take(b.affinity, "affinity");
  }
  // The quota of this process's cgroup and of every parent (the tightest binds).
  auto tightest = [&](double q) {
    if (q > 0 && (b.quota == 0 || q < b.quota)) b.quota = q;
  };
  for (const auto& dir : cgroup_dirs("", cgroup_root, proc_self_cgroup))
    tightest(quota_v2(dir / "cpu.max"));
  for (const auto& dir : cgroup_dirs("cpu", cgroup_root, proc_self_cgroup)) tightest(quota_v1(dir));
  if (b.quota > 0) take(static_cast<int>(std::ceil(b.quota - 1e-9)), "cgroup cpu.max");
  if (std::getenv("SLURM_JOB_ID") != nullptr) {
    if (const char* s = std::getenv("SLURM_CPUS_PER_TASK")) {
      b.slurm = std::atoi(s);
      take(b.slurm, "SLURM_CPUS_PER_TASK");
    }
  }
  return b;
}

}  // namespace wmgeom
