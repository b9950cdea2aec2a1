// Helpers shared by every test: temporary directories, in-process CLI runs,
// and schema-validated Params for running one stage in isolation.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/params.h"
#include "graph/registry.h"

namespace wmgeom::testing {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, const std::string& text);
std::string read_file(const std::filesystem::path& path);

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs `wmgeom ARGS` in-process against `registry`.
CliResult run_cli(const std::vector<std::string>& args, const StageRegistry& registry);

// The registry of the real stages (stages/register_all.cpp), built once.
const StageRegistry& real_registry();

// Parameters of stage TYPE given as the body of a [stage.X] table in TOML
// ("categories = 2\nviews = 4"), validated and defaulted exactly as in a
// pipeline (relative paths resolve against `base_dir`). Throws
// wmgeom::InputError with every diagnostic if invalid.
Params stage_params(const StageRegistry& registry, const std::string& type,
                    const std::string& toml_body,
                    const std::filesystem::path& base_dir = std::filesystem::current_path());

}  // namespace wmgeom::testing
