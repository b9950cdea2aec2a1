// The process's thread policy. TBB owns parallelism: the executor runs
// stages side by side and stages fan their work out in TBB arenas. BLAS and
// LibTorch's OpenMP pool would otherwise each add a thread per core on top
// (measured on the quickstart's analysis, 2 cores: OpenBLAS's own threads,
// called from two TBB workers at once, made orthogonality 3x slower and
// left 16% of the time in the kernel's scheduler).
//
// - init_threads(), once at start-up (the CLI's main): BLAS single-threaded
//   and LibTorch's intra-op width 1 by default, for every thread.
// - IntraOpThreads: a stage that wants LibTorch's OpenMP width N (train,
//   capture, features: their `threads` parameter) holds one for its run.
//   OpenMP's thread count is a per-thread setting, so the guard changes the
//   calling thread only and restores it on exit: two stages running side by
//   side with widths 1 and 2 each get their own (tested in test_nets.cpp),
//   and a TBB worker returns to width 1 for the next stage it runs.
//   torch::set_num_threads, which also changes the process default, is not
//   called anywhere else.
// Light header: no LibTorch include.
#pragma once

namespace wmgeom::nets {

void init_threads();

class IntraOpThreads {
 public:
  explicit IntraOpThreads(int threads);  // threads <= 0: leave the width as it is
  ~IntraOpThreads();
  IntraOpThreads(const IntraOpThreads&) = delete;
  IntraOpThreads& operator=(const IntraOpThreads&) = delete;

 private:
  int previous_ = 0;
};

// LibTorch's intra-op width on the calling thread.
int intra_op_threads();
// OpenBLAS's thread count (0 if the BLAS in use is not OpenBLAS).
int blas_threads();

}  // namespace wmgeom::nets
