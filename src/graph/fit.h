// Plan-time resource checks (issue 14): will each artifact the run computes
// fit the memory and the disk that are free? From Stage::estimate only; no
// stage runs. The executor calls these before starting a run (and a dry run)
// and refuses with exit 2 when an instance would not fit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "graph/plan.h"

namespace wmgeom {

struct FreeSpace {
  std::int64_t memory = -1;  // bytes; -1: unknown (not checked)
  std::int64_t disk = -1;    // bytes free to this user on the cache's file system; -1: unknown
  std::string memory_from;   // "MemAvailable", "cgroup memory.max", ...
  std::string disk_at;       // the folder measured
};

// Memory: the smaller of /proc/meminfo's MemAvailable and the cgroup's
// (v2 memory.max - memory.current, or v1 limit - usage) headroom. Disk:
// statvfs of the cache folder (or its nearest existing parent), f_bavail.
FreeSpace measure_free_space(const std::filesystem::path& cache_dir);

struct FitReport {
  std::vector<std::string> errors;    // an instance that cannot fit: the run must not start
  std::vector<std::string> warnings;  // e.g. all artifacts together may exceed the disk
};

// The memory one instance needs while it computes: its artifact, its
// inputs (loaded from the cache) and its working memory, from the plan's
// estimates. `known` is false where its own estimate is unknown; an input
// whose estimate is unknown counts 0 (a lower bound).
struct MemoryNeed {
  bool known = false;
  std::int64_t artifact = 0, inputs = 0, working = 0;
  std::int64_t total() const { return artifact + inputs + working; }
  // "its artifact 4.2 MB, its inputs 6.3 GB, working memory 34.0 GB": how
  // every message that cites the need breaks it down.
  std::string parts() const;
};
MemoryNeed memory_need(const Plan& plan, std::size_t instance);

// `compute[i]`: instance i would be computed by the run. Memory needed by
// one instance: memory_need; disk: its artifact. Unknown estimates are not
// checked.
FitReport check_fit(const Plan& plan, const std::vector<bool>& compute, const FreeSpace& free);

}  // namespace wmgeom
