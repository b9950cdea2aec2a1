#include "nets/adamw.h"

#include <cmath>

namespace wmgeom::nets {

MultiTensorAdamW::MultiTensorAdamW(std::vector<torch::Tensor> params, AdamWOptions options)
    : params_(std::move(params)), options_(options) {
  for (const auto& p : params_) {
    exp_avg_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    exp_avg_sq_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
  }
}

void MultiTensorAdamW::zero_grad() {
  for (auto& p : params_) {
    if (p.mutable_grad().defined()) p.mutable_grad().zero_();
  }
}

void MultiTensorAdamW::step() {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> ps, gs, ms, vs;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].grad().defined()) continue;
    ps.push_back(params_[i]);
    gs.push_back(params_[i].grad());
    ms.push_back(exp_avg_[i]);
    vs.push_back(exp_avg_sq_[i]);
  }
  if (ps.empty()) return;
  ++step_;
  const auto& o = options_;
  if (o.weight_decay != 0) at::_foreach_mul_(ps, 1.0 - o.lr * o.weight_decay);
  at::_foreach_mul_(ms, o.beta1);
  at::_foreach_add_(ms, gs, 1.0 - o.beta1);
  at::_foreach_mul_(vs, o.beta2);
  at::_foreach_addcmul_(vs, gs, gs, 1.0 - o.beta2);
  double bias1 = 1.0 - std::pow(o.beta1, static_cast<double>(step_));
  double bias2 = 1.0 - std::pow(o.beta2, static_cast<double>(step_));
  std::vector<torch::Tensor> denom = at::_foreach_sqrt(vs);
  at::_foreach_div_(denom, std::sqrt(bias2));
  at::_foreach_add_(denom, o.eps);
  at::_foreach_addcdiv_(ps, ms, denom, -o.lr / bias1);
}

std::vector<torch::Tensor> MultiTensorAdamW::state() const {
  std::vector<torch::Tensor> out = exp_avg_;
  out.insert(out.end(), exp_avg_sq_.begin(), exp_avg_sq_.end());
  return out;
}

void MultiTensorAdamW::load_state(const std::vector<torch::Tensor>& state, std::int64_t steps) {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    exp_avg_[i].copy_(state.at(i));
    exp_avg_sq_[i].copy_(state.at(params_.size() + i));
  }
  step_ = steps;
}

}  // namespace wmgeom::nets
