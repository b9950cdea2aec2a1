// Stage schemas: stages/<type>/schema.toml is the single source of a stage type's
// version, ports, output kind and parameters. The validator, the defaults,
// the cache key and `wmgeom stages TYPE` all read it.
//
// Grammar of a schema file:
//   [stage]
//   type = "render"            # == folder name == TOML `type`
//   version = 1                # bump when output semantics change (cache key)
//   output = "StimulusSet"     # artifact kind produced
//   items = "images"           # unit of the profile's items
//   device = "device"          # optional: the (string, unhashed) parameter that
//                              # selects its torch device; the engine validates it,
//                              # keys the device kind and claims the GPU
//                              # (graph/registry.h, DeviceSupport)
//   doc = "one paragraph"
//   [input.<port>]             # zero or more input ports
//   kind = "StimulusSet"       # artifact kind accepted
//   many = false               # true: a list of upstream stages (all their instances)
//   max_instances = 1          # many ports: at most this many upstream instances reach one
//                              # instance (more is refused at plan time, `hint` added);
//                              # { each = [...] } gives each instance one
//   hint = "..."               # with max_instances: what to write instead ({stage}: the stage)
//   optional = false
//   doc = "..."
//   [param.<name>]             # zero or more parameters
//   type = "int"               # bool|int|float|string|path|list<int>|list<float>|list<string>
//   default = 4                # omitted: the parameter is required
//   default_from = "pipeline.seed"   # only this source exists; instead of `default`
//   min = 1                    # int/float and list items, inclusive
//   max = 64
//   choices = ["a", "b"]       # string and list<string> items
//   min_items = 1              # lists
//   max_items = 64
//   must_exist = true          # path: "" means unset; otherwise the path must exist
//   hash_content = true        # path: file/directory contents go into the cache key
//   hashed = true              # false: excluded from the cache key (threads, log level...)
//   used_when = { source = ["meshes", "images"] }
//                              # read only when that string parameter (one with choices)
//                              # has one of these values; otherwise the key holds the
//                              # default instead (a path's contents are not hashed), so
//                              # a value the stage ignores recomputes nothing. Needs a default.
//   doc = "..."
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/params.h"

namespace wmgeom {

enum class ParamType { kBool, kInt, kFloat, kString, kPath, kIntList, kFloatList, kStringList };
std::string_view param_type_name(ParamType type);  // "int", "list<string>", ...

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kString;
  std::optional<Value> default_value;
  bool default_from_seed = false;  // default_from = "pipeline.seed"
  std::optional<double> min, max;
  std::vector<std::string> choices;
  std::optional<std::int64_t> min_items, max_items;
  bool must_exist = false;
  bool hash_content = false;
  bool hashed = true;
  std::string used_when;                 // `used_when`'s parameter ("" = always used)
  std::vector<std::string> used_values;  // ... and the values under which it is read
  std::string doc;

  bool required() const { return !default_value && !default_from_seed; }
  // Whether the stage reads this parameter under `params` (used_when).
  bool used(const Params& params) const;
  // "an integer in [1, 64]", "one of \"a\", \"b\"", "a list of 1 to 9 strings"
  std::string expectation() const;
};

struct PortSpec {
  std::string name;
  std::string kind;
  bool many = false;
  std::int64_t max_instances = 0;  // many ports: 0 = any number
  std::string hint;                // with max_instances: the refusal's advice
  bool optional = false;
  std::string doc;
};

struct StageSchema {
  std::string type;
  int version = 1;
  std::string output;
  std::string items = "items";
  std::string device;  // the parameter selecting its torch device ("": it uses none)
  std::string doc;
  std::vector<PortSpec> inputs;
  std::vector<ParamSpec> params;  // in file order

  const ParamSpec* param(std::string_view name) const;
  const PortSpec* port(std::string_view name) const;
};

// Parses a schema file. A malformed schema is a bug in wmgeom, not user input:
// throws wmgeom::Error naming `source` and the key.
StageSchema parse_schema(std::string_view toml_text, std::string_view source);

// Human-readable documentation (for `wmgeom stages TYPE`).
std::string describe_schema(const StageSchema& schema);

}  // namespace wmgeom
