#include "core/params.h"

#include <charconv>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace wmgeom {

namespace {
// Shortest text that reads back as the same double (0.35, not 0.34999999999999998).
std::string fmt_double(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, res.ptr);
  // Keep a float recognisable as a float.
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}
}  // namespace

std::string format_value(const Value& value) {
  struct V {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return fmt_double(d); }
    std::string operator()(const std::string& s) const { return nlohmann::json(s).dump(); }
    std::string operator()(const std::vector<std::int64_t>& v) const {
      std::string s = "[";
      for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
      return s + "]";
    }
    std::string operator()(const std::vector<double>& v) const {
      std::string s = "[";
      for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + fmt_double(v[i]);
      return s + "]";
    }
    std::string operator()(const std::vector<std::string>& v) const {
      std::string s = "[";
      for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + nlohmann::json(v[i]).dump();
      return s + "]";
    }
  };
  return std::visit(V{}, value);
}

const Value& Params::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::logic_error("parameter \"" + name + "\" is not declared");
  if (reads_ != nullptr) reads_->insert(name);
  return it->second;
}

namespace {
template <typename T>
const T& as(const Params& p, const std::string& name) {
  const Value& v = p.get(name);
  if (const T* x = std::get_if<T>(&v)) return *x;
  throw std::logic_error("parameter \"" + name + "\" read with the wrong type");
}
}  // namespace

bool Params::b(const std::string& name) const { return as<bool>(*this, name); }
std::int64_t Params::i(const std::string& name) const { return as<std::int64_t>(*this, name); }
double Params::f(const std::string& name) const { return as<double>(*this, name); }
const std::string& Params::s(const std::string& name) const { return as<std::string>(*this, name); }
const std::vector<std::int64_t>& Params::ints(const std::string& name) const {
  return as<std::vector<std::int64_t>>(*this, name);
}
const std::vector<double>& Params::floats(const std::string& name) const {
  return as<std::vector<double>>(*this, name);
}
const std::vector<std::string>& Params::strings(const std::string& name) const {
  return as<std::vector<std::string>>(*this, name);
}

}  // namespace wmgeom
