// Inference of the recordings stage: a bootstrap over conditions (and, for
// groups, over each group's models) of the models' scores and of the noise
// ceiling, and the test of "the closest unit (model or group) is closer than
// every other". Pure functions of RDM vectors (rsa.h); deterministic in the
// seed.
//
//   by model  the difference between the closest model and each other,
//             two-sided percentile-bootstrap p over conditions:
//             p = min(1, 2 min(1 + #{d* <= 0}, 1 + #{d* >= 0}) / (1 + B)), the
//             smallest level whose percentile interval excludes 0
//   by group  the models are the replicates (SCIENCE.md section 6): a
//             two-sided permutation test of the difference between the two
//             groups' mean model scores, over every split of their models (or
//             `permutations` random ones); CIs from the bootstrap over
//             conditions and, within each group, models (their deviation
//             rescaled by sqrt(n / (n - 1)), the mean's variance)
//
// p-values are Holm-corrected over the comparisons with the closest unit;
// the verdict holds when every corrected p is below alpha, and is "not
// testable" when the smallest possible corrected p is not.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "recordings/rsa.h"

namespace wmgeom::recordings {

struct Units {
  std::vector<std::string> names;
  std::vector<std::vector<std::size_t>> members;  // model indices per unit
  // One unit per distinct label, in first-seen order.
  static Units of(const std::vector<std::string>& labels);
};

struct Draws {
  std::vector<std::vector<double>> unit;     // [unit][resample]: mean over views
  std::vector<std::vector<double>> ceiling;  // [2 * comparison + (0 lower, 1 upper)][resample]
};

// model_rdms[m][v]: model m's RDM at view v over PairSet::all(K); subjects:
// the recordings' RDMs over the same pairs. `ceilings`: also draw the noise
// ceiling of both comparisons (else Draws::ceiling is empty). `each` is
// called after each resample with its 1-based count.
Draws bootstrap(Comparison c, const std::vector<std::vector<Vector>>& model_rdms,
                const std::vector<Vector>& subjects, const Units& units, std::int64_t resamples,
                std::uint64_t seed, bool ceilings,
                const std::function<void(std::int64_t)>& each = {});

// A model's score: the mean over views of score(c, rdm, subjects) (rsa.h).
double model_score(Comparison c, const std::vector<Vector>& views,
                   const std::vector<Vector>& subjects, const PairSet& pairs);

struct PairTest {
  std::size_t other = 0;
  double difference = 0;  // closest minus other
  double ci_lo = 0, ci_hi = 0;
  double p = 1, p_holm = 1;
  double min_p = 0;  // the smallest p the test can give
};

struct Closest {
  std::size_t best = 0;
  std::vector<PairTest> pairs;  // one per other unit
  bool testable = false;        // at least two units, and a corrected p below alpha possible
  bool held = false;
  double p = 1;  // the largest Holm-corrected p
};

// scores[m]: each model's observed score; draws from bootstrap().
Closest test_closest(const std::vector<double>& scores, const Units& units, const Draws& draws,
                     bool by_model, std::int64_t permutations, std::uint64_t seed, double alpha);

// The observed unit scores: the mean of their models' scores.
std::vector<double> unit_scores(const std::vector<double>& scores, const Units& units);

// Holm's step-down adjustment (monotone, capped at 1).
std::vector<double> holm(const std::vector<double>& p);

}  // namespace wmgeom::recordings
