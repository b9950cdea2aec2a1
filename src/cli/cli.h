// The `wmgeom` command line, callable in-process (tests) or from main().
// Exit codes: 0 ok, 1 run-time failure, 2 invalid input.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace wmgeom {

class StageRegistry;

// args excludes the program name: {"run", "pipelines/quickstart.toml", ...}.
int run_cli(const std::vector<std::string>& args, const StageRegistry& registry, std::ostream& out,
            std::ostream& err);

}  // namespace wmgeom
