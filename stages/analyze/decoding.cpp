// The cross-validated decoder families and every analysis built on them:
// decoding, cross-temporal decoding with the H1/H2 tests, cross-task
// generalisation and the Procrustes transformations with their swap tests.
#include <cmath>

#include "analyze/analyses.h"
#include "core/error.h"
#include "core/random.h"

namespace wmgeom::analyze {

namespace {

std::vector<std::int64_t> to_vector(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kLong).contiguous();
  return {c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel()};
}

std::uint64_t family_seed(const Settings& s, const std::string& task, const std::string& feature, int stim) {
  return random::hash_combine(random::hash_combine(s.seed, random::hash_string(task + "/" + feature)),
                              static_cast<std::uint64_t>(stim));
}

// Held-out accuracy of each fold: predictions [n] of the fold's fit vs labels.
std::vector<double> fold_accuracies(const Family& f, int folds, const std::function<torch::Tensor(int)>& correct) {
  std::vector<double> acc;
  for (int q = 0; q < folds; ++q) {
    torch::Tensor held = f.fold.eq(q);
    acc.push_back(correct(q).logical_and(held).sum().item<double>() / held.sum().item<double>());
  }
  return acc;
}

std::string feature_of(const nback::Task& t) { return nback::feature_name(t.feature); }

}  // namespace

void check_folds(const ModelData& m, const Settings& s) {
  for (std::size_t k = 0; k < m.tasks.size(); ++k) {
    torch::Tensor rows = m.rows_of_task(k);
    if (rows.numel() == 0) {
      throw InputError("analyze: " + m.name + " has no trials of task " + m.tasks[k].name);
    }
    for (const auto& feature : s.features) {
      for (int stim : s.frames) {
        torch::Tensor y = m.labels.at(feature).index_select(0, rows).select(1, stim);
        torch::Tensor counts = torch::bincount(y, {}, s.classes.at(feature));
        for (std::int64_t c = 0; c < counts.size(0); ++c) {
          std::int64_t count = counts[c].item<std::int64_t>();
          if (count > 0 && count < s.folds) {
            throw InputError("analyze: " + m.name + ", task " + m.tasks[k].name + ": feature " + feature + " value " +
                             std::to_string(c) + " of the stimulus at frame " + std::to_string(stim) + " occurs in " +
                             std::to_string(count) + " trials, fewer than folds = " + std::to_string(s.folds) +
                             "; capture more trials (eval_trials_per_task of the tasks stage) or lower folds");
          }
        }
      }
    }
  }
}

Families fit_families(const ModelData& m, const Settings& s, const std::function<void()>& tick) {
  Families out;
  const std::int64_t frames = m.frames();
  for (std::size_t k = 0; k < m.tasks.size(); ++k) {
    torch::Tensor rows = m.rows_of_task(k);
    const std::int64_t n = rows.size(0);
    torch::Tensor x = m.states.index_select(0, rows);  // [n, T, H]
    for (const auto& feature : s.features) {
      for (int stim : s.frames) {
        Family f;
        f.task = k;
        f.feature = feature;
        f.stim = stim;
        f.rows = rows;
        f.y = m.labels.at(feature).index_select(0, rows).select(1, stim).contiguous();
        auto folds = decoders::stratified_folds(to_vector(f.y), s.folds, family_seed(s, m.tasks[k].name, feature, stim));
        f.fold = torch::tensor(std::vector<std::int64_t>(folds.begin(), folds.end()), torch::kLong);
        const std::int64_t u = frames - stim, p = s.folds * u;
        // [P, n, H]: fold-major, then train frame.
        torch::Tensor xs = x.narrow(1, stim, u).permute({1, 0, 2}).repeat({s.folds, 1, 1});
        torch::Tensor which = torch::arange(s.folds, torch::kLong).repeat_interleave(u).unsqueeze(1);
        torch::Tensor mask = f.fold.unsqueeze(0).ne(which);
        f.fit = decoders::fit(xs.to(s.device), f.y.unsqueeze(0).expand({p, n}).to(s.device), mask.to(s.device),
                              s.classes.at(feature), s.options);
        f.fit = {f.fit.weight.cpu(), f.fit.bias.cpu(), f.fit.mean.cpu(), f.fit.scale.cpu()};
        std::vector<torch::Tensor> preds;
        for (std::int64_t frame = stim; frame < frames; ++frame) {
          preds.push_back(decoders::predict(f.fit, x.select(1, frame).unsqueeze(0).expand({p, n, x.size(2)})));
        }
        f.preds = torch::stack(preds, 1);  // [P, U, n]
        out.emplace(std::make_tuple(k, feature, stim), std::move(f));
        tick();
      }
    }
  }
  return out;
}

