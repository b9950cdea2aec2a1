// The stage kit's key check, driven by the schemas for every stage type: in
// a pipeline with one stage of each type (the quickstart), every parameter is
// perturbed according to its schema type (a number moved inside its range,
// a flag flipped, another choice, a list changed); a hashed parameter must
// change the cache key of every instance of its stage, an unhashed one
// (threads, device placement) must leave it alone. No stage writes its own
// key-sensitivity list, and a parameter added to a schema is checked at once.
#include <gtest/gtest.h>

#include <optional>

#include "config/diagnostics.h"
#include "config/schema.h"
#include "core/params.h"
#include "graph/plan.h"
#include "graph/registry.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

// Another valid-looking value of the same schema type, or nullopt where the
// type has no perturbation that keeps the file plannable (paths: files must
// exist).
std::optional<Value> perturb(const ParamSpec& spec, const Value& v) {
  auto in_range = [&](double x) { return (!spec.min || x >= *spec.min) && (!spec.max || x <= *spec.max); };
  auto other_choice = [&](const std::string& now) -> std::optional<std::string> {
    for (const auto& c : spec.choices) {
      if (c != now) return c;
    }
    return std::nullopt;
  };
  switch (spec.type) {
    case ParamType::kBool:
      return Value(!std::get<bool>(v));
    case ParamType::kInt: {
      const auto i = std::get<std::int64_t>(v);
      for (std::int64_t c : {i + 1, i - 1, i + 2}) {
        if (in_range(static_cast<double>(c))) return Value(c);
      }
      return std::nullopt;
    }
    case ParamType::kFloat: {
      const double x = std::get<double>(v);
      for (double c : {x * 1.5 + 0.1, x * 0.5, (x + (spec.min ? *spec.min : 0.0)) / 2}) {
        if (c != x && in_range(c)) return Value(c);
      }
      return std::nullopt;
    }
    case ParamType::kString: {
      const auto& s = std::get<std::string>(v);
      if (!spec.choices.empty()) {
        if (auto c = other_choice(s)) return Value(*c);
        return std::nullopt;
      }
      return Value(s + "x");
    }
    case ParamType::kPath:
      return std::nullopt;
    case ParamType::kIntList: {
      auto l = std::get<std::vector<std::int64_t>>(v);
      if (l.empty()) l.push_back(spec.min ? static_cast<std::int64_t>(*spec.min) : 0);
      else l.back() += in_range(static_cast<double>(l.back() + 1)) ? 1 : -1;
      return Value(l);
    }
    case ParamType::kFloatList: {
      auto l = std::get<std::vector<double>>(v);
      if (l.empty()) l.push_back(1.0);
      else l.back() = l.back() * 0.5 + (l.back() == 0 ? 0.5 : 0.0);
      return Value(l);
    }
    case ParamType::kStringList: {
      auto l = std::get<std::vector<std::string>>(v);
      if (l.size() > 1) l.pop_back();
      else if (!spec.choices.empty() && !l.empty()) {
        auto c = other_choice(l[0]);
        if (!c) return std::nullopt;
        l[0] = *c;
      } else {
        l.push_back(l.empty() ? "x" : l.back() + "x");
      }
      return Value(l);
    }
  }
  return std::nullopt;
}

TEST(StageKit, EveryParameterMovesItsStagesKeyExactlyWhenHashed) {
  const auto& registry = real_registry();
  const std::string file = std::string(WMGEOM_SOURCE_DIR) + "/pipelines/quickstart.toml";
  Diagnostics d0;
  auto base = make_plan(file, {}, registry, d0);
  ASSERT_TRUE(base) << d0.format_all();
  std::map<std::string, const StageDecl*> decl_of_type;
  for (const auto& decl : base->spec.stages) decl_of_type.emplace(decl.type, &decl);
  auto keys_of = [](const Plan& plan, const std::string& decl) {
    std::vector<std::string> keys;
    for (const auto& inst : plan.instances) {
      if (plan.spec.stages[inst.decl].name == decl) keys.push_back(inst.key);
    }
    return keys;
  };
  int hashed = 0, unhashed = 0;
  std::vector<std::string> not_checked;
  for (const auto& type : registry.types()) {
    auto it = decl_of_type.find(type);
    if (it == decl_of_type.end()) {
      ADD_FAILURE() << "stage type " << type << " is not in the quickstart: the kit cannot check it";
      continue;
    }
    const StageDecl& decl = *it->second;
    const auto base_keys = keys_of(*base, decl.name);
    for (const auto& spec : registry.find(type)->schema.params) {
      bool swept = false;
      for (const auto& axis : decl.sweep) swept = swept || axis.key == spec.name;
      auto moved = swept ? std::nullopt : perturb(spec, decl.params.get(spec.name));
      if (!moved) {
        not_checked.push_back(type + "." + spec.name + " (no perturbation of its type)");
        continue;
      }
      const std::string set = "stage." + decl.name + "." + spec.name + "=" + format_value(*moved);
      Diagnostics d;
      auto plan = make_plan(file, {set}, registry, d);
      if (!plan) {
        not_checked.push_back(type + "." + spec.name + " (" + set + " is refused: " + d.format_all() + ")");
        continue;
      }
      const auto keys = keys_of(*plan, decl.name);
      ASSERT_EQ(keys.size(), base_keys.size()) << set;
      for (std::size_t i = 0; i < keys.size(); ++i) {
        if (spec.hashed) {
          EXPECT_NE(keys[i], base_keys[i]) << set << ": a hashed parameter left the cache key unchanged";
        } else {
          EXPECT_EQ(keys[i], base_keys[i]) << set << ": an unhashed parameter changed the cache key";
        }
      }
      ++(spec.hashed ? hashed : unhashed);
    }
  }
  std::string skipped;
  for (const auto& s : not_checked) skipped += "\n  " + s;
  // Most parameters are checked (on 2026-12-01: 90 hashed, 6 unhashed); the
  // rest are named (paths, swept keys, device specs, and values the stages'
  // cross-parameter checks refuse in this pipeline). Determinism and thread
  // invariance of a tiny run per stage are not in the kit yet (issue 13).
  EXPECT_GE(hashed, 85) << "checked " << hashed << " hashed; not checked:" << skipped;
  EXPECT_GE(unhashed, 5) << "checked " << unhashed << " unhashed; not checked:" << skipped;
  EXPECT_LE(not_checked.size(), 15u) << "not checked:" << skipped;
  std::cout << "key kit: " << hashed << " hashed and " << unhashed << " unhashed parameters checked; not checked:" << skipped
            << "\n";
}

}  // namespace
}  // namespace wmgeom::testing
