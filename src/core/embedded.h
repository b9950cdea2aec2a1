// Files compiled into the binary (cmake/embed.cmake): the schemas, the
// tables' declarations, the quickstart pipeline and the Slurm job script's
// template, looked up by their path relative to the source root.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace wmgeom {

struct EmbeddedFile {
  std::string_view path;
  std::string_view text;
};

std::span<const EmbeddedFile> embedded_files();
std::optional<std::string_view> embedded_file(std::string_view path);

}  // namespace wmgeom
