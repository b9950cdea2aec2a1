// Cluster profiles (grammar: src/config/cluster_profile.toml and
// cluster_stage.toml): a site's Slurm settings, read and validated like a
// pipeline file (every problem collected as FILE:LINE:COL diagnostics). Not
// part of any cache key.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostics.h"

namespace wmgeom {

struct ClusterStage {  // [stage.TYPE]: 0 / -1 / "" / {} keep the stage's own estimate
  int cpus = 0;
  int mem_mb = 0;
  int minutes = 0;
  int gpus = -1;
  std::string partition;
  std::vector<std::string> sbatch;
  std::vector<std::string> set;              // "PARAM=VALUE", applied to every stage of the type
  int max_running = 0;                       // array tasks running at once (0: [slurm] max_running)
  std::map<std::string, std::string> where;  // key -> "FILE:LINE:COL" of the keys the table sets
};

struct ClusterProfile {
  std::string file;  // "" for the built-in default (no file)
  std::string partition, account, qos;
  std::vector<std::string> sbatch, setup;
  std::string wmgeom;
  int max_requeues = 3;
  int warn_seconds = 120;
  double poll_seconds = 2.0;
  int stuck_seconds =
      60;  // a job pending for a reason waiting cannot clear fails the run after this
  int remind_seconds = 300;                    // a long wait says why, this often
  int max_running = 0;                         // array tasks of one job running at once (0: no cap)
  std::map<std::string, ClusterStage> stages;  // by stage type
  std::map<std::string, std::string>
      where;  // [slurm] key -> "FILE:LINE:COL" of the keys the file sets
};

// Reads FILE. `types` are the registered stage types ([stage.TYPE] must name
// one). Returns nullopt with every problem in `diags`.
std::optional<ClusterProfile> load_cluster_profile(const std::string& file,
                                                   const std::vector<std::string>& types,
                                                   Diagnostics& diags);
std::optional<ClusterProfile> load_cluster_profile_text(const std::string& file,
                                                        const std::string& text,
                                                        const std::vector<std::string>& types,
                                                        Diagnostics& diags);

}  // namespace wmgeom
