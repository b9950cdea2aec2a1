// `wmgeom` with the test stages registered (and the real ones), for tests
// that need several processes sharing one cache.
#include <iostream>

#include "cli/cli.h"
#include "core/memory.h"
#include "graph/registry.h"
#include "register_all.h"
#include "test_stages.h"

int main(int argc, char** argv) {
  wmgeom::tune_allocator();
  wmgeom::StageRegistry registry;
  wmgeom::register_all(registry);
  wmgeom::testing::register_test_stages(registry);
  return wmgeom::run_cli({argv + 1, argv + argc}, registry, std::cout, std::cerr);
}
