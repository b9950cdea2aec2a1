// The cross-validated decoder families and every analysis built on them:
// decoding, cross-temporal decoding with the H1/H2 tests and cross-task
// generalisation (the swap tests built on them: swaps.cpp).
// Every accuracy comes with the empirical chance of the same decoders fitted
// on image-level label permutations (SCIENCE.md section 6).
#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>

#include <tbb/parallel_for.h>

#include "analyze/analyses.h"
#include "analyze/scoring.h"
#include "core/error.h"
#include "core/random.h"

namespace wmgeom::analyze {

namespace {

std::string feature_of(const nback::Task& t) { return nback::feature_name(t.feature); }

// The trials of `rows` that are held out in the views scheme (novel views),
// or every trial for the grouped scheme.
torch::Tensor test_mask(const ModelData& m, const Settings& s, const torch::Tensor& rows) {
  if (s.cv == Cv::kViews) return m.split.index_select(0, rows).eq(kSplitValidation);
  return torch::ones({rows.size(0)}, torch::kBool);
}

// Image-level label permutations: each distinct image of `groups` keeps one
// label, and permutation r hands the images' labels out again in a shuffled
// order. Returns [R, n].
torch::Tensor permuted_labels(const torch::Tensor& y, const torch::Tensor& groups, int permutations,
                              std::uint64_t seed) {
  auto [images, inverse] = at::_unique(groups, /*sorted=*/true, /*return_inverse=*/true);
  const std::int64_t g = images.size(0);
  torch::Tensor image_label = torch::zeros({g}, torch::kLong).index_put_({inverse}, y);
  std::vector<torch::Tensor> out;
  for (int r = 0; r < permutations; ++r) {
    std::vector<std::int64_t> v = to_vector(image_label);
    random::Rng rng(random::hash_combine(seed ^ 0x9e11ULL, static_cast<std::uint64_t>(r)));
    for (std::int64_t i = g; i > 1; --i)
      std::swap(v[i - 1], v[rng.range(0, static_cast<int>(i) - 1)]);
    out.push_back(torch::tensor(v, torch::kLong).index_select(0, inverse));
  }
  return out.empty() ? torch::empty({0, y.size(0)}, torch::kLong) : torch::stack(out);
}

// Decision values [P, n, K] of every fit on the same samples x [n, d] (the
// standardisation folded into the weights, as decoders::predict_shared).
torch::Tensor decision_shared(const decoders::Fit& f, const torch::Tensor& x) {
  const std::int64_t p = f.weight.size(0), d = f.weight.size(1), k = f.weight.size(2);
  torch::Tensor w = f.weight / f.scale.unsqueeze(2);                         // [P, d, K]
  torch::Tensor b = f.bias - torch::bmm(f.mean.unsqueeze(1), w).squeeze(1);  // [P, K]
  torch::Tensor scores =
      torch::mm(x.to(torch::kFloat64), w.permute({1, 0, 2}).reshape({d, p * k}));  // [n, P*K]
  return (scores.view({x.size(0), p, k}) + b.unsqueeze(0)).permute({1, 0, 2});
}

// Each class's kin group [K] (the lag rule): for identity its category
// (identity determines it: identities are unique across categories), shifted
// past the class ids; for every other feature the class itself.
torch::Tensor kin_of(const ModelData& m, const std::string& feature, std::int64_t classes) {
  torch::Tensor kin = torch::arange(classes, torch::kLong);
  if (feature == "id" && m.labels.count("id") && m.labels.count("cat")) {
    torch::Tensor id = m.labels.at("id").flatten(), cat = m.labels.at("cat").flatten();
    torch::Tensor in = id.lt(classes);
    kin.index_put_({id.masked_select(in)}, cat.masked_select(in) + classes);
  }
  return kin;
}

// The lag rule's exclusion for a fit of family f at train frame t scored at
// frame u: the classes kin of the label at any frame read (bool [n, K]),
// and the trials it scores (bool [n]): label at f.stim not excluded, at
// least two classes left. `labels` long [n, T]: the family's trials' labels
// at every frame.
struct Exclusion {
  torch::Tensor excluded, scored;
};
Exclusion exclusion(const Family& f, const torch::Tensor& labels, const std::vector<int>& read) {
  const std::int64_t n = f.y.size(0), k = f.kin.size(0);
  Exclusion e;
  e.excluded = torch::zeros({n, k}, torch::kBool);
  for (int r : read) e.excluded = e.excluded.logical_or(kin_mask(f, labels.select(1, r)));
  torch::Tensor allowed = k - e.excluded.sum(1);
  e.scored =
      e.excluded.gather(1, f.y.unsqueeze(1)).squeeze(1).logical_not().logical_and(allowed.ge(2));
  return e;
}

}  // namespace

std::string relevance(const nback::Task& task, const std::string& feature) {
  const std::string own = feature_of(task);
  if (own == feature) return "relevant";
  if (own == "id" && feature == "cat") return "implied";
  return "irrelevant";
}

void check_folds(const ModelData& m, const Settings& s) {
  if (s.cv == Cv::kViews && !m.split.defined()) {
    throw InputError("analyze: cv = \"views\" needs the split of every trial, but the state set " +
                     m.name + " does not record it (captured by an older wmgeom): recapture it");
  }
  for (std::size_t k = 0; k < m.tasks.size(); ++k) {
    torch::Tensor rows = m.rows_of_task(k);
    if (rows.numel() == 0) {
      throw InputError("analyze: " + m.name + " has no trials of task " + m.tasks[k].name);
    }
    if (s.cv == Cv::kViews) {
      torch::Tensor split = m.split.index_select(0, rows);
      if (split.eq(kSplitTrain).sum().item<std::int64_t>() == 0 ||
          split.eq(kSplitValidation).sum().item<std::int64_t>() == 0) {
        throw InputError(
            "analyze: parameter cv = \"views\" fits on training-view trials and tests on "
            "novel-view trials, but " +
            m.name + " has trials of one split only in task " + m.tasks[k].name +
            "; capture both (split = \"both\" in its capture stage) or use cv = \"grouped\"");
      }
    }
    for (const auto& feature : s.features) {
      for (int stim : s.frames) {
        torch::Tensor y = m.labels.at(feature).index_select(0, rows).select(1, stim);
        torch::Tensor g = m.stimulus.index_select(0, rows).select(1, stim);
        const std::int64_t classes = s.classes.at(feature);
        std::vector<std::set<std::int64_t>> images(static_cast<std::size_t>(classes));
        std::vector<std::int64_t> train_trials(static_cast<std::size_t>(classes), 0);
        auto yv = to_vector(y), gv = to_vector(g);
        auto sv = s.cv == Cv::kViews ? to_vector(m.split.index_select(0, rows))
                                     : std::vector<std::int64_t>(yv.size(), 0);
        for (std::size_t i = 0; i < yv.size(); ++i) {
          images[yv[i]].insert(gv[i]);
          train_trials[yv[i]] += sv[i] == kSplitTrain;
        }
        for (std::int64_t c = 0; c < classes; ++c) {
          const auto count = static_cast<std::int64_t>(images[c].size());
          if (s.cv == Cv::kGrouped && count > 0 && count < s.folds) {
            throw InputError("analyze: parameter folds = " + std::to_string(s.folds) + ": " +
                             m.name + ", task " + m.tasks[k].name + ": feature " + feature +
                             " value " + std::to_string(c) + " is shown by " +
                             std::to_string(count) + " distinct images at frame " +
                             std::to_string(stim) +
                             ", fewer than folds; folds are grouped by image so that no test trial "
                             "has a twin in "
                             "training: lower folds, or render more views or identities");
          }
          if (s.cv == Cv::kViews && count > 0 && train_trials[c] == 0) {
            throw InputError("analyze: cv = \"views\": " + m.name + ", task " + m.tasks[k].name +
                             ": feature " + feature + " value " + std::to_string(c) + " at frame " +
                             std::to_string(stim) + " never occurs in a training-view trial");
          }
        }
      }
    }
  }
}

Families fit_families(const ModelData& m, const Settings& s, const std::function<void()>& tick) {
  const std::int64_t frames = m.frames();
  // Families in parallel (each fit_sets is parallel over its problems too,
  // but a late stimulus frame has only folds x few problems).
  std::vector<std::tuple<std::size_t, std::string, int>> units;
  for (std::size_t k = 0; k < m.tasks.size(); ++k) {
    for (const auto& feature : s.features) {
      for (int stim : s.frames) units.emplace_back(k, feature, stim);
    }
  }
  std::vector<Family> fitted(units.size());
  std::mutex tick_mutex;
  tbb::parallel_for(std::size_t{0}, units.size(), [&](std::size_t unit) {
    const auto& [k, feature, stim] = units[unit];
    torch::Tensor rows = m.rows_of_task(k);
    const std::int64_t n = rows.size(0);
    torch::Tensor x = m.states.index_select(0, rows);  // [n, T, H]
    torch::Tensor images = m.stimulus.index_select(0, rows);
    Family& f = fitted[unit];
    f.task = k;
    f.feature = feature;
    f.stim = stim;
    f.rows = rows;
    f.y = m.labels.at(feature).index_select(0, rows).select(1, stim).contiguous();
    torch::Tensor groups = images.select(1, stim).contiguous();
    f.images = groups;
    const std::uint64_t seed = family_seed(s, m.tasks[k].name, feature, stim);
    if (s.cv == Cv::kViews) {
      f.folds = 1;
      f.fold = torch::where(test_mask(m, s, rows), torch::zeros({n}, torch::kLong),
                            torch::full({n}, -1, torch::kLong));
    } else {
      f.folds = s.folds;
      auto folds = decoders::grouped_folds(to_vector(f.y), to_vector(groups), s.folds, seed);
      f.fold = torch::tensor(std::vector<std::int64_t>(folds.begin(), folds.end()), torch::kLong);
    }
    // The folds follow the images (one partition for every model: paired
    // comparisons); the permutations stand for chance and are the model's
    // own (version 13: one draw for every model gave every replicate the
    // same error in its empirical chance, a common offset that a test across
    // seeds reads as an effect).
    f.null_y = permuted_labels(f.y, groups, s.permutations, m.own_seed(seed));
    const std::int64_t u = frames - stim, p = f.folds * u, sets = 1 + f.permutations();
    // [P, n, H]: fold-major, then train frame; every problem carries the
    // true labels and the R permuted ones.
    torch::Tensor xs = x.narrow(1, stim, u).permute({1, 0, 2}).repeat({f.folds, 1, 1});
    torch::Tensor which = torch::arange(f.folds, torch::kLong).repeat_interleave(u).unsqueeze(1);
    torch::Tensor mask = f.fold.unsqueeze(0).ne(which);
    torch::Tensor labels =
        torch::cat({f.y.unsqueeze(0), f.null_y}).unsqueeze(0).expand({p, sets, n});
    decoders::Fit all = decoders::fit_sets(xs.to(s.device), labels.to(s.device), mask.to(s.device),
                                           s.classes.at(feature), s.options);
    all = {all.weight.cpu(), all.bias.cpu(), all.mean.cpu(), all.scale.cpu()};
    std::vector<torch::Tensor> preds;
    for (std::int64_t frame = stim; frame < frames; ++frame) {
      preds.push_back(decoders::predict_shared(all, x.select(1, frame)));
    }
    torch::Tensor pr = torch::stack(preds, 1).view({p, sets, u, n});  // [P, L, U, n]
    f.preds = pr.select(1, 0).contiguous();
    f.null_preds = pr.narrow(1, 1, sets - 1).permute({1, 0, 2, 3}).to(torch::kInt16).contiguous();
    f.n_back = m.tasks[k].n;
    f.kin = kin_of(m, feature, s.classes.at(feature));
    if ((s.wants("decoding") || s.wants("cross_temporal") || s.wants("procrustes")) &&
        s.classes.at(feature) - f.largest_kin() >= 2) {
      // The lag rule: for every (train frame t, frame u) with frames
      // read at lags kN, every fit's (true and permuted) argmax over the
      // classes that are not kin of their labels.
      torch::Tensor labels_all = m.labels.at(feature).index_select(0, rows);
      torch::Tensor differ =
          torch::full({f.folds, u, u, sets, n}, -1, torch::kLong);  // [q, t, u, set, n]
      for (int frame = stim; frame < frames; ++frame) {
        torch::Tensor dec;
        for (int t = stim; t < frames; ++t) {
          const auto read = f.read_frames(t, frame);
          if (read.empty()) continue;
          if (!dec.defined())
            dec = decision_shared(all, x.select(1, frame)).view({f.folds, u, sets, n, -1});
          torch::Tensor d = dec.select(1, t - stim).reshape({f.folds * sets, n, -1});
          differ.select(1, t - stim)
              .select(1, frame - stim)
              .copy_(argmax_except(d, exclusion(f, labels_all, read).excluded)
                         .view({f.folds, sets, n}));
        }
      }
      differ = differ.view({p, u, sets, n});
      f.differ_preds = differ.select(2, 0).contiguous();
      f.null_differ_preds =
          differ.narrow(2, 1, sets - 1).permute({2, 0, 1, 3}).to(torch::kInt16).contiguous();
    }
    torch::Tensor true_index = torch::arange(p, torch::kLong) * sets;
    f.fit = {all.weight.index_select(0, true_index), all.bias.index_select(0, true_index),
             all.mean.index_select(0, true_index), all.scale.index_select(0, true_index)};
    if ((s.wants("cross_task") || s.wants("cross_temporal")) && f.permutations() > 0) {
      // Permuted fits at t = s, ordered r * folds + q: the nulls of
      // cross-task generalisation and of H1/H2.
      torch::Tensor r = torch::arange(f.permutations(), torch::kLong).unsqueeze(1);
      torch::Tensor q = torch::arange(f.folds, torch::kLong).unsqueeze(0);
      torch::Tensor idx = ((q * u) * sets + 1 + r).flatten();
      f.null_encoding = {all.weight.index_select(0, idx), all.bias.index_select(0, idx),
                         all.mean.index_select(0, idx), all.scale.index_select(0, idx)};
    }
    std::lock_guard<std::mutex> lock(tick_mutex);
    tick();
  });
  Families out;
  for (std::size_t i = 0; i < units.size(); ++i) out.emplace(units[i], std::move(fitted[i]));
  return out;
}

torch::Tensor unseen(const Family& f, int fold, const torch::Tensor& images) {
  if (fold < 0 || fold >= f.folds) {
    throw InputError("analyze: unseen: fold " + std::to_string(fold) +
                     " is not one of the family's " + std::to_string(f.folds) + " evaluated folds");
  }
  torch::Tensor training = f.images.index_select(0, f.fold.ne(fold).nonzero().squeeze(1));
  return torch::isin(images.to(torch::kLong), training, /*assume_unique=*/false, /*invert=*/true);
}

std::vector<int> Family::read_frames(int t, int u) const {
  std::vector<int> out;
  for (int r : {u, u - (t - stim)}) {
    if (lagged(r) && std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  }
  return out;
}

std::int64_t Family::largest_kin() const {
  if (!kin.defined() || kin.numel() == 0) return 1;
  return torch::bincount(kin).max().item<std::int64_t>();
}

namespace {

// Accuracy of the fits at train frame t, tested at frame u, against `target`
// ([n]) on held-out trials within `subset` ([n] bool, or undefined = all);
// the null uses the permuted fits against `null_target` ([R, n], or
// undefined: `target` for every permutation).
Score score(const Family& f, std::int64_t frames, int t, int u, const torch::Tensor& target,
            const torch::Tensor& null_target, const torch::Tensor& subset) {
  Score out;
  const std::int64_t r = f.permutations();
  std::vector<double> null_sum(static_cast<std::size_t>(r), 0.0);
  int counted = 0;
  for (int q = 0; q < f.folds; ++q) {
    torch::Tensor held = f.fold.eq(q);
    if (subset.defined()) held = held.logical_and(subset);
    const double count = held.sum().item<double>();
    if (count == 0) continue;
    const std::int64_t p = f.index(q, t, frames);
    out.folds.push_back(f.preds[p][u - f.stim].eq(target).logical_and(held).sum().item<double>() /
                        count);
    out.counts.push_back(count);
    if (r > 0) {
      torch::Tensor np =
          f.null_preds.select(1, p).select(1, u - f.stim).to(torch::kLong);  // [R, n]
      torch::Tensor nt = null_target.defined() ? null_target : target.unsqueeze(0);
      torch::Tensor acc =
          (np.eq(nt).logical_and(held.unsqueeze(0)).sum(1).to(torch::kFloat64) / count)
              .contiguous();
      const double* a = acc.data_ptr<double>();
      for (std::int64_t i = 0; i < r; ++i) null_sum[i] += a[i];
    }
    ++counted;
  }
  for (double v : null_sum) out.null.push_back(counted > 0 ? v / counted : std::nan(""));
  return out;
}

// Fold q's predictions are row q of `pred` ([folds, n]); permutation r's
// are row r * folds + q of `null_pred` ([R * folds, n], or undefined: no
// null). Scores them against `target` ([n]) on the trials keep[q] ([folds,
// n] bool) of each fold.
Score masked_score(const torch::Tensor& pred, const torch::Tensor& null_pred,
                   const torch::Tensor& target, const torch::Tensor& keep) {
  Score out;
  const std::int64_t folds = keep.size(0), n = keep.size(1);
  auto values = [](const torch::Tensor& t) {
    torch::Tensor c = t.to(torch::kFloat64).contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  };
  const auto counts = values(keep.sum(1));
  const auto hits = values(pred.eq(target.unsqueeze(0)).logical_and(keep).sum(1));
  for (std::int64_t q = 0; q < folds; ++q) {
    if (counts[q] == 0) continue;
    out.folds.push_back(hits[q] / counts[q]);
    out.counts.push_back(counts[q]);
  }
  if (null_pred.defined() && !out.folds.empty()) {
    const std::int64_t r = null_pred.size(0) / folds;
    const auto null_hits = values(null_pred.view({r, folds, n})
                                      .eq(target.view({1, 1, n}))
                                      .logical_and(keep.unsqueeze(0))
                                      .sum(2));  // [R, folds]
    for (std::int64_t i = 0; i < r; ++i) {
      double sum = 0;
      for (std::int64_t q = 0; q < folds; ++q) {
        if (counts[q] > 0) sum += null_hits[i * folds + q] / counts[q];
      }
      out.null.push_back(sum / static_cast<double>(out.folds.size()));
    }
  }
  return out;
}

// The fits of the family's folds at t = s (the encoding decoders), fold-major.
decoders::Fit encoding_fits(const Family& f, std::int64_t frames) {
  torch::Tensor idx = torch::arange(f.folds, torch::kLong) * (frames - f.stim);
  return {f.fit.weight.index_select(0, idx), f.fit.bias.index_select(0, idx),
          f.fit.mean.index_select(0, idx), f.fit.scale.index_select(0, idx)};
}

// kDiffer unless fewer than two classes remain after excluding one kin group.
Scoring differ_rule(const Family& f, const Settings& s) {
  return s.classes.at(f.feature) - f.largest_kin() >= 2 ? Scoring::kDiffer : Scoring::kNone;
}

// kDiffer predictions of the family's fits at train frame t scored at
// frame u: fold q's in row q of `pred` ([folds, n]), permutation r's in row
// r * folds + q of `null` ([R * folds, n]), as masked_score takes them.
struct RulePreds {
  torch::Tensor pred, null;
};
RulePreds differ_predictions(const Family& f, std::int64_t frames, int t, int u) {
  if (!f.differ_preds.defined() || f.read_frames(t, u).empty()) {
    throw std::logic_error("analyze: (" + std::to_string(t) + ", " + std::to_string(u) +
                           ") has no lag-rule predictions in family " + f.feature + "/" +
                           std::to_string(f.stim));
  }
  torch::Tensor idx = torch::arange(f.folds, torch::kLong) * (frames - f.stim) + (t - f.stim);
  RulePreds out;
  out.pred = f.differ_preds.index_select(0, idx).select(1, u - f.stim);  // [folds, n]
  out.null = f.null_differ_preds.index_select(1, idx)
                 .select(2, u - f.stim)
                 .reshape({-1, f.y.size(0)})
                 .to(torch::kLong);
  return out;
}

// A decoding row (t = u) or a cross-temporal row, scored by the lag rule
// of (t, u), named in the `scoring` column.
void accuracy_row(TableBuilder& table, const ModelData& m, const Settings& s, const Family& f,
                  int t, int u) {
  const Scoring rule = scoring_at(f, t, u, s);
  Score sc = rule == Scoring::kAll ? score(f, m.frames(), t, u, f.y, f.null_y, {})
                                   : rule_score(m, f, t, u, rule);
  auto row = model_columns(m);
  const auto& task = m.tasks[f.task];
  row.insert(row.end(), {{"task", task.name},
                         {"feature", f.feature},
                         {"relevance", relevance(task, f.feature)},
                         {"relevant", feature_of(task) == f.feature ? 1.0 : 0.0},
                         {"stim_frame", double(f.stim)},
                         {"train_frame", double(t)},
                         {"test_frame", double(u)},
                         {"scoring", std::string(scoring_name(rule))}});
  add_accuracy(row, sc, s, f.feature,
               rule == Scoring::kAll      ? NAN
               : std::isfinite(sc.chance) ? sc.chance
                                          : chance_of(rule, s, f));
  if (rule == Scoring::kNone) set_cell(row, "chance", std::nan(""));
  table.add(std::move(row));
}

}  // namespace

void decoding(const ModelData& m, const Settings& s, const Families& families, Tables& tables) {
  for (const auto& [key, f] : families) {
    for (int t = f.stim; t < m.frames(); ++t) accuracy_row(tables["decoding"], m, s, f, t, t);
  }
}

void cross_temporal(const ModelData& m, const Settings& s, const Families& families,
                    Tables& tables) {
  const std::int64_t frames = m.frames();
  for (const auto& [key, f] : families) {
    for (int t = f.stim; t < frames; ++t) {
      for (int u = f.stim; u < frames; ++u) accuracy_row(tables["cross_temporal"], m, s, f, t, u);
    }
    // H1 (slot): the encoding decoder E(S=s,T=s) on the memory states of the
    // same stimulus at a later frame j. H2 (shared encoding): E(S=s,T=s) on
    // the encoding states of the stimulus shown at j, E(S=j,T=j).
    //  - Correlated labels: only trials whose labels at s and j are not kin
    //    (where they agree, with probability ~1/2 at lags that are multiples
    //    of N, a decoder of one stimulus scores on the other's labels; in
    //    id-N tasks the sibling identity of a hard non-match ranks second).
    //  - The leak rule: fold q's decoder only on trials held out in fold q
    //    whose image at j was not among fold q's training images at s (a
    //    decoder that memorised images would read the image at j as the
    //    label it was trained on).
    //  - Like with like: a decoder that reads stimulus j must score chance,
    //    not zero, on stimulus s. H1 is the argmax over the classes not kin
    //    of y_j, H2 the argmax over the classes not kin of y_s (kin: the
    //    class itself; for identity, every identity of its category): chance
    //    1 / (K - kin) each (no score for K = 2, where one class remains).
    //    `validation` is the same decoder at its own frame s on the same
    //    trials, argmax over the classes not kin of y_j (what H1 would be if
    //    the memory state were the encoding state).
    //  - The memory echo (version 15): the fit at s also weighs the memory
    //    of s - N, whose label agrees with y_s half the time; at j those
    //    weights read the memory of r = j - N (Family::memory_echo), whose
    //    label agrees with y_j (H2's target) half the time, and with y_s
    //    (H1's) where r - s is a multiple of N. There the row also excludes
    //    the classes kin of y_r and scores only trials whose target is not
    //    one of them (validation as H1). Without it, planted states with no
    //    shared encoding code (own weak code per frame, a strong memory of
    //    the previous stimulus, loc-1) read H2 0.40-0.43 against chance
    //    0.33 (Analyze.H2DoesNotReadTheMemoryEchoOfCorrelatedLabels).
    //    The chance of a row is the mean over its trials of 1 / (classes
    //    left).
    // Every null: the permuted fits at t = s scored the same way.
    const auto& task = m.tasks[f.task];
    const bool scorable = differ_rule(f, s) == Scoring::kDiffer;
    decoders::Fit enc = encoding_fits(f, frames);
    const bool has_null = f.null_encoding.weight.defined();
    // The family's trials, every frame: selected once for all j.
    const torch::Tensor states = m.states.index_select(0, f.rows),
                        labels = m.labels.at(f.feature).index_select(0, f.rows),
                        stimuli = m.stimulus.index_select(0, f.rows);
    const torch::Tensor kin_s = kin_mask(f, f.y);
    torch::Tensor x_s = states.select(1, f.stim);
    torch::Tensor dec_s = scorable ? decision_shared(enc, x_s) : torch::Tensor();
    torch::Tensor null_s =
        scorable && has_null ? decision_shared(f.null_encoding, x_s) : torch::Tensor();
    for (int j = f.stim + 1; j < frames; ++j) {
      torch::Tensor yj = labels.select(1, j).contiguous();
      // Kin (README "Correlated labels"): for identity, every identity of
      // the same category (hard non-matches make the label at s the sibling
      // of the label at j more often than chance).
      torch::Tensor kin_j = kin_mask(f, yj);
      torch::Tensor differ = kin_j.gather(1, f.y.unsqueeze(1)).squeeze(1).logical_not();
      // Each hypothesis's excluded classes [n, K] and trials [n]: the other
      // stimulus's kin, and the memory echo's where it correlates.
      torch::Tensor ex1 = kin_j, ex2 = kin_s, ok1 = differ, ok2 = differ;
      bool echo1 = false, echo2 = false;
      if (const int r = f.memory_echo(j); r >= 0) {
        torch::Tensor kin_r = kin_mask(f, labels.select(1, r).contiguous());
        ex2 = ex2.logical_or(kin_r);
        echo2 = true;
        if (f.lagged(r)) {
          ex1 = ex1.logical_or(kin_r);
          echo1 = true;
        }
      }
      const std::int64_t k = f.kin.size(0);
      auto usable = [&](const torch::Tensor& ex, const torch::Tensor& target, torch::Tensor ok) {
        return ok.logical_and(ex.gather(1, target.unsqueeze(1)).squeeze(1).logical_not())
            .logical_and((k - ex.sum(1)).ge(2));
      };
      ok1 = usable(ex1, f.y, ok1);
      ok2 = usable(ex2, yj, ok2);
      torch::Tensor images_j = stimuli.select(1, j).contiguous();
      std::vector<torch::Tensor> keep1, keep2;
      for (int q = 0; q < f.folds; ++q) {
        torch::Tensor held = f.fold.eq(q).logical_and(unseen(f, q, images_j));
        keep1.push_back(held.logical_and(ok1));
        keep2.push_back(held.logical_and(ok2));
      }
      torch::Tensor eligible1 = torch::stack(keep1), eligible2 = torch::stack(keep2);  // [folds, n]
      Score validation, h1, h2;
      if (scorable) {
        torch::Tensor x_j = states.select(1, j);
        torch::Tensor dec_j = decision_shared(enc, x_j);
        torch::Tensor null_j = has_null ? decision_shared(f.null_encoding, x_j) : torch::Tensor();
        auto except = [](const torch::Tensor& d, const torch::Tensor& excluded) {
          return d.defined() ? argmax_except(d, excluded) : torch::Tensor();
        };
        // The chance of each: the mean over its trials of 1 / (classes left).
        auto chance = [&](Score& sc, const torch::Tensor& ex, const torch::Tensor& eligible) {
          torch::Tensor scored = eligible.any(0);
          if (scored.any().item<bool>()) {
            sc.chance = (1.0 / (k - ex.sum(1)).to(torch::kFloat64).masked_select(scored))
                            .mean()
                            .item<double>();
          }
        };
        validation = masked_score(except(dec_s, ex1), except(null_s, ex1), f.y, eligible1);
        h1 = masked_score(except(dec_j, ex1), except(null_j, ex1), f.y, eligible1);
        h2 = masked_score(except(dec_j, ex2), except(null_j, ex2), yj, eligible2);
        // Without an echo every trial has the same classes left: the rule's
        // chance (below), as before version 15.
        if (echo1) chance(h1, ex1, eligible1);
        if (echo2) chance(h2, ex2, eligible2);
      }
      for (auto& [name, sc] : {std::pair<std::string, Score&>{"H1_slot", h1}, {"H2_shared", h2}}) {
        auto row = model_columns(m);
        row.insert(row.end(), {{"task", task.name},
                               {"feature", f.feature},
                               {"relevance", relevance(task, f.feature)},
                               {"relevant", feature_of(task) == f.feature ? 1.0 : 0.0},
                               {"hypothesis", name},
                               {"stim_frame", double(f.stim)},
                               {"other_frame", double(j)},
                               {"validation", validation.accuracy()},
                               {"validation_chance", mean(validation.null)}});
        add_accuracy(row, sc, s, f.feature,
                     std::isfinite(sc.chance) ? sc.chance : chance_of(differ_rule(f, s), s, f));
        tables["temporal_hypotheses"].add(std::move(row));
      }
    }
  }
}

void cross_task(const ModelData& m, const Settings& s, const Families& families, Tables& out) {
  const std::int64_t frames = m.frames();
  const auto list = in_order(families);
  for_each_unit(
      list.size(),
      [&](std::size_t unit, Tables& tables) {
        const Family& f = *list[unit];
        Score validation = score(f, frames, f.stim, f.stim, f.y, f.null_y, {});
        const decoders::Fit enc = encoding_fits(f, frames);
        for (std::size_t b = 0; b < m.tasks.size(); ++b) {
          Score sc, centred;
          if (b == f.task) {
            sc = centred = validation;
          } else {
            // Every decoder of the training folds at t = s, on B's test trials
            // with B's labels; and on B's states centred on B's own mean (no
            // labels used): what remains of the drop is not a translation. The
            // leak rule: fold q's decoder (and each permuted fit of fold q) only
            // on B's trials whose image at s was not among fold q's training
            // images: at the encoding frame such a trial is a near-twin of a
            // training trial, and a decoder that memorised images scores it.
            torch::Tensor rows = m.rows_of_task(b);
            rows = rows.index_select(0, test_mask(m, s, rows).nonzero().squeeze(1));
            torch::Tensor x = m.states.index_select(0, rows).select(1, f.stim);
            torch::Tensor y =
                m.labels.at(f.feature).index_select(0, rows).select(1, f.stim).contiguous();
            torch::Tensor images = m.stimulus.index_select(0, rows).select(1, f.stim).contiguous();
            std::vector<torch::Tensor> keep;
            for (int q = 0; q < f.folds; ++q) keep.push_back(unseen(f, q, images));
            torch::Tensor eligible = torch::stack(keep);  // [folds, n_B]
            torch::Tensor xc = x - x.mean(0, true);
            auto predictions = [&](const decoders::Fit& fit, bool centre) {
              if (!fit.weight.defined()) return torch::Tensor();
              decoders::Fit use = fit;
              if (centre) use.mean = torch::zeros_like(fit.mean);
              return decoders::predict_shared(use, centre ? xc : x);  // [P, n_B]
            };
            sc = masked_score(predictions(enc, false), predictions(f.null_encoding, false), y,
                              eligible);
            centred = masked_score(predictions(enc, true), predictions(f.null_encoding, true), y,
                                   eligible);
          }
          auto row = model_columns(m);
          row.insert(row.end(),
                     {{"feature", f.feature},
                      {"train_task", m.tasks[f.task].name},
                      {"test_task", m.tasks[b].name},
                      {"stim_frame", double(f.stim)},
                      {"kind", std::string(b == f.task ? "validation" : "generalisation")},
                      {"validation", validation.accuracy()},
                      {"validation_chance", mean(validation.null)},
                      {"accuracy_centred", centred.accuracy()},
                      {"chance_empirical_centred", mean(centred.null)}});
          add_accuracy(row, sc, s, f.feature);
          tables["cross_task"].add(std::move(row));
        }
      },
      out);
}

// The lag rule and scores shared with the swap tables: contracts in scoring.h.
std::uint64_t family_seed(const Settings& s, const std::string& task, const std::string& feature,
                          int stim) {
  return random::hash_combine(
      random::hash_combine(s.seed, random::hash_string(task + "/" + feature)),
      static_cast<std::uint64_t>(stim));
}
torch::Tensor argmax_except(const torch::Tensor& decision, const torch::Tensor& excluded) {
  return decision.masked_fill(excluded.unsqueeze(0), -std::numeric_limits<double>::infinity())
      .argmax(2);
}
torch::Tensor kin_mask(const Family& f, const torch::Tensor& labels) {
  return f.kin.unsqueeze(0).eq(f.kin.index_select(0, labels.to(torch::kLong)).unsqueeze(1));
}
const char* scoring_name(Scoring r) {
  return r == Scoring::kAll ? "all" : r == Scoring::kDiffer ? "differ" : "none";
}
Scoring scoring_at(const Family& f, int t, int u, const Settings& s) {
  // A fit at t read back at the stimulus frame (u = s) with t - s a
  // multiple of N: the fit learned the images shown at t, whose labels at s
  // agree with their own half the time, and the folds are grouped by the
  // image at s, so nearly every held-out image at s was a training image at
  // t (a code per image and none per feature read 0.66-0.80 against chance
  // 0.22: the 2026-12-07 audit). No trials are left to score it leak-free
  // (every image appears at t): no score (version 14).
  if (u == f.stim && t != u && f.lagged(t)) return Scoring::kNone;
  return f.read_frames(t, u).empty() ? Scoring::kAll : differ_rule(f, s);
}
Scoring scoring_at(const Family& f, int u, const Settings& s) { return scoring_at(f, u, u, s); }
double chance_of(Scoring r, const Settings& s, const Family& f) {
  const auto k = s.classes.at(f.feature);
  if (r == Scoring::kAll) return 1.0 / static_cast<double>(k);
  if (r == Scoring::kNone) return std::nan("");
  torch::Tensor size =
      kin_mask(f, torch::arange(k, torch::kLong)).sum(1).to(torch::kFloat64);  // [K]
  return (1.0 / (static_cast<double>(k) - size)).mean().item<double>();
}
torch::Tensor held_masks(const ModelData& m, const Family& f, int t, int u, Scoring r) {
  torch::Tensor keep = f.fold.unsqueeze(0).eq(torch::arange(f.folds, torch::kLong).unsqueeze(1));
  if (r == Scoring::kDiffer) {
    Exclusion e = exclusion(f, m.labels.at(f.feature).index_select(0, f.rows), f.read_frames(t, u));
    keep = keep.logical_and(e.scored.unsqueeze(0));
  }
  return keep;
}
torch::Tensor held_masks(const ModelData& m, const Family& f, int u, Scoring r) {
  return held_masks(m, f, u, u, r);
}
Score rule_score(const ModelData& m, const Family& f, int t, int u, Scoring r,
                 const torch::Tensor& keep) {
  const std::int64_t frames = m.frames();
  if (r == Scoring::kNone) return {};
  torch::Tensor mask = keep.defined() ? keep : held_masks(m, f, t, u, r);
  if (r == Scoring::kAll) {
    torch::Tensor idx = torch::arange(f.folds, torch::kLong) * (frames - f.stim) + (t - f.stim);
    torch::Tensor pred = f.preds.index_select(0, idx).select(1, u - f.stim);  // [folds, n]
    Score out = masked_score(pred, {}, f.y, mask);
    if (f.permutations() > 0 && !out.folds.empty()) {
      // Permuted fits against their own permuted labels.
      torch::Tensor np = f.null_preds.index_select(1, idx)
                             .select(2, u - f.stim)
                             .to(torch::kLong);                // [R, folds, n]
      torch::Tensor counts = mask.sum(1).to(torch::kFloat64);  // [folds]
      torch::Tensor hits =
          np.eq(f.null_y.unsqueeze(1)).logical_and(mask.unsqueeze(0)).sum(2).to(torch::kFloat64);
      torch::Tensor scored = counts.gt(0);
      torch::Tensor acc =
          (hits / counts.clamp_min(1)).masked_fill(scored.logical_not().unsqueeze(0), 0.0);
      torch::Tensor null = (acc.sum(1) / scored.sum().to(torch::kFloat64)).contiguous();
      out.null.assign(null.data_ptr<double>(), null.data_ptr<double>() + null.numel());
    }
    return out;
  }
  RulePreds p = differ_predictions(f, frames, t, u);
  Score out = masked_score(p.pred, f.permutations() > 0 ? p.null : torch::Tensor(), f.y, mask);
  // Chance: the mean over the trials scored of 1 / (the classes left).
  Exclusion e = exclusion(f, m.labels.at(f.feature).index_select(0, f.rows), f.read_frames(t, u));
  torch::Tensor left = (f.kin.size(0) - e.excluded.sum(1)).to(torch::kFloat64);  // [n]
  torch::Tensor scored = mask.any(0);
  if (scored.any().item<bool>())
    out.chance = (1.0 / left.masked_select(scored)).mean().item<double>();
  return out;
}
void set_cell(Row& row, const std::string& name, TableBuilder::Cell value) {
  for (auto& [key, cell] : row) {
    if (key == name) cell = std::move(value);
  }
}
void add_accuracy(Row& row, const Score& sc, const Settings& s, const std::string& feature,
                  double chance) {
  const auto& a = sc.folds;
  double total = 0;
  for (double c : sc.counts) total += c;
  row.insert(
      row.end(),
      {{"accuracy", mean(a)},
       {"accuracy_sd", sd(a)},
       {"accuracy_min", a.empty() ? std::nan("") : *std::min_element(a.begin(), a.end())},
       {"accuracy_max", a.empty() ? std::nan("") : *std::max_element(a.begin(), a.end())},
       {"chance", std::isnan(chance) ? s.chance(feature) : chance},
       {"chance_empirical", mean(sc.null)},
       {"chance_p95", stats::quantile(sc.null, 0.95)},
       {"p_permutation",
        sc.null.empty() ? std::nan("")
                        : stats::permutation_p(mean(a), sc.null, stats::Alternative::kGreater)},
       {"permutations", double(sc.null.size())},
       {"folds", double(a.size())},
       {"n", mean(sc.counts)},
       {"n_total", total}});
}
std::vector<const Family*> in_order(const Families& families) {
  std::vector<const Family*> out;
  for (const auto& [key, f] : families) out.push_back(&f);
  return out;
}

}  // namespace wmgeom::analyze
