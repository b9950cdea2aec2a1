#include "nets/adamw.h"

#include <algorithm>
#include <cmath>

#include "nets/wide.h"

namespace wmgeom::nets {

MultiTensorAdamW::MultiTensorAdamW(std::vector<torch::Tensor> params, AdamWOptions options)
    : params_(std::move(params)), options_(options) {
  for (const auto& p : params_) {
    exp_avg_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    exp_avg_sq_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
  }
}

void MultiTensorAdamW::zero_grad(bool set_to_none) {
  for (auto& p : params_) {
    if (set_to_none) {
      p.mutable_grad().reset();
    } else if (p.mutable_grad().defined()) {
      p.mutable_grad().zero_();
    }
  }
}

namespace {

// One update of AdamW over parallel lists (parameters, gradients, moments).
void update(std::vector<torch::Tensor>& ps, const std::vector<torch::Tensor>& gs,
            std::vector<torch::Tensor>& ms, std::vector<torch::Tensor>& vs, const AdamWOptions& o,
            std::int64_t step) {
  if (ps.empty()) return;
  if (o.weight_decay != 0) at::_foreach_mul_(ps, 1.0 - o.lr * o.weight_decay);
  at::_foreach_mul_(ms, o.beta1);
  at::_foreach_add_(ms, gs, 1.0 - o.beta1);
  at::_foreach_mul_(vs, o.beta2);
  at::_foreach_addcmul_(vs, gs, gs, 1.0 - o.beta2);
  double bias1 = 1.0 - std::pow(o.beta1, static_cast<double>(step));
  double bias2 = 1.0 - std::pow(o.beta2, static_cast<double>(step));
  std::vector<torch::Tensor> denom = at::_foreach_sqrt(vs);
  at::_foreach_div_(denom, std::sqrt(bias2));
  at::_foreach_add_(denom, o.eps);
  at::_foreach_addcdiv_(ps, ms, denom, -o.lr / bias1);
}

}  // namespace

void MultiTensorAdamW::step(const Workers* workers) {
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
  const std::int64_t width = workers != nullptr ? workers->width() : 1;
  if (width <= 1) {
    update(ps, gs, ms, vs, options_, step_);
    return;
  }
  // Equal ranges of the elements laid end to end; a tensor may be cut.
  std::int64_t total = 0;
  for (const auto& p : ps) total += p.numel();
  workers->run(width, [&](std::int64_t part) {
    torch::NoGradGuard no_grad_here;  // grad mode is per thread
    const std::int64_t lo = total * part / width, hi = total * (part + 1) / width;
    std::vector<torch::Tensor> pp, gg, mm, vv;
    std::int64_t start = 0;
    for (std::size_t i = 0; i < ps.size(); ++i) {
      const std::int64_t n = ps[i].numel(), a = std::max(lo, start), b = std::min(hi, start + n);
      if (a < b) {
        pp.push_back(ps[i].view(-1).narrow(0, a - start, b - a));
        gg.push_back(gs[i].reshape(-1).narrow(0, a - start, b - a));
        mm.push_back(ms[i].view(-1).narrow(0, a - start, b - a));
        vv.push_back(vs[i].view(-1).narrow(0, a - start, b - a));
      }
      start += n;
    }
    update(pp, gg, mm, vv, options_, step_);
  });
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
