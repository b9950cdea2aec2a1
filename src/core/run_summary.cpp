#include "core/run_summary.h"

#include <map>
#include <set>

#include "core/error.h"

namespace wmgeom {

namespace {
struct StatusName {
  CacheStatus status;
  const char* name;
};
constexpr StatusName kStatusNames[] = {{CacheStatus::kHit, "hit"},
                                       {CacheStatus::kMiss, "miss"},
                                       {CacheStatus::kSkip, "skip"},
                                       {CacheStatus::kFailed, "failed"},
                                       {CacheStatus::kCancelled, "cancelled"}};

template <typename T>
T field(const nlohmann::json& j, const char* name, const std::string& where) {
  if (!j.contains(name)) throw Error("run record: " + where + " has no \"" + name + "\"");
  try {
    return j.at(name).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error("run record: " + where + ": \"" + name + "\" has the wrong type");
  }
}
}  // namespace

const char* to_string(CacheStatus status) {
  for (const auto& s : kStatusNames) {
    if (s.status == status) return s.name;
  }
  return "unknown";
}

CacheStatus parse_cache_status(const std::string& text) {
  for (const auto& s : kStatusNames) {
    if (text == s.name) return s.status;
  }
  throw Error("unknown cache status \"" + text +
              "\" (expected hit, miss, skip, failed or cancelled)");
}

std::vector<std::string> RunSummary::versions() const {
  std::set<std::string> all;
  for (const auto& i : instances) all.insert(i.versions.begin(), i.versions.end());
  return {all.begin(), all.end()};
}

nlohmann::json RunSummary::to_json() const {
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& i : instances) {
    stages.push_back({{"stage", i.instance},
                      {"type", i.type},
                      {"kind", i.kind},
                      {"key", i.key},
                      {"cache", to_string(i.cache)},
                      {"seconds", i.seconds},
                      {"compute_seconds", i.compute_seconds},
                      {"items", i.items},
                      {"items_unit", i.items_unit},
                      {"items_per_s", i.items_per_s()},
                      {"bytes", i.bytes},
                      {"estimated_bytes", i.estimated_bytes},
                      {"versions", i.versions},
                      {"inputs", i.inputs}});
    if (!i.error.empty()) stages.back()["error"] = i.error;
    if (!i.job.id.empty()) {
      stages.back()["job"] = {{"id", i.job.id},
                              {"node", i.job.node},
                              {"log", i.job.log},
                              {"queue_seconds", i.job.queue_seconds},
                              {"requeues", i.job.requeues}};
    }
  }
  nlohmann::json j = {{"pipeline", pipeline},   {"file", file},           {"seconds", seconds},
                      {"exit_code", exit_code}, {"overrides", overrides}, {"stages", stages}};
  const CriticalPath path = critical_path();
  j["critical_path"] = {{"seconds", path.seconds},
                        {"total_seconds", path.total_seconds},
                        {"instances", path.instances}};
  if (!failed_stage.empty()) {
    j["failed_stage"] = failed_stage;
    j["error"] = error;
  }
  return j;
}

CriticalPath RunSummary::critical_path() const {
  // Instances come in plan order, which is topological: one forward pass.
  // An input not listed before its reader (only in a hand-edited record)
  // does not delay it.
  std::map<std::string, std::size_t> at;
  std::vector<double> finish(instances.size(), 0);
  std::vector<std::ptrdiff_t> via(instances.size(), -1);
  CriticalPath path;
  std::ptrdiff_t last = -1;
  for (std::size_t k = 0; k < instances.size(); ++k) {
    const InstanceSummary& i = instances[k];
    at[i.instance] = k;
    if (!part_of_run(i.cache)) continue;  // finishes at 0: it did not run
    const double own = std::max(0.0, i.compute_seconds);
    path.total_seconds += own;
    double start = 0;
    for (const auto& name : i.inputs) {
      auto it = at.find(name);
      if (it == at.end() || it->second == k || finish[it->second] <= start) continue;
      start = finish[it->second];
      via[k] = static_cast<std::ptrdiff_t>(it->second);
    }
    finish[k] = start + own;
    if (finish[k] > path.seconds) {
      path.seconds = finish[k];
      last = static_cast<std::ptrdiff_t>(k);
    }
  }
  for (std::ptrdiff_t k = last; k >= 0; k = via[static_cast<std::size_t>(k)]) {
    path.instances.insert(path.instances.begin(), instances[static_cast<std::size_t>(k)].instance);
  }
  return path;
}

RunSummary RunSummary::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw Error("run record: expected a JSON object");
  RunSummary r;
  r.pipeline = field<std::string>(j, "pipeline", "the run");
  r.file = field<std::string>(j, "file", "the run");
  r.seconds = field<double>(j, "seconds", "the run");
  r.exit_code = field<int>(j, "exit_code", "the run");
  r.overrides = j.value("overrides", std::vector<std::string>{});
  r.failed_stage = j.value("failed_stage", "");
  r.error = j.value("error", "");
  for (const auto& s : field<nlohmann::json>(j, "stages", "the run")) {
    InstanceSummary i;
    i.instance = field<std::string>(s, "stage", "a stage");
    const std::string where = "stage " + i.instance;
    i.type = field<std::string>(s, "type", where);
    i.key = s.value("key", "");
    i.cache = parse_cache_status(field<std::string>(s, "cache", where));
    i.seconds = field<double>(s, "seconds", where);
    i.compute_seconds = field<double>(s, "compute_seconds", where);
    i.items = field<std::int64_t>(s, "items", where);
    i.items_unit = field<std::string>(s, "items_unit", where);
    i.bytes = field<std::uint64_t>(s, "bytes", where);
    i.estimated_bytes = s.value("estimated_bytes", std::int64_t{-1});
    i.versions = s.value("versions", std::vector<std::string>{});
    i.error = s.value("error", "");
    i.inputs = s.value("inputs", std::vector<std::string>{});
    i.kind = s.value("kind", "");
    if (s.contains("job")) {
      const auto& job = s.at("job");
      i.job.id = field<std::string>(job, "id", where + " job");
      i.job.node = job.value("node", "");
      i.job.log = job.value("log", "");
      i.job.queue_seconds = job.value("queue_seconds", 0.0);
      i.job.requeues = job.value("requeues", 0);
    }
    r.instances.push_back(std::move(i));
  }
  return r;
}

}  // namespace wmgeom
