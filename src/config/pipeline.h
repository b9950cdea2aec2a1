// Pipeline files (grammar: src/config/pipeline.toml; DESIGN.md "Pipeline files").
// load_pipeline parses a file, applies --set overrides and checks every key of
// every stage against its schema, collecting all problems; graph-level checks
// (unknown upstream stages, port kinds, cycles) belong to the planner.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"
#include "config/schema.h"
#include "core/params.h"

namespace wmgeom {

// One swept parameter. Axes of one `zip` group (the same `zip` number) take
// their values together, index by index (their lists have equal lengths);
// every other axis multiplies the instances.
// The most instances one stage's sweep may make (the product of its lists'
// lengths, a zip counting once).
inline constexpr std::size_t kMaxSweepInstances = 10000;

struct SweepAxis {
  std::string key;
  std::vector<Value> values;
  SourcePos pos;
  int zip = -1;  // -1: an axis of its own; otherwise the zip group's number
};

struct StageDecl {
  std::string name;
  std::string type;
  SourcePos pos;                                           // the [stage.NAME] header
  const StageSchema* schema = nullptr;                     // null when the type is unknown
  Params params;                                           // given or defaulted; paths resolved
  std::map<std::string, SourcePos> positions;              // key -> where it was set
  std::map<std::string, std::vector<std::string>> inputs;  // port -> upstream stage names
  std::set<std::string>
      each;  // `many` ports given as { each = ... }: one instance per upstream instance
  std::vector<SweepAxis> sweep;  // in key order (TOML tables are read sorted)

  SourcePos where(const std::string& key) const;
};

struct PipelineSpec {
  std::string file;                // as given on the command line
  std::filesystem::path base_dir;  // relative paths resolve against it
  std::string text;                // the file's text, for reports
  std::vector<std::string> overrides;
  std::string name;
  std::int64_t seed = 0;
  std::string description;
  std::vector<StageDecl> stages;  // in file order

  const StageDecl* find(std::string_view name) const;
};

// The stage types a pipeline may use: lookup by name, and the list for hints.
struct SchemaLookup {
  std::function<const StageSchema*(std::string_view type)> find;
  std::vector<std::string> types;
};

// The [pipeline] table's schema (embedded src/config/pipeline.toml).
const StageSchema& pipeline_schema();

// Never throws for bad input: every problem goes to `diags`.
PipelineSpec load_pipeline(const std::string& file, std::string_view text,
                           const std::vector<std::string>& overrides, const SchemaLookup& schemas,
                           Diagnostics& diags);

// Reads the file (or the embedded copy when the path is "embedded:quickstart")
// and calls load_pipeline. A missing file is a diagnostic too.
PipelineSpec load_pipeline_file(const std::string& file, const std::vector<std::string>& overrides,
                                const SchemaLookup& schemas, Diagnostics& diags);

}  // namespace wmgeom
