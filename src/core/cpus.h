// How many CPUs this process may really use: the default width of a run
// (--threads 0) and what the thread policy (nets/threads.h) plans with.
// std::thread::hardware_concurrency() counts the machine's cores, which on a
// shared node, in a container or in a Slurm allocation is more than the
// process gets; threads beyond its share only wait for each other.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace wmgeom {

struct CpuBudget {
  int cpus = 1;  // the smallest of the limits below, at least 1
  std::string
      limit;      // which one set it: "cores", "affinity", "cgroup cpu.max", "SLURM_CPUS_PER_TASK"
  int cores = 0;  // hardware_concurrency()
  int affinity = 0;  // CPUs in sched_getaffinity's mask (0: unknown)
  double quota = 0;  // cgroup CPU quota in CPUs (v2 cpu.max, v1 cfs_quota/period); 0: none
  int slurm = 0;     // SLURM_CPUS_PER_TASK inside a Slurm job (SLURM_JOB_ID set); 0: none
  std::string describe() const;  // "2 CPUs (affinity; 8 cores)"
};

// This process's cgroup folders, its own first, then each parent up to the
// hierarchy's root: the unified (v2) hierarchy for controller "", else the
// v1 hierarchy that mounts `controller` ("cpu", "memory"). Empty when the
// process is in no such hierarchy. The CPU budget reads cpu.max or
// cpu.cfs_quota_us there; the plan-time memory check (graph/fit.h) memory.max.
std::vector<std::filesystem::path> cgroup_dirs(
    const std::string& controller, const std::string& cgroup_root = "/sys/fs/cgroup",
    const std::string& proc_self_cgroup = "/proc/self/cgroup");

// Read once per call (cheap: one syscall and two small files).
// `cgroup_root` is for tests (a fake /sys/fs/cgroup and /proc/self/cgroup).
CpuBudget cpu_budget();
CpuBudget cpu_budget(const std::string& cgroup_root, const std::string& proc_self_cgroup);

}  // namespace wmgeom
