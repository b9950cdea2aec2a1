#include "graph/registry.h"

#include "core/embedded.h"
#include "core/error.h"

namespace wmgeom {

void StageRegistry::add(std::unique_ptr<Stage> stage, std::string_view schema_toml,
                        std::string_view source) {
  StageSchema schema = parse_schema(schema_toml, source);
  std::string type = stage->type();
  if (schema.type != type) {
    throw Error("schema " + std::string(source) + " declares type \"" + schema.type +
                "\" but the stage class is \"" + type + "\"");
  }
  if (entries_.count(type)) throw Error("stage type \"" + type + "\" is registered twice");
  if (!schema.device.empty() && !device_.valid) {
    throw Error(
        "stage type \"" + type + "\" uses a torch device (schema " + std::string(source) +
        ", stage.device): install the device support first (StageRegistry::set_device_support)");
  }
  entries_.emplace(type, StageEntry{std::move(stage), std::move(schema)});
}

void StageRegistry::add(std::unique_ptr<Stage> stage) {
  std::string path = "stages/" + stage->type() + "/schema.toml";
  auto text = embedded_file(path);
  if (!text) throw Error(path + " is not embedded in this build");
  add(std::move(stage), *text, path);
}

const StageEntry* StageRegistry::find(std::string_view type) const {
  auto it = entries_.find(type);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<std::string> StageRegistry::types() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : entries_) out.push_back(k);
  return out;
}

}  // namespace wmgeom
