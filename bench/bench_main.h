// main() for benchmarks of code that allocates large tensors: tune the
// allocator as the wmgeom executable does (core/memory.h), so that the
// numbers are the tool's, then run Google Benchmark.
#pragma once

#include <benchmark/benchmark.h>

#include "core/memory.h"

#define WMGEOM_BENCHMARK_MAIN()          \
  int main(int argc, char** argv) {      \
    wmgeom::tune_allocator();            \
    benchmark::Initialize(&argc, argv);  \
    benchmark::RunSpecifiedBenchmarks(); \
    benchmark::Shutdown();               \
    return 0;                            \
  }
