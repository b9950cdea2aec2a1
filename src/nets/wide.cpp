#include "nets/wide.h"

#include <algorithm>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

namespace wmgeom::nets {

Workers::Workers(int width) : width_(std::max(1, width)) {
  if (width_ > 1) arena_ = std::make_unique<tbb::task_arena>(width_);
}

Workers::~Workers() = default;

void Workers::run(std::int64_t n, const std::function<void(std::int64_t)>& f) const {
  if (!arena_ || n <= 1) {
    for (std::int64_t i = 0; i < n; ++i) f(i);
    return;
  }
  auto parts = [&] { tbb::parallel_for(std::int64_t{0}, n, [&](std::int64_t i) { f(i); }); };
  // In the calling arena when it is wide enough (a stage under the
  // executor: its arena's other threads take parts, the executor's waiting
  // thread included; a nested arena would get no thread but the caller's
  // while the executor waits, src/README.md), isolated so that the caller,
  // while it waits for its parts, never picks up another stage's work.
  // Otherwise (a run narrower than the width) in the arena of its own.
  if (tbb::this_task_arena::max_concurrency() >= width_) {
    tbb::this_task_arena::isolate(parts);
  } else {
    arena_->execute(parts);
  }
}

namespace {

// Part i of `width` of [0, n): boundaries at multiples of 8 rows or
// columns (the BLAS kernels' unroll), fixed by n and the width alone.
std::pair<std::int64_t, std::int64_t> part(std::int64_t n, std::int64_t width, std::int64_t i) {
  auto bound = [&](std::int64_t k) { return k == width ? n : (n * k / width) / 8 * 8; };
  return {bound(i), bound(i + 1)};
}

}  // namespace

void split_mm(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor& out,
              const Workers& workers) {
  const std::int64_t m = a.size(0), n = b.size(1);
  const std::int64_t width = std::min<std::int64_t>(workers.width(), std::max(m, n) / 8);
  if (width <= 1) {
    torch::NoGradGuard no_grad;
    at::mm_out(out, a, b);
    return;
  }
  const bool rows = m >= n;
  workers.run(width, [&](std::int64_t i) {
    // Grad mode is per thread: these products are never recorded.
    torch::NoGradGuard no_grad;
    const auto [lo, hi] = part(rows ? m : n, width, i);
    if (hi <= lo) return;
    if (rows) {
      torch::Tensor o = out.narrow(0, lo, hi - lo);
      at::mm_out(o, a.narrow(0, lo, hi - lo), b);
    } else {
      torch::Tensor o = out.narrow(1, lo, hi - lo);  // row stride n: BLAS writes it in place
      at::mm_out(o, a, b.narrow(1, lo, hi - lo));
    }
  });
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct SplitLinear : public torch::autograd::Function<SplitLinear> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b, const Workers* workers) {
    torch::Tensor y = torch::empty({x.size(0), w.size(0)}, x.options());
    split_mm(x, w.t(), y, *workers);
    if (b.numel() > 0) y.add_(b);
    ctx->save_for_backward({x, w});
    ctx->saved_data["workers"] = reinterpret_cast<std::int64_t>(workers);
    ctx->saved_data["bias"] = b.numel() > 0;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto* workers = reinterpret_cast<const Workers*>(ctx->saved_data["workers"].toInt());
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &w = saved[1];
    const torch::Tensor dy = grads[0].contiguous();
    torch::Tensor dx, dw, db;
    if (ctx->needs_input_grad(0)) {
      dx = torch::empty_like(x, at::MemoryFormat::Contiguous);
      split_mm(dy, w, dx, *workers);
    }
    if (ctx->needs_input_grad(1)) {
      dw = torch::empty_like(w, at::MemoryFormat::Contiguous);
      split_mm(dy.t(), x, dw, *workers);
    }
    if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2)) db = dy.sum(0);
    return {dx, dw, db, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                     const Workers& workers) {
  // No bias: an empty tensor (autograd records every tensor input's device).
  return SplitLinear::apply(x, w, b.defined() ? b : torch::empty({0}, x.options()), &workers);
}

WideForward::WideForward(WmModel& model, int width) : model_(model), workers_(width) {
  for (auto& item : model_->named_parameters()) p_[item.key()] = item.value();
  for (auto& item : model_->named_buffers()) p_[item.key()] = item.value();
}

