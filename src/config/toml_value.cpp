#include "config/toml_value.h"

#include <cctype>
#include <cmath>
#include <sstream>

namespace wmgeom::detail {

SourcePos pos_of(const toml::source_region& region, const std::string& fallback_file) {
  SourcePos p;
  p.file = region.path ? std::string(*region.path) : fallback_file;
  p.line = static_cast<std::int64_t>(region.begin.line);
  p.col = static_cast<std::int64_t>(region.begin.column);
  return p;
}

std::string describe_node(const toml::node& node) {
  std::ostringstream s;
  switch (node.type()) {
    case toml::node_type::string:
      s << "string \"" << node.as_string()->get() << "\"";
      break;
    case toml::node_type::integer:
      s << "integer " << node.as_integer()->get();
      break;
    case toml::node_type::floating_point:
      s << "float " << node.as_floating_point()->get();
      break;
    case toml::node_type::boolean:
      s << "boolean " << (node.as_boolean()->get() ? "true" : "false");
      break;
    case toml::node_type::array:
      s << "an array of " << node.as_array()->size() << " items";
      break;
    case toml::node_type::table:
      s << "a table";
      break;
    default:
      s << "a date/time";
      break;
  }
  return s.str();
}

namespace {
template <typename T, typename F>
std::optional<std::vector<T>> list_of(const toml::node& node, F item) {
  const toml::array* arr = node.as_array();
  if (!arr) return std::nullopt;
  std::vector<T> out;
  for (const auto& x : *arr) {
    auto v = item(x);
    if (!v) return std::nullopt;
    out.push_back(*v);
  }
  return out;
}
std::optional<std::int64_t> as_int(const toml::node& n) {
  if (auto x = n.as_integer()) return x->get();
  return std::nullopt;
}
std::optional<double> as_float(const toml::node& n) {
  if (auto x = n.as_floating_point()) return x->get();
  if (auto x = n.as_integer()) return static_cast<double>(x->get());
  return std::nullopt;
}
std::optional<std::string> as_str(const toml::node& n) {
  if (auto x = n.as_string()) return x->get();
  return std::nullopt;
}
}  // namespace

std::optional<Value> to_value(const toml::node& node, ParamType type) {
  switch (type) {
    case ParamType::kBool:
      if (auto x = node.as_boolean()) return Value(x->get());
      return std::nullopt;
    case ParamType::kInt:
      if (auto x = as_int(node)) return Value(*x);
      return std::nullopt;
    case ParamType::kFloat:
      if (auto x = as_float(node)) return Value(*x);
      return std::nullopt;
    case ParamType::kString:
    case ParamType::kPath:
      if (auto x = as_str(node)) return Value(*x);
      return std::nullopt;
    case ParamType::kIntList:
      if (auto x = list_of<std::int64_t>(node, as_int)) return Value(*x);
      return std::nullopt;
    case ParamType::kFloatList:
      if (auto x = list_of<double>(node, as_float)) return Value(*x);
      return std::nullopt;
    case ParamType::kStringList:
      if (auto x = list_of<std::string>(node, as_str)) return Value(*x);
      return std::nullopt;
  }
  return std::nullopt;
}

namespace {
std::string check_number(const ParamSpec& spec, double v, const std::string& shown) {
  if (std::isnan(v) || (spec.min && v < *spec.min) || (spec.max && v > *spec.max)) {
    return "found " + shown;
  }
  return "";
}
std::string check_choice(const ParamSpec& spec, const std::string& v) {
  if (spec.choices.empty()) return "";
  for (const auto& c : spec.choices) {
    if (c == v) return "";
  }
  std::string hint = closest(v, spec.choices);
  return "found \"" + v + "\"" + (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)");
}
template <typename T>
std::string check_size(const ParamSpec& spec, const std::vector<T>& v) {
  auto n = static_cast<std::int64_t>(v.size());
  if ((spec.min_items && n < *spec.min_items) || (spec.max_items && n > *spec.max_items)) {
    return "found " + std::to_string(n) + " items";
  }
  return "";
}
}  // namespace

std::string check_value(const ParamSpec& spec, const Value& value) {
  if (auto x = std::get_if<std::int64_t>(&value))
    return check_number(spec, static_cast<double>(*x), std::to_string(*x));
  if (auto x = std::get_if<double>(&value)) return check_number(spec, *x, format_value(*x));
  if (auto x = std::get_if<std::string>(&value)) return check_choice(spec, *x);
  if (auto x = std::get_if<std::vector<std::int64_t>>(&value)) {
    if (auto e = check_size(spec, *x); !e.empty()) return e;
    for (auto v : *x) {
      if (auto e = check_number(spec, static_cast<double>(v), "item " + std::to_string(v));
          !e.empty())
        return e;
    }
  }
  if (auto x = std::get_if<std::vector<double>>(&value)) {
    if (auto e = check_size(spec, *x); !e.empty()) return e;
    for (auto v : *x) {
      if (auto e = check_number(spec, v, "item " + format_value(v)); !e.empty()) return e;
    }
  }
  if (auto x = std::get_if<std::vector<std::string>>(&value)) {
    if (auto e = check_size(spec, *x); !e.empty()) return e;
    for (const auto& v : *x) {
      if (auto e = check_choice(spec, v); !e.empty()) return "found item " + e.substr(6);
    }
  }
  return "";
}

std::optional<SourcePos> too_many_key_parts(std::string_view text, const std::string& file) {
  std::int64_t line = 1, col = 1;
  int parts = 0;           // parts of the dotted chain being read
  bool after_dot = false;  // a '.' followed the last part
  bool in_part = false;    // inside a bare part
  std::int64_t chain_line = 1, chain_col = 1;
  auto begin_part = [&] {
    if (after_dot) {
      ++parts;
    } else {
      parts = 1;
      chain_line = line;
      chain_col = col;
    }
    after_dot = false;
  };
  auto bare = [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_' || ch == '-' ||
           ch == '+' || ch == ':';
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (ch == '\n') {
      ++line;
      col = 1;
      in_part = false;
      parts = 0;
      after_dot = false;
      continue;
    }
    if (ch == '#') {  // a comment, to the end of the line
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
      continue;
    }
    if (ch == '"' || ch == '\'') {  // a string is one part
      in_part = false;
      begin_part();
      const bool multi = text.substr(i, 3) == std::string(3, ch);
      const std::string_view close = multi ? text.substr(i, 3) : text.substr(i, 1);
      i += close.size();
      col += static_cast<std::int64_t>(close.size());
      while (i < text.size() && text.substr(i, close.size()) != close) {
        if (ch == '"' && text[i] == '\\') ++i, ++col;  // an escaped character
        if (i < text.size() && text[i] == '\n') {
          ++line;
          col = 0;
        }
        ++i, ++col;
      }
      i += close.size() - 1;
      col += static_cast<std::int64_t>(close.size());
      if (parts > kMaxKeyParts) return SourcePos{file, chain_line, chain_col};
      continue;
    }
    if (bare(ch)) {
      if (!in_part) begin_part();
      in_part = true;
    } else if (ch == '.') {
      after_dot = parts > 0;
      in_part = false;
    } else if (ch != ' ' && ch != '\t') {
      in_part = false;
      parts = 0;
      after_dot = false;
    } else {
      in_part = false;
    }
    if (parts > kMaxKeyParts) return SourcePos{file, chain_line, chain_col};
    ++col;
  }
  return std::nullopt;
}

}  // namespace wmgeom::detail
