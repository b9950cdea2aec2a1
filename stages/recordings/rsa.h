// Representational similarity analysis against recordings (the recordings
// stage's science). Conditions are rows; an RDM is kept as the vector of its
// upper triangle over a PairSet (pairs i < j of K condition positions, row
// by row), so that a bootstrap sample, which may hold a condition twice, is
// one more PairSet over the same RDMs.
//
//   correlation_rdm   1 - Pearson r between the rows' response patterns
//                     (scipy's pdist metric "correlation")
//   spearman          Spearman's rho of two RDM vectors (ties: mean ranks)
//   whitened_cosine   the cosine of two RDM vectors in the metric V^-1, V the
//                     covariance of distance estimates from independent,
//                     equal-variance patterns: V = (C C')∘(C C'), C the pairs'
//                     contrasts (Diedrichsen et al. 2021, rsatoolbox's
//                     "cosine_cov"). V = 2 I + B'B (B the K x P incidence of
//                     conditions in pairs), so by Woodbury
//                     V^-1 = (I - B'B / K + 2 11' / K^2) / 2, applied in O(P)
//   noise_ceiling     upper: mean over subjects of the comparison of each
//                     subject's RDM with the subjects' mean RDM; lower: the
//                     same with the mean of the other subjects (leave one
//                     subject out). The mean is of rank-transformed RDMs for
//                     Spearman and of RDMs scaled to unit V^-1 norm for the
//                     whitened cosine (the vector the cosines' sum is
//                     largest for)
//
// A bootstrap sample draws K positions from the K conditions with
// replacement; the pairs of a condition with its own copy are dropped (their
// distance is zero in every RDM and carries nothing), and the whitened cosine
// applies the formula above to the remaining pairs, which is the exact
// V^-1 of K distinct conditions with the dropped entries set to zero.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Dense>

namespace wmgeom::recordings {

using Matrix = Eigen::MatrixXd;
using Vector = Eigen::VectorXd;

enum class Comparison { kSpearman, kWhitenedCosine };
const char* comparison_name(Comparison c);  // "spearman", "whitened_cosine"

struct PairSet {
  int k = 0;                        // condition positions
  std::vector<int> first, second;   // one entry per pair, first < second
  std::vector<std::int64_t> index;  // the pair's entry in the full RDM vector
  // Every pair of k distinct conditions (index = 0, 1, 2, ...).
  static PairSet all(int k);
  // A bootstrap sample: positions drawn[0..K) name conditions of the full set
  // of `conditions`; pairs of one condition with itself are left out.
  static PairSet sample(const std::vector<int>& drawn, int conditions);
  std::size_t size() const { return index.size(); }
};

// Upper triangle of 1 - Pearson r between rows of x [K, units], as a vector
// over PairSet::all(K). NaN entries where a row is constant.
Vector correlation_rdm(const Matrix& x);
// An RDM vector of the full set, read over a PairSet.
Vector take(const Vector& rdm, const PairSet& pairs);

double spearman(const Vector& a, const Vector& b);
// Its parts: 1-based ranks (ties share their mean rank) and Pearson's r
// (NaN for a constant vector); spearman(a, b) = pearson(ranks(a), ranks(b)).
Vector ranks(const Vector& v);
double pearson(const Vector& a, const Vector& b);
double whitened_cosine(const Vector& a, const Vector& b, const PairSet& pairs);
double compare(Comparison c, const Vector& a, const Vector& b, const PairSet& pairs);

struct Ceiling {
  double lower = 0, upper = 0;  // NaN with fewer than two subjects (lower)
};
// `subjects`: the subjects' RDM vectors over `pairs`.
Ceiling noise_ceiling(Comparison c, const std::vector<Vector>& subjects, const PairSet& pairs);
// The mean over subjects of compare(c, model, subject).
double score(Comparison c, const Vector& model, const std::vector<Vector>& subjects,
             const PairSet& pairs);

}  // namespace wmgeom::recordings
