// The wmgeom executable: the process's thread and allocator policy, every
// stage registered, then the CLI. It sits above src/ and stages/ (app/), the
// only place that knows both.
#include <iostream>

#include "cli/cli.h"
#include "core/memory.h"
#include "graph/registry.h"
#include "nets/threads.h"
#include "register_all.h"

int main(int argc, char** argv) {
  wmgeom::nets::openmp_waits_passively(argv);  // may re-execute this program once (nets/threads.h)
  wmgeom::tune_allocator();
  wmgeom::nets::init_threads();  // one owner of parallelism: TBB (nets/threads.h)
  std::vector<std::string> args(argv + 1, argv + argc);
  wmgeom::StageRegistry registry;
  try {
    wmgeom::register_all(registry);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return wmgeom::run_cli(args, registry, std::cout, std::cerr);
}
