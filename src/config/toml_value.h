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
// What a node that to_value() refused is, for "expected ..., found X": for
// a list, its first item of the wrong type ("string \"seven\" (item 2 of
// 2)"), otherwise describe_node.
std::string describe_mismatch(const toml::node& node, ParamType type);
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
// The error for such a key: "a key of more than 256 dotted parts (EXPECTED)".
std::string too_many_key_parts_message(const std::string& expected);

// `text` (the file `file`) parsed as TOML, or nullopt after one located
// error in `diags`: a key of too many parts (its message names `expected`,
// what the file's keys should look like), or a TOML syntax error. toml++'s
// message for a key defined twice garbles a quoted key ("cannot redefine
// existing integer '"cacategories" '"): that one is said in our words, with
// the key read from the line and the position moved to it.
std::optional<toml::table> parse_toml(std::string_view text, const std::string& file,
                                      const std::string& expected, Diagnostics& diags);

}  // namespace wmgeom::detail