namespace {

void accuracy_row(TableBuilder& table, const ModelData& m, const Settings& s, const Family& f, int t, int u) {
  const std::int64_t frames = m.frames();
  auto acc = fold_accuracies(f, s.folds, [&](int q) { return f.preds[f.index(q, t, frames)][u - f.stim].eq(f.y); });
  auto row = model_columns(m);
  const auto& task = m.tasks[f.task];
  row.insert(row.end(), {{"task", task.name},
                         {"feature", f.feature},
                         {"relevant", feature_of(task) == f.feature ? 1.0 : 0.0},
                         {"stim_frame", double(f.stim)},
                         {"train_frame", double(t)},
                         {"test_frame", double(u)},
                         {"accuracy", mean(acc)},
                         {"accuracy_sd", sd(acc)},
                         {"accuracy_min", *std::min_element(acc.begin(), acc.end())},
                         {"accuracy_max", *std::max_element(acc.begin(), acc.end())},
                         {"chance", s.chance(f.feature)},
                         {"folds", double(s.folds)},
                         {"n", double(f.rows.size(0))}});
  table.add(std::move(row));
}

}  // namespace

void decoding(const ModelData& m, const Settings& s, const Families& families, Tables& tables) {
  for (const auto& [key, f] : families) {
    for (int t = f.stim; t < m.frames(); ++t) accuracy_row(tables["decoding"], m, s, f, t, t);
  }
}

void cross_temporal(const ModelData& m, const Settings& s, const Families& families, Tables& tables) {
  const std::int64_t frames = m.frames();
  for (const auto& [key, f] : families) {
    for (int t = f.stim; t < frames; ++t) {
      for (int u = f.stim; u < frames; ++u) accuracy_row(tables["cross_temporal"], m, s, f, t, u);
    }
    // H1 (slot): the encoding decoder E(S=i,T=i) on the memory states of the
    // same stimulus at later frames. H2 (shared encoding): E(S=i,T=i) on the
    // encoding states of the stimulus shown at a later frame j, E(S=j,T=j).
    auto validation = fold_accuracies(f, s.folds, [&](int q) { return f.preds[f.index(q, f.stim, frames)][0].eq(f.y); });
    const auto& task = m.tasks[f.task];
    for (int j = f.stim + 1; j < frames; ++j) {
      auto h1 = fold_accuracies(f, s.folds, [&](int q) { return f.preds[f.index(q, f.stim, frames)][j - f.stim].eq(f.y); });
      torch::Tensor yj = m.labels.at(f.feature).index_select(0, f.rows).select(1, j);
      auto h2 = fold_accuracies(f, s.folds, [&](int q) { return f.preds[f.index(q, f.stim, frames)][j - f.stim].eq(yj); });
      for (auto& [name, acc] : {std::pair<std::string, std::vector<double>&>{"H1_slot", h1}, {"H2_shared", h2}}) {
        auto row = model_columns(m);
        row.insert(row.end(), {{"task", task.name},
                               {"feature", f.feature},
                               {"relevant", feature_of(task) == f.feature ? 1.0 : 0.0},
                               {"hypothesis", name},
                               {"stim_frame", double(f.stim)},
                               {"other_frame", double(j)},
                               {"accuracy", mean(acc)},
                               {"accuracy_sd", sd(acc)},
                               {"validation", mean(validation)},
                               {"chance", s.chance(f.feature)},
                               {"folds", double(s.folds)}});
        tables["temporal_hypotheses"].add(std::move(row));
      }
    }
  }
}

