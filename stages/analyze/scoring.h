// The lag rule and the scores shared by the decoder tables (decoding.cpp:
// decoding, cross-temporal, H1/H2, cross-task) and the swap tables
// (swaps.cpp: procrustes, procrustes_centroids). Internal to the stage:
// analyses.h is the stage's own interface.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "analyze/analyses.h"

namespace wmgeom::analyze {

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

// The lag rule (README "Correlated labels at lags kN"). Which rule scores a
// decoder of family f fitted at train frame t at frame u against the label
// at f.stim: kAll (no frame read at a lag kN: every held-out trial, argmax
// over all classes; chance 1/K), kDiffer (held-out trials whose label at
// stim is not kin of the label at a frame read, argmax over the classes that
// are not; chance 1/(the classes left)) or kNone (kDiffer where fewer than
// two classes would remain: K = 2, no score).
enum class Scoring { kAll, kDiffer, kNone };
const char* scoring_name(Scoring r);  // "all", "differ", "none": the tables' `scoring` column
Scoring scoring_at(const Family& f, int t, int u, const Settings& s);
// At a fit's own frame (t = u): the frame shown there.
Scoring scoring_at(const Family& f, int u, const Settings& s);

// The chance of rule r for one frame read: 1/K, or the mean over the
// classes of 1/(K - the class's kin group).
double chance_of(Scoring r, const Settings& s, const Family& f);

// The classes kin of `labels` ([n]): bool [n, K].
torch::Tensor kin_mask(const Family& f, const torch::Tensor& labels);

// The argmax [P, n] of decision values [P, n, K] over the classes not
// excluded ([n, K] bool) for each trial.
torch::Tensor argmax_except(const torch::Tensor& decision, const torch::Tensor& excluded);

// The trials each fold scores under rule r for a fit at t scored at u,
// [folds, n] bool: held out in fold q, and under kDiffer those the
// exclusion scores.
torch::Tensor held_masks(const ModelData& m, const Family& f, int t, int u, Scoring r);
// At a fit's own frame (t = u).
torch::Tensor held_masks(const ModelData& m, const Family& f, int u, Scoring r);

// A decoder of family f at train frame t scored at frame u on the label at
// f.stim under the rule at (t, u), on keep[q] of each fold (undefined:
// every trial the rule scores). kAll: the permuted fits against their
// permuted labels; kDiffer: the permuted fits' argmax over the classes not
// kin of the labels at the frames read, against the true labels (as H1/H2),
// with `chance` the mean over the trials scored of 1 / (classes left);
// kNone: no score.
Score rule_score(const ModelData& m, const Family& f, int t, int u, Scoring r,
                 const torch::Tensor& keep = {});

// The seed shared by every model for a family (task, feature, stimulus
// frame): its folds, and, mixed with ModelData::own_seed, each model's own
// label permutations and null rotations.
std::uint64_t family_seed(const Settings& s, const std::string& task, const std::string& feature,
                          int stim);

// The families in key order, for for_each_unit.
std::vector<const Family*> in_order(const Families& families);

// Sets the value of column `name` of a row built so far.
void set_cell(Row& row, const std::string& name, TableBuilder::Cell value);

// The columns every accuracy row ends with: accuracy over the folds scored,
// its chance (1/K unless given), the empirical chance, and how many trials
// it used: `n` trials per fold scored (mean over those folds), `n_total`
// their sum, `folds` the folds scored (at least one trial).
void add_accuracy(Row& row, const Score& sc, const Settings& s, const std::string& feature,
                  double chance = NAN);

}  // namespace wmgeom::analyze
