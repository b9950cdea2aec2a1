// The cross-validated decoder families and every analysis built on them:
// decoding, cross-temporal decoding with the H1/H2 tests, cross-task
// generalisation and the Procrustes transformations with their swap tests.
// Every accuracy comes with the empirical chance of the same decoders fitted
// on image-level label permutations (SCIENCE.md section 6).
#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>

#include <tbb/parallel_for.h>

#include "analyze/analyses.h"
#include "analyze/procrustes.h"
#include "core/error.h"
#include "core/random.h"

namespace wmgeom::analyze {

namespace {

std::uint64_t family_seed(const Settings& s, const std::string& task, const std::string& feature, int stim) {
  return random::hash_combine(random::hash_combine(s.seed, random::hash_string(task + "/" + feature)),
                              static_cast<std::uint64_t>(stim));
}

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
torch::Tensor permuted_labels(const torch::Tensor& y, const torch::Tensor& groups, int permutations, std::uint64_t seed) {
  auto [images, inverse] = at::_unique(groups, /*sorted=*/true, /*return_inverse=*/true);
  const std::int64_t g = images.size(0);
  torch::Tensor image_label = torch::zeros({g}, torch::kLong).index_put_({inverse}, y);
  std::vector<torch::Tensor> out;
  for (int r = 0; r < permutations; ++r) {
    std::vector<std::int64_t> v = to_vector(image_label);
    random::Rng rng(random::hash_combine(seed ^ 0x9e11ULL, static_cast<std::uint64_t>(r)));
    for (std::int64_t i = g; i > 1; --i) std::swap(v[i - 1], v[rng.range(0, static_cast<int>(i) - 1)]);
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
  torch::Tensor scores = torch::mm(x.to(torch::kFloat64), w.permute({1, 0, 2}).reshape({d, p * k}));  // [n, P*K]
  return (scores.view({x.size(0), p, k}) + b.unsqueeze(0)).permute({1, 0, 2});
}

// The argmax [P, n] of decision values [P, n, K] over the classes not
// excluded ([n, K] bool) for each trial.
torch::Tensor argmax_except(const torch::Tensor& decision, const torch::Tensor& excluded) {
  return decision.masked_fill(excluded.unsqueeze(0), -std::numeric_limits<double>::infinity()).argmax(2);
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

// The classes kin of `labels` ([n]): bool [n, K].
torch::Tensor kin_mask(const Family& f, const torch::Tensor& labels) {
  return f.kin.unsqueeze(0).eq(f.kin.index_select(0, labels.to(torch::kLong)).unsqueeze(1));
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
  e.scored = e.excluded.gather(1, f.y.unsqueeze(1)).squeeze(1).logical_not().logical_and(allowed.ge(2));
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
    throw InputError("analyze: cv = \"views\" needs the split of every trial, but the state set " + m.name +
                     " does not record it (captured by an older wmgeom): recapture it");
  }
  for (std::size_t k = 0; k < m.tasks.size(); ++k) {
    torch::Tensor rows = m.rows_of_task(k);
    if (rows.numel() == 0) {
      throw InputError("analyze: " + m.name + " has no trials of task " + m.tasks[k].name);
    }
    if (s.cv == Cv::kViews) {
      torch::Tensor split = m.split.index_select(0, rows);
      if (split.eq(kSplitTrain).sum().item<std::int64_t>() == 0 || split.eq(kSplitValidation).sum().item<std::int64_t>() == 0) {
        throw InputError("analyze: parameter cv = \"views\" fits on training-view trials and tests on novel-view trials, but " +
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
        auto sv = s.cv == Cv::kViews ? to_vector(m.split.index_select(0, rows)) : std::vector<std::int64_t>(yv.size(), 0);
        for (std::size_t i = 0; i < yv.size(); ++i) {
          images[yv[i]].insert(gv[i]);
          train_trials[yv[i]] += sv[i] == kSplitTrain;
        }
        for (std::int64_t c = 0; c < classes; ++c) {
          const auto count = static_cast<std::int64_t>(images[c].size());
          if (s.cv == Cv::kGrouped && count > 0 && count < s.folds) {
            throw InputError("analyze: parameter folds = " + std::to_string(s.folds) + ": " + m.name + ", task " +
                             m.tasks[k].name + ": feature " + feature + " value " + std::to_string(c) +
                             " is shown by " + std::to_string(count) + " distinct images at frame " + std::to_string(stim) +
                             ", fewer than folds; folds are grouped by image so that no test trial has a twin in "
                             "training: lower folds, or render more views or identities");
          }
          if (s.cv == Cv::kViews && count > 0 && train_trials[c] == 0) {
            throw InputError("analyze: cv = \"views\": " + m.name + ", task " + m.tasks[k].name + ": feature " + feature +
                             " value " + std::to_string(c) + " at frame " + std::to_string(stim) +
                             " never occurs in a training-view trial");
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
          f.fold = torch::where(test_mask(m, s, rows), torch::zeros({n}, torch::kLong), torch::full({n}, -1, torch::kLong));
        } else {
          f.folds = s.folds;
          auto folds = decoders::grouped_folds(to_vector(f.y), to_vector(groups), s.folds, seed);
          f.fold = torch::tensor(std::vector<std::int64_t>(folds.begin(), folds.end()), torch::kLong);
        }
        f.null_y = permuted_labels(f.y, groups, s.permutations, seed);
        const std::int64_t u = frames - stim, p = f.folds * u, sets = 1 + f.permutations();
        // [P, n, H]: fold-major, then train frame; every problem carries the
        // true labels and the R permuted ones.
        torch::Tensor xs = x.narrow(1, stim, u).permute({1, 0, 2}).repeat({f.folds, 1, 1});
        torch::Tensor which = torch::arange(f.folds, torch::kLong).repeat_interleave(u).unsqueeze(1);
        torch::Tensor mask = f.fold.unsqueeze(0).ne(which);
        torch::Tensor labels = torch::cat({f.y.unsqueeze(0), f.null_y}).unsqueeze(0).expand({p, sets, n});
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
          torch::Tensor differ = torch::full({f.folds, u, u, sets, n}, -1, torch::kLong);  // [q, t, u, set, n]
          for (int frame = stim; frame < frames; ++frame) {
            torch::Tensor dec;
            for (int t = stim; t < frames; ++t) {
              const auto read = f.read_frames(t, frame);
              if (read.empty()) continue;
              if (!dec.defined()) dec = decision_shared(all, x.select(1, frame)).view({f.folds, u, sets, n, -1});
              torch::Tensor d = dec.select(1, t - stim).reshape({f.folds * sets, n, -1});
              differ.select(1, t - stim).select(1, frame - stim).copy_(
                  argmax_except(d, exclusion(f, labels_all, read).excluded).view({f.folds, sets, n}));
            }
          }
          differ = differ.view({p, u, sets, n});
          f.differ_preds = differ.select(2, 0).contiguous();
          f.null_differ_preds = differ.narrow(2, 1, sets - 1).permute({2, 0, 1, 3}).to(torch::kInt16).contiguous();
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
          f.null_encoding = {all.weight.index_select(0, idx), all.bias.index_select(0, idx), all.mean.index_select(0, idx),
                             all.scale.index_select(0, idx)};
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
    throw InputError("analyze: unseen: fold " + std::to_string(fold) + " is not one of the family's " +
                     std::to_string(f.folds) + " evaluated folds");
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

// A decoder's accuracy over folds and the permutation null of the same
// score: mean over folds of the held-out accuracy. Folds with no trial to
// score are left out of both.
struct Score {
  std::vector<double> folds;   // per fold scored
  std::vector<double> counts;  // trials scored, per fold scored
  std::vector<double> null;    // per permutation, mean over the folds scored
  double chance = NAN;         // the rule's chance where it varies by trial (kDiffer), else NaN
  double accuracy() const { return mean(folds); }
};

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
    out.folds.push_back(f.preds[p][u - f.stim].eq(target).logical_and(held).sum().item<double>() / count);
    out.counts.push_back(count);
    if (r > 0) {
      torch::Tensor np = f.null_preds.select(1, p).select(1, u - f.stim).to(torch::kLong);  // [R, n]
      torch::Tensor nt = null_target.defined() ? null_target : target.unsqueeze(0);
      torch::Tensor acc = (np.eq(nt).logical_and(held.unsqueeze(0)).sum(1).to(torch::kFloat64) / count).contiguous();
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
Score masked_score(const torch::Tensor& pred, const torch::Tensor& null_pred, const torch::Tensor& target,
                   const torch::Tensor& keep) {
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
    const auto null_hits =
        values(null_pred.view({r, folds, n}).eq(target.view({1, 1, n})).logical_and(keep.unsqueeze(0)).sum(2));  // [R, folds]
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
  return {f.fit.weight.index_select(0, idx), f.fit.bias.index_select(0, idx), f.fit.mean.index_select(0, idx),
          f.fit.scale.index_select(0, idx)};
}

// The lag rule (README "Correlated labels at lags kN"). Which rule scores a
// decoder of family f fitted at train frame t at frame u against the label
// at f.stim: kAll (no frame read at a lag kN: every held-out trial, argmax
// over all classes; chance 1/K), kDiffer (held-out trials whose label at
// stim is not kin of the label at a frame read, argmax over the classes that
// are not; chance 1/(the classes left)) or kNone (kDiffer where fewer than
// two classes would remain: K = 2, no score).
enum class Scoring { kAll, kDiffer, kNone };

const char* scoring_name(Scoring r) { return r == Scoring::kAll ? "all" : r == Scoring::kDiffer ? "differ" : "none"; }

// kDiffer unless fewer than two classes remain after excluding one kin group.
Scoring differ_rule(const Family& f, const Settings& s) {
  return s.classes.at(f.feature) - f.largest_kin() >= 2 ? Scoring::kDiffer : Scoring::kNone;
}

Scoring scoring_at(const Family& f, int t, int u, const Settings& s) {
  return f.read_frames(t, u).empty() ? Scoring::kAll : differ_rule(f, s);
}
// At a fit's own frame (t = u): the frame shown there.
Scoring scoring_at(const Family& f, int u, const Settings& s) { return scoring_at(f, u, u, s); }

// The chance of rule r for one frame read: 1/K, or the mean over the
// classes of 1/(K - the class's kin group).
double chance_of(Scoring r, const Settings& s, const Family& f) {
  const auto k = s.classes.at(f.feature);
  if (r == Scoring::kAll) return 1.0 / static_cast<double>(k);
  if (r == Scoring::kNone) return std::nan("");
  torch::Tensor size = kin_mask(f, torch::arange(k, torch::kLong)).sum(1).to(torch::kFloat64);  // [K]
  return (1.0 / (static_cast<double>(k) - size)).mean().item<double>();
}

// The trials each fold scores under rule r for a fit at t scored at u,
// [folds, n] bool: held out in fold q, and under kDiffer those the
// exclusion scores.
torch::Tensor held_masks(const ModelData& m, const Family& f, int t, int u, Scoring r) {
  torch::Tensor keep = f.fold.unsqueeze(0).eq(torch::arange(f.folds, torch::kLong).unsqueeze(1));
  if (r == Scoring::kDiffer) {
    Exclusion e = exclusion(f, m.labels.at(f.feature).index_select(0, f.rows), f.read_frames(t, u));
    keep = keep.logical_and(e.scored.unsqueeze(0));
  }
  return keep;
}
// At a fit's own frame (t = u).
torch::Tensor held_masks(const ModelData& m, const Family& f, int u, Scoring r) { return held_masks(m, f, u, u, r); }

// kDiffer predictions of the family's fits at train frame t scored at
// frame u: fold q's in row q of `pred` ([folds, n]), permutation r's in row
// r * folds + q of `null` ([R * folds, n]), as masked_score takes them.
struct RulePreds {
  torch::Tensor pred, null;
};
RulePreds differ_predictions(const Family& f, std::int64_t frames, int t, int u) {
  if (!f.differ_preds.defined() || f.read_frames(t, u).empty()) {
    throw std::logic_error("analyze: (" + std::to_string(t) + ", " + std::to_string(u) +
                           ") has no lag-rule predictions in family " + f.feature + "/" + std::to_string(f.stim));
  }
  torch::Tensor idx = torch::arange(f.folds, torch::kLong) * (frames - f.stim) + (t - f.stim);
  RulePreds out;
  out.pred = f.differ_preds.index_select(0, idx).select(1, u - f.stim);  // [folds, n]
  out.null = f.null_differ_preds.index_select(1, idx).select(2, u - f.stim).reshape({-1, f.y.size(0)}).to(torch::kLong);
  return out;
}

// A decoder of family f at train frame t scored at frame u on the label at
// f.stim under the rule at (t, u), on keep[q] of each fold (undefined:
// every trial the rule scores). kAll: the permuted fits against their
// permuted labels; kDiffer: the permuted fits' argmax over the classes not
// kin of the labels at the frames read, against the true labels (as H1/H2),
// with `chance` the mean over the trials scored of 1 / (classes left);
// kNone: no score.
Score rule_score(const ModelData& m, const Family& f, int t, int u, Scoring r, const torch::Tensor& keep = {}) {
  const std::int64_t frames = m.frames();
  if (r == Scoring::kNone) return {};
  torch::Tensor mask = keep.defined() ? keep : held_masks(m, f, t, u, r);
  if (r == Scoring::kAll) {
    torch::Tensor idx = torch::arange(f.folds, torch::kLong) * (frames - f.stim) + (t - f.stim);
    torch::Tensor pred = f.preds.index_select(0, idx).select(1, u - f.stim);  // [folds, n]
    Score out = masked_score(pred, {}, f.y, mask);
    if (f.permutations() > 0 && !out.folds.empty()) {
      // Permuted fits against their own permuted labels.
      torch::Tensor np = f.null_preds.index_select(1, idx).select(2, u - f.stim).to(torch::kLong);  // [R, folds, n]
      torch::Tensor counts = mask.sum(1).to(torch::kFloat64);                                       // [folds]
      torch::Tensor hits = np.eq(f.null_y.unsqueeze(1)).logical_and(mask.unsqueeze(0)).sum(2).to(torch::kFloat64);
      torch::Tensor scored = counts.gt(0);
      torch::Tensor acc = (hits / counts.clamp_min(1)).masked_fill(scored.logical_not().unsqueeze(0), 0.0);
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
  if (scored.any().item<bool>()) out.chance = (1.0 / left.masked_select(scored)).mean().item<double>();
  return out;
}

void set_cell(Row& row, const std::string& name, TableBuilder::Cell value) {
  for (auto& [key, cell] : row) {
    if (key == name) cell = std::move(value);
  }
}

// The columns every accuracy row ends with: accuracy over the folds scored,
// its chance (1/K unless given), the empirical chance, and how many trials
// it used: `n` trials per fold scored (mean over those folds), `n_total`
// their sum, `folds` the folds scored (at least one trial).
void add_accuracy(Row& row, const Score& sc, const Settings& s, const std::string& feature, double chance = NAN) {
  const auto& a = sc.folds;
  double total = 0;
  for (double c : sc.counts) total += c;
  row.insert(row.end(), {{"accuracy", mean(a)},
                         {"accuracy_sd", sd(a)},
                         {"accuracy_min", a.empty() ? std::nan("") : *std::min_element(a.begin(), a.end())},
                         {"accuracy_max", a.empty() ? std::nan("") : *std::max_element(a.begin(), a.end())},
                         {"chance", std::isnan(chance) ? s.chance(feature) : chance},
                         {"chance_empirical", mean(sc.null)},
                         {"chance_p95", stats::quantile(sc.null, 0.95)},
                         {"p_permutation", sc.null.empty() ? std::nan("")
                                                           : stats::permutation_p(mean(a), sc.null, stats::Alternative::kGreater)},
                         {"permutations", double(sc.null.size())},
                         {"folds", double(a.size())},
                         {"n", mean(sc.counts)},
                         {"n_total", total}});
}

// A decoding row (t = u) or a cross-temporal row, scored by the lag rule
// of (t, u), named in the `scoring` column.
void accuracy_row(TableBuilder& table, const ModelData& m, const Settings& s, const Family& f, int t, int u) {
  const Scoring rule = scoring_at(f, t, u, s);
  Score sc = rule == Scoring::kAll ? score(f, m.frames(), t, u, f.y, f.null_y, {}) : rule_score(m, f, t, u, rule);
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
               rule == Scoring::kAll ? NAN : std::isfinite(sc.chance) ? sc.chance : chance_of(rule, s, f));
  if (rule == Scoring::kNone) set_cell(row, "chance", std::nan(""));
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
    // Every null: the permuted fits at t = s scored the same way.
    const auto& task = m.tasks[f.task];
    const bool scorable = differ_rule(f, s) == Scoring::kDiffer;
    decoders::Fit enc = encoding_fits(f, frames);
    const bool has_null = f.null_encoding.weight.defined();
    torch::Tensor x_s = m.states.index_select(0, f.rows).select(1, f.stim);
    torch::Tensor dec_s = scorable ? decision_shared(enc, x_s) : torch::Tensor();
    torch::Tensor null_s = scorable && has_null ? decision_shared(f.null_encoding, x_s) : torch::Tensor();
    for (int j = f.stim + 1; j < frames; ++j) {
      torch::Tensor yj = m.labels.at(f.feature).index_select(0, f.rows).select(1, j).contiguous();
      // Kin (README "Correlated labels"): for identity, every identity of
      // the same category (hard non-matches make the label at s the sibling
      // of the label at j more often than chance).
      torch::Tensor kin_j = kin_mask(f, yj), kin_s = kin_mask(f, f.y);
      torch::Tensor differ = kin_j.gather(1, f.y.unsqueeze(1)).squeeze(1).logical_not();
      torch::Tensor images_j = m.stimulus.index_select(0, f.rows).select(1, j).contiguous();
      std::vector<torch::Tensor> keep;
      for (int q = 0; q < f.folds; ++q) keep.push_back(f.fold.eq(q).logical_and(differ).logical_and(unseen(f, q, images_j)));
      torch::Tensor eligible = torch::stack(keep);  // [folds, n]
      Score validation, h1, h2;
      if (scorable) {
        torch::Tensor x_j = m.states.index_select(0, f.rows).select(1, j);
        torch::Tensor dec_j = decision_shared(enc, x_j);
        torch::Tensor null_j = has_null ? decision_shared(f.null_encoding, x_j) : torch::Tensor();
        auto except = [](const torch::Tensor& d, const torch::Tensor& excluded) {
          return d.defined() ? argmax_except(d, excluded) : torch::Tensor();
        };
        validation = masked_score(except(dec_s, kin_j), except(null_s, kin_j), f.y, eligible);
        h1 = masked_score(except(dec_j, kin_j), except(null_j, kin_j), f.y, eligible);
        h2 = masked_score(except(dec_j, kin_s), except(null_j, kin_s), yj, eligible);
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
        add_accuracy(row, sc, s, f.feature, chance_of(differ_rule(f, s), s, f));
        tables["temporal_hypotheses"].add(std::move(row));
      }
    }
  }
}

namespace {
std::vector<const Family*> in_order(const Families& families) {
  std::vector<const Family*> out;
  for (const auto& [key, f] : families) out.push_back(&f);
  return out;
}
}  // namespace

void cross_task(const ModelData& m, const Settings& s, const Families& families, Tables& out) {
  const std::int64_t frames = m.frames();
  const auto list = in_order(families);
  for_each_unit(list.size(), [&](std::size_t unit, Tables& tables) {
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
        torch::Tensor y = m.labels.at(f.feature).index_select(0, rows).select(1, f.stim).contiguous();
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
        sc = masked_score(predictions(enc, false), predictions(f.null_encoding, false), y, eligible);
        centred = masked_score(predictions(enc, true), predictions(f.null_encoding, true), y, eligible);
      }
      auto row = model_columns(m);
      row.insert(row.end(), {{"feature", f.feature},
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
  }, out);
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

}  // namespace

// The rotation (procrustes.h; README "The rotation"). Every step decides
// ranks with kProcrustesRankTolerance, so no basis LAPACK picks for a
// rank-deficient matrix (the span has rank <= 2K - 2 in 2K vectors, a^T b
// rank <= K - 1) reaches the result: the two rank-deficient parts are
// dropped (the span) or completed by the closest-to-identity rule.
torch::Tensor Rotation::apply(const torch::Tensor& c) const {
  torch::Tensor cd = c.to(torch::kFloat64);
  torch::Tensor cq = torch::mm(cd, q);
  return ((cd + torch::mm(torch::mm(cq, r) - cq, q.t())) * scale).to(c.scalar_type());
}

torch::Tensor Rotation::matrix() const {
  return torch::eye(q.size(0), torch::kFloat64) + torch::mm(torch::mm(q, r - torch::eye(r.size(0), torch::kFloat64)), q.t());
}

namespace {
// Singular values above the tolerance (they come sorted, largest first).
std::int64_t rank_of(const torch::Tensor& sv) {
  if (sv.numel() == 0) return 0;
  const double top = sv.max().item<double>();
  return sv.gt(top * kProcrustesRankTolerance).logical_and(sv.gt(0)).sum().item<std::int64_t>();
}

// The trials a swap test scores (both swap tables): held out by fam's fold q
// under the rule at `frame`, and for the elapsed-shifted swaps also an image
// at fam.stim that the source family f's fold q never trained on.
torch::Tensor swap_keep(const ModelData& m, const Family& f, const Family& fam, int frame, Scoring rule,
                        bool unseen_by_source) {
  torch::Tensor keep = held_masks(m, fam, frame, rule);
  if (unseen_by_source) {
    std::vector<torch::Tensor> unseen_q;
    for (int q = 0; q < f.folds; ++q) unseen_q.push_back(unseen(f, q, fam.images));
    keep = keep.logical_and(torch::stack(unseen_q));
  }
  return keep;
}

// One row of a swap table (procrustes, procrustes_centroids): swap `name`
// of source cell (f, t) scored on family fam at `frame`, like with like
// against its target's score and the target's empirical chance.
Row swap_row(const ModelData& m, const Settings& s, const Family& f, int t, const Family& fam, const std::string& name,
             int frame, Scoring rule, const Score& sc, const Score& target) {
  const double fit = target.accuracy(), null = mean(sc.null), p95 = stats::quantile(sc.null, 0.95);
  const bool usable = !sc.null.empty() && fit > p95 && fit > null;
  auto row = model_columns(m);
  row.insert(row.end(), {{"task", m.tasks[f.task].name},
                         {"feature", f.feature},
                         {"relevance", relevance(m.tasks[f.task], f.feature)},
                         {"test", name},
                         {"source_stim", double(f.stim)},
                         {"source_frame", double(t)},
                         {"stim_frame", double(fam.stim)},
                         {"frame", double(frame)},
                         {"scoring", std::string(scoring_name(rule))},
                         {"fitted_accuracy", fit},
                         {"fitted_minus_swap", fit - sc.accuracy()},
                         {"relative", usable ? (sc.accuracy() - null) / (fit - null) : std::nan("")},
                         {"target_above_chance", usable ? 1.0 : 0.0}});
  add_accuracy(row, sc, s, f.feature, rule == Scoring::kAll ? NAN : chance_of(rule, s, fam));
  if (rule == Scoring::kNone) set_cell(row, "chance", std::nan(""));
  return row;
}
}  // namespace

Rotation fit_rotation(const torch::Tensor& src_in, const torch::Tensor& tgt_in) {
  using torch::indexing::Slice;
  torch::Tensor src = src_in.to(torch::kFloat64), tgt = tgt_in.to(torch::kFloat64);
  Rotation rot;
  // The span of both sets: its left singular vectors above tolerance.
  auto [us, ss, vhs] = torch::linalg_svd(torch::cat({src, tgt}).t(), false);  // us [H, min(H, 2K)]
  const std::int64_t m = rank_of(ss);
  rot.q = us.index({Slice(), Slice(0, m)}).contiguous();
  torch::Tensor a = torch::mm(src, rot.q), b = torch::mm(tgt, rot.q);  // [K, m]
  auto [u, sv, vh] = torch::linalg_svd(torch::mm(a.t(), b), true);    // [m, m] each
  const std::int64_t d = rank_of(sv), rest = m - d;
  // Determined: u_d -> v_d. Undetermined: u_0 -> v_0 by the completion o
  // maximising trace(u_0 o v_0^T) = trace(o n), n = v_0^T u_0 = y s z^T:
  // o = z y^T.
  torch::Tensor u_d = u.index({Slice(), Slice(0, d)}), vh_d = vh.index({Slice(0, d)});
  rot.r = torch::mm(u_d, vh_d);
  if (rest > 0) {
    torch::Tensor u_0 = u.index({Slice(), Slice(d, m)}), vh_0 = vh.index({Slice(d, m)});
    auto [y, sn, zh] = torch::linalg_svd(torch::mm(vh_0, u_0), true);
    rot.r = rot.r + torch::mm(torch::mm(u_0, torch::mm(zh.t(), y.t())), vh_0);
  }
  rot.scale = sv.sum().item<double>() / std::max(a.pow(2).sum().item<double>(), 1e-300);
  return rot;
}

// Rotations fitted on permuted class correspondences per cell and fold: the
// rotation's own null beside the no-rotation control.
constexpr int kProcrustesNullRotations = 5;

void procrustes(const ModelData& m, const Settings& s, const Families& families, Tables& out) {
  const std::int64_t frames = m.frames();
  const auto list = in_order(families);
  for_each_unit(list.size(), [&](std::size_t unit, Tables& tables) {
    const Family& f = *list[unit];
    const Family* next_stim = nullptr;
    if (auto it = families.find(std::make_tuple(f.task, f.feature, f.stim + 1)); it != families.end()) next_stim = &it->second;
    // The label of each trial at every frame, for the lag rule.
    torch::Tensor labels = m.labels.at(f.feature).index_select(0, f.rows);
    for (int t = f.stim; t + 1 < frames; ++t) {
      // Per test: its target (family, frame), the rule that scores it (the
      // lag rule at the target's frame), whether the leak rule adds f's
      // training images (the elapsed-shifted swaps), and per fold the hit
      // rate of each trial (1 when the swapped decoder reads its label;
      // the permuted-rotation null: the share of its rotations that do).
      // Each swap test has a no-rotation control: the standardised source
      // weights put in the target's place unrotated (R = I).
      struct Test {
        const Family* fam = nullptr;
        int frame = 0;
        Scoring rule = Scoring::kAll;
        bool unseen_by_source = false;
        std::vector<torch::Tensor> hits;  // per fold, double [n]
      };
      std::map<std::string, Test> tests;
      for (int q = 0; q < f.folds; ++q) {
        // Class normals [K, H] in the states' own units (w / sd): each
        // frame's decoder standardises with its own per-unit SDs, so
        // standardised weights of two frames are in different coordinates,
        // and a rotation between them would partly be a change of scale.
        auto weights = [&](const Family& fam, int frame) {
          const std::int64_t p = fam.index(q, frame, frames);
          return (fam.fit.weight[p] / fam.fit.scale[p].unsqueeze(1)).t();
        };
        Standardised src = standardise(weights(f, t)), tgt = standardise(weights(f, t + 1));
        Rotation rot = fit_rotation(src.w, tgt.w);
        // The rotation's own null: rotations fitted on permuted class
        // correspondences (the target normals' rows permuted, no class kept
        // in place), kProcrustesNullRotations of them, seeded per cell.
        std::vector<Rotation> permuted;
        {
          const std::int64_t k = src.w.size(0);
          random::Rng rng(random::hash_combine(family_seed(s, m.tasks[f.task].name, f.feature, f.stim),
                                               0x9207ULL + static_cast<std::uint64_t>(t) * 1009 + static_cast<std::uint64_t>(q)));
          for (int r = 0; r < kProcrustesNullRotations && k > 1; ++r) {
            std::vector<std::int64_t> perm(static_cast<std::size_t>(k));
            do {  // a uniform derangement, by rejection
              for (std::int64_t i = 0; i < k; ++i) perm[i] = i;
              for (std::int64_t i = k; i > 1; --i) std::swap(perm[i - 1], perm[rng.range(0, static_cast<int>(i) - 1)]);
            } while ([&] {
              for (std::int64_t i = 0; i < k; ++i) {
                if (perm[i] == i) return true;
              }
              return false;
            }());
            permuted.push_back(fit_rotation(src.w, tgt.w.index_select(0, torch::tensor(perm, torch::kLong))));
          }
        }
        // Hits [n] of weights `w_std` (de-standardised like the target
        // decoder) used in place of the target decoder of family `fam` at
        // `frame`, under the rule there (kDiffer: the argmax over the
        // classes not kin of the label at `frame`).
        auto hits_of = [&](const Family& fam, int frame, Scoring rule, const torch::Tensor& w_std) {
          std::int64_t p = fam.index(q, frame, frames);
          Standardised tg = standardise(weights(fam, frame));
          torch::Tensor w = w_std * tg.norm + tg.mean;  // [K, H], the states' units
          torch::Tensor x = m.states.index_select(0, fam.rows).select(1, frame);
          torch::Tensor decision = torch::mm(x - fam.fit.mean[p], w.t()) + fam.fit.bias[p];  // [n, K]
          torch::Tensor pred = rule == Scoring::kDiffer
                                   ? argmax_except(decision.unsqueeze(0), kin_mask(fam, labels.select(1, frame))).squeeze(0)
                                   : decision.argmax(1);
          return pred.eq(fam.y).to(torch::kFloat64);
        };
        auto evaluate = [&](const std::string& name, const Family& fam, int frame, bool unseen_by_source,
                            const std::function<torch::Tensor(Scoring)>& hits) {
          Test& test = tests[name];
          test.fam = &fam;
          test.frame = frame;
          test.rule = scoring_at(fam, frame, s);
          test.unseen_by_source = unseen_by_source;
          if (test.rule != Scoring::kNone) test.hits.push_back(hits(test.rule));
        };
        auto weights_hits = [&](const Family& fam, int frame, const torch::Tensor& w_std) {
          return [&, frame, w_std](Scoring rule) { return hits_of(fam, frame, rule, w_std); };
        };
        // A swap, its no-rotation control and its permuted-rotation null.
        auto swap = [&](const std::string& name, const Family& fam, int frame, bool unseen_by_source, const torch::Tensor& w_std) {
          evaluate(name, fam, frame, unseen_by_source, weights_hits(fam, frame, rot.apply(w_std)));
          evaluate(name + "_no_rotation", fam, frame, unseen_by_source, weights_hits(fam, frame, w_std));
          if (permuted.empty()) return;
          evaluate(name + "_permuted_rotation", fam, frame, unseen_by_source, [&](Scoring rule) {
            torch::Tensor sum = torch::zeros({fam.y.size(0)}, torch::kFloat64);
            for (const auto& r : permuted) sum += hits_of(fam, frame, rule, r.apply(w_std));
            return sum / static_cast<double>(permuted.size());
          });
        };
        evaluate("fitted", f, t + 1, false, weights_hits(f, t + 1, tgt.w));
        evaluate("reconstructed", f, t + 1, false, weights_hits(f, t + 1, rot.apply(src.w)));
        evaluate("reconstructed_no_rotation", f, t + 1, false, weights_hits(f, t + 1, src.w));
        if (t + 2 < frames) {
          swap("time_shifted", f, t + 2, false, tgt.w);  // W(s, t+1), already standardised
          // The next stimulus's decoder, rotated by R fitted from f's
          // decoders: the leak rule takes f's fold-q training images (at
          // s) out of next_stim's held-out trials (images at s + 1) too.
          if (next_stim != nullptr) {
            swap("elapsed_shifted", *next_stim, t + 2, true, standardise(weights(*next_stim, t + 1)).w);
          }
        }
      }
      for (const auto& [name, test] : tests) {
        const Family& fam = *test.fam;
        // The trials each fold scores: held out by fam's fold q (and under
        // kDiffer, labels at the frame and at fam.stim that differ), and for
        // the elapsed-shifted swaps, an image at fam.stim that f's fold q
        // never trained on (at f.stim). The swap, its controls, its target
        // and the target's null are all scored on exactly these trials.
        torch::Tensor keep;
        Score sc, target;
        if (test.rule != Scoring::kNone) {
          keep = swap_keep(m, f, fam, test.frame, test.rule, test.unseen_by_source);
          const auto counts = to_vector(keep.sum(1));
          torch::Tensor hits = (torch::stack(test.hits) * keep.to(torch::kFloat64)).sum(1).contiguous();  // [folds]
          for (std::size_t q = 0; q < counts.size(); ++q) {
            if (counts[q] == 0) continue;
            sc.folds.push_back(hits[static_cast<std::int64_t>(q)].item<double>() / static_cast<double>(counts[q]));
            sc.counts.push_back(static_cast<double>(counts[q]));
          }
          // Like with like (SCIENCE.md section 6): each score relative to its
          // own target decoder at the same cell, scored the same way on the
          // same trials, and that decoder's empirical chance; a cell counts
          // only when the target beats the 95th percentile of its chance.
          target = rule_score(m, fam, test.frame, test.frame, test.rule, keep);
          sc.null = target.null;
        }
        tables["procrustes"].add(swap_row(m, s, f, t, fam, name, test.frame, test.rule, sc, target));
      }
    }
  }, out);
}

}  // namespace wmgeom::analyze

namespace wmgeom::analyze {

namespace {

// The code of one stimulus in states x [n, H], for each label set y [L, n]
// of that stimulus, fitted on the trials `use` ([n] bool): centred class
// centroids c [L, K, H] (rows of absent classes 0; present [L, K] bool: the
// classes with training trials) and each trial's offset, kept factored as
// base [L, 1, H] + other [n, JK] x coef [L, JK, H] (no [L, n, H] tensor:
// the decision values need only its products with the centroids).
// Without `others`: the class means, centred by their mean over the classes
// present; base is that mean. With `others` ([n, J], the labels of the J
// other stimuli shown so far): the class centroids jointly with the other
// stimuli's (README "The centroid swap": least squares of the states on
// one-hot labels of every stimulus shown), so that labels correlated with
// this one's (lags kN) do not bias them; base is the intercept plus the
// code's mean over classes, coef the other stimuli's codes and `other` the
// one-hot labels they multiply.
struct Centroids {
  torch::Tensor c, present, base, coef, other;
  bool complete(std::int64_t l = 0) const { return present[l].all().item<bool>(); }
};
Centroids class_centroids(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& use, std::int64_t k,
                          const torch::Tensor& others = {}) {
  const std::int64_t l = y.size(0), n = x.size(0);
  torch::Tensor w = torch::one_hot(y, k).to(torch::kFloat64) * use.to(torch::kFloat64).view({1, -1, 1});  // [L, n, K]
  torch::Tensor counts = w.sum(1);                                                                       // [L, K]
  Centroids out;
  out.present = counts.gt(0);
  torch::Tensor p = out.present.to(torch::kFloat64).unsqueeze(2);
  if (!others.defined() || others.size(1) == 0) {
    torch::Tensor means = torch::bmm(w.transpose(1, 2), x.unsqueeze(0).expand({l, -1, -1})) /
                          counts.clamp_min(1).unsqueeze(2);  // [L, K, H]
    out.base = (means * p).sum(1, true) / p.sum(1, true).clamp_min(1);
    out.c = (means - out.base) * p;
    return out;
  }
  // The codes of every stimulus shown so far, jointly: least squares of the
  // states on [1, one-hot(y), one-hot(label of each other stimulus)] over the
  // trials `use`, solved in two steps (Frisch-Waugh-Lovell) so that what
  // the L label sets share is factored once: y's block is the minimum-norm
  // least-squares fit of the states on one-hot(y) less its projection on
  // the span of A = [1, others]; A's coefficients the minimum-norm fit of
  // what y's block leaves. The same codes and offsets as the joint fit
  // wherever they are identified (the design's only collinearity: each
  // one-hot block sums to the intercept).
  const std::int64_t j = others.size(1);
  out.other = torch::one_hot(others, k).to(torch::kFloat64).reshape({n, j * k});
  torch::Tensor rows = use.nonzero().squeeze(1);
  torch::Tensor a = torch::cat({torch::ones({rows.size(0), 1}, torch::kFloat64), out.other.index_select(0, rows)}, 1);  // [r, Pa]
  torch::Tensor xr = x.index_select(0, rows);                                                                         // [r, H]
  auto [u, sv, vh] = torch::linalg_svd(a, false);
  const double tol = sv.numel() > 0 ? sv.max().item<double>() * static_cast<double>(std::max(a.size(0), a.size(1))) *
                                          std::numeric_limits<double>::epsilon()
                                    : 0.0;
  const std::int64_t rank = sv.gt(tol).sum().item<std::int64_t>();
  torch::Tensor basis = u.narrow(1, 0, rank);                                                                 // [r, rank]
  torch::Tensor pinv_a = torch::mm(vh.narrow(0, 0, rank).t() / sv.narrow(0, 0, rank).unsqueeze(0), basis.t());  // [Pa, r]
  torch::Tensor yr = torch::one_hot(y.index_select(1, rows), k).to(torch::kFloat64);                          // [L, r, K]
  torch::Tensor y_res = yr - torch::matmul(basis, torch::matmul(basis.t(), yr));
  // (M y)^+ x = (M y)^+ M x: its rows lie in the span of M y, orthogonal to A's.
  torch::Tensor own = torch::matmul(torch::linalg_pinv(y_res), xr);                                  // [L, K, H]
  torch::Tensor b = torch::mm(pinv_a, xr).unsqueeze(0) - torch::bmm(torch::matmul(pinv_a, yr), own);  // [L, Pa, H]
  torch::Tensor centre = (own * p).sum(1, true) / p.sum(1, true).clamp_min(1);                        // [L, 1, H]
  out.c = (own - centre) * p;
  out.base = b.narrow(1, 0, 1) + centre;
  out.coef = b.narrow(1, 1, j * k);
  return out;
}

// Nearest-centroid decision values [L, n, K] of states x [n, H] for centred
// centroids c [L, K, H] about the offsets of `at` (its base, coef and other):
// -||x - offset - c_k||^2 / 2 up to a term common to the classes; classes
// absent (present false) -inf.
torch::Tensor nearest_decision(const torch::Tensor& x, const torch::Tensor& c, const Centroids& at,
                               const torch::Tensor& present) {
  torch::Tensor ct = c.transpose(1, 2);                                                     // [L, H, K]
  torch::Tensor d = torch::matmul(x, ct) - torch::bmm(at.base, ct) - 0.5 * c.pow(2).sum(2).unsqueeze(1);  // [L, n, K]
  if (at.coef.defined()) d = d - torch::matmul(at.other, torch::bmm(at.coef.expand({c.size(0), -1, -1}), ct));
  return d.masked_fill(present.logical_not().unsqueeze(1), -std::numeric_limits<double>::infinity());
}

// The nearest-centroid predictions [L, n] under rule r at `frame`: kDiffer
// excludes the classes kin of each trial's label at that frame (`excluded`,
// bool [n, K]: kin_mask), as every other table's lag rule.
torch::Tensor nearest_predictions(const torch::Tensor& decision, Scoring r, const torch::Tensor& excluded) {
  return r == Scoring::kDiffer ? argmax_except(decision, excluded) : decision.argmax(2);
}

}  // namespace

// The swap test on the codes themselves (README "The centroid swap"): per
// source cell (s, t) and fold q, the rotation (procrustes.h) maps the class
// centroids of stimulus s at frame t onto those at t + 1 (the fold's
// training trials, fitted jointly with the other stimuli shown), and
// predicts the centroids of a swapped source cell; held-out trials of the
// target cell, less the other stimuli's fitted codes, are classified by the
// nearest predicted centroid, beside the target's own fitted centroids
// classified the same way (its empirical chance: centroids of the family's
// label permutations). The leak and lag rules as for the decoder-weight swap.
void procrustes_centroids(const ModelData& m, const Settings& s, const Families& families, Tables& out) {
  const std::int64_t frames = m.frames();
  const auto list = in_order(families);
  for_each_unit(list.size(), [&](std::size_t unit, Tables& tables) {
    const Family& f = *list[unit];
    const std::int64_t k = s.classes.at(f.feature);
    const Family* next_stim = nullptr;
    if (auto it = families.find(std::make_tuple(f.task, f.feature, f.stim + 1)); it != families.end()) next_stim = &it->second;
    // The labels of the other stimuli shown up to `frame` ([n, frame]).
    auto others_of = [&](const Family& fam, int frame) {
      torch::Tensor all = m.labels.at(fam.feature).index_select(0, fam.rows);
      std::vector<std::int64_t> cols;
      for (int j = 0; j <= frame; ++j) {
        if (j != fam.stim) cols.push_back(j);
      }
      return cols.empty() ? torch::Tensor() : all.index_select(1, torch::tensor(cols, torch::kLong)).contiguous();
    };
    // What the swap tests read of a target cell (family, frame, fold q),
    // fitted once: each is read by up to eight runs across the source
    // cells (as source, rotation target, swapped source and scored target).
    struct Cell {
      torch::Tensor x;         // [n, H]: the family's states at the frame
      Centroids own;           // the true labels' centroids, fold q's training trials
      Scoring rule = Scoring::kAll;
      torch::Tensor at_frame;  // bool [n, K]: kin of each trial's label at the frame
      bool scored = false;     // fitted and null_hits below computed
      torch::Tensor fitted;    // double [n]: hits of the own centroids under the rule
      torch::Tensor null_hits; // double [R, n]: hits of the permuted-label centroids
    };
    std::map<std::tuple<const Family*, int, int>, Cell> cells;
    auto cell = [&](const Family& fam, int frame, int q) -> Cell& {
      auto [it, inserted] = cells.try_emplace(std::make_tuple(&fam, frame, q));
      Cell& c = it->second;
      if (inserted) {
        c.x = m.states.index_select(0, fam.rows).select(1, frame);
        c.own = class_centroids(c.x, fam.y.unsqueeze(0), fam.fold.ne(q), k, others_of(fam, frame));
        c.rule = scoring_at(fam, frame, s);
      }
      return c;
    };
    // The target's own score and its empirical chance: centroids of the
    // family's image-level label permutations on the same training trials,
    // scored as rule_score scores permuted fits (kAll: against their own
    // permuted labels; kDiffer: against the true labels).
    auto scored = [&](const Family& fam, int frame, int q) -> Cell& {
      Cell& c = cell(fam, frame, q);
      if (c.scored || c.rule == Scoring::kNone) return c;
      c.at_frame = kin_mask(fam, m.labels.at(fam.feature).index_select(0, fam.rows).select(1, frame).contiguous());
      c.fitted = nearest_predictions(nearest_decision(c.x, c.own.c, c.own, c.own.present), c.rule, c.at_frame)[0]
                     .eq(fam.y)
                     .to(torch::kFloat64);
      if (fam.permutations() > 0) {
        const Centroids null = class_centroids(c.x, fam.null_y, fam.fold.ne(q), k, others_of(fam, frame));
        torch::Tensor np = nearest_predictions(nearest_decision(c.x, null.c, null, null.present), c.rule, c.at_frame);
        c.null_hits = np.eq(c.rule == Scoring::kAll ? fam.null_y : fam.y.unsqueeze(0)).to(torch::kFloat64);
      }
      c.scored = true;
      return c;
    };
    for (int t = f.stim; t + 1 < frames; ++t) {
      // Cells before frame t are read by no later source cell.
      for (auto it = cells.begin(); it != cells.end();) it = std::get<1>(it->first) < t ? cells.erase(it) : std::next(it);
      struct Test {
        const Family* fam = nullptr;
        int frame = 0;
        Scoring rule = Scoring::kAll;
        bool unseen_by_source = false;
        std::vector<torch::Tensor> hits;       // per fold, double [n]
        std::vector<torch::Tensor> null_hits;  // per fold, double [R, n]: the target's permuted-label centroids
        std::vector<torch::Tensor> fitted;     // per fold, double [n]: the target's own centroids
        bool complete = true;                  // every rotation and target had all K classes
      };
      std::map<std::string, Test> tests;
      for (int q = 0; q < f.folds; ++q) {
        const Centroids &src = cell(f, t, q).own, &tgt = cell(f, t + 1, q).own;
        const bool fitted_ok = src.complete() && tgt.complete();
        Rotation rot = fit_rotation(src.c[0], tgt.c[0]);
        // The rotation's own null, as the decoder-weight swap's: rotations
        // fitted on permuted class correspondences (derangements, seeded
        // per cell and fold).
        std::vector<Rotation> permuted;
        {
          random::Rng rng(random::hash_combine(family_seed(s, m.tasks[f.task].name, f.feature, f.stim),
                                               0xc3e7ULL + static_cast<std::uint64_t>(t) * 1009 + static_cast<std::uint64_t>(q)));
          for (int r = 0; r < kProcrustesNullRotations && k > 1; ++r) {
            std::vector<std::int64_t> perm(static_cast<std::size_t>(k));
            do {
              for (std::int64_t i = 0; i < k; ++i) perm[i] = i;
              for (std::int64_t i = k; i > 1; --i) std::swap(perm[i - 1], perm[rng.range(0, static_cast<int>(i) - 1)]);
            } while ([&] {
              for (std::int64_t i = 0; i < k; ++i) {
                if (perm[i] == i) return true;
              }
              return false;
            }());
            permuted.push_back(fit_rotation(src.c[0], tgt.c[0].index_select(0, torch::tensor(perm, torch::kLong))));
          }
        }
        // Scores centred centroids `predicted` ([K, H], with weights
        // summing to 1: the permuted rotations' mean hit) in place of the
        // target cell's (fam at frame): each held-out state less the
        // target's offset (its intercept, its code's mean over classes and
        // the other stimuli's codes of the trial's labels, all fitted on
        // fold q's training trials), nearest centroid under the rule there;
        // beside it the target's own centroids and their null.
        auto run = [&](const std::string& name, const Family& fam, int frame, bool unseen_by_source,
                       const std::vector<torch::Tensor>& predicted, const std::vector<double>& weights, bool ok) {
          Test& test = tests[name];
          test.fam = &fam;
          test.frame = frame;
          test.rule = scoring_at(fam, frame, s);
          test.unseen_by_source = unseen_by_source;
          if (test.rule == Scoring::kNone) return;
          const Cell& target = scored(fam, frame, q);
          test.complete = test.complete && ok && target.own.complete();
          torch::Tensor all_present = torch::ones({1, k}, torch::kBool);
          torch::Tensor hits = torch::zeros({fam.y.size(0)}, torch::kFloat64);
          for (std::size_t i = 0; i < predicted.size(); ++i) {
            torch::Tensor pred = nearest_predictions(
                nearest_decision(target.x, predicted[i].unsqueeze(0), target.own, all_present), test.rule,
                target.at_frame);
            hits += pred[0].eq(fam.y).to(torch::kFloat64) * weights[i];
          }
          test.hits.push_back(hits);
          test.fitted.push_back(target.fitted);
          if (target.null_hits.defined()) test.null_hits.push_back(target.null_hits);
        };
        auto swap = [&](const std::string& name, const Family& fam, int frame, bool unseen_by_source, const Centroids& from) {
          const bool ok = fitted_ok && from.complete();
          const torch::Tensor c = from.c[0];
          run(name, fam, frame, unseen_by_source, {rot.apply(c)}, {1.0}, ok);
          run(name + "_no_rotation", fam, frame, unseen_by_source, {c * rot.scale}, {1.0}, ok);
          if (permuted.empty()) return;
          std::vector<torch::Tensor> pc;
          for (const auto& r : permuted) pc.push_back(r.apply(c));
          run(name + "_permuted_rotation", fam, frame, unseen_by_source, pc,
              std::vector<double>(pc.size(), 1.0 / static_cast<double>(pc.size())), ok);
        };
        run("fitted", f, t + 1, false, {tgt.c[0]}, {1.0}, fitted_ok);
        run("reconstructed", f, t + 1, false, {rot.apply(src.c[0])}, {1.0}, fitted_ok);
        if (t + 2 < frames) {
          swap("time_shifted", f, t + 2, false, tgt);  // C(s, t+1)
          if (next_stim != nullptr) {
            // C(s+1, t+1) from the next stimulus's fold-q training trials;
            // the leak rule takes f's fold-q training images out of its
            // held-out trials too.
            swap("elapsed_shifted", *next_stim, t + 2, true, cell(*next_stim, t + 1, q).own);
          }
        }
      }
      for (const auto& [name, test] : tests) {
        const Family& fam = *test.fam;
        Score sc, target;
        if (test.rule != Scoring::kNone && test.complete) {
          torch::Tensor keep = swap_keep(m, f, fam, test.frame, test.rule, test.unseen_by_source);
          torch::Tensor kf = keep.to(torch::kFloat64);
          const auto counts = to_vector(keep.sum(1));
          torch::Tensor hits = (torch::stack(test.hits) * kf).sum(1);
          torch::Tensor fitted = (torch::stack(test.fitted) * kf).sum(1);
          torch::Tensor null = test.null_hits.empty() ? torch::Tensor()
                                                      : (torch::stack(test.null_hits) * kf.unsqueeze(1)).sum(2);  // [folds, R]
          std::vector<double> null_sum(null.defined() ? static_cast<std::size_t>(null.size(1)) : 0, 0.0);
          for (std::size_t q = 0; q < counts.size(); ++q) {
            if (counts[q] == 0) continue;
            const auto c = static_cast<double>(counts[q]);
            const auto qi = static_cast<std::int64_t>(q);
            sc.folds.push_back(hits[qi].item<double>() / c);
            sc.counts.push_back(c);
            target.folds.push_back(fitted[qi].item<double>() / c);
            for (std::size_t r = 0; r < null_sum.size(); ++r) null_sum[r] += null[qi][static_cast<std::int64_t>(r)].item<double>() / c;
          }
          if (!sc.folds.empty()) {
            for (double v : null_sum) sc.null.push_back(v / static_cast<double>(sc.folds.size()));
          }
        }
        tables["procrustes_centroids"].add(swap_row(m, s, f, t, fam, name, test.frame, test.rule, sc, target));
      }
    }
  }, out);
}

}  // namespace wmgeom::analyze
