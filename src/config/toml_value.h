// Internal to src/config: conversions between toml++ nodes and wmgeom Values.
// toml++ stays out of every public header.
#pragma once

#include <optional>
#include <string>

#include <toml++/toml.h>

#include "config/diagnostics.h"
#include "config/schema.h"

namespace wmgeom::detail {

SourcePos pos_of(const toml::source_region& region, const std::string& fallback_file);
// "integer 3", "string \"x\"", "array of 2 items", "table"
std::string describe_node(const toml::node& node);
// The node as a Value of `type`, or nullopt if its TOML type does not fit.
std::optional<Value> to_value(const toml::node& node, ParamType type);
// "" if `value` satisfies the spec's range, choices and sizes; otherwise what was wrong.
std::string check_value(const ParamSpec& spec, const Value& value);

}  // namespace wmgeom::detail
