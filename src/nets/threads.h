// The process's thread policy. TBB owns parallelism: the executor runs
// stages side by side and stages fan their work out in TBB arenas. BLAS and
// LibTorch's OpenMP pool would otherwise each add a thread per core on top
// (measured on the quickstart's analysis, 2 cores: OpenBLAS's own threads,
// called from two TBB workers at once, made orthogonality 3x slower and
// left 16% of the time in the kernel's scheduler).
//
// - init_threads(), once at start-up (the CLI's main): BLAS single-threaded
//   and LibTorch's intra-op width 1 by default, for every thread.
// - IntraOpThreads: a stage that wants LibTorch's OpenMP width N (capture,
//   features: their `threads` parameter) holds one for its run. (train
//   holds width 1 and splits its matrix products over TBB instead:
//   nets/wide.h.)
//   OpenMP's thread count is a per-thread setting, so the guard changes the
//   calling thread only and restores it on exit: two stages running side by
//   side with widths 1 and 2 each get their own (tested in test_nets.cpp),
//   and a TBB worker returns to width 1 for the next stage it runs.
//   torch::set_num_threads, which also changes the process default, is not
//   called anywhere else.
// - openmp_waits_passively(argv), first thing in main: OpenMP threads block
//   instead of spinning between parallel regions. GNU OpenMP reads
//   OMP_WAIT_POLICY once, when it is loaded (before main), so when the
//   variable is unset the process sets it to "passive" and re-executes itself
//   (/proc/self/exe, same arguments; once: the variable is then set), for
//   the commands that may compute (run, profile, export; not --dry-run or
//   --help): a second start costs ~0.6 s. A user's own OMP_WAIT_POLICY or
//   GOMP_SPINCOUNT is kept. (Setting the variable from the executable's
//   .preinit_array does not work: GNU OpenMP still reads the original
//   environment; checked with OMP_DISPLAY_ENV=verbose.) Measured on 2 cores with one busy process:
//   README "Threads under contention".
// Light header: no LibTorch include.
#pragma once

#include <string>

namespace wmgeom::nets {

void init_threads();
// Returns only if no re-execution was needed or it failed (then nothing changes).
void openmp_waits_passively(char** argv);
// The OMP_WAIT_POLICY this process runs under ("" if unset).
const char* openmp_wait_policy();

// init_threads() for this object's lifetime; the BLAS width and LibTorch's
// default width that were set before come back after. For a program that
// embeds the engine in a process whose other code keeps its own policy (the
// Python module: a notebook's own torch and numpy calls).
class EngineThreads {
 public:
  EngineThreads();
  ~EngineThreads();
  EngineThreads(const EngineThreads&) = delete;
  EngineThreads& operator=(const EngineThreads&) = delete;

 private:
  int blas_ = 0, torch_ = 0;
};

class IntraOpThreads {
 public:
  explicit IntraOpThreads(int threads);  // threads <= 0: leave the width as it is
  ~IntraOpThreads();
  IntraOpThreads(const IntraOpThreads&) = delete;
  IntraOpThreads& operator=(const IntraOpThreads&) = delete;

 private:
  int previous_ = 0;
};

// "" or, when a stage's hashed training width exceeds the CPUs this process
// may use (core/cpus.h), a note for its log: the width is kept (results
// depend on it), so the run is slower but its result the same.
std::string width_note(int width);

// LibTorch's intra-op width on the calling thread.
int intra_op_threads();
// OpenBLAS's thread count (0 if the BLAS in use is not OpenBLAS).
int blas_threads();

}  // namespace wmgeom::nets
