#include "recordings/rsa.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "analyze/stats.h"

namespace wmgeom::recordings {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// a' V^-1 b over the pairs (see rsa.h).
double whitened_inner(const Vector& a, const Vector& b, const PairSet& p) {
  std::vector<double> ra(static_cast<std::size_t>(p.k), 0.0), rb(ra);
  double dot = 0, sa = 0, sb = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double x = a[static_cast<Eigen::Index>(i)], y = b[static_cast<Eigen::Index>(i)];
    dot += x * y;
    sa += x;
    sb += y;
    ra[static_cast<std::size_t>(p.first[i])] += x;
    ra[static_cast<std::size_t>(p.second[i])] += x;
    rb[static_cast<std::size_t>(p.first[i])] += y;
    rb[static_cast<std::size_t>(p.second[i])] += y;
  }
  double rows = 0;
  for (std::size_t i = 0; i < ra.size(); ++i) rows += ra[i] * rb[i];
  const double k = p.k;
  return 0.5 * (dot - rows / k + 2.0 * sa * sb / (k * k));
}

}  // namespace

Vector ranks(const Vector& v) {
  const std::vector<double> r = analyze::stats::ranks(std::vector<double>(v.begin(), v.end()));
  return Eigen::Map<const Vector>(r.data(), static_cast<Eigen::Index>(r.size()));
}

double pearson(const Vector& a, const Vector& b) {
  const Vector ca = a.array() - a.mean(), cb = b.array() - b.mean();
  const double den = ca.norm() * cb.norm();
  return den > 0 ? ca.dot(cb) / den : kNaN;
}

const char* comparison_name(Comparison c) {
  return c == Comparison::kSpearman ? "spearman" : "whitened_cosine";
}

PairSet PairSet::all(int k) {
  PairSet p;
  p.k = k;
  std::int64_t n = 0;
  for (int i = 0; i < k; ++i) {
    for (int j = i + 1; j < k; ++j) {
      p.first.push_back(i);
      p.second.push_back(j);
      p.index.push_back(n++);
    }
  }
  return p;
}

PairSet PairSet::sample(const std::vector<int>& drawn, int conditions) {
  PairSet p;
  p.k = static_cast<int>(drawn.size());
  const auto n = static_cast<std::int64_t>(conditions);
  for (int i = 0; i < p.k; ++i) {
    for (int j = i + 1; j < p.k; ++j) {
      std::int64_t a = drawn[static_cast<std::size_t>(i)], b = drawn[static_cast<std::size_t>(j)];
      if (a == b) continue;
      if (a > b) std::swap(a, b);
      p.first.push_back(i);
      p.second.push_back(j);
      // Row a of the upper triangle starts after a rows of n-1, n-2, ... entries.
      p.index.push_back(a * n - a * (a + 1) / 2 + (b - a - 1));
    }
  }
  return p;
}

Vector correlation_rdm(const Matrix& x) {
  const Eigen::Index k = x.rows();
  Matrix c = x.colwise() - x.rowwise().mean();
  const Vector norms = c.rowwise().norm();
  Vector out(k * (k - 1) / 2);
  Eigen::Index n = 0;
  const Matrix g = c * c.transpose();
  for (Eigen::Index i = 0; i < k; ++i) {
    for (Eigen::Index j = i + 1; j < k; ++j) {
      const double den = norms[i] * norms[j];
      out[n++] = den > 0 ? 1.0 - g(i, j) / den : kNaN;
    }
  }
  return out;
}

Vector take(const Vector& rdm, const PairSet& pairs) {
  Vector out(static_cast<Eigen::Index>(pairs.size()));
  for (std::size_t i = 0; i < pairs.size(); ++i)
    out[static_cast<Eigen::Index>(i)] = rdm[pairs.index[i]];
  return out;
}

double spearman(const Vector& a, const Vector& b) { return pearson(ranks(a), ranks(b)); }

double whitened_cosine(const Vector& a, const Vector& b, const PairSet& pairs) {
  const double den = std::sqrt(whitened_inner(a, a, pairs) * whitened_inner(b, b, pairs));
  return den > 0 ? whitened_inner(a, b, pairs) / den : kNaN;
}

double compare(Comparison c, const Vector& a, const Vector& b, const PairSet& pairs) {
  return c == Comparison::kSpearman ? spearman(a, b) : whitened_cosine(a, b, pairs);
}

Ceiling noise_ceiling(Comparison c, const std::vector<Vector>& subjects, const PairSet& pairs) {
  Ceiling out{kNaN, kNaN};
  const auto s = subjects.size();
  if (s == 0) return out;
  // Each subject's RDM as it enters the mean.
  std::vector<Vector> scaled;
  for (const auto& d : subjects) {
    if (c == Comparison::kSpearman) {
      scaled.push_back(ranks(d));
    } else {
      const double norm = std::sqrt(whitened_inner(d, d, pairs));
      scaled.push_back(norm > 0 ? Vector(d / norm) : Vector(d));
    }
  }
  Vector total = Vector::Zero(subjects.front().size());
  for (const auto& v : scaled) total += v;
  double upper = 0, lower = 0;
  for (std::size_t i = 0; i < s; ++i) {
    upper += compare(c, subjects[i], total / static_cast<double>(s), pairs);
    if (s > 1)
      lower += compare(c, subjects[i], (total - scaled[i]) / static_cast<double>(s - 1), pairs);
  }
  out.upper = upper / static_cast<double>(s);
  if (s > 1) out.lower = lower / static_cast<double>(s);
  return out;
}

double score(Comparison c, const Vector& model, const std::vector<Vector>& subjects,
             const PairSet& pairs) {
  double sum = 0;
  for (const auto& d : subjects) sum += compare(c, model, d, pairs);
  return sum / static_cast<double>(subjects.size());
}

}  // namespace wmgeom::recordings
