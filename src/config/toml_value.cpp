#include "config/toml_value.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
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

std::string describe_mismatch(const toml::node& node, ParamType type) {
  ParamType item = type;
  switch (type) {
    case ParamType::kIntList:
      item = ParamType::kInt;
      break;
    case ParamType::kFloatList:
      item = ParamType::kFloat;
      break;
    case ParamType::kStringList:
      item = ParamType::kString;
      break;
    default:
      return describe_node(node);
  }
  const toml::array* arr = node.as_array();
  if (arr == nullptr) return describe_node(node);
  std::size_t i = 0;
  for (const auto& x : *arr) {
    ++i;
    if (!to_value(x, item)) {
      return describe_node(x) + " (item " + std::to_string(i) + " of " +
             std::to_string(arr->size()) + ")";
    }
  }
  return describe_node(node);
}

namespace {
std::string check_number(const ParamSpec& spec, double v, const std::string& shown) {
  // No parameter means anything by an infinite number (grad_clip = inf was
  // accepted while nan was refused): every number is finite.
  if (std::isnan(v) || std::isinf(v) || (spec.min && v < *spec.min) ||
      (spec.max && v > *spec.max)) {
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

namespace wmgeom::detail {

std::string too_many_key_parts_message(const std::string& expected) {
  return "a key of more than " + std::to_string(kMaxKeyParts) + " dotted parts (" + expected + ")";
}

namespace {
// Line `line` (1-based) of `text`, without its newline.
std::string_view line_of(std::string_view text, std::int64_t line) {
  std::size_t begin = 0;
  for (std::int64_t l = 1; l < line; ++l) {
    begin = text.find('\n', begin);
    if (begin == std::string_view::npos) return {};
    ++begin;
  }
  const std::size_t end = text.find('\n', begin);
  std::string_view s = text.substr(begin, end == std::string_view::npos ? end : end - begin);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}
std::string trimmed(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}
// toml++ counts columns in characters (UTF-8 sequences), string_view in
// bytes: the byte offset of 1-based column `col`, and back.
std::size_t byte_of_column(std::string_view line, std::int64_t col) {
  std::int64_t c = 1;
  std::size_t i = 0;
  while (i < line.size() && c < col) {
    ++i;
    while (i < line.size() && (static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) ++i;
    ++c;
  }
  return i;
}
std::int64_t column_of_byte(std::string_view line, std::size_t byte) {
  std::int64_t c = 1;
  for (std::size_t i = 0; i < byte && i < line.size(); ++i)
    c += (static_cast<unsigned char>(line[i]) & 0xC0) == 0x80 ? 0 : 1;
  return c;
}
std::string unquoted(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), '"'), s.end());
  s.erase(std::remove(s.begin(), s.end(), '\''), s.end());
  return s;
}

// toml++'s "cannot redefine existing KIND 'NAME'" said in our words, with
// the key or header read from the line (toml++ garbles a quoted key's
// NAME) and `pos` moved to it; nullopt (toml++'s text stands) for any
// other error, or where the line at the error does not hold what the
// message is about (a header through a key reports on the next line).
std::optional<std::string> redefinition(std::string_view text, const std::string& description,
                                        SourcePos& pos) {
  static const std::regex kRedefine("cannot redefine existing ([a-z_-]+(?: [a-z_-]+)*) '(.*)'");
  std::smatch m;
  if (!std::regex_search(description, m, kRedefine)) return std::nullopt;
  const std::string kind = m[1].str(), named = unquoted(m[2].str());
  const std::string_view line = line_of(text, pos.line);
  const auto first = line.find_first_not_of(" \t");
  if (first == std::string_view::npos) return std::nullopt;
  const bool header_error = description.find("table header") != std::string::npos;
  const bool header_line = line[first] == '[';
  if (header_error != header_line) return std::nullopt;
  const std::string article =
      std::string("aeiou").find(kind.front()) != std::string::npos ? "an " : "a ";
  if (header_line) {
    const std::string_view rest = line.substr(first);
    const std::size_t open = rest.starts_with("[[") ? 2 : 1;
    const auto close = rest.find(']');
    const std::string name = trimmed(
        rest.substr(open, close == std::string_view::npos ? std::string_view::npos : close - open));
    if (name.empty() || named.find(unquoted(name)) == std::string::npos) return std::nullopt;
    pos.col = column_of_byte(line, first);
    return "table [" + name + "] is defined twice, or its name is already " + article + kind +
           " (each table is defined once: add its keys under the first [" + name + "])";
  }
  // The key is the one before the last '=' ahead of where toml++ stopped
  // (the value), after the last '{' or ',': `x = { a = 1, a = 2 }` names
  // a, and an '=' in a comment after the value is never read.
  const std::size_t upto = pos.col > 0 ? byte_of_column(line, pos.col) : line.size();
  const std::string_view head = line.substr(0, upto);
  std::size_t eq = head.rfind('=');
  if (eq == std::string_view::npos || eq < first) return std::nullopt;
  std::size_t start = line.find_last_of("{,", eq);
  start = start == std::string_view::npos || start < first ? first : start + 1;
  const std::string_view key = line.substr(start, eq - start);
  const std::string name = trimmed(key);
  if (name.empty() || named.find(unquoted(name)) == std::string::npos) return std::nullopt;
  const auto lead = key.find_first_not_of(" \t");
  pos.col = column_of_byte(line, start + (lead == std::string_view::npos ? 0 : lead));
  // "clashes with": the key given again, or a table's name given as a key.
  return "key " + name + " clashes with one already defined in this table (" + article + kind +
         "); each key may be given once";
}
}  // namespace

std::optional<toml::table> parse_toml(std::string_view text, const std::string& file,
                                      const std::string& expected, Diagnostics& diags) {
  if (auto deep = too_many_key_parts(text, file)) {
    diags.error(*deep, "", too_many_key_parts_message(expected));
    return std::nullopt;
  }
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    SourcePos pos = pos_of(e.source(), file);
    const std::string description(e.description());
    if (auto mended = redefinition(text, description, pos)) {
      diags.error(pos, "", "TOML syntax error: " + *mended);
    } else {
      diags.error(pos, "", "TOML syntax error: " + description);
    }
    return std::nullopt;
  }
}

}  // namespace wmgeom::detail
