// The plan: a validated pipeline expanded into stage instances (sweeps and
// their propagation), in topological order, each with its cache key. Keys
// depend only on parameters, input keys and external file contents, so the
// whole plan (and every hit/miss) is known before anything runs.
//
// Cache key text grammar (hashed with XXH3-128 into 32 hex digits):
//   wmgeom-cache-v1
//   type TYPE
//   version N
//   param NAME TYPE VALUE        hashed parameters, sorted by name; VALUE as TOML
//                                (floats: shortest round-trip form, always with '.', 'e' or 'n')
//   file NAME CONTENT-HASH       `hash_content` paths (the path string itself is not hashed)
//   input PORT LABELS KEY        per upstream instance, in plan order; LABELS {k=v,...}
//   extra LINE                   Stage::key_extras (library versions, device kind)
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/diagnostics.h"
#include "config/pipeline.h"
#include "core/hash.h"           // ContentStamp
#include "core/instance_name.h"  // instance_folder_name
#include "graph/registry.h"

namespace wmgeom {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Instance {
  std::string name;      // "gru" or "gru[rnn=gru,seed=1]"
  std::size_t decl = 0;  // index into PipelineSpec::stages
  const StageEntry* entry = nullptr;
  Labels labels;
  Params params;
  struct Edge {
    std::string port;
    std::size_t upstream;  // instance index
  };
  std::vector<Edge> inputs;
  std::string key_text;
  std::string key;
  // The key's configuration without its seed (RunContext::configuration):
  // every hashed parameter but `seed`, as the key writes it, and each input's
  // cache key ("input PORT", "input PORT[i]" for a port with several).
  std::map<std::string, std::string> configuration;
  std::vector<std::string> extras;  // Stage::key_extras, one entry per line (also in key_text)
  // What each `hash_content` path parameter's key line was hashed from (by
  // parameter name): the executor refuses to store a result whose files
  // changed after planning (content_changed), as it would be another
  // content's result under this key.
  // (One stamp per path, shared by the instances that hash it.)
  std::vector<std::pair<std::string, std::shared_ptr<const ContentStamp>>> content;
  std::string resource;
  SizeEstimate estimate;  // Stage::estimate, from its inputs' estimates (known = false: none)
};

struct Plan {
  PipelineSpec spec;
  std::vector<Instance> instances;  // topological order

  // Instances named by `name`: a stage name (all its instances) or an
  // instance name. Empty if none.
  std::vector<std::size_t> select(const std::string& name) const;
  // What every command says when select(name) is empty: "no stage or
  // instance named "NAME" in FILE (did you mean "X"?; stages: a, b, ...)".
  std::string unknown_selection(const std::string& name) const;
  std::vector<std::size_t> downstream_closure(const std::vector<std::size_t>& roots) const;
  std::vector<std::size_t> upstream_closure(const std::vector<std::size_t>& roots) const;
};

std::string format_labels(const Labels& labels);  // "{rnn=gru,seed=1}"

// What one instance needs on a cluster node: its stage's resources(), with
// one GPU when its resource token (its stage's own, or its device's: a
// schema's `device`, core/device.h) names a CUDA device.
Resources instance_resources(const Instance& inst);

// Validates everything (schemas, stage-specific checks, graph) and expands
// the plan; on any problem returns nullopt with every diagnostic in `diags`.
std::optional<Plan> make_plan(const std::string& file, const std::vector<std::string>& overrides,
                              const StageRegistry& registry, Diagnostics& diags);
// Same, from text already in memory.
std::optional<Plan> make_plan_from_text(const std::string& file, std::string_view text,
                                        const std::vector<std::string>& overrides,
                                        const StageRegistry& registry, Diagnostics& diags);

SchemaLookup schema_lookup(const StageRegistry& registry);

// How many plans this process has made (make_plan and make_plan_from_text
// calls, valid or not): planning validates every stage, hashes the files
// that parameters name and computes every key, so a command plans once
// (tests count it).
std::int64_t plans_made();

}  // namespace wmgeom
