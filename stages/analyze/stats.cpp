#include "analyze/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <boost/math/distributions/students_t.hpp>
#include <boost/math/special_functions/beta.hpp>

namespace wmgeom::analyze::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Fills statistic, df, p and the CI from an effect and its standard error.
// The interval is the test's own: two-sided for a two-sided test, and the
// one-sided bound [lo, +inf) or (-inf, hi] for a one-sided one, so that it
// excludes 0 exactly when p < 1 - level.
void finish(TestResult& r, double se, double df, Alternative alternative, double level) {
  r.df = df;
  const bool greater = alternative == Alternative::kGreater,
             less = alternative == Alternative::kLess;
  if (se == 0) {  // no spread: the sign decides, the interval is a point (or a half-line from it)
    r.statistic = r.effect == 0 ? 0.0 : std::copysign(INFINITY, r.effect);
    r.ci_lo = less ? -INFINITY : r.effect;
    r.ci_hi = greater ? INFINITY : r.effect;
    r.p = t_p_value(r.statistic, df, alternative);
    return;
  }
  r.statistic = r.effect / se;
  r.p = t_p_value(r.statistic, df, alternative);
  boost::math::students_t dist(df);
  const double tail = greater || less ? 1.0 - level : (1.0 - level) / 2.0;
  const double q = boost::math::quantile(boost::math::complement(dist, tail));
  r.ci_lo = less ? -INFINITY : r.effect - q * se;
  r.ci_hi = greater ? INFINITY : r.effect + q * se;
}

TestResult undefined(const char* name, std::size_t na, std::size_t nb) {
  TestResult r;
  r.test = name;
  r.n_a = na;
  r.n_b = nb;
  r.effect = r.ci_lo = r.ci_hi = r.statistic = r.df = r.p = kNaN;
  return r;
}

}  // namespace

const char* alternative_name(Alternative a) {
  switch (a) {
    case Alternative::kGreater:
      return "greater";
    case Alternative::kLess:
      return "less";
    default:
      return "two-sided";
  }
}

bool TestResult::defined() const { return std::isfinite(p); }

double mean(const std::vector<double>& v) {
  return v.empty() ? kNaN
                   : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double sd(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  double m = mean(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

double t_p_value(double t, double df, Alternative alternative) {
  if (std::isnan(t) || !(df > 0)) return kNaN;
  if (std::isinf(t)) {
    if (alternative == Alternative::kTwoSided) return 0.0;
    return (t > 0) == (alternative == Alternative::kGreater) ? 0.0 : 1.0;
  }
  boost::math::students_t dist(df);
  switch (alternative) {
    case Alternative::kGreater:
      return boost::math::cdf(boost::math::complement(dist, t));
    case Alternative::kLess:
      return boost::math::cdf(dist, t);
    default:
      return std::min(1.0, 2.0 * boost::math::cdf(boost::math::complement(dist, std::abs(t))));
  }
}

TestResult one_sample_t(const std::vector<double>& x, double mu0, Alternative alternative,
                        double level) {
  std::vector<double> v;
  for (double a : x) {
    if (std::isfinite(a)) v.push_back(a);
  }
  if (v.size() < 2) return undefined("one-sample t", v.size(), 0);
  TestResult r;
  r.test = "one-sample t";
  r.n_a = v.size();
  r.effect = mean(v) - mu0;
  finish(r, sd(v) / std::sqrt(static_cast<double>(v.size())), static_cast<double>(v.size() - 1),
         alternative, level);
  return r;
}

TestResult one_sample_t_plus(const std::vector<double>& x, double mu0, double extra_variance,
                             double extra_df, Alternative alternative, double level) {
  if (!(extra_variance >= 0) || !(extra_df > 0)) {
    TestResult r = undefined("one-sample t + shared variance", 0, 0);
    return r;
  }
  TestResult r = one_sample_t(x, mu0, alternative, level);
  if (!r.defined() || extra_variance == 0) return r;
  r.test = "one-sample t + shared variance";
  const double n = static_cast<double>(r.n_a);
  double sum = 0;  // the finite values' sample variance, as one_sample_t used
  for (double a : x) {
    if (std::isfinite(a)) sum += (a - (r.effect + mu0)) * (a - (r.effect + mu0));
  }
  const double own = sum / (n - 1) / n;  // s^2 / n
  const double se2 = own + extra_variance;
  const double df = se2 * se2 / (own * own / (n - 1) + extra_variance * extra_variance / extra_df);
  finish(r, std::sqrt(se2), df, alternative, level);
  return r;
}

TestResult welch_t(const std::vector<double>& a_in, const std::vector<double>& b_in,
                   Alternative alternative, double level) {
  std::vector<double> a, b;
  for (double x : a_in) {
    if (std::isfinite(x)) a.push_back(x);
  }
  for (double x : b_in) {
    if (std::isfinite(x)) b.push_back(x);
  }
  if (a.size() < 2 || b.size() < 2) return undefined("Welch t", a.size(), b.size());
  TestResult r;
  r.test = "Welch t";
  r.n_a = a.size();
  r.n_b = b.size();
  r.effect = mean(a) - mean(b);
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  double va = sd(a) * sd(a) / na, vb = sd(b) * sd(b) / nb;
  double se = std::sqrt(va + vb);
  double df =
      se == 0 ? na + nb - 2 : (va + vb) * (va + vb) / (va * va / (na - 1) + vb * vb / (nb - 1));
  finish(r, se, df, alternative, level);
  return r;
}

double permutation_p(double observed, const std::vector<double>& null, Alternative alternative) {
  if (std::isnan(observed)) return kNaN;
  double centre = alternative == Alternative::kTwoSided ? mean(null) : 0.0;
  std::size_t draws = 0, extreme = 0;
  for (double v : null) {
    if (std::isnan(v)) continue;
    ++draws;
    switch (alternative) {
      case Alternative::kGreater:
        extreme += v >= observed;
        break;
      case Alternative::kLess:
        extreme += v <= observed;
        break;
      default:
        extreme += std::abs(v - centre) >= std::abs(observed - centre);
        break;
    }
  }
  return (1.0 + static_cast<double>(extreme)) / (1.0 + static_cast<double>(draws));
}

double quantile(std::vector<double> v, double q) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  double pos = q * static_cast<double>(v.size() - 1);
  auto lo = static_cast<std::size_t>(std::floor(pos));
  std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<std::size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < idx.size();) {
    std::size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    double avg = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 +
                 1.0;  // ties share their mean rank
    for (std::size_t q = i; q <= j; ++q) r[idx[q]] = avg;
    i = j + 1;
  }
  return r;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> ra = ranks(a), rb = ranks(b);
  double ma = mean(ra), mb = mean(rb), sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  return saa == 0 || sbb == 0 ? kNaN : sab / std::sqrt(saa * sbb);
}

std::pair<double, double> clopper_pearson(int k, int n, double level) {
  if (n <= 0 || k < 0 || k > n) return {std::nan(""), std::nan("")};
  const double a = (1 - level) / 2;
  // The beta quantiles of the exact binomial interval.
  const double lo = k == 0 ? 0.0 : boost::math::ibeta_inv(double(k), double(n - k + 1), a);
  const double hi = k == n ? 1.0 : boost::math::ibeta_inv(double(k + 1), double(n - k), 1 - a);
  return {lo, hi};
}

}  // namespace wmgeom::analyze::stats
