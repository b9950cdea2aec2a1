#include "graph/fit.h"

#include <sys/statvfs.h>

#include <fstream>
#include <sstream>

#include "core/cpus.h"  // cgroup_dirs
#include "core/format.h"

namespace wmgeom {

namespace fs = std::filesystem;

namespace {

// A number from a one-line file (cgroup files); -1 for "max", absent or unreadable.
std::int64_t read_number(const fs::path& file) {
  std::ifstream f(file);
  std::string word;
  if (!(f >> word) || word == "max") return -1;
  try {
    return std::stoll(word);
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

FreeSpace measure_free_space(const fs::path& cache_dir) {
  FreeSpace free;
  {
    std::ifstream f("/proc/meminfo");
    std::string key;
    std::int64_t kb = 0;
    std::string unit;
    while (f >> key >> kb) {
      std::getline(f, unit);
      if (key == "MemAvailable:") {
        free.memory = kb * 1024;
        free.memory_from = "MemAvailable in /proc/meminfo";
        break;
      }
    }
  }
  // A cgroup limit (a container, a Slurm job with ConstrainRAMSpace) binds first.
  auto consider = [&](std::int64_t limit, std::int64_t usage, const std::string& from) {
    if (limit < 0 || usage < 0) return;
    const std::int64_t headroom = std::max<std::int64_t>(0, limit - usage);
    if (free.memory < 0 || headroom < free.memory) {
      free.memory = headroom;
      free.memory_from = from;
    }
  };
  for (const auto& dir : cgroup_dirs("")) {
    consider(read_number(dir / "memory.max"), read_number(dir / "memory.current"),
             "the cgroup limit " + (dir / "memory.max").string());
  }
  for (const auto& dir : cgroup_dirs("memory")) {
    const std::int64_t limit = read_number(dir / "memory.limit_in_bytes");
    if (limit > 0 && limit < (std::int64_t{1} << 60)) {  // v1 says "no limit" with a huge number
      consider(limit, read_number(dir / "memory.usage_in_bytes"),
               "the cgroup limit " + (dir / "memory.limit_in_bytes").string());
    }
  }
  std::error_code ec;
  fs::path at = fs::absolute(cache_dir, ec);
  while (!at.empty() && !fs::exists(at, ec) && at != at.parent_path()) at = at.parent_path();
  struct statvfs st {};
  if (!at.empty() && ::statvfs(at.c_str(), &st) == 0) {
    free.disk = static_cast<std::int64_t>(st.f_bavail) * static_cast<std::int64_t>(st.f_frsize);
    free.disk_at = at.string();
  }
  return free;
}

std::string MemoryNeed::parts() const {
  return "its artifact " + format_bytes(static_cast<double>(artifact)) + ", its inputs " +
         format_bytes(static_cast<double>(inputs)) + ", working memory " +
         format_bytes(static_cast<double>(working));
}

MemoryNeed memory_need(const Plan& plan, std::size_t instance) {
  const Instance& inst = plan.instances[instance];
  MemoryNeed need;
  if (!inst.estimate.known) return need;
  need.known = true;
  need.artifact = inst.estimate.bytes;
  need.working = inst.estimate.working;
  for (const auto& edge : inst.inputs) {
    const SizeEstimate& up = plan.instances[edge.upstream].estimate;
    if (up.known) need.inputs += up.bytes;
  }
  return need;
}

FitReport check_fit(const Plan& plan, const std::vector<bool>& compute, const FreeSpace& free) {
  FitReport report;
  std::int64_t disk_total = 0;
  int counted = 0;
  // An instance downstream of one that cannot fit is not reported: its
  // sizes follow from that one's, and one cause is easier to act on.
  std::vector<bool> blocked(plan.instances.size(), false);
  std::size_t downstream = 0;
  for (std::size_t i = 0; i < plan.instances.size(); ++i) {
    if (i >= compute.size() || !compute[i]) continue;
    const Instance& inst = plan.instances[i];
    for (const auto& edge : inst.inputs) blocked[i] = blocked[i] || blocked[edge.upstream];
    if (blocked[i]) {
      ++downstream;
      continue;
    }
    const SizeEstimate& e = inst.estimate;
    const MemoryNeed need = memory_need(plan, i);
    if (!need.known) continue;
    const std::size_t errors_before = report.errors.size();
    const std::string who = "stage " + inst.name + " (" + inst.entry->schema.type + ")";
    if (free.memory >= 0 && need.total() > free.memory) {
      std::ostringstream m;
      m << who << " needs about " << format_bytes(static_cast<double>(need.total()))
        << " of memory (" << need.parts() << ") but "
        << format_bytes(static_cast<double>(free.memory)) << " is free (" << free.memory_from
        << "); make it smaller (its parameters: `wmgeom stages " << inst.entry->schema.type << "`)";
      report.errors.push_back(m.str());
    }
    if (free.disk >= 0 && e.bytes > free.disk) {
      std::ostringstream m;
      m << who << " would store an artifact of about " << format_bytes(static_cast<double>(e.bytes))
        << " but the cache's disk has " << format_bytes(static_cast<double>(free.disk)) << " free ("
        << free.disk_at << "); free space there or choose another --cache";
      report.errors.push_back(m.str());
    }
    blocked[i] = report.errors.size() > errors_before;
    disk_total += e.bytes;
    ++counted;
  }
  if (!report.errors.empty() && downstream > 0) {
    report.errors.back() += " (" + std::to_string(downstream) + " instance" +
                            (downstream == 1 ? "" : "s") + " downstream of the above not checked)";
  }
  if (report.errors.empty() && free.disk >= 0 && disk_total > free.disk && counted > 1) {
    report.warnings.push_back(
        "the " + std::to_string(counted) + " artifacts this run computes are estimated at " +
        format_bytes(static_cast<double>(disk_total)) + " uncompressed, more than the " +
        format_bytes(static_cast<double>(free.disk)) + " free at " + free.disk_at +
        "; compression usually makes entries smaller, but the run may fill the disk");
  }
  return report;
}

}  // namespace wmgeom
