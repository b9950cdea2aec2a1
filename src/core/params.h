// Params: a stage instance's parameter values after schema validation: every
// declared parameter is present (given or defaulted), of its declared type and
// within range. Getters throw std::logic_error for undeclared names or a wrong
// type: that is a bug in the stage, never a user error.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <variant>
#include <vector>

namespace wmgeom {

using Value = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>,
                           std::vector<double>, std::vector<std::string>>;

// TOML-like rendering: 3, 0.5, true, "text", [1, 2].
std::string format_value(const Value& value);

class Params {
 public:
  void set(const std::string& name, Value value) {
    values_[name] = std::move(value);
    parsed_ = std::make_shared<Parsed>();  // the values changed: parse again
  }
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

  // The typed settings `parse(*this)` makes of these values, parsed once:
  // the first call parses and keeps the result with the values (a copy of
  // this Params shares it, set() forgets it), later calls return the kept
  // one. Thread-safe. One settings type per Params: asking for another is a
  // bug (std::logic_error). StageWith<S>::settings is the caller.
  template <typename S, typename Parse>
  const S& parsed(Parse parse) const {
    std::lock_guard lock(parsed_->mutex);
    if (!parsed_->value) {
      parsed_->value = std::make_shared<const S>(parse(*this));
      parsed_->type = &typeid(S);
    } else if (*parsed_->type != typeid(S)) {
      throw std::logic_error("parameters parsed as two settings types");
    }
    return *static_cast<const S*>(parsed_->value.get());
  }

  // While set, every getter adds the name it reads to *names (the stage
  // kit's check that a settings parser reads each schema parameter); only
  // on a copy that no other thread reads. nullptr stops it.
  void record_reads(std::set<std::string>* names) { reads_ = names; }

 private:
  struct Parsed {
    std::mutex mutex;
    std::shared_ptr<const void> value;
    const std::type_info* type = nullptr;
  };
  std::map<std::string, Value> values_;
  std::shared_ptr<Parsed> parsed_ = std::make_shared<Parsed>();
  std::set<std::string>* reads_ = nullptr;
};

}  // namespace wmgeom