torch::Tensor WideForward::rnn(const torch::Tensor& x) {
  const WmModelConfig& c = model_->config();
  const std::int64_t b = x.size(0), t = x.size(1);
  torch::Tensor input = x;
  for (int l = 0; l < c.layers; ++l) {
    const std::string k = "_l" + std::to_string(l);
    const torch::Tensor &w_ih = p_.at("rnn.weight_ih" + k), &w_hh = p_.at("rnn.weight_hh" + k),
                        &b_ih = p_.at("rnn.bias_ih" + k), &b_hh = p_.at("rnn.bias_hh" + k);
    // The input projection of every frame at once, then one product a frame.
    torch::Tensor gi =
        linear(input.reshape({b * t, input.size(2)}), w_ih, b_ih, workers_).view({b, t, -1});
    // unbind: one backward (a stack) for all frames, not a zero-filled
    // [B, T, G] gradient per frame as select's.
    const std::vector<torch::Tensor> frames = gi.unbind(1);
    torch::Tensor state, cell;
    std::vector<torch::Tensor> out;
    for (std::int64_t k2 = 0; k2 < t; ++k2) {
      const torch::Tensor& g = frames[k2];
      // The zero initial state: the recurrent product is its bias.
      const torch::Tensor r = state.defined() ? linear(state, w_hh, b_hh, workers_)
                                              : b_hh.unsqueeze(0).expand({b, w_hh.size(0)});
      if (c.rnn == "rnn") {
        state = torch::tanh(g + r);
      } else if (c.rnn == "gru") {
        // torch's gate order r, z, n; n = tanh(i_n + r * (W_hn h + b_hn)).
        auto gx = g.chunk(3, 1), gh = r.chunk(3, 1);
        torch::Tensor reset = torch::sigmoid(gx[0] + gh[0]);
        torch::Tensor update = torch::sigmoid(gx[1] + gh[1]);
        torch::Tensor n = torch::tanh(gx[2] + reset * gh[2]);
        state = state.defined() ? (1 - update) * n + update * state : (1 - update) * n;
      } else {
        // LSTM: gate order i, f, g, o.
        auto gates = (g + r).chunk(4, 1);
        torch::Tensor in = torch::sigmoid(gates[0]) * torch::tanh(gates[2]);
        cell = cell.defined() ? torch::sigmoid(gates[1]) * cell + in : in;
        state = torch::sigmoid(gates[3]) * torch::tanh(cell);
      }
      out.push_back(state);
    }
    input = torch::stack(out, 1);
  }
  return input;
}

WmOutput WideForward::operator()(const torch::Tensor& bank, const torch::Tensor& stimuli,
                                 const torch::Tensor& cue) {
  // As WmModelImpl::forward: the image part once per unique stimulus. The
  // bank channels-last ([N, h, w, C], made once: it is frozen), so that the
  // 1x1 conv is one product over every (image, position) with no transpose
  // of activations; the image Linear then reads its input position-major,
  // so its weight (channel-major, as the conv's flatten) is permuted to
  // match: one copy of the weight instead of two of the activations.
  if (!bank_cl_.defined() || bank.data_ptr() != bank_ptr_ || bank.sizes() != bank_sizes_) {
    bank_cl_ = bank.permute({0, 2, 3, 1}).contiguous();
    bank_ptr_ = bank.data_ptr();
    bank_sizes_ = bank.sizes().vec();
  }
  auto [unique, inverse] = at::_unique(stimuli.flatten(), /*sorted=*/true, /*return_inverse=*/true);
  const torch::Tensor mean = p_.at("input_mean").permute({1, 2, 0});
  const torch::Tensor sd = p_.at("input_std").permute({1, 2, 0});
  torch::Tensor maps = (bank_cl_.index_select(0, unique).to(torch::kFloat32) - mean) / sd;
  const std::int64_t u = maps.size(0), area = maps.size(1) * maps.size(2), channels = maps.size(3);
  const torch::Tensor& conv_w = p_.at("conv.weight");
  const std::int64_t conv_out = conv_w.size(0);
  torch::Tensor conv = linear(maps.view({u * area, channels}), conv_w.view({conv_out, channels}),
                              p_.at("conv.bias"), workers_);
  const torch::Tensor& image_w = p_.at("image.weight");
  torch::Tensor image_w_pm = image_w.view({image_w.size(0), conv_out, area})
                                 .transpose(1, 2)
                                 .reshape({image_w.size(0), -1});
  torch::Tensor per_image =
      linear(conv.view({u, area * conv_out}), image_w_pm, p_.at("image.bias"), workers_);
  torch::Tensor emb = model_->embed(per_image, inverse, stimuli.size(0), stimuli.size(1), cue);
  torch::Tensor h = rnn(emb);
  return {model_->readout(h), h, emb};
}

}  // namespace wmgeom::nets
