// What one run of a pipeline did, instance by instance. The executor builds
// it (a cluster executor builds the same record from its jobs); the CLI
// writes it as run.json and hands it to every stage's after-run hook
// (Stage::after_run). It is the one definition of a run's record: nobody
// re-parses run.json or cache-key text to learn what happened.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wmgeom {

enum class CacheStatus {
  kHit,        // cached; loaded only if needed
  kMiss,       // computed in this run
  kSkip,       // not needed by this run
  kFailed,     // its stage threw
  kCancelled,  // not started, or stopped, after another instance failed
};

// "hit", "miss", "skip", "failed", "cancelled" (run.json and the tables).
const char* to_string(CacheStatus status);
// The inverse; throws wmgeom::Error naming the word for anything else.
CacheStatus parse_cache_status(const std::string& text);
// Hit or miss: the instance's result is part of this run.
inline bool part_of_run(CacheStatus s) { return s == CacheStatus::kHit || s == CacheStatus::kMiss; }

struct InstanceSummary {
  std::string instance;    // "gru[seed=1]"
  std::string type;        // stage type
  std::string kind;        // the artifact kind it produces (its schema's output)
  std::string key;         // cache key
  std::string items_unit;  // "trials", "decoders", ... (the schema's)
  CacheStatus cache = CacheStatus::kSkip;
  double seconds = 0;          // time spent in this run (computing or loading)
  double compute_seconds = 0;  // wall time of the computation (now, or when cached)
  std::int64_t items = 0;
  std::uint64_t bytes = 0;
  std::int64_t estimated_bytes = -1;  // the plan's estimate (Stage::estimate); -1: none
  std::string error;
  // Library versions and devices that enter its cache key (Stage::key_extras).
  std::vector<std::string> versions;
  // Where a cluster job computed it (empty for a local run): the Slurm job
  // ("12" or "12_3" for an array task), the node, seconds between submission
  // and the (last) start, how often it was requeued, and its log file.
  struct Job {
    std::string id, node, log;
    double queue_seconds = 0;
    int requeues = 0;
  };
  Job job;
  // The instances it read (upstream instance names, plan order): the run's
  // dependency graph, for the critical path.
  std::vector<std::string> inputs;

  double items_per_s() const {
    return compute_seconds > 0 ? static_cast<double>(items) / compute_seconds : 0.0;
  }
};

// The longest chain of dependent instances of a run, weighed by their
// compute seconds (an instance cached before this run counts the seconds it
// took then): the wall time that enough nodes, each starting an instance as
// soon as its inputs exist, would approach from an empty cache, queue waits
// and start-up aside.
struct CriticalPath {
  double seconds = 0;                  // compute seconds along the path
  double total_seconds = 0;            // compute seconds of every instance of the run
  std::vector<std::string> instances;  // the path, upstream first
};

struct RunSummary {
  std::string pipeline;                    // the pipeline's name
  std::string file;                        // its TOML file
  std::string text;                        // the file's text
  std::vector<std::string> overrides;      // --set KEY=VALUE, in order
  std::vector<InstanceSummary> instances;  // plan order
  int exit_code = 0;
  std::string failed_stage;
  std::string error;
  double seconds = 0;

  // Every instance's versions, sorted, each once.
  std::vector<std::string> versions() const;
  // Over the instances that are part of the run (hit or miss), along
  // `inputs`; an input outside the run (or unknown) adds nothing.
  CriticalPath critical_path() const;
  // run.json: {"pipeline", "file", "seconds", "exit_code", "overrides",
  // "stages": [{"stage", "type", "key", "cache", "seconds", "compute_seconds",
  // "items", "items_unit", "items_per_s", "bytes", "estimated_bytes" (-1: none), "versions",
  // "inputs", and for a cluster job "job": {"id", "node", "log", "queue_seconds", "requeues"}}],
  // "critical_path": {"seconds", "total_seconds", "instances"}}
  // (the pipeline's text is not repeated there).
  nlohmann::json to_json() const;
  // Reads to_json()'s form back; throws wmgeom::Error naming the field for a
  // malformed record.
  static RunSummary from_json(const nlohmann::json& j);
};

}  // namespace wmgeom
