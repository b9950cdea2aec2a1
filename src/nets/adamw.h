// AdamW over all parameters at once with torch's multi-tensor (_foreach_*)
// kernels, as Python PyTorch's default AdamW does; torch::optim::AdamW in
// C++ updates one parameter at a time, which is slower for networks of many
// small tensors. Same update rule (decoupled weight decay, bias correction);
// a test checks it against torch::optim::AdamW.
// Kept because it is faster (bench_train BM_AdamWStep_Ours vs
// BM_AdamWStep_Torch, the optimiser step alone on a GRU model's parameters,
// 1 thread, medians of 3, 2026-12-01): hidden 256 (3.6M parameters) 10.4 ms
// vs 11.8 ms (1.13x); hidden 64: 531 us vs 622 us (1.17x). About 9% of a
// GRU-256 training step.
#pragma once

#include <vector>

#include <torch/torch.h>

namespace wmgeom::nets {

class Workers;  // nets/wide.h

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
};

class MultiTensorAdamW {
 public:
  MultiTensorAdamW(std::vector<torch::Tensor> params, AdamWOptions options);
  // set_to_none (torch's option): gradients reset, so the next backward
  // stores its gradient instead of adding it to zeros (faster; a parameter
  // that then gets no gradient is skipped by step(), as in torch).
  void zero_grad(bool set_to_none = false);
  // Parameters without a gradient are skipped, as in torch. With `workers`,
  // the elements of all parameters, laid end to end, are split into
  // workers->width() equal ranges updated in parallel: the update is
  // elementwise, so the bits are the same at every width.
  void step(const Workers* workers = nullptr);
  void set_lr(double lr) { options_.lr = lr; }
  double lr() const { return options_.lr; }
  std::int64_t steps() const { return step_; }

  // Optimiser state for checkpoints: exp_avg and exp_avg_sq per parameter.
  std::vector<torch::Tensor> state() const;
  void load_state(const std::vector<torch::Tensor>& state, std::int64_t steps);

 private:
  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> exp_avg_, exp_avg_sq_;
  AdamWOptions options_;
  std::int64_t step_ = 0;
};

}  // namespace wmgeom::nets
