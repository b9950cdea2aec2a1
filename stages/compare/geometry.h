// Model-vs-model geometry (the compare stage's science). Rows are the same
// conditions (trials or images) in both matrices; columns are units, and two
// models may have different numbers of units.
//
//   linear_cka        Kornblith et al. 2019: ||Yc'Xc||_F^2 / (||Xc'Xc||_F ||Yc'Yc||_F)
//                     on column-centred X, Y: 1 for representations equal up to
//                     a rotation, an isotropic scale and a translation
//   procrustes_angle  Williams et al. 2021 (netrep's angular shape metric with
//                     alpha = 1): X, Y column-centred and scaled to unit
//                     Frobenius norm; arccos of max over rotations Q of
//                     tr(X'YQ), which is the nuclear norm of X'Y (zero-padding
//                     the narrower one changes nothing); 0 to pi/2, a metric
//   classical_mds     Torgerson's embedding of a distance matrix
//   group_test        between-group minus within-group mean distance, its
//                     p by permuting the models' group labels
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <Eigen/Dense>

namespace wmgeom::compare {

using Matrix = Eigen::MatrixXd;

// NaN when either matrix is constant (no variance).
double linear_cka(const Matrix& x, const Matrix& y);
double procrustes_angle(const Matrix& x, const Matrix& y);

// n x dims coordinates whose Euclidean distances approximate `d` (symmetric,
// zero diagonal); dimensions with non-positive eigenvalues are zero.
Matrix classical_mds(const Matrix& d, int dims);

struct GroupTest {
  bool testable = false;
  std::string why;       // when not testable
  double between = 0;    // mean distance over pairs in different groups
  double within = 0;     // mean distance over pairs in the same group
  double statistic = 0;  // between - within
  double p = 1;          // one-sided permutation p
  // 95% percentile CI of the statistic from a bootstrap of the models within
  // each group (pairs of a model with its copy left out; `permutations`
  // resamples). NaN when no resample has pairs both within and between.
  double ci_lo = std::numeric_limits<double>::quiet_NaN();
  double ci_hi = std::numeric_limits<double>::quiet_NaN();
  std::int64_t permutations = 0;
  std::int64_t distinct_labellings = 0;  // distinct partitions of the models (p >= 1 / this)
};

// Labels: one group per model (models with the same label are replicates).
// Testable with at least two groups, one group of two or more models, and
// enough distinct partitions for a p below alpha (2 groups of 3 have 10:
// p >= 0.1).
GroupTest group_test(const Matrix& d, const std::vector<std::string>& labels,
                     std::int64_t permutations, std::uint64_t seed, double alpha = 0.05);

}  // namespace wmgeom::compare
