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
  std::ifstream f(proc_self_cgroup);
  for (std::string line; std::getline(f, line);) {
    const auto a = line.find(':'), c = line.find(':', a == std::string::npos ? a : a + 1);
    if (a == std::string::npos || c == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, c - a - 1);
    const fs::path rel = fs::path(line.substr(c + 1)).relative_path();
    const bool v2 = controllers.empty();
    const bool v1 = ("," + controllers + ",").find(",cpu,") != std::string::npos;
    if (!v2 && !v1) continue;
    const fs::path base = v2 ? fs::path(cgroup_root) : fs::path(cgroup_root) / controllers;
    for (fs::path dir = base / rel;; dir = dir.parent_path()) {
      const double q = v2 ? quota_v2(dir / "cpu.max") : quota_v1(dir);
      if (q > 0 && (b.quota == 0 || q < b.quota)) b.quota = q;
      if (dir == base || dir.string().size() <= base.string().size()) break;
    }
  }
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
