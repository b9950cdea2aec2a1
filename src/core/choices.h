// A schema parameter's string choices mapped to an enum through one table.
// parse_choice throws wmgeom::Error for a text outside the table (the
// schema's `choices` keep it out of pipeline files, so reaching it means the
// schema and the table disagree): never a silent fallback. choice_name is
// the inverse, from the same table.
#pragma once

#include <cstddef>
#include <string>

#include "core/error.h"

namespace wmgeom {

template <typename E>
struct Choice {
  E value;
  const char* name;
};

template <typename E, std::size_t N>
E parse_choice(const Choice<E> (&table)[N], const std::string& text, const std::string& key) {
  std::string expected;
  for (const auto& c : table) {
    if (text == c.name) return c.value;
    expected += (expected.empty() ? "\"" : ", \"") + std::string(c.name) + "\"";
  }
  throw Error(key + ": unknown value \"" + text + "\" (expected one of " + expected + ")");
}

template <typename E, std::size_t N>
const char* choice_name(const Choice<E> (&table)[N], E value) {
  for (const auto& c : table) {
    if (c.value == value) return c.name;
  }
  throw Error("choice_name: a value missing from its table");
}

}  // namespace wmgeom
