// The stage registry: stage type name -> (Stage, schema). Filled explicitly by
// stages/register_all.cpp (no static initialisers); tests build their own.
// Not thread-safe while being filled; read-only afterwards.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"
#include "core/device.h"
#include "core/stage.h"

namespace wmgeom {

struct StageEntry {
  std::unique_ptr<Stage> stage;
  StageSchema schema;
};

class StageRegistry {
 public:
  // Installs the device support; before adding a stage whose schema has a
  // `device` key (adding one without it throws wmgeom::Error).
  void set_device_support(DeviceSupport support) { device_ = std::move(support); }
  const DeviceSupport& device_support() const { return device_; }
  // Throws wmgeom::Error if the schema is malformed, its type differs from
  // stage->type(), or the type is already registered.
  void add(std::unique_ptr<Stage> stage, std::string_view schema_toml, std::string_view source);
  // Reads the schema from the embedded file "stages/<type>/schema.toml".
  void add(std::unique_ptr<Stage> stage);
  const StageEntry* find(std::string_view type) const;
  std::vector<std::string> types() const;

 private:
  std::map<std::string, StageEntry, std::less<>> entries_;
  DeviceSupport device_;
};

}  // namespace wmgeom
