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

// toml++ builds and frees the tables of a dotted key (a.b.c = 1, [a.b.c])
// recursively, one level per part: a key of tens of thousands of parts
// overflows the stack (a segfault, not an error). Checked on the text
// before it is parsed: the position of the first key with more than
// kMaxKeyParts dotted parts, if any. Strings and comments are skipped; a
// float (1.5) is two parts.
inline constexpr int kMaxKeyParts = 256;
std::optional<SourcePos> too_many_key_parts(std::string_view text, const std::string& file);

}  // namespace wmgeom::detail
