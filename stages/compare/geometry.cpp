#include "compare/geometry.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "analyze/stats.h"

namespace wmgeom::compare {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Matrix centred(const Matrix& x) { return x.rowwise() - x.colwise().mean(); }

// Pair means over the upper triangle: same label, different label.
std::pair<double, double> within_between(const Matrix& d, const std::vector<int>& label) {
  double w = 0, b = 0;
  std::int64_t nw = 0, nb = 0;
  for (Eigen::Index i = 0; i < d.rows(); ++i) {
    for (Eigen::Index j = i + 1; j < d.rows(); ++j) {
      if (label[static_cast<std::size_t>(i)] == label[static_cast<std::size_t>(j)]) {
        w += d(i, j);
        ++nw;
      } else {
        b += d(i, j);
        ++nb;
      }
    }
  }
  return {nw ? w / static_cast<double>(nw) : kNaN, nb ? b / static_cast<double>(nb) : kNaN};
}

// The same over a bootstrap sample: models pick[i] (with repeats) and their
// labels; pairs of a model with its own copy are left out.
std::pair<double, double> within_between(const Matrix& d, const std::vector<int>& label,
                                         const std::vector<Eigen::Index>& pick) {
  double w = 0, b = 0;
  std::int64_t nw = 0, nb = 0;
  for (std::size_t i = 0; i < pick.size(); ++i) {
    for (std::size_t j = i + 1; j < pick.size(); ++j) {
      if (pick[i] == pick[j]) continue;
      const double v = d(pick[i], pick[j]);
      if (label[static_cast<std::size_t>(pick[i])] == label[static_cast<std::size_t>(pick[j])]) {
        w += v;
        ++nw;
      } else {
        b += v;
        ++nb;
      }
    }
  }
  return {nw ? w / static_cast<double>(nw) : kNaN, nb ? b / static_cast<double>(nb) : kNaN};
}

// The number of distinct partitions of the models into groups of these
// sizes: n! / prod(size!), divided by m! for every m groups of one size
// (swapping the names of two equal-sized groups gives the same partition and
// the same statistic).
std::int64_t partitions(const std::vector<std::int64_t>& sizes) {
  double log_count = 0;
  std::int64_t n = 0;
  std::map<std::int64_t, int> of_size;
  for (auto s : sizes) {
    for (std::int64_t k = 1; k <= s; ++k) log_count += std::log(static_cast<double>(n + k) / k);
    n += s;
    log_count -= std::log(static_cast<double>(++of_size[s]));
  }
  return log_count > 60 ? std::numeric_limits<std::int64_t>::max()
                        : static_cast<std::int64_t>(std::llround(std::exp(log_count)));
}

}  // namespace

double linear_cka(const Matrix& x, const Matrix& y) {
  const Matrix xc = centred(x), yc = centred(y);
  const double xx = (xc.transpose() * xc).norm(), yy = (yc.transpose() * yc).norm();
  if (xx <= 0 || yy <= 0) return kNaN;
  return (yc.transpose() * xc).squaredNorm() / (xx * yy);
}

double procrustes_angle(const Matrix& x, const Matrix& y) {
  Matrix xc = centred(x), yc = centred(y);
  const double nx = xc.norm(), ny = yc.norm();
  if (nx <= 0 || ny <= 0) return kNaN;
  xc /= nx;
  yc /= ny;
  // The smaller cross-product: X'Y (p x q) or its transpose have the same singular values.
  const Matrix cross =
      xc.cols() <= yc.cols() ? Matrix(xc.transpose() * yc) : Matrix(yc.transpose() * xc);
  const double nuclear = Eigen::JacobiSVD<Matrix>(cross).singularValues().sum();
  return std::acos(std::clamp(nuclear, -1.0, 1.0));
}

