#include "stage_kit.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>

#include "cache/cache.h"
#include "config/diagnostics.h"
#include "config/schema.h"
#include "core/params.h"
#include "graph/plan.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

// Another valid-looking value of the same schema type, or nullopt where the
// type has none that keeps the file plannable (paths: files must exist).
std::optional<Value> perturb(const ParamSpec& spec, const Value& v) {
  auto in_range = [&](double x) {
    return (!spec.min || x >= *spec.min) && (!spec.max || x <= *spec.max);
  };
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
      if (l.empty())
        l.push_back(spec.min ? static_cast<std::int64_t>(*spec.min) : 0);
      else
        l.back() += in_range(static_cast<double>(l.back() + 1)) ? 1 : -1;
      return Value(l);
    }
    case ParamType::kFloatList: {
      auto l = std::get<std::vector<double>>(v);
      if (l.empty())
        l.push_back(1.0);
      else
        l.back() = l.back() * 0.5 + (l.back() == 0 ? 0.5 : 0.0);
      return Value(l);
    }
    case ParamType::kStringList: {
      auto l = std::get<std::vector<std::string>>(v);
      if (l.size() > 1)
        l.pop_back();
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

const StageRegistry& registry_of(const KitCase& c) {
  return c.registry ? *c.registry : real_registry();
}

std::optional<Plan> plan_of(const KitCase& c, const std::vector<std::string>& sets,
                            Diagnostics& d) {
  return make_plan_from_text("kit.toml", c.pipeline, sets, registry_of(c), d);
}

const Instance* first_instance(const Plan& plan, const std::string& stage) {
  for (const auto& inst : plan.instances) {
    if (plan.spec.stages[inst.decl].name == stage) return &inst;
  }
  return nullptr;
}

std::vector<std::string> keys_of(const Plan& plan, const std::string& stage) {
  std::vector<std::string> keys;
  for (const auto& inst : plan.instances) {
    if (plan.spec.stages[inst.decl].name == stage) keys.push_back(inst.key);
  }
  return keys;
}

// The first difference between two artifacts, or "" if they are the same bytes.
std::string difference(const Artifact& a, const Artifact& b) {
  if (a.kind != b.kind) return "kind " + a.kind + " vs " + b.kind;
  for (const auto& [name, x] : a.arrays) {
    auto it = b.arrays.find(name);
    if (it == b.arrays.end()) return "array " + name + " only in the first";
    const Array& y = it->second;
    if (x.dtype() != y.dtype() || x.shape() != y.shape())
      return "array " + name + ": " + x.describe() + " vs " + y.describe();
    const auto bx = x.bytes(), by = y.bytes();
    auto [px, py] = std::mismatch(bx.begin(), bx.end(), by.begin());
    if (px != bx.end()) {
      return "array " + name + " (" + x.describe() + ") differs from byte " +
             std::to_string(px - bx.begin()) + " of " + std::to_string(bx.size());
    }
  }
  for (const auto& [name, y] : b.arrays) {
    if (!a.arrays.count(name)) return "array " + name + " only in the second";
  }
  if (a.meta != b.meta) {
    for (const auto& [k, v] : a.meta.items()) {
      if (!b.meta.contains(k) || b.meta[k] != v) return "metadata key \"" + k + "\"";
    }
    return "metadata (keys only in the second)";
  }
  return "";
}

}  // namespace

void expect_keys_follow_schema(const KitCase& c) {
  Diagnostics d0;
  auto base = plan_of(c, {}, d0);
  ASSERT_TRUE(base) << d0.format_all();
  const StageDecl* decl = nullptr;
  for (const auto& s : base->spec.stages) {
    if (s.name == c.stage) decl = &s;
  }
  ASSERT_NE(decl, nullptr) << "the kit's pipeline has no [stage." << c.stage << "]";
  const auto base_keys = keys_of(*base, c.stage);
  const StageEntry* entry = registry_of(c).find(decl->type);
  ASSERT_NE(entry, nullptr) << decl->type;
  for (const auto* list : {&c.not_perturbed, &c.values}) {
    for (const auto& named : *list) {
      bool known = false;
      for (const auto& spec : entry->schema.params) known = known || spec.name == named.first;
      EXPECT_TRUE(known) << (list == &c.values ? "values" : "not_perturbed") << " names "
                         << named.first << ", which " << decl->type << " does not have";
    }
  }
  for (const auto& spec : entry->schema.params) {
    const bool exempt = c.not_perturbed.count(spec.name) != 0;
    bool swept = false;
    for (const auto& axis : decl->sweep) swept = swept || axis.key == spec.name;
    auto given = c.values.find(spec.name);
    std::optional<std::string> moved;
    if (given != c.values.end())
      moved = given->second;
    else if (auto v = swept ? std::nullopt : perturb(spec, decl->params.get(spec.name)))
      moved = format_value(*v);
    std::string why;
    std::optional<Plan> plan;
    const std::string set = moved ? "stage." + c.stage + "." + spec.name + "=" + *moved : "";
    if (swept)
      why = "it is swept in this pipeline";
    else if (!moved)
      why = "its type has no perturbation that keeps the file valid";
    else {
      Diagnostics d;
      plan = plan_of(c, {set}, d);
      if (!plan) why = set + " is refused: " + d.format_all();
    }
    if (!plan) {
      EXPECT_TRUE(exempt)
          << decl->type << "." << spec.name << " is not checked (" << why
          << "); change the kit's pipeline or name it in not_perturbed with the reason";
      continue;
    }
    EXPECT_FALSE(exempt) << decl->type << "." << spec.name
                         << " is in not_perturbed but the kit checks it (" << set
                         << "); take it out of the list";
    const auto keys = keys_of(*plan, c.stage);
    ASSERT_EQ(keys.size(), base_keys.size()) << set;

    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (spec.hashed) {
        EXPECT_NE(keys[i], base_keys[i])
            << set << ": a hashed parameter left the cache key unchanged";
      } else {
        EXPECT_EQ(keys[i], base_keys[i]) << set << ": an unhashed parameter changed the cache key";
      }
    }
  }
}

