// `wmgeom` plus one stage of your own: register the built-in stages, add
// yours with its schema, hand over to the CLI.
#include <fstream>
#include <iostream>
#include <sstream>

#include "brightness.h"
#include "cli/cli.h"
#include "core/memory.h"
#include "graph/registry.h"
#include "register_all.h"

int main(int argc, char** argv) {
  wmgeom::tune_allocator();
  wmgeom::StageRegistry registry;
  wmgeom::register_all(registry);
  std::ifstream schema(BRIGHTNESS_SCHEMA);
  std::stringstream text;
  text << schema.rdbuf();
  registry.add(std::make_unique<example::BrightnessStage>(), text.str(), BRIGHTNESS_SCHEMA);
  return wmgeom::run_cli({argv + 1, argv + argc}, registry, std::cout, std::cerr);
}
