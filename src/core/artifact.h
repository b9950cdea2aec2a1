// Artifact: the message that flows between stages and into the cache. A kind
// (the artifact type name, e.g. "StimulusSet"), named arrays, and JSON
// metadata. Typed views (artifacts.h) convert to and from it; the cache and
// `wmgeom export` only ever see this generic form, so numpy can read any
// artifact with no wmgeom code.
//
// Array names are [A-Za-z0-9_.-]+ (they become file names). Metadata is plain
// JSON; keep big data in arrays, not in metadata.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/array.h"

namespace wmgeom {

struct Artifact {
  std::string kind;
  std::map<std::string, Array> arrays;  // ordered: serialisation is deterministic
  nlohmann::json meta = nlohmann::json::object();

  // Throws wmgeom::Error naming the kind and the missing array.
  const Array& array(const std::string& name) const;
  bool has(const std::string& name) const { return arrays.count(name) != 0; }
  std::size_t nbytes() const;
};

// True if `name` is usable as an array name (and so as a file name).
bool valid_array_name(std::string_view name);

// Writes every array as DIR/<name>.npy, meta.json ({"kind","meta","arrays":
// {name: {"dtype","shape","file"}}}) and, for kinds that have tables, CSV
// files. Creates DIR. Throws wmgeom::Error on I/O failure.
void export_artifact(const Artifact& artifact, const std::filesystem::path& dir);

}  // namespace wmgeom
