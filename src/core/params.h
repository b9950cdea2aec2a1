// Params: a stage instance's parameter values after schema validation: every
// declared parameter is present (given or defaulted), of its declared type and
// within range. Getters throw std::logic_error for undeclared names or a wrong
// type: that is a bug in the stage, never a user error.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace wmgeom {

using Value = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>,
                           std::vector<double>, std::vector<std::string>>;

// TOML-like rendering: 3, 0.5, true, "text", [1, 2].
std::string format_value(const Value& value);

class Params {
 public:
  void set(const std::string& name, Value value) { values_[name] = std::move(value); }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  const Value& get(const std::string& name) const;

  bool b(const std::string& name) const;
  std::int64_t i(const std::string& name) const;
  double f(const std::string& name) const;
  const std::string& s(const std::string& name) const;
  const std::vector<std::int64_t>& ints(const std::string& name) const;
  const std::vector<double>& floats(const std::string& name) const;
  const std::vector<std::string>& strings(const std::string& name) const;

  const std::map<std::string, Value>& all() const { return values_; }

 private:
  std::map<std::string, Value> values_;
};

}  // namespace wmgeom
