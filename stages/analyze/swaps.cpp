// The Procrustes transformations and their swap tests (SCIENCE.md 4.4;
// README "The rotation", "The centroid swap"): the rotation itself
// (procrustes.h), the decoder-weight swap (`procrustes`, supporting) and the
// centroid swap (`procrustes_centroids`, finding 4's declared swap), both
// scored like with like under the leak and lag rules (scoring.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "analyze/analyses.h"
#include "analyze/procrustes.h"
#include "analyze/scoring.h"
#include "core/random.h"

namespace wmgeom::analyze {

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
  return torch::eye(q.size(0), torch::kFloat64) +
         torch::mm(torch::mm(q, r - torch::eye(r.size(0), torch::kFloat64)), q.t());
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
torch::Tensor swap_keep(const ModelData& m, const Family& f, const Family& fam, int frame,
                        Scoring rule, bool unseen_by_source) {
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
Row swap_row(const ModelData& m, const Settings& s, const Family& f, int t, const Family& fam,
             const std::string& name, int frame, Scoring rule, const Score& sc,
             const Score& target) {
  const double fit = target.accuracy(), null = mean(sc.null), p95 = stats::quantile(sc.null, 0.95);
  const bool usable = !sc.null.empty() && fit > p95 && fit > null;
  auto row = model_columns(m);
  row.insert(row.end(),
             {{"task", m.tasks[f.task].name},
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
  auto [u, sv, vh] = torch::linalg_svd(torch::mm(a.t(), b), true);     // [m, m] each
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

namespace {
// The rotation's own null (both swap tables): kProcrustesNullRotations
// rotations from src [K, H] onto tgt's rows in a permuted class order,
// each a uniform derangement (by rejection) drawn from `seed`.
std::vector<Rotation> permuted_rotations(const torch::Tensor& src, const torch::Tensor& tgt,
                                         std::uint64_t seed) {
  const std::int64_t k = src.size(0);
  random::Rng rng(seed);
  std::vector<Rotation> out;
  for (int r = 0; r < kProcrustesNullRotations && k > 1; ++r) {
    std::vector<std::int64_t> perm(static_cast<std::size_t>(k));
    bool fixed_point = true;
    while (fixed_point) {
      for (std::int64_t i = 0; i < k; ++i) perm[i] = i;
      for (std::int64_t i = k; i > 1; --i)
        std::swap(perm[i - 1], perm[rng.range(0, static_cast<int>(i) - 1)]);
      fixed_point = false;
      for (std::int64_t i = 0; i < k; ++i) fixed_point = fixed_point || perm[i] == i;
    }
    out.push_back(fit_rotation(src, tgt.index_select(0, torch::tensor(perm, torch::kLong))));
  }
  return out;
}
}  // namespace

void procrustes(const ModelData& m, const Settings& s, const Families& families, Tables& out) {
  const std::int64_t frames = m.frames();
  const auto list = in_order(families);
  for_each_unit(
      list.size(),
      [&](std::size_t unit, Tables& tables) {
        const Family& f = *list[unit];
        const Family* next_stim = nullptr;
        if (auto it = families.find(std::make_tuple(f.task, f.feature, f.stim + 1));
            it != families.end())
          next_stim = &it->second;
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
            // in place), kProcrustesNullRotations of them, seeded per cell and model.
            const std::vector<Rotation> permuted = permuted_rotations(
                src.w, tgt.w,
                random::hash_combine(
                    m.own_seed(family_seed(s, m.tasks[f.task].name, f.feature, f.stim)),
                    0x9207ULL + static_cast<std::uint64_t>(t) * 1009 +
                        static_cast<std::uint64_t>(q)));
            // Hits [n] of weights `w_std` (de-standardised like the target
            // decoder) used in place of the target decoder of family `fam` at
            // `frame`, under the rule there (kDiffer: the argmax over the
            // classes not kin of the label at `frame`).
            auto hits_of = [&](const Family& fam, int frame, Scoring rule,
                               const torch::Tensor& w_std) {
              std::int64_t p = fam.index(q, frame, frames);
              Standardised tg = standardise(weights(fam, frame));
              torch::Tensor w = w_std * tg.norm + tg.mean;  // [K, H], the states' units
              torch::Tensor x = m.states.index_select(0, fam.rows).select(1, frame);
              torch::Tensor decision =
                  torch::mm(x - fam.fit.mean[p], w.t()) + fam.fit.bias[p];  // [n, K]
              torch::Tensor pred =
                  rule == Scoring::kDiffer
                      ? argmax_except(decision.unsqueeze(0), kin_mask(fam, labels.select(1, frame)))
                            .squeeze(0)
                      : decision.argmax(1);
              return pred.eq(fam.y).to(torch::kFloat64);
            };
            auto evaluate = [&](const std::string& name, const Family& fam, int frame,
                                bool unseen_by_source,
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
            auto swap = [&](const std::string& name, const Family& fam, int frame,
                            bool unseen_by_source, const torch::Tensor& w_std) {
              evaluate(name, fam, frame, unseen_by_source,
                       weights_hits(fam, frame, rot.apply(w_std)));
              evaluate(name + "_no_rotation", fam, frame, unseen_by_source,
                       weights_hits(fam, frame, w_std));
              if (permuted.empty()) return;
              evaluate(name + "_permuted_rotation", fam, frame, unseen_by_source,
                       [&](Scoring rule) {
                         torch::Tensor sum = torch::zeros({fam.y.size(0)}, torch::kFloat64);
                         for (const auto& r : permuted)
                           sum += hits_of(fam, frame, rule, r.apply(w_std));
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
                swap("elapsed_shifted", *next_stim, t + 2, true,
                     standardise(weights(*next_stim, t + 1)).w);
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
              torch::Tensor hits = (torch::stack(test.hits) * keep.to(torch::kFloat64))
                                       .sum(1)
                                       .contiguous();  // [folds]
              for (std::size_t q = 0; q < counts.size(); ++q) {
                if (counts[q] == 0) continue;
                sc.folds.push_back(hits[static_cast<std::int64_t>(q)].item<double>() /
                                   static_cast<double>(counts[q]));
                sc.counts.push_back(static_cast<double>(counts[q]));
              }
              // Like with like (SCIENCE.md section 6): each score relative to its
              // own target decoder at the same cell, scored the same way on the
              // same trials, and that decoder's empirical chance; a cell counts
              // only when the target beats the 95th percentile of its chance.
              target = rule_score(m, fam, test.frame, test.frame, test.rule, keep);
              sc.null = target.null;
            }
            tables["procrustes"].add(
                swap_row(m, s, f, t, fam, name, test.frame, test.rule, sc, target));
          }
        }
      },
      out);
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
Centroids class_centroids(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& use,
                          std::int64_t k, const torch::Tensor& others = {}) {
  const std::int64_t l = y.size(0), n = x.size(0);
  torch::Tensor w = torch::one_hot(y, k).to(torch::kFloat64) *
                    use.to(torch::kFloat64).view({1, -1, 1});  // [L, n, K]
  torch::Tensor counts = w.sum(1);                             // [L, K]
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
  torch::Tensor a =
      torch::cat({torch::ones({rows.size(0), 1}, torch::kFloat64), out.other.index_select(0, rows)},
                 1);                           // [r, Pa]
  torch::Tensor xr = x.index_select(0, rows);  // [r, H]
  auto [u, sv, vh] = torch::linalg_svd(a, false);
  const double tol = sv.numel() > 0 ? sv.max().item<double>() *
                                          static_cast<double>(std::max(a.size(0), a.size(1))) *
                                          std::numeric_limits<double>::epsilon()
                                    : 0.0;
  const std::int64_t rank = sv.gt(tol).sum().item<std::int64_t>();
  torch::Tensor basis = u.narrow(1, 0, rank);  // [r, rank]
  torch::Tensor pinv_a = torch::mm(vh.narrow(0, 0, rank).t() / sv.narrow(0, 0, rank).unsqueeze(0),
                                   basis.t());                                        // [Pa, r]
  torch::Tensor yr = torch::one_hot(y.index_select(1, rows), k).to(torch::kFloat64);  // [L, r, K]
  torch::Tensor y_res = yr - torch::matmul(basis, torch::matmul(basis.t(), yr));
  // (M y)^+ x = (M y)^+ M x: its rows lie in the span of M y, orthogonal to A's.
  torch::Tensor own = torch::matmul(torch::linalg_pinv(y_res), xr);  // [L, K, H]
  torch::Tensor b = torch::mm(pinv_a, xr).unsqueeze(0) -
                    torch::bmm(torch::matmul(pinv_a, yr), own);                 // [L, Pa, H]
  torch::Tensor centre = (own * p).sum(1, true) / p.sum(1, true).clamp_min(1);  // [L, 1, H]
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
  torch::Tensor ct = c.transpose(1, 2);  // [L, H, K]
  torch::Tensor d = torch::matmul(x, ct) - torch::bmm(at.base, ct) -
                    0.5 * c.pow(2).sum(2).unsqueeze(1);  // [L, n, K]
  if (at.coef.defined())
    d = d - torch::matmul(at.other, torch::bmm(at.coef.expand({c.size(0), -1, -1}), ct));
  return d.masked_fill(present.logical_not().unsqueeze(1),
                       -std::numeric_limits<double>::infinity());
}

// The nearest-centroid predictions [L, n] under rule r at `frame`: kDiffer
// excludes the classes kin of each trial's label at that frame (`excluded`,
// bool [n, K]: kin_mask), as every other table's lag rule.
torch::Tensor nearest_predictions(const torch::Tensor& decision, Scoring r,
                                  const torch::Tensor& excluded) {
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
void procrustes_centroids(const ModelData& m, const Settings& s, const Families& families,
                          Tables& out) {
  const std::int64_t frames = m.frames();
  const auto list = in_order(families);
  for_each_unit(
      list.size(),
      [&](std::size_t unit, Tables& tables) {
        const Family& f = *list[unit];
        const std::int64_t k = s.classes.at(f.feature);
        const Family* next_stim = nullptr;
        if (auto it = families.find(std::make_tuple(f.task, f.feature, f.stim + 1));
            it != families.end())
          next_stim = &it->second;
        // The labels of the other stimuli shown up to `frame` ([n, frame]).
        auto others_of = [&](const Family& fam, int frame) {
          torch::Tensor all = m.labels.at(fam.feature).index_select(0, fam.rows);
          std::vector<std::int64_t> cols;
          for (int j = 0; j <= frame; ++j) {
            if (j != fam.stim) cols.push_back(j);
          }
          return cols.empty() ? torch::Tensor()
                              : all.index_select(1, torch::tensor(cols, torch::kLong)).contiguous();
        };
        // What the swap tests read of a target cell (family, frame, fold q),
        // fitted once: each is read by up to eight runs across the source
        // cells (as source, rotation target, swapped source and scored target).
        struct Cell {
          torch::Tensor x;  // [n, H]: the family's states at the frame
          Centroids own;    // the true labels' centroids, fold q's training trials
          Scoring rule = Scoring::kAll;
          torch::Tensor at_frame;   // bool [n, K]: kin of each trial's label at the frame
          bool scored = false;      // fitted and null_hits below computed
          torch::Tensor fitted;     // double [n]: hits of the own centroids under the rule
          torch::Tensor null_hits;  // double [R, n]: hits of the permuted-label centroids
        };
        std::map<std::tuple<const Family*, int, int>, Cell> cells;
        auto cell = [&](const Family& fam, int frame, int q) -> Cell& {
          auto [it, inserted] = cells.try_emplace(std::make_tuple(&fam, frame, q));
          Cell& c = it->second;
          if (inserted) {
            c.x = m.states.index_select(0, fam.rows).select(1, frame);
            c.own =
                class_centroids(c.x, fam.y.unsqueeze(0), fam.fold.ne(q), k, others_of(fam, frame));
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
          c.at_frame = kin_mask(
              fam,
              m.labels.at(fam.feature).index_select(0, fam.rows).select(1, frame).contiguous());
          c.fitted = nearest_predictions(nearest_decision(c.x, c.own.c, c.own, c.own.present),
                                         c.rule, c.at_frame)[0]
                         .eq(fam.y)
                         .to(torch::kFloat64);
          if (fam.permutations() > 0) {
            const Centroids null =
                class_centroids(c.x, fam.null_y, fam.fold.ne(q), k, others_of(fam, frame));
            torch::Tensor np = nearest_predictions(
                nearest_decision(c.x, null.c, null, null.present), c.rule, c.at_frame);
            c.null_hits = np.eq(c.rule == Scoring::kAll ? fam.null_y : fam.y.unsqueeze(0))
                              .to(torch::kFloat64);
          }
          c.scored = true;
          return c;
        };
        for (int t = f.stim; t + 1 < frames; ++t) {
          // Cells before frame t are read by no later source cell.
          for (auto it = cells.begin(); it != cells.end();)
            it = std::get<1>(it->first) < t ? cells.erase(it) : std::next(it);
          struct Test {
            const Family* fam = nullptr;
            int frame = 0;
            Scoring rule = Scoring::kAll;
            bool unseen_by_source = false;
            std::vector<torch::Tensor> hits;  // per fold, double [n]
            std::vector<torch::Tensor>
                null_hits;  // per fold, double [R, n]: the target's permuted-label centroids
            std::vector<torch::Tensor> fitted;  // per fold, double [n]: the target's own centroids
            bool complete = true;               // every rotation and target had all K classes
          };
          std::map<std::string, Test> tests;
          for (int q = 0; q < f.folds; ++q) {
            const Centroids &src = cell(f, t, q).own, &tgt = cell(f, t + 1, q).own;
            const bool fitted_ok = src.complete() && tgt.complete();
            Rotation rot = fit_rotation(src.c[0], tgt.c[0]);
            // The rotation's own null, as the decoder-weight swap's: rotations
            // fitted on permuted class correspondences (derangements, seeded
            // per cell, fold and model).
            const std::vector<Rotation> permuted = permuted_rotations(
                src.c[0], tgt.c[0],
                random::hash_combine(
                    m.own_seed(family_seed(s, m.tasks[f.task].name, f.feature, f.stim)),
                    0xc3e7ULL + static_cast<std::uint64_t>(t) * 1009 +
                        static_cast<std::uint64_t>(q)));
            // Scores centred centroids `predicted` ([K, H], with weights
            // summing to 1: the permuted rotations' mean hit) in place of the
            // target cell's (fam at frame): each held-out state less the
            // target's offset (its intercept, its code's mean over classes and
            // the other stimuli's codes of the trial's labels, all fitted on
            // fold q's training trials), nearest centroid under the rule there;
            // beside it the target's own centroids and their null.
            auto run = [&](const std::string& name, const Family& fam, int frame,
                           bool unseen_by_source, const std::vector<torch::Tensor>& predicted,
                           const std::vector<double>& weights, bool ok) {
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
                    nearest_decision(target.x, predicted[i].unsqueeze(0), target.own, all_present),
                    test.rule, target.at_frame);
                hits += pred[0].eq(fam.y).to(torch::kFloat64) * weights[i];
              }
              test.hits.push_back(hits);
              test.fitted.push_back(target.fitted);
              if (target.null_hits.defined()) test.null_hits.push_back(target.null_hits);
            };
            auto swap = [&](const std::string& name, const Family& fam, int frame,
                            bool unseen_by_source, const Centroids& from) {
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
                const Centroids& next = cell(*next_stim, t + 1, q).own;
                swap("elapsed_shifted", *next_stim, t + 2, true, next);
                // Its like-with-like partner (README "The centroid swap"):
                // the next stimulus's own time-shifted swap, R(s+1, t -> t+1)
                // on C(s+1, t+1), scored on the same trials of the same target
                // cell (s+1, t+2) from the same source centroids, so that the
                // two swaps differ only in the rotation they borrow: one of the
                // same elapsed time (s's), one a step younger (s+1's own). It
                // exists once s+1 is shown at t.
                if (t >= next_stim->stim) {
                  const Centroids& before = cell(*next_stim, t, q).own;
                  const Rotation own = fit_rotation(before.c[0], next.c[0]);
                  run("time_shifted_same_cell", *next_stim, t + 2, true, {own.apply(next.c[0])},
                      {1.0}, fitted_ok && before.complete() && next.complete());
                }
              }
            }
          }
          for (const auto& [name, test] : tests) {
            const Family& fam = *test.fam;
            Score sc, target;
            if (test.rule != Scoring::kNone && test.complete) {
              torch::Tensor keep =
                  swap_keep(m, f, fam, test.frame, test.rule, test.unseen_by_source);
              torch::Tensor kf = keep.to(torch::kFloat64);
              const auto counts = to_vector(keep.sum(1));
              torch::Tensor hits = (torch::stack(test.hits) * kf).sum(1);
              torch::Tensor fitted = (torch::stack(test.fitted) * kf).sum(1);
              torch::Tensor null =
                  test.null_hits.empty()
                      ? torch::Tensor()
                      : (torch::stack(test.null_hits) * kf.unsqueeze(1)).sum(2);  // [folds, R]
              std::vector<double> null_sum(
                  null.defined() ? static_cast<std::size_t>(null.size(1)) : 0, 0.0);
              for (std::size_t q = 0; q < counts.size(); ++q) {
                if (counts[q] == 0) continue;
                const auto c = static_cast<double>(counts[q]);
                const auto qi = static_cast<std::int64_t>(q);
                sc.folds.push_back(hits[qi].item<double>() / c);
                sc.counts.push_back(c);
                target.folds.push_back(fitted[qi].item<double>() / c);
                for (std::size_t r = 0; r < null_sum.size(); ++r)
                  null_sum[r] += null[qi][static_cast<std::int64_t>(r)].item<double>() / c;
              }
              if (!sc.folds.empty()) {
                for (double v : null_sum)
                  sc.null.push_back(v / static_cast<double>(sc.folds.size()));
              }
            }
            tables["procrustes_centroids"].add(
                swap_row(m, s, f, t, fam, name, test.frame, test.rule, sc, target));
          }
        }
      },
      out);
}

}  // namespace wmgeom::analyze
