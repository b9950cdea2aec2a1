#include "decoders/linear.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "core/random.h"

namespace wmgeom::decoders {

Fit fit(const torch::Tensor& x_in, const torch::Tensor& y, const torch::Tensor& train_mask, std::int64_t classes,
        const Options& o) {
  torch::Tensor x = x_in.to(torch::kFloat64);
  torch::Tensor m = train_mask.to(torch::kFloat64).unsqueeze(2);  // [P, n, 1]
  torch::Tensor count = m.sum(1).clamp_min(1.0);                    // [P, 1]
  Fit f;
  f.mean = (x * m).sum(1) / count;
  torch::Tensor var = (((x - f.mean.unsqueeze(1)) * m).pow(2)).sum(1) / count;
  f.scale = var.sqrt().clamp_min(1e-12);
  torch::Tensor z = (x - f.mean.unsqueeze(1)) / f.scale.unsqueeze(1);
  const std::int64_t p = x.size(0), d = x.size(2);
  torch::Tensor w = torch::zeros({p, d, classes}, torch::kFloat64).requires_grad_(true);
  torch::Tensor b = torch::zeros({p, classes}, torch::kFloat64).requires_grad_(true);
  torch::Tensor mask = train_mask.to(torch::kFloat64);
  torch::Tensor onehot = torch::one_hot(y.to(torch::kLong), classes).to(torch::kFloat64);  // [P, n, K]
  const double c = o.c;
  const bool svm = o.model == "svm";
  auto objective = [&]() {
    torch::Tensor s = torch::bmm(z, w) + b.unsqueeze(1);  // [P, n, K]
    torch::Tensor loss;
    if (svm) {
      torch::Tensor sign = onehot * 2.0 - 1.0;
      torch::Tensor h = torch::relu(1.0 - sign * s).pow(2).sum(2);  // [P, n]
      loss = c * (h * mask).sum() + 0.5 * (w.pow(2).sum() + b.pow(2).sum());
    } else {
      torch::Tensor ce = -(torch::log_softmax(s, 2) * onehot).sum(2);  // [P, n]
      loss = (ce * mask).sum() + w.pow(2).sum() / (2.0 * c);
    }
    return loss;
  };
  torch::optim::LBFGS opt({w, b}, torch::optim::LBFGSOptions(1.0)
                                      .max_iter(o.max_iter)
                                      .tolerance_grad(1e-9)
                                      .tolerance_change(1e-12)
                                      .history_size(20)
                                      .line_search_fn("strong_wolfe"));
  opt.step([&] {
    opt.zero_grad();
    torch::Tensor loss = objective();
    loss.backward();
    return loss;
  });
  f.weight = w.detach();
  f.bias = b.detach();
  return f;
}

torch::Tensor decision(const Fit& f, const torch::Tensor& x) {
  torch::Tensor z = (x.to(torch::kFloat64) - f.mean.unsqueeze(1)) / f.scale.unsqueeze(1);
  return torch::bmm(z, f.weight) + f.bias.unsqueeze(1);
}

torch::Tensor predict(const Fit& f, const torch::Tensor& x) { return decision(f, x).argmax(2); }

std::vector<std::int32_t> stratified_folds(const std::vector<std::int64_t>& labels, int k, std::uint64_t seed) {
  std::map<std::int64_t, std::vector<std::size_t>> by_class;
  for (std::size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(i);
  std::vector<std::int32_t> folds(labels.size(), 0);
  int next = 0;
  for (auto& [label, rows] : by_class) {
    if (static_cast<int>(rows.size()) < k) {
      throw InputError("class " + std::to_string(label) + " has " + std::to_string(rows.size()) +
                       " samples, fewer than the " + std::to_string(k) + " folds");
    }
    // Fisher-Yates with the project's counter-based generator: same folds everywhere.
    random::Rng rng(random::hash_combine(seed, static_cast<std::uint64_t>(label)));
    for (std::size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[static_cast<std::size_t>(rng.range(0, static_cast<int>(i) - 1))]);
    // Continue dealing where the previous class stopped, so fold sizes stay balanced.
    for (std::size_t j = 0; j < rows.size(); ++j) folds[rows[j]] = static_cast<std::int32_t>((next + j) % k);
    next = static_cast<int>((next + rows.size()) % k);
  }
  return folds;
}

torch::Tensor cross_validate(const torch::Tensor& x, const torch::Tensor& y, const std::vector<std::int32_t>& folds,
                             int k, std::int64_t classes, const Options& o) {
  const std::int64_t p = x.size(0), n = x.size(1);
  torch::Tensor fold = torch::tensor(folds, torch::kInt32);
  // All (problem, fold) pairs in one batch: problem-major, k copies each.
  torch::Tensor xs = x.repeat_interleave(k, 0);
  torch::Tensor ys = y.repeat_interleave(k, 0);
  torch::Tensor which = torch::arange(k, torch::kInt32).repeat({p}).unsqueeze(1);  // [P*k, 1]
  torch::Tensor held_out = fold.unsqueeze(0).expand({p * k, n}).eq(which);
  Fit f = fit(xs, ys, held_out.logical_not(), classes, o);
  torch::Tensor correct = predict(f, xs).eq(ys.to(torch::kLong)).logical_and(held_out).sum(1).to(torch::kFloat64);
  return (correct / held_out.sum(1).to(torch::kFloat64)).view({p, k});
}

}  // namespace wmgeom::decoders
