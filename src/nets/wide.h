// A training's matrix products on the threads it is given (issue 23).
//
// A training step of WmModel is matrix products (measured with LibTorch's
// profiler, GRU 256, batch 256, one thread: mm and addmm ~87% of the step);
// LibTorch runs them on one BLAS thread (init_threads keeps OpenBLAS at one
// thread for the whole process, so two stages side by side do not spin
// against each other), so widening LibTorch's OpenMP width did not help.
// Here each product of the training forward and of its backward is split
// into `width` parts, run in the training's own TBB arena: the 1x1 conv and
// the image Linear (the largest products), the RNN's input projection of all
// frames at once, and each frame's recurrent product. Idle TBB workers
// sleep, so a busy neighbour is not spun against.
//
// Split products are not bit-identical to unsplit ones (OpenBLAS blocks by
// the shape it is given), so the result depends on the width: it is hashed
// (train's `threads`), and for a given width it never depends on the
// machine's cores or the run's --threads (the parts are fixed by the width
// and the shapes alone; a test checks it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <tbb/task_arena.h>
#include <torch/torch.h>

#include "nets/wm_model.h"

namespace wmgeom::nets {

// `width` threads of the calling stage; width 1 runs everything on the
// calling thread. Parts run in the calling TBB arena (the executor's) when
// it has `width` slots, else in an arena of their own.
class Workers {
 public:
  explicit Workers(int width);
  ~Workers();
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;
  int width() const { return width_; }
  // f(0), ..., f(n - 1), in parallel in the arena; returns when all are done.
  void run(std::int64_t n, const std::function<void(std::int64_t)>& f) const;

 private:
  int width_;
  std::unique_ptr<tbb::task_arena> arena_;
};

// out = a b (a [M, K], b [K, N], any strides; out [M, N] contiguous, given)
// in `workers.width()` parts: along M when M >= N, else along N, at
// boundaries that depend only on the shape and the width.
void split_mm(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor& out,
              const Workers& workers);

// y = x wᵀ + b for x [M, K], w [N, K], b [N] (or undefined), differentiable
// in all three; forward and backward products split over `workers`, which
// must outlive the backward pass.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                     const Workers& workers);

// WmModel's forward (same parameters, same maths: WmModelImpl::forward) with
// its products split over `workers`. Equal to model->forward up to rounding
// (tested, outputs and gradients).
class WideForward {
 public:
  WideForward(WmModel& model, int width);
  WmOutput operator()(const torch::Tensor& bank, const torch::Tensor& stimuli,
                      const torch::Tensor& cue);
  const Workers& workers() const { return workers_; }

 private:
  torch::Tensor rnn(const torch::Tensor& x);  // [B, T, E] -> last layer's [B, T, H]
  WmModel model_;
  Workers workers_;
  std::map<std::string, torch::Tensor> p_;  // the parameters by name (shared storage)
  torch::Tensor bank_cl_;                   // the last bank seen, channels-last
  const void* bank_ptr_ = nullptr;
  std::vector<std::int64_t> bank_sizes_;
};

}  // namespace wmgeom::nets
