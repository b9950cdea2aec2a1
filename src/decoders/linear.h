// The batched linear-decoder engine (SCIENCE.md section 4): many independent
// linear classifiers fitted at once as batched tensor work, which is where
// Python tools, fitting one decoder at a time, are slow.
//
// A batch holds P problems of the same shape: x [P, n, d], labels y [P, n]
// in [0, K), and a mask [P, n] of the samples each problem trains on.
// By default features are standardised with the training samples' mean and
// standard deviation only (Options::standardize; off: the decoders are fitted
// on x as it is, so their weights are directions in x's own geometry).
// Objectives, as scikit-learn's with the same C:
//   logistic: sum_i CE(softmax(W x_i + b), y_i) + ||W||^2 / (2C)
//             (LogisticRegression, multinomial)
//   svm:      one-vs-rest sum_i max(0, 1 - s_ik (w_k x_i + b_k))^2 * C
//             + ||[w_k, b_k]||^2 / 2
//             (LinearSVC: squared hinge, intercept regularised like liblinear's)
// Solvers:
//   lbfgs:  L-BFGS over all problems jointly (the sum is separable); any
//           device, both models.
//   newton: the finite Newton method for the L2-loss SVM (Keerthi & DeCoste
//           2005): exact on each active set, exact line search, stops when
//           the active set is stable, i.e. at the optimum LinearSVC
//           approaches. Problems in parallel on the CPU; the K one-vs-rest
//           classes (and, in fit_shared, every label set) share one
//           factorisation of the samples. See linear.cpp.
//   auto:   newton for svm on the CPU, else lbfgs.
// Deterministic on CPU: each problem is solved by one thread in a fixed
// order. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/choices.h"

namespace wmgeom::decoders {

enum class Model { kLogistic, kSvm };
enum class Solver { kAuto, kLbfgs, kNewton };
// The names in the analyze stage's schema (decoder = "svm" | "logistic").
inline constexpr Choice<Model> kModels[] = {{Model::kSvm, "svm"}, {Model::kLogistic, "logistic"}};

struct Options {
  Model model = Model::kLogistic;
  double c = 1.0;                 // inverse regularisation strength (scikit-learn's C)
  int max_iter = 200;             // L-BFGS iterations, or Newton steps per class
  Solver solver = Solver::kAuto;  // auto: Newton for svm on the CPU, else L-BFGS
  // Standardise each feature with the training samples' mean and SD before
  // fitting (StandardScaler, then the model). Off: fit on x as given (Fit's
  // mean 0, scale 1), scikit-learn's model alone; the weights are then the
  // hyperplanes' normals in x's own units. Not scale-free: C acts on x's scale.
  bool standardize = true;
};

struct Fit {
  torch::Tensor weight;  // [P, d, K] in standardised units (x's own units without standardize)
  torch::Tensor bias;    // [P, K]
  torch::Tensor mean;    // [P, d] of the training samples (0 without standardize)
  torch::Tensor scale;   // [P, d] (1 without standardize)
};

Fit fit(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& train_mask,
        std::int64_t classes, const Options& options);
// L label sets per problem: y [P, L, n] on the samples x [P, n, d] with the
// training mask [P, n]. The L fits of a problem share its standardisation
// and (newton) one factorisation, so extra label sets (permutation nulls)
// cost a few Newton steps each, not a factorisation. Fit has P * L problems,
// problem-major: fit p * L + l is label set l of problem p; fit l = 0 of a
// problem equals fit() on that problem's labels.
Fit fit_sets(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& train_mask,
             std::int64_t classes, const Options& options);
// L label sets y [L, n] on the same samples x [n, d], every sample training:
// one standardisation, and (newton) one factorisation for all. Fit has P = L.
Fit fit_shared(const torch::Tensor& x, const torch::Tensor& y, std::int64_t classes,
               const Options& options);

// Decision values [P, n, K] and predicted labels [P, n].
torch::Tensor decision(const Fit& f, const torch::Tensor& x);
torch::Tensor predict(const Fit& f, const torch::Tensor& x);
// Predicted labels [P, n] of every problem on the same samples x [n, d]:
// the standardisation is folded into the weights, so all P problems are one
// matrix product (no [P, n, d] temporary). Equal to predict() up to rounding.
torch::Tensor predict_shared(const Fit& f, const torch::Tensor& x);

// Stratified k-fold: each class's samples are shuffled (seeded) and dealt to
// folds in turn, so every fold has each class in proportion. Returns the fold
// of each sample. Throws wmgeom::InputError if a class has fewer samples than k.
std::vector<std::int32_t> stratified_folds(const std::vector<std::int64_t>& labels, int k,
                                           std::uint64_t seed);

// Stratified group k-fold: every sample of a group (e.g. every trial that
// shows the same image at the decoded frame) lands in the same fold, so no
// held-out sample has a twin in the training folds. Each group must carry a
// single label. Groups are dealt to folds class by class (seeded shuffle),
// continuing where the previous class stopped, so every fold holds about
// 1/k of each class's groups. Throws wmgeom::InputError if a group has two
// labels or a class has fewer distinct groups than k.
std::vector<std::int32_t> grouped_folds(const std::vector<std::int64_t>& labels,
                                        const std::vector<std::int64_t>& groups, int k,
                                        std::uint64_t seed);

// k-fold cross-validated accuracy of P problems sharing one fold assignment:
// [P, k], the accuracy of each fold's held-out samples.
torch::Tensor cross_validate(const torch::Tensor& x, const torch::Tensor& y,
                             const std::vector<std::int32_t>& folds, int k, std::int64_t classes,
                             const Options& options);

}  // namespace wmgeom::decoders