void cross_task(const ModelData& m, const Settings& s, const Families& families, Tables& tables) {
  const std::int64_t frames = m.frames();
  for (const auto& [key, f] : families) {
    for (std::size_t b = 0; b < m.tasks.size(); ++b) {
      std::vector<double> acc;
      std::int64_t n = 0;
      if (b == f.task) {
        acc = fold_accuracies(f, s.folds, [&](int q) { return f.preds[f.index(q, f.stim, frames)][0].eq(f.y); });
        n = f.rows.size(0);
      } else {
        torch::Tensor rows = m.rows_of_task(b);
        n = rows.size(0);
        torch::Tensor x = m.states.index_select(0, rows).select(1, f.stim);
        torch::Tensor y = m.labels.at(f.feature).index_select(0, rows).select(1, f.stim);
        torch::Tensor idx = torch::arange(s.folds, torch::kLong) * (frames - f.stim);  // fits at t = stim
        decoders::Fit sub{f.fit.weight.index_select(0, idx), f.fit.bias.index_select(0, idx),
                          f.fit.mean.index_select(0, idx), f.fit.scale.index_select(0, idx)};
        torch::Tensor pred = decoders::predict(sub, x.unsqueeze(0).expand({s.folds, n, x.size(1)}));
        torch::Tensor a = pred.eq(y.unsqueeze(0)).to(torch::kFloat64).mean(1);
        acc.assign(a.data_ptr<double>(), a.data_ptr<double>() + s.folds);
      }
      auto row = model_columns(m);
      row.insert(row.end(), {{"feature", f.feature},
                             {"train_task", m.tasks[f.task].name},
                             {"test_task", m.tasks[b].name},
                             {"stim_frame", double(f.stim)},
                             {"accuracy", mean(acc)},
                             {"accuracy_sd", sd(acc)},
                             {"chance", s.chance(f.feature)},
                             {"kind", std::string(b == f.task ? "validation" : "generalisation")},
                             {"folds", double(s.folds)},
                             {"n", double(n)}});
      tables["cross_task"].add(std::move(row));
    }
  }
}

namespace {

// A decoder's class weights [K, H] standardised as in SCIENCE.md 4.4:
// w' = (w - mean) / ||w - mean||, keeping mean and norm to undo it.
struct Standardised {
  torch::Tensor w, mean;
  double norm = 1;
};
Standardised standardise(const torch::Tensor& w) {
  Standardised s;
  s.mean = w.mean(0, true);
  torch::Tensor c = w - s.mean;
  s.norm = std::max(c.norm().item<double>(), 1e-300);
  s.w = c / s.norm;
  return s;
}

// Orthogonal Procrustes with a common scale from src onto tgt ([K, H] each).
// The optimal rotation acts on the span of both (at most 2K dimensions) and,
// by our choice, as the identity on its complement:
// R = Q r Q^T + (I - Q Q^T), Q an orthonormal basis of the span.
struct Rotation {
  torch::Tensor q, r;  // [H, m], [m, m]
  double scale = 1;
  torch::Tensor apply(const torch::Tensor& c) const {
    torch::Tensor cq = torch::mm(c, q);
    return (c + torch::mm(torch::mm(cq, r) - cq, q.t())) * scale;
  }
};
Rotation fit_rotation(const torch::Tensor& src, const torch::Tensor& tgt) {
  Rotation rot;
  rot.q = std::get<0>(torch::linalg_qr(torch::cat({src, tgt}).t()));  // [H, 2K]
  torch::Tensor a = torch::mm(src, rot.q), b = torch::mm(tgt, rot.q);
  auto [u, sv, vh] = torch::linalg_svd(torch::mm(a.t(), b), false);
  rot.r = torch::mm(u, vh);
  rot.scale = sv.sum().item<double>() / std::max(a.pow(2).sum().item<double>(), 1e-300);
  return rot;
}

}  // namespace

