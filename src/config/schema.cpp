#include "config/schema.h"

#include <algorithm>

#include <sstream>

#include "config/toml_value.h"
#include "core/error.h"

namespace wmgeom {

std::string_view param_type_name(ParamType type) {
  switch (type) {
    case ParamType::kBool:
      return "bool";
    case ParamType::kInt:
      return "int";
    case ParamType::kFloat:
      return "float";
    case ParamType::kString:
      return "string";
    case ParamType::kPath:
      return "path";
    case ParamType::kIntList:
      return "list<int>";
    case ParamType::kFloatList:
      return "list<float>";
    case ParamType::kStringList:
      return "list<string>";
  }
  return "?";
}

namespace {
std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}
std::string range_text(const ParamSpec& p) {
  if (p.min && p.max) return " in [" + num(*p.min) + ", " + num(*p.max) + "]";
  if (p.min) return " >= " + num(*p.min);
  if (p.max) return " <= " + num(*p.max);
  return "";
}
std::string choices_text(const ParamSpec& p) {
  std::string s;
  for (std::size_t i = 0; i < p.choices.size(); ++i) {
    s += (i ? ", " : "") + std::string("\"") + p.choices[i] + "\"";
  }
  return s;
}
std::string items_text(const ParamSpec& p) {
  if (p.min_items && p.max_items) {
    return std::to_string(*p.min_items) + " to " + std::to_string(*p.max_items) + " ";
  }
  if (p.min_items) return "at least " + std::to_string(*p.min_items) + " ";
  if (p.max_items) return "at most " + std::to_string(*p.max_items) + " ";
  return "";
}
}  // namespace

std::string ParamSpec::expectation() const {
  switch (type) {
    case ParamType::kBool:
      return "expected a boolean (true or false)";
    case ParamType::kInt:
      return "expected an integer" + range_text(*this);
    case ParamType::kFloat:
      return "expected a finite number" + range_text(*this);
    case ParamType::kString:
      return choices.empty() ? "expected a string" : "expected one of " + choices_text(*this);
    case ParamType::kPath:
      return "expected a path (string)";
    case ParamType::kIntList:
      return "expected a list of " + items_text(*this) + "integers" + range_text(*this);
    case ParamType::kFloatList:
      return "expected a list of " + items_text(*this) + "finite numbers" + range_text(*this);
    case ParamType::kStringList:
      return "expected a list of " + items_text(*this) + "strings" +
             (choices.empty() ? "" : " from " + choices_text(*this));
  }
  return "";
}

