// Statistics of the analyze stage (SCIENCE.md section 6): t-tests with
// confidence intervals, permutation p-values and quantiles. Distributions come
// from Boost.Math. Pure functions; thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace wmgeom::analyze::stats {

// The direction a test looks in: kGreater tests effect > 0, kLess effect < 0.
enum class Alternative { kTwoSided, kGreater, kLess };
const char* alternative_name(Alternative a);  // "two-sided", "greater", "less"

struct TestResult {
  std::string test;   // "one-sample t", "Welch t"
  double effect = 0;  // mean(a) - mean(b), or mean(x) - mu0
  // The `level` confidence interval of the effect that matches the test: two-sided
  // for kTwoSided; the one-sided bound for kGreater [ci_lo, +inf) and for kLess
  // (-inf, ci_hi], so the interval excludes 0 exactly when p < 1 - level.
  double ci_lo = 0, ci_hi = 0;
  double statistic = 0, df = 0, p = 1;
  std::size_t n_a = 0, n_b = 0;  // replicates in each group (n_b = 0 for one-sample)
  bool defined() const;  // false when there were too few replicates or no spread (then p = NaN)
};

// One-sample t-test of mean(x) against mu0 (paired designs: pass the
// differences). Needs >= 2 values; with zero spread p is 0 or 1 by the sign.
TestResult one_sample_t(const std::vector<double>& x, double mu0, Alternative alternative,
                        double level = 0.95);
// One-sample t-test whose standard error also carries a variance estimated
// elsewhere: extra_variance V of mean(x) from a source of error every value
// of x shares (finding 3: the images, one set for every model, resampled by a
// bootstrap), with extra_df degrees of freedom (bootstrap resamples - 1).
// se^2 = s^2 / n + V, Welch-Satterthwaite df; V = 0 gives one_sample_t.
// Conservative where the values' own spread already holds part of V.
TestResult one_sample_t_plus(const std::vector<double>& x, double mu0, double extra_variance,
                             double extra_df, Alternative alternative, double level = 0.95);
// Welch's unequal-variance t-test of mean(a) - mean(b), Welch-Satterthwaite df.
TestResult welch_t(const std::vector<double>& a, const std::vector<double>& b,
                   Alternative alternative, double level = 0.95);
// p-value of a t statistic with df degrees of freedom.
double t_p_value(double t, double df, Alternative alternative);

// Permutation p-value of `observed` against null draws: (1 + #{null at least
// as extreme}) / (1 + draws), never 0 (Phipson & Smyth 2010). NaN draws are
// skipped.
double permutation_p(double observed, const std::vector<double>& null, Alternative alternative);
// Linear-interpolated quantile q in [0, 1] (numpy's default); NaN if empty.
double quantile(std::vector<double> v, double q);

// Clopper-Pearson (exact) `level` interval of a binomial proportion: k
// successes of n; [0, x] at k = 0 and [x, 1] at k = n. Calibration counts
// (a verdict held in k of n planted draws) are reported with it.
std::pair<double, double> clopper_pearson(int k, int n, double level = 0.95);

double mean(const std::vector<double>& v);  // NaN if empty
double sd(const std::vector<double>& v);    // sample SD; 0 for fewer than 2
double spearman(const std::vector<double>& a, const std::vector<double>& b);
// 1-based ranks; ties share their mean rank.
std::vector<double> ranks(const std::vector<double>& v);

}  // namespace wmgeom::analyze::stats