void procrustes(const ModelData& m, const Settings& s, const Families& families, Tables& tables) {
  const std::int64_t frames = m.frames();
  for (const auto& [key, f] : families) {
    const auto& [task_index, feature, stim] = key;
    const Family* next_stim = nullptr;
    if (auto it = families.find(std::make_tuple(task_index, feature, stim + 1)); it != families.end()) next_stim = &it->second;
    for (int t = f.stim; t + 1 < frames; ++t) {
      // Per fold: weights in [K, H], rotation (s, t) -> (s, t + 1), and the
      // accuracy on the target family's held-out trials at the target frame.
      std::map<std::string, std::vector<double>> acc, fitted;
      for (int q = 0; q < s.folds; ++q) {
        auto weights = [&](const Family& fam, int frame) { return fam.fit.weight[fam.index(q, frame, frames)].t(); };
        Standardised src = standardise(weights(f, t)), tgt = standardise(weights(f, t + 1));
        Rotation rot = fit_rotation(src.w, tgt.w);
        // Accuracy of weights `w` (de-standardised like the target decoder)
        // used in place of the target decoder of family `fam` at `frame`.
        auto evaluate = [&](const Family& fam, int frame, const torch::Tensor& w_std) {
          std::int64_t p = fam.index(q, frame, frames);
          Standardised target = standardise(weights(fam, frame));
          torch::Tensor w = w_std * target.norm + target.mean;  // [K, H]
          torch::Tensor x = m.states.index_select(0, fam.rows).select(1, frame);
          torch::Tensor z = (x - fam.fit.mean[p]) / fam.fit.scale[p];
          torch::Tensor pred = (torch::mm(z, w.t()) + fam.fit.bias[p]).argmax(1);
          torch::Tensor held = fam.fold.eq(q);
          double a = pred.eq(fam.y).logical_and(held).sum().item<double>() / held.sum().item<double>();
          double fit_acc = fam.preds[p][frame - fam.stim].eq(fam.y).logical_and(held).sum().item<double>() /
                           held.sum().item<double>();
          return std::make_pair(a, fit_acc);
        };
        auto record = [&](const std::string& test, std::pair<double, double> r) {
          acc[test].push_back(r.first);
          fitted[test].push_back(r.second);
        };
        auto rec = evaluate(f, t + 1, rot.apply(src.w));
        record("fitted", {rec.second, rec.second});
        record("reconstructed", rec);
        if (t + 2 < frames) {
          record("time_shifted", evaluate(f, t + 2, rot.apply(tgt.w)));  // W(s, t+1), already standardised
          if (next_stim != nullptr) {
            record("elapsed_shifted", evaluate(*next_stim, t + 2, rot.apply(standardise(weights(*next_stim, t + 1)).w)));
          }
        }
      }
      for (const auto& [test, a] : acc) {
        bool elapsed = test == "elapsed_shifted";
        int target_stim = elapsed ? f.stim + 1 : f.stim;
        int target_frame = test == "fitted" || test == "reconstructed" ? t + 1 : t + 2;
        auto row = model_columns(m);
        row.insert(row.end(), {{"task", m.tasks[f.task].name},
                               {"feature", f.feature},
                               {"test", test},
                               {"source_stim", double(f.stim)},
                               {"source_frame", double(t)},
                               {"stim_frame", double(target_stim)},
                               {"frame", double(target_frame)},
                               {"accuracy", mean(a)},
                               {"accuracy_sd", sd(a)},
                               {"fitted_accuracy", mean(fitted[test])},
                               {"chance", s.chance(f.feature)},
                               {"folds", double(s.folds)}});
        tables["procrustes"].add(std::move(row));
      }
    }
  }
}

}  // namespace wmgeom::analyze