const ParamSpec* StageSchema::param(std::string_view name) const {
  for (const auto& p : params) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const PortSpec* StageSchema::port(std::string_view name) const {
  for (const auto& p : inputs) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

namespace {
[[noreturn]] void bad(std::string_view source, const std::string& key, const std::string& what) {
  throw Error("schema " + std::string(source) + ": " + key + ": " + what);
}

ParamType parse_type(std::string_view source, const std::string& key, const std::string& t) {
  for (ParamType pt :
       {ParamType::kBool, ParamType::kInt, ParamType::kFloat, ParamType::kString, ParamType::kPath,
        ParamType::kIntList, ParamType::kFloatList, ParamType::kStringList}) {
    if (param_type_name(pt) == t) return pt;
  }
  bad(source, key, "unknown parameter type \"" + t + "\"");
}

// Keys allowed in each schema table, so that a typo in a schema fails loudly.
void only_keys(std::string_view source, const std::string& where, const toml::table& t,
               std::initializer_list<std::string_view> allowed) {
  for (auto&& [k, v] : t) {
    bool ok = false;
    for (auto a : allowed) ok = ok || a == k.str();
    if (!ok) bad(source, where + "." + std::string(k.str()), "unknown schema key");
  }
}
}  // namespace

StageSchema parse_schema(std::string_view toml_text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    bad(source, "",
        std::string(e.description()) + " at line " + std::to_string(e.source().begin.line));
  }
  StageSchema s;
  const toml::table* stage = root["stage"].as_table();
  if (!stage) bad(source, "stage", "missing [stage] table");
  only_keys(source, "stage", *stage, {"type", "version", "output", "items", "device", "doc"});
  s.type = stage->get_as<std::string>("type") ? stage->get_as<std::string>("type")->get() : "";
  if (s.type.empty()) bad(source, "stage.type", "missing");
  if (auto v = stage->get_as<std::int64_t>("version")) s.version = static_cast<int>(v->get());
  if (auto v = stage->get_as<std::string>("output")) s.output = v->get();
  if (auto v = stage->get_as<std::string>("items")) s.items = v->get();
  if (auto v = stage->get_as<std::string>("doc")) s.doc = v->get();
  if (auto v = stage->get_as<std::string>("device")) s.device = v->get();
  for (auto&& [k, v] : root) {
    if (k != "stage" && k != "input" && k != "param")
      bad(source, std::string(k.str()), "unknown schema table");
  }

  if (const toml::table* inputs = root["input"].as_table()) {
    for (auto&& [k, v] : *inputs) {
      std::string key = "input." + std::string(k.str());
      const toml::table* t = v.as_table();
      if (!t) bad(source, key, "expected a table");
      only_keys(source, key, *t, {"kind", "many", "max_instances", "hint", "optional", "doc"});
      PortSpec p;
      p.name = std::string(k.str());
      p.kind = t->get_as<std::string>("kind") ? t->get_as<std::string>("kind")->get() : "";
      if (p.kind.empty()) bad(source, key + ".kind", "missing");
      if (auto x = t->get_as<bool>("many")) p.many = x->get();
      if (auto x = t->get_as<bool>("optional")) p.optional = x->get();
      if (auto x = t->get_as<std::string>("doc")) p.doc = x->get();
      if (auto x = t->get_as<std::int64_t>("max_instances")) {
        if (!p.many)
          bad(source, key + ".max_instances", "only a `many` port can limit its instances");
        if (x->get() < 1) bad(source, key + ".max_instances", "expected an integer >= 1");
        p.max_instances = x->get();
      }
      if (auto x = t->get_as<std::string>("hint")) p.hint = x->get();
      s.inputs.push_back(std::move(p));
    }
  }

  if (const toml::table* params = root["param"].as_table()) {
    for (auto&& [k, v] : *params) {
      std::string key = "param." + std::string(k.str());
      const toml::table* t = v.as_table();
      if (!t) bad(source, key, "expected a table");
      only_keys(source, key, *t,
                {"type", "default", "default_from", "min", "max", "choices", "min_items",
                 "max_items", "must_exist", "hash_content", "hashed", "used_when", "doc"});
      ParamSpec p;
      p.name = std::string(k.str());
      auto type = t->get_as<std::string>("type");
      if (!type) bad(source, key + ".type", "missing");
      p.type = parse_type(source, key + ".type", type->get());
      if (auto x = t->get("min")) {
        auto d = detail::to_value(*x, ParamType::kFloat);
        if (!d) bad(source, key + ".min", "expected a number");
        p.min = std::get<double>(*d);
      }
      if (auto x = t->get("max")) {
        auto d = detail::to_value(*x, ParamType::kFloat);
        if (!d) bad(source, key + ".max", "expected a number");
        p.max = std::get<double>(*d);
      }
      if (auto x = t->get("choices")) {
        auto c = detail::to_value(*x, ParamType::kStringList);
        if (!c) bad(source, key + ".choices", "expected a list of strings");
        p.choices = std::get<std::vector<std::string>>(*c);
      }
      if (auto x = t->get_as<std::int64_t>("min_items")) p.min_items = x->get();
      if (auto x = t->get_as<std::int64_t>("max_items")) p.max_items = x->get();
      if (auto x = t->get_as<bool>("must_exist")) p.must_exist = x->get();
      if (auto x = t->get_as<bool>("hash_content")) p.hash_content = x->get();
      if (auto x = t->get_as<bool>("hashed")) p.hashed = x->get();
      if (auto x = t->get_as<std::string>("doc")) p.doc = x->get();
      if (const toml::node* x = t->get("used_when")) {
        const toml::table* w = x->as_table();
        if (!w || w->size() != 1)
          bad(source, key + ".used_when",
              "expected one parameter and its values, e.g. { source = [\"meshes\"] }");
        const std::string other(w->cbegin()->first.str());
        const toml::node* values = w->get(other);
        auto list = values ? detail::to_value(*values, ParamType::kStringList) : std::nullopt;
        if (!list || std::get<std::vector<std::string>>(*list).empty())
          bad(source, key + ".used_when." + other, "expected a non-empty list of strings");
        p.used_when = other;
        p.used_values = std::get<std::vector<std::string>>(*list);
      }
      if (auto x = t->get_as<std::string>("default_from")) {
        if (x->get() != "pipeline.seed")
          bad(source, key + ".default_from", "only \"pipeline.seed\" is supported");
        p.default_from_seed = true;
      }
      if (auto x = t->get("default")) {
        auto d = detail::to_value(*x, p.type);
        if (!d)
          bad(source, key + ".default",
              "does not match type " + std::string(param_type_name(p.type)));
        if (auto e = detail::check_value(p, *d); !e.empty())
          bad(source, key + ".default", p.expectation() + ", " + e);
        p.default_value = *d;
      }
      if (p.doc.empty()) bad(source, key + ".doc", "every parameter needs a doc string");
      s.params.push_back(std::move(p));
    }
  }
  for (const auto& p : s.params) {
    if (p.used_when.empty()) continue;
    const std::string key = "param." + p.name + ".used_when." + p.used_when;
    const ParamSpec* other = s.param(p.used_when);
    if (!other || other == &p || other->type != ParamType::kString || other->choices.empty())
      bad(source, key, "must name another string parameter with choices");
    for (const auto& v : p.used_values) {
      if (std::find(other->choices.begin(), other->choices.end(), v) == other->choices.end())
        bad(source, key, "\"" + v + "\" is not one of " + p.used_when + "'s choices");
    }
    if (!p.default_value)
      bad(source, "param." + p.name + ".used_when",
          "needs a default (what the key holds when it is not used)");
  }
  if (!s.device.empty()) {
    const ParamSpec* d = s.param(s.device);
    if (!d)
      bad(source, "stage.device",
          "names \"" + s.device + "\", which is not a parameter of this schema");
    if (d->type != ParamType::kString || d->hashed) {
      bad(source, "stage.device",
          "parameter \"" + s.device +
              "\" must be a string with hashed = false (the device kind, not the spec, enters the "
              "key)");
    }
  }
  return s;
}

bool ParamSpec::used(const Params& params) const {
  if (used_when.empty()) return true;
  const std::string& v = params.s(used_when);
  return std::find(used_values.begin(), used_values.end(), v) != used_values.end();
}

std::string describe_schema(const StageSchema& s) {
  std::ostringstream o;
  o << s.type << " (version " << s.version << ") -> " << (s.output.empty() ? "-" : s.output)
    << "\n";
  if (!s.doc.empty()) o << "  " << s.doc << "\n";
  if (!s.inputs.empty()) {
    o << "\ninputs:\n";
    for (const auto& p : s.inputs) {
      o << "  " << p.name << " = " << (p.many ? "[" + p.kind + " stages...]" : p.kind + " stage")
        << (p.optional ? " (optional)" : "")
        << (p.max_instances > 0 ? " (at most " + std::to_string(p.max_instances) +
                                      " instance each; { each = [...] }: one)"
                                : "")
        << "\n";
      if (!p.doc.empty()) o << "      " << p.doc << "\n";
    }
  }
  if (!s.params.empty()) {
    o << "\nparameters:\n";
    for (const auto& p : s.params) {
      o << "  " << p.name << " (" << param_type_name(p.type) << ")";
      if (p.default_value)
        o << " = " << format_value(*p.default_value);
      else if (p.default_from_seed)
        o << " = pipeline.seed";
      else
        o << " required";
      if (!p.hashed) o << "  [not in cache key]";
      if (!p.used_when.empty()) {
        std::string values;
        for (const auto& v : p.used_values) values += (values.empty() ? "" : " or ") + v;
        o << "  [read only when " << p.used_when << " is " << values << "]";
      }
      o << "\n      " << p.doc << "\n      " << p.expectation() << "\n";
    }
  }
  return o.str();
}

}  // namespace wmgeom
