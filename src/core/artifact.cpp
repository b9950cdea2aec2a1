#include "core/artifact.h"

#include <fstream>

#include "core/artifacts.h"
#include "core/error.h"
#include "core/npy.h"

namespace wmgeom {

const Array& Artifact::array(const std::string& name) const {
  auto it = arrays.find(name);
  if (it == arrays.end()) throw Error(kind + " has no array \"" + name + "\"");
  return it->second;
}

std::size_t Artifact::nbytes() const {
  std::size_t n = 0;
  for (const auto& [name, a] : arrays) n += a.empty() ? 0 : a.nbytes();
  return n;
}

bool valid_array_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 200) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void export_artifact(const Artifact& artifact, const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("cannot create " + dir.string() + ": " + ec.message());
  nlohmann::json index = nlohmann::json::object();
  for (const auto& [name, a] : artifact.arrays) {
    if (a.empty()) continue;
    std::string file = name + ".npy";
    write_npy(dir / file, a);
    index[name] = {{"dtype", dtype_name(a.dtype())}, {"shape", a.shape()}, {"file", file}};
  }
  nlohmann::json doc = {{"kind", artifact.kind}, {"meta", artifact.meta}, {"arrays", index}};
  std::ofstream f(dir / "meta.json");
  f << doc.dump(2) << "\n";
  if (!f) throw Error("cannot write " + (dir / "meta.json").string());
  export_kind_files(artifact, dir);
}

}  // namespace wmgeom
