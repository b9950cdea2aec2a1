// What the Slurm executor's source files share: slurm.cpp (status, wait,
// cancel), slurm_submit.cpp (submit) and slurm_fit.cpp (request fitting).
// Not an interface: nothing outside src/cluster/ includes it.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/slurm.h"

namespace wmgeom::slurm_detail {

// Seconds since the epoch (the clock Slurm's job records use).
double now_epoch();

// A JSON file, or nothing when it is missing or being written.
std::optional<nlohmann::json> read_json(const std::filesystem::path& p);

// Jobs still in the queue: "12_3" or "12" -> state ("PENDING", "RUNNING",
// ...), node and Slurm's reason (squeue -r, one line per array task).
struct Active {
  std::string state, node, reason;
};
std::map<std::string, Active> active_jobs(const std::vector<std::string>& ids);

// Declaration d's job request for `instances` (its instances that one job
// or job array computes) before it is fitted: the largest of their stages'
// requests, memory raised to the size estimates' need, then the cluster
// profile's values for its type, and where each came from (slurm_fit.cpp).
JobRequest request_of(const Plan& plan, std::size_t d, const std::vector<std::size_t>& instances,
                      const ClusterProfile& profile);

}  // namespace wmgeom::slurm_detail
