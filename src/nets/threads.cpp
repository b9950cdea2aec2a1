#include "nets/threads.h"

#include <dlfcn.h>
#include <omp.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <ATen/Parallel.h>

#include "core/cpus.h"

namespace wmgeom::nets {

namespace {
// OpenBLAS's controls, looked up at run time: the BLAS behind libblas.so.3
// is whichever Debian alternative is installed (OpenBLAS pthreads or
// OpenMP, or the reference BLAS, which has no threads to set).
using SetThreads = void (*)(int);
using GetThreads = int (*)();
}  // namespace

void openmp_waits_passively(char** argv) {
  // A user's own choice (either variable) is kept.
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  // Only commands that may compute pay for the second start (~0.6 s here):
  // run, profile and export, not a dry run.
  bool computes = false;
  for (char** a = argv + 1; *a != nullptr; ++a) {
    const std::string arg = *a;
    if (arg == "--dry-run" || arg == "--help" || arg == "-h") return;
    if (a == argv + 1) computes = arg == "run" || arg == "profile" || arg == "export";
  }
  if (!computes) return;
  ::setenv("OMP_WAIT_POLICY", "passive", 1);
  ::execv("/proc/self/exe", argv);
  // execv failed (no /proc): run on with OpenMP's default, say nothing.
}

const char* openmp_wait_policy() {
  const char* p = std::getenv("OMP_WAIT_POLICY");
  return p != nullptr ? p : "";
}

void init_threads() {
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set(1);
  at::set_num_threads(1);
}

EngineThreads::EngineThreads() : blas_(blas_threads()), torch_(at::get_num_threads()) {
  init_threads();
}

EngineThreads::~EngineThreads() {
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
      set != nullptr && blas_ > 0)
    set(blas_);
  if (torch_ > 0) at::set_num_threads(torch_);
}

IntraOpThreads::IntraOpThreads(int threads) {
  // at::get_num_threads() first: LibTorch initialises a thread's width from
  // the process default on its first parallel call, which would otherwise
  // overwrite the width set here.
  previous_ = at::get_num_threads();
  if (threads > 0) omp_set_num_threads(threads);
}

IntraOpThreads::~IntraOpThreads() { omp_set_num_threads(previous_); }

std::string width_note(int width) {
  const CpuBudget b = cpu_budget();
  if (width <= b.cpus) return "";
  return "training at its hashed width of " + std::to_string(width) + " threads on " +
         b.describe() + ": the same result, more slowly (threads = " + std::to_string(b.cpus) +
         " would be faster, under another cache key)";
}

int intra_op_threads() { return at::get_num_threads(); }

int blas_threads() {
  auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get != nullptr ? get() : 0;
}

}  // namespace wmgeom::nets