void expect_settings_follow_schema(const KitCase& c) {
  Diagnostics d0;
  auto base = plan_of(c, {}, d0);
  ASSERT_TRUE(base) << d0.format_all();
  const Instance* base_inst = first_instance(*base, c.stage);
  ASSERT_NE(base_inst, nullptr) << "the kit's pipeline has no [stage." << c.stage << "]";
  const StageDecl& decl = base->spec.stages[base_inst->decl];
  const StageEntry& entry = *base_inst->entry;
  const Stage& stage = *entry.stage;
  ASSERT_TRUE(stage.has_settings())
      << decl.type << " reads its parameters without typed settings: derive it from "
      << "StageWith<Settings> (core/stage.h)";
  // The parser reads every schema parameter (and nothing else: Params
  // throws for an undeclared name).
  std::set<std::string> reads;
  try {
    reads = stage.settings_reads(base_inst->params);
  } catch (const std::exception& e) {
    ADD_FAILURE() << decl.type
                  << ": its settings parser failed on the kit's parameters: " << e.what();
    return;
  }
  for (const auto& spec : entry.schema.params) {
    EXPECT_TRUE(reads.count(spec.name))
        << decl.type << "." << spec.name
        << " is declared in the schema but its settings parser never reads it";
  }
  // Each parameter moved as the key check moves it (those it cannot move
  // are reported there) changes the parsed settings: it is a field, or
  // decides one, rather than read and dropped.
  for (const auto& spec : entry.schema.params) {
    if (!reads.count(spec.name)) continue;  // reported above
    bool swept = false;
    for (const auto& axis : decl.sweep) swept = swept || axis.key == spec.name;
    auto given = c.values.find(spec.name);
    std::optional<std::string> moved;
    if (given != c.values.end())
      moved = given->second;
    else if (auto v = swept ? std::nullopt : perturb(spec, decl.params.get(spec.name)))
      moved = format_value(*v);
    if (!moved) continue;
    const std::string set = "stage." + c.stage + "." + spec.name + "=" + *moved;
    Diagnostics d;
    auto plan = plan_of(c, {set}, d);
    if (!plan) continue;
    const Instance* moved_inst = first_instance(*plan, c.stage);
    ASSERT_NE(moved_inst, nullptr) << set;
    EXPECT_FALSE(stage.same_settings(base_inst->params, moved_inst->params))
        << set
        << ": the parsed settings did not change; every schema parameter must be a field of the "
           "settings "
        << "(or decide one)";
  }
}

void expect_deterministic(const KitCase& c) {
  InProcess run(registry_of(c));
  Diagnostics d;
  // Planned as InProcess plans it, so that the keys are the ones it caches under.
  auto plan = make_plan_from_text((run.dir / "p.toml").string(), c.pipeline, {}, registry_of(c), d);
  ASSERT_TRUE(plan) << d.format_all();
  const auto picked = plan->select(c.stage);
  ASSERT_FALSE(picked.empty()) << "the kit's pipeline has no [stage." << c.stage << "]";
  const auto& inst = plan->instances.at(picked.front());
  // The inputs are computed once and stay cached; the stage itself is
  // computed afresh each time (its entry removed).
  auto first = run.get(c.pipeline, inst.name, 1);
  // The plan's size estimate (Stage::estimate), where the stage gives one,
  // is the artifact's size within a quarter (plus 64 kB of metadata).
  if (inst.estimate.known) {
    double actual = static_cast<double>(first->meta.dump().size());
    for (const auto& [name, array] : first->arrays) actual += static_cast<double>(array.nbytes());
    EXPECT_NEAR(static_cast<double>(inst.estimate.bytes), actual, 0.25 * actual + 65536.0)
        << inst.name << ": Stage::estimate is off from the artifact it computed";
  }
  const Cache cache(run.dir / "cache");
  for (int threads : {1, 2}) {
    cache.remove(inst.key);
    auto again = run.get(c.pipeline, inst.name, threads);
    const std::string diff = difference(*first, *again);
    if (!diff.empty()) {
      ADD_FAILURE() << inst.name << " computed again at " << threads
                    << " thread(s) differs: " << diff;
      return;  // the first difference is the one to fix
    }
  }
}

void expect_stage_kit(const KitCase& c) {
  expect_settings_follow_schema(c);
  expect_keys_follow_schema(c);
  expect_deterministic(c);
}

}  // namespace wmgeom::testing