Matrix classical_mds(const Matrix& d, int dims) {
  const Eigen::Index n = d.rows();
  const Matrix j = Matrix::Identity(n, n) - Matrix::Constant(n, n, 1.0 / static_cast<double>(n));
  const Matrix b = -0.5 * j * d.array().square().matrix() * j;
  Eigen::SelfAdjointEigenSolver<Matrix> eig(b);
  Matrix out = Matrix::Zero(n, dims);
  for (int k = 0; k < dims && k < n; ++k) {
    const Eigen::Index col = n - 1 - k;  // eigenvalues ascend
    const double value = eig.eigenvalues()(col);
    if (value > 0) out.col(k) = eig.eigenvectors().col(col) * std::sqrt(value);
    // A fixed sign per axis: its largest coordinate positive.
    Eigen::Index at = 0;
    out.col(k).cwiseAbs().maxCoeff(&at);
    if (out(at, k) < 0) out.col(k) *= -1;
  }
  return out;
}

GroupTest group_test(const Matrix& d, const std::vector<std::string>& labels,
                     std::int64_t permutations, std::uint64_t seed, double alpha) {
  GroupTest t;
  std::map<std::string, int> ids;
  std::vector<int> label;
  for (const auto& l : labels)
    label.push_back(ids.emplace(l, static_cast<int>(ids.size())).first->second);
  std::vector<std::int64_t> sizes(ids.size(), 0);
  for (int l : label) ++sizes[static_cast<std::size_t>(l)];
  if (ids.size() < 2) {
    t.why = "one group (" + (labels.empty() ? std::string("no models") : labels.front()) +
            "): nothing to compare between groups";
    return t;
  }
  if (*std::max_element(sizes.begin(), sizes.end()) < 2) {
    t.why = "every group has one model: no replicates to compare within a group";
    return t;
  }
  t.distinct_labellings = partitions(sizes);
  if (static_cast<double>(t.distinct_labellings) * alpha < 1) {
    t.why = "these group sizes allow only " + std::to_string(t.distinct_labellings) +
            " distinct partitions of the models, so no p can be below 1/" +
            std::to_string(t.distinct_labellings) + " (alpha " + std::to_string(alpha) +
            "): add seeds or groups (2 groups of 4 seeds allow 35, 3 groups of 3 allow 280)";
    return t;
  }
  t.testable = true;
  std::tie(t.within, t.between) = within_between(d, label);
  t.statistic = t.between - t.within;
  std::mt19937_64 rng(seed);
  std::int64_t as_large = 0;
  std::vector<int> shuffled = label;
  for (std::int64_t k = 0; k < permutations; ++k) {
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    const auto [w, b] = within_between(d, shuffled);
    // Ties count against the hypothesis (a small tolerance for rounding).
    as_large += b - w >= t.statistic - 1e-12;
  }
  t.permutations = permutations;
  t.p = static_cast<double>(1 + as_large) / static_cast<double>(1 + permutations);
  // The effect's CI: each group's models resampled with replacement.
  std::vector<std::vector<Eigen::Index>> members(ids.size());
  for (std::size_t i = 0; i < label.size(); ++i)
    members[static_cast<std::size_t>(label[i])].push_back(static_cast<Eigen::Index>(i));
  std::vector<double> draws;
  std::vector<Eigen::Index> pick;
  for (std::int64_t k = 0; k < permutations; ++k) {
    pick.clear();
    for (const auto& m : members) {
      std::uniform_int_distribution<std::size_t> which(0, m.size() - 1);
      for (std::size_t i = 0; i < m.size(); ++i) pick.push_back(m[which(rng)]);
    }
    const auto [w, b] = within_between(d, label, pick);
    if (!std::isnan(w) && !std::isnan(b)) draws.push_back(b - w);  // no pair within: skipped
  }
  t.ci_lo = analyze::stats::quantile(draws, 0.025);  // NaN without draws
  t.ci_hi = analyze::stats::quantile(draws, 0.975);
  return t;
}

}  // namespace wmgeom::compare
