#include "config/cluster_profile.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "config/schema.h"
#include "config/toml_value.h"
#include "core/embedded.h"
#include "core/error.h"

namespace wmgeom {
namespace {

using detail::describe_node;
using detail::pos_of;

const StageSchema& embedded_schema(const char* path) {
  auto text = embedded_file(path);
  if (!text) throw Error(std::string(path) + " is not embedded");
  static std::mutex mu;
  static std::map<std::string, StageSchema> parsed;
  std::lock_guard lk(mu);
  auto it = parsed.find(path);
  if (it == parsed.end()) it = parsed.emplace(path, parse_schema(*text, path)).first;
  return it->second;
}

// Reads table `t` against `schema`: unknown keys, wrong types and ranges are
// located errors; absent keys take their defaults.
Params read_table(const toml::table& t, const StageSchema& schema, const std::string& prefix,
                  const std::string& file, Diagnostics& diags) {
  Params p;
  for (auto&& [k, v] : t) {
    const std::string key(k.str());
    const ParamSpec* ps = schema.param(key);
    if (!ps) {
      std::vector<std::string> names;
      for (const auto& spec : schema.params) names.push_back(spec.name);
      const std::string hint = closest(key, names);
      diags.error(pos_of(k.source(), file), prefix + key,
                  "unknown key for [" + prefix.substr(0, prefix.size() - 1) + "]" +
                      (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
      continue;
    }
    auto value = detail::to_value(v, ps->type);
    if (!value) {
      diags.error(pos_of(v.source(), file), prefix + key,
                  ps->expectation() + ", found " + detail::describe_mismatch(v, ps->type));
      continue;
    }
    if (auto e = detail::check_value(*ps, *value); !e.empty()) {
      diags.error(pos_of(v.source(), file), prefix + key, ps->expectation() + ", " + e);
      continue;
    }
    p.set(key, *value);
  }
  for (const auto& ps : schema.params) {
    if (!p.has(ps.name) && ps.default_value) p.set(ps.name, *ps.default_value);
  }
  return p;
}

}  // namespace

std::optional<ClusterProfile> load_cluster_profile_text(const std::string& file,
                                                        const std::string& text,
                                                        const std::vector<std::string>& types,
                                                        Diagnostics& diags) {
  toml::table root;
  auto parsed =
      detail::parse_toml(text, file, "expected [slurm] or [stage.TYPE] and their keys", diags);
  if (!parsed) return std::nullopt;
  root = std::move(*parsed);
  ClusterProfile profile;
  profile.file = file;
  const toml::table empty;
  for (auto&& [k, v] : root) {
    if (k != "slurm" && k != "stage") {
      diags.error(pos_of(k.source(), file), std::string(k.str()),
                  "unknown top-level key; expected [slurm] or [stage.TYPE]");
    } else if (!v.is_table()) {
      diags.error(pos_of(v.source(), file), std::string(k.str()),
                  "expected a table, found " + describe_node(v));
    }
  }
  const toml::table* slurm = root["slurm"].as_table();
  const std::size_t before = diags.all().size();
  const Params s =
      read_table(slurm ? *slurm : empty, embedded_schema("src/config/cluster_profile.toml"),
                 "slurm.", file, diags);
  if (diags.all().size() == before) {
    profile.partition = s.s("partition");
    profile.account = s.s("account");
    profile.qos = s.s("qos");
    profile.sbatch = s.strings("sbatch");
    profile.setup = s.strings("setup");
    profile.wmgeom = s.s("wmgeom");
    profile.max_requeues = static_cast<int>(s.i("max_requeues"));
    profile.warn_seconds = static_cast<int>(s.i("warn_seconds"));
    profile.poll_seconds = s.f("poll_seconds");
    profile.stuck_seconds = static_cast<int>(s.i("stuck_seconds"));
    profile.remind_seconds = static_cast<int>(s.i("remind_seconds"));
    profile.max_running = static_cast<int>(s.i("max_running"));
    if (slurm) {
      for (auto&& [k, v] : *slurm)
        profile.where[std::string(k.str())] = pos_of(v.source(), file).str();
    }
  }
  if (const toml::table* stages = root["stage"].as_table()) {
    for (auto&& [k, v] : *stages) {
      const std::string type(k.str());
      if (std::find(types.begin(), types.end(), type) == types.end()) {
        const std::string hint = closest(type, types);
        diags.error(
            pos_of(k.source(), file), "stage." + type,
            "unknown stage type" + (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
        continue;
      }
      const toml::table* t = v.as_table();
      if (!t) {
        diags.error(pos_of(v.source(), file), "stage." + type,
                    "expected a table, found " + describe_node(v));
        continue;
      }
      const std::size_t before = diags.all().size();
      const Params p = read_table(*t, embedded_schema("src/config/cluster_stage.toml"),
                                  "stage." + type + ".", file, diags);
      if (diags.all().size() != before) continue;  // this table's own problems are reported
      ClusterStage c;
      c.cpus = static_cast<int>(p.i("cpus"));
      c.mem_mb = static_cast<int>(p.i("mem_mb"));
      c.minutes = static_cast<int>(p.i("minutes"));
      c.gpus = static_cast<int>(p.i("gpus"));
      c.partition = p.s("partition");
      c.sbatch = p.strings("sbatch");
      c.set = p.strings("set");
      c.max_running = static_cast<int>(p.i("max_running"));
      for (auto&& [key, value] : *t)
        c.where[std::string(key.str())] = pos_of(value.source(), file).str();
      for (const auto& set : c.set) {
        if (set.find('=') == std::string::npos || set.find('=') == 0) {
          diags.error(pos_of(t->get("set")->source(), file), "stage." + type + ".set",
                      "expected PARAM=VALUE items, found \"" + set + "\"");
        }
      }
      profile.stages[type] = c;
    }
  }
  if (!diags.ok()) return std::nullopt;
  return profile;
}

std::optional<ClusterProfile> load_cluster_profile(const std::string& file,
                                                   const std::vector<std::string>& types,
                                                   Diagnostics& diags) {
  std::ifstream f(file);
  if (!f) {
    diags.error({file, 0, 0}, "", "cannot read the cluster profile");
    return std::nullopt;
  }
  std::ostringstream s;
  s << f.rdbuf();
  return load_cluster_profile_text(file, s.str(), types, diags);
}

}  // namespace wmgeom
