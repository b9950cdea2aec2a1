#include "decoders/linear.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <vector>

#include <tbb/parallel_for.h>
#include <Eigen/Dense>

#include "core/error.h"
#include "core/random.h"

namespace wmgeom::decoders {

namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;

// A Cholesky factor L L^T = M[S, S] of a symmetric positive definite M on
// an index set S that changes a little from one Newton step to the next.
// Removing an index is a rank-one update of the trailing block (stable: no
// downdate), adding one a triangular solve: O(|S|^2) each, where a new
// factorisation costs O(|S|^3 / 3). Measured on the analyses' permutation
// nulls (n ~ 170 samples, ~9 Newton steps per fit, |S| ~ 67): the
// factorisations were half of all fitting time.
class SubsetCholesky {
 public:
  // L L^T = M[set, set]; order() becomes `set`.
  void reset(const Matrix& m, const std::vector<Eigen::Index>& set) {
    order_ = set;
    size_ = static_cast<Eigen::Index>(set.size());
    changes_ = 0;
    if (l_.rows() < m.rows()) l_.resize(m.rows(), m.rows());
    Matrix sub(size_, size_);
    for (Eigen::Index i = 0; i < size_; ++i) {
      for (Eigen::Index j = 0; j <= i; ++j) sub(i, j) = m(set[i], set[j]);
    }
    Eigen::LLT<Eigen::Ref<Matrix>> llt(sub);  // in place, lower triangle
    l_.topLeftCorner(size_, size_) = sub.triangularView<Eigen::Lower>();
  }

  // Moves the factor to the index set `set` (any order); refactorises when
  // that is cheaper than updating, or when updates since the last
  // factorisation add up to a factorisation's worth.
  void move_to(const Matrix& m, const std::vector<Eigen::Index>& set) {
    const Eigen::Index n = m.rows();
    auto& wanted = wanted_;
    auto& present = present_;
    wanted.assign(static_cast<std::size_t>(n), 0);
    present.assign(static_cast<std::size_t>(n), 0);
    for (Eigen::Index i : set) wanted[i] = 1;
    for (Eigen::Index i : order_) present[i] = 1;
    auto& removed = removed_;  // positions in order_
    auto& added = added_;      // indices of m
    removed.clear();
    added.clear();
    for (Eigen::Index k = 0; k < size_; ++k) {
      if (!wanted[order_[k]]) removed.push_back(k);
    }
    for (Eigen::Index i : set) {
      if (!present[i]) added.push_back(i);
    }
    const Eigen::Index change = static_cast<Eigen::Index>(removed.size() + added.size());
    const Eigen::Index target = static_cast<Eigen::Index>(set.size());
    // An update costs ~ 3 |S|^2 scalar operations against |S|^3 / 3 for a
    // blocked factorisation that runs several times faster per operation.
    if (change == 0) return;
    if (changes_ + change > std::max(size_, target) || size_ == 0) {
      reset(m, set);
      return;
    }
    changes_ += change;
    for (auto it = removed.rbegin(); it != removed.rend(); ++it) remove(*it);
    for (Eigen::Index i : added) {
      if (!append(m, i)) {
        reset(m, set);
        return;
      }
    }
  }

  // z with M[S, S] z = b, b and z in the order of order(): b is replaced by z.
  void solve_in_place(Vector& b) const {
    auto l = l_.topLeftCorner(size_, size_);
    l.triangularView<Eigen::Lower>().solveInPlace(b);
    l.transpose().triangularView<Eigen::Upper>().solveInPlace(b);
  }

  const std::vector<Eigen::Index>& order() const { return order_; }

 private:
  // Drops position j: L33' L33'^T = L33 L33^T + l32 l32^T, then rows and
  // columns after j move up and left.
  void remove(Eigen::Index j) {
    const Eigen::Index r = size_ - j - 1;
    Vector& x = scratch_;
    x.resize(r);
    for (Eigen::Index i = 0; i < r; ++i) x[i] = l_(j + 1 + i, j);
    for (Eigen::Index k = 0; k < r; ++k) {
      double& lkk = l_(j + 1 + k, j + 1 + k);
      const double rr = std::hypot(lkk, x[k]);
      const double c = rr / lkk, s = x[k] / lkk;
      lkk = rr;
      for (Eigen::Index i = k + 1; i < r; ++i) {
        double& lik = l_(j + 1 + i, j + 1 + k);
        lik = (lik + s * x[i]) / c;
        x[i] = c * x[i] - s * lik;
      }
    }
    for (Eigen::Index i = j + 1; i < size_; ++i) {
      for (Eigen::Index c = 0; c < j; ++c) l_(i - 1, c) = l_(i, c);
      for (Eigen::Index c = j + 1; c <= i; ++c) l_(i - 1, c - 1) = l_(i, c);
    }
    order_.erase(order_.begin() + j);
    --size_;
  }

  // Appends index i of m; false if the new pivot is not clearly positive.
  bool append(const Matrix& m, Eigen::Index i) {
    Vector& row = scratch_;
    row.resize(size_);
    for (Eigen::Index k = 0; k < size_; ++k) row[k] = m(order_[k], i);
    l_.topLeftCorner(size_, size_).triangularView<Eigen::Lower>().solveInPlace(row);
    const double pivot = m(i, i) - row.squaredNorm();
    if (!(pivot > 1e-12 * m(i, i))) return false;
    l_.row(size_).head(size_) = row.transpose();
    l_(size_, size_) = std::sqrt(pivot);
    order_.push_back(i);
    ++size_;
    return true;
  }

  Matrix l_;
  std::vector<Eigen::Index> order_;
  Eigen::Index size_ = 0;
  Eigen::Index changes_ = 0;  // indices added or removed since the last factorisation
  // Scratch, kept between calls: a fit takes thousands of small steps
  // (scratch_ is resized to the changing set, so Eigen reallocates it when
  // that size changes; the index lists keep their capacity).
  std::vector<char> wanted_, present_;
  std::vector<Eigen::Index> removed_, added_;
  Vector scratch_;
};

// The L2-loss SVM  min_w 1/2 ||w||^2 + C sum_i max(0, 1 - y_i w.x_i)^2
// (x_i with a constant-1 feature: the intercept, regularised as in liblinear)
// for many sign columns y on the same samples, by the finite Newton method
// (Keerthi & DeCoste 2005): on the active set A = {i : y_i w.x_i < 1} the
// objective is quadratic, so a Newton step solves it exactly; an exact line
// search keeps it monotone; it stops when A no longer changes. Unless there
// are more than 3x as many samples as features it works in the span of the
// samples (w = X^T beta, the Gram matrix), otherwise on w. The factorisation for
// A = every sample is computed once and shared by every column, which is
// the common case for hidden states (n ~ d): then a whole fit costs about
// one Cholesky factorisation.
class SquaredHingeSvm {
 public:
  // The sample-space form also for somewhat more samples than features: a
  // Newton step there costs O(n^2 + q^3) (q: samples leaving the active
  // set, few) against O(a d^2 + d^3) in weight space, and the one-off
  // factorisation is shared by every class and label set (measured: at
  // n = 170, d = 129 with 20 permutation label sets, weight space was >10x
  // slower).
  SquaredHingeSvm(const Matrix& x, double c) : x_(x), c_(c), kernel_(x.rows() <= 3 * x.cols()) {
    if (kernel_) {
      gram_ = Matrix::Zero(x.rows(), x.rows());
      gram_.selfadjointView<Eigen::Lower>().rankUpdate(x_);
      gram_ = gram_.selfadjointView<Eigen::Lower>();
    }
  }

  // Weights [d + 1] for signs y [n] (+1 / -1).
  Vector solve(const Vector& y, int max_iter) {
    const Eigen::Index n = x_.rows();
    Vector coef = Vector::Zero(kernel_ ? n : x_.cols());  // beta or w
    Vector out = Vector::Zero(n);                         // w.x_i
    std::vector<char>& active = active_;
    std::vector<char>& previous = previous_;
    active.assign(static_cast<std::size_t>(n), 1);
    previous.clear();
    Vector &next_coef = next_coef_, &next_out = next_out_, &dir_out = dir_out_, &dir = dir_;
    double last_step = 0, ww = 0;  // ww = ||w||^2, tracked along the steps
    factor_kind_ = Factor::kNone;
    py_valid_ = false;
    for (int it = 0; it < max_iter; ++it) {
      for (Eigen::Index i = 0; i < n; ++i) active[i] = y[i] * out[i] < 1.0;
      if (active == previous && last_step == 1.0)
        break;  // the last full step solved this active set: optimal
      newton_point(y, active, next_coef, next_out);
      dir_out = next_out - out;
      dir = next_coef - coef;
      // ||w + t dw||^2 = ww + 2 t wd + t^2 dd, from the coefficients.
      double wd, dd;
      if (kernel_) {
        wd = coef.dot(dir_out);
        dd = dir.dot(dir_out);
      } else {
        wd = coef.dot(dir);
        dd = dir.squaredNorm();
      }
      const double before = objective(y, out, ww);
      last_step = line_search(y, out, dir_out, wd, dd);
      coef += last_step * dir;
      out += last_step * dir_out;
      ww += 2 * last_step * wd + last_step * last_step * dd;
      previous = active;
      if (dd <= 1e-300) break;
      // Near the optimum on separable data the exact line search can keep
      // returning steps just short of 1 while samples cross the margin back
      // and forth, so the active-set test alone may take hundreds of steps
      // for gains below rounding: stop when a step gains nothing measurable.
      if (before - objective(y, out, ww) <= 1e-13 * std::max(1.0, before)) break;
    }
    if (kernel_) return x_.transpose() * coef;
    return coef;
  }

 private:
  // The minimiser of the quadratic that holds on `active`.
  void newton_point(const Vector& y, const std::vector<char>& active, Vector& coef, Vector& out) {
    const Eigen::Index n = x_.rows();
    std::vector<Eigen::Index>& idx = idx_;
    idx.clear();
    for (Eigen::Index i = 0; i < n; ++i) {
      if (active[i]) idx.push_back(i);
    }
    const bool all = static_cast<Eigen::Index>(idx.size()) == n;
    const Eigen::Index a = static_cast<Eigen::Index>(idx.size());
    if (kernel_) {
      // (I + 2C G_AA) beta_A = 2C y_A, beta = 0 elsewhere. With P the inverse
      // of K = I + 2C G (computed once), few inactive samples I make this
      // cheap: K_AA^-1 = P_AA - P_AI P_II^-1 P_IA (Schur complement).
      const Eigen::Index q = n - a;
      coef.setZero(n);
      if (q <= a) {
        const Matrix& p = inverse();
        // P r with r = 2C y on A and 0 on I is 2C (P y - P_{:,I} y_I), and
        // P y is computed once per label column: every step is O(q n).
        if (!py_valid_) {
          py_ = p * y;
          py_valid_ = true;
        }
        Vector& u = u_;
        u = (2.0 * c_) * py_;
        if (q > 0) {
          std::vector<Eigen::Index>& inactive = inactive_;
          inactive.clear();
          for (Eigen::Index i = 0; i < n; ++i) {
            if (!active[i]) inactive.push_back(i);
          }
          factor(Factor::kInverse, p, inactive);
          const auto& order = factor_.order();
          Vector& ui = ui_;  // (P r)_I, then z with P_II z = (P r)_I
          ui.resize(q);
          for (Eigen::Index i = 0; i < q; ++i) {
            double v = py_[order[i]];
            for (Eigen::Index j = 0; j < q; ++j) v -= p(order[i], order[j]) * y[order[j]];
            ui[i] = 2.0 * c_ * v;
          }
          factor_.solve_in_place(ui);
          const Vector& z = ui;
          // P is symmetric: its rows are its columns, and rows are contiguous.
          for (Eigen::Index i = 0; i < q; ++i)
            u -= p.row(order[i]).transpose() * (2.0 * c_ * y[order[i]] + z[i]);
        }
        for (Eigen::Index i : idx) coef[i] = u[i];
        // Outputs without the n x n product: on A the system itself gives
        // G_AA beta_A = y_A - beta_A / 2C; only the q inactive rows need G.
        out.resize(n);
        for (Eigen::Index i = 0; i < n; ++i) {
          out[i] = active[i] ? y[i] - coef[i] / (2.0 * c_) : gram_.row(i).dot(coef);
        }
        return;
      } else {
        factor(Factor::kSystem, system(), idx);
        const auto& order = factor_.order();
        Vector& beta_a = ui_;  // 2C y_A, then beta_A
        beta_a.resize(a);
        for (Eigen::Index i = 0; i < a; ++i) beta_a[i] = 2.0 * c_ * y[order[i]];
        factor_.solve_in_place(beta_a);
        // out = G beta, beta nonzero on A only: O(a n).
        out.setZero(n);
        for (Eigen::Index i = 0; i < a; ++i) {
          coef[order[i]] = beta_a[i];
          out += gram_.row(order[i]).transpose() * beta_a[i];
        }
        return;
      }
    } else {
      // (I + 2C X_A^T X_A) w = 2C X_A^T y_A.
      const Eigen::Index d = x_.cols();
      Vector rhs = Vector::Zero(d);
      for (Eigen::Index i : idx) rhs += (2.0 * c_ * y[i]) * x_.row(i).transpose();
      if (all) {
        coef = full().solve(rhs);
      } else {
        Matrix xa(a, d);
        for (Eigen::Index i = 0; i < a; ++i) xa.row(i) = x_.row(idx[i]);
        Matrix h = Matrix::Identity(d, d);
        h.selfadjointView<Eigen::Lower>().rankUpdate(xa.transpose(), 2.0 * c_);
        coef = Eigen::LLT<Matrix>(h.selfadjointView<Eigen::Lower>()).solve(rhs);
      }
      out = x_ * coef;
    }
  }

  // The factor of the current Newton step: of P on the inactive samples, or
  // of K = I + 2C G on the active ones; carried from step to step.
  enum class Factor { kNone, kInverse, kSystem };
  void factor(Factor kind, const Matrix& m, const std::vector<Eigen::Index>& set) {
    if (kind != factor_kind_) {
      factor_.reset(m, set);
      factor_kind_ = kind;
    } else {
      factor_.move_to(m, set);
    }
  }

  // K = I + 2C G (kernel form), built on first use.
  const Matrix& system() {
    if (system_.size() == 0) {
      system_ = 2.0 * c_ * gram_;
      system_.diagonal().array() += 1.0;
    }
    return system_;
  }

  // P = (I + 2C G)^-1, computed on first use (kernel form).
  const Matrix& inverse() {
    if (inverse_.size() == 0) inverse_ = full().solve(Matrix::Identity(x_.rows(), x_.rows()));
    return inverse_;
  }

  // The factorisation for A = all samples, computed on first use.
  const Eigen::LLT<Matrix>& full() {
    if (!full_) {
      Matrix m;
      if (kernel_) {
        m = 2.0 * c_ * gram_;
      } else {
        m = Matrix::Zero(x_.cols(), x_.cols());
        m.selfadjointView<Eigen::Lower>().rankUpdate(x_.transpose(), 2.0 * c_);
        m = m.selfadjointView<Eigen::Lower>();
      }
      m.diagonal().array() += 1.0;
      full_ = std::make_unique<Eigen::LLT<Matrix>>(m);
    }
    return *full_;
  }

  // 1/2 ||w||^2 + C sum_i max(0, 1 - y_i o_i)^2 at outputs `out`.
  double objective(const Vector& y, const Vector& out, double ww) const {
    double loss = 0;
    for (Eigen::Index i = 0; i < out.size(); ++i) {
      double slack = 1.0 - y[i] * out[i];
      if (slack > 0) loss += slack * slack;
    }
    return 0.5 * ww + c_ * loss;
  }

  // argmin over t in (0, 1] of the objective along the step; the derivative
  // f'(t) = wd + t dd - 2C sum_{y_i o_i(t) < 1} y_i d_i (1 - y_i o_i(t)) is
  // increasing (f is convex). If f'(1) <= 0 the full step is taken.
  double line_search(const Vector& y, const Vector& out, const Vector& dir_out, double wd,
                     double dd) const {
    auto slope = [&](double t, double* curvature) {
      double g = wd + t * dd, h = dd;
      for (Eigen::Index i = 0; i < out.size(); ++i) {
        double margin = y[i] * (out[i] + t * dir_out[i]);
        if (margin < 1.0) {
          g -= 2.0 * c_ * y[i] * dir_out[i] * (1.0 - margin);
          h += 2.0 * c_ * dir_out[i] * dir_out[i];
        }
      }
      if (curvature) *curvature = h;
      return g;
    };
    if (slope(1.0, nullptr) <= 0) return 1.0;
    double lo = 0, hi = 1, t = 1;
    for (int k = 0; k < 100; ++k) {
      double h;
      const double g = slope(t, &h);
      // Converged at t: return t itself. (Testing after moving t returned
      // the bracket's midpoint whenever the Newton update was too small to
      // leave the bracket's end, a point where the objective could be
      // higher than before the step; the fit then stopped short of the
      // optimum. Found by the KKT test in test_linear.cpp.)
      if (std::abs(g) < 1e-13 * (1.0 + std::abs(wd))) return t;
      if (g > 0)
        hi = t;
      else
        lo = t;
      if (hi - lo < 1e-12) break;
      const double next = h > 0 ? t - g / h : 0.5 * (lo + hi);
      t = next > lo && next < hi ? next : 0.5 * (lo + hi);  // safeguarded Newton
    }
    return lo > 0 ? lo : hi;  // the bracket's end with f' <= 0: never past the minimiser
  }

  const Matrix& x_;
  double c_;
  bool kernel_;
  Matrix gram_, inverse_, system_;
  std::unique_ptr<Eigen::LLT<Matrix>> full_;
  SubsetCholesky factor_;
  Factor factor_kind_ = Factor::kNone;
  Vector py_;  // P y for the label column being solved (kernel form)
  bool py_valid_ = false;
  // Scratch of the Newton steps, kept between steps and columns.
  std::vector<char> active_, previous_;
  std::vector<Eigen::Index> idx_, inactive_;
  Vector next_coef_, next_out_, dir_out_, dir_, u_, ui_;
};

// One-vs-rest L2-loss SVMs on the `rows` of z [n, d]: for each label column
// (labels [L, n]) and class k, the weights (and intercept) into
// w [L, d + 1, K].
void svm_fit_rows(const double* z, std::int64_t d, const std::vector<std::int64_t>& rows,
                  const std::vector<const std::int64_t*>& labels, std::int64_t k, const Options& o,
                  double* w) {
  const Eigen::Index n = static_cast<Eigen::Index>(rows.size());
  Matrix x(n, d + 1);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < d; ++j) x(i, j) = z[rows[i] * d + j];
    x(i, d) = 1.0;
  }
  SquaredHingeSvm svm(x, o.c);
  Vector y(n);
  for (std::size_t l = 0; l < labels.size(); ++l) {
    for (std::int64_t c = 0; c < k; ++c) {
      for (Eigen::Index i = 0; i < n; ++i) y[i] = labels[l][rows[i]] == c ? 1.0 : -1.0;
      Vector wc = svm.solve(y, o.max_iter);
      for (std::int64_t j = 0; j <= d; ++j)
        w[(static_cast<std::int64_t>(l) * (d + 1) + j) * k + c] = wc[j];
    }
  }
}

bool use_newton(const Options& o, const torch::Tensor& x) {
  if (o.solver == Solver::kNewton) {
    if (o.model != Model::kSvm || !x.device().is_cpu())
      throw Error("decoders: the newton solver fits svm decoders on the CPU");
    return true;
  }
  return o.solver == Solver::kAuto && o.model == Model::kSvm && x.device().is_cpu();
}

}  // namespace

Fit fit(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& train_mask,
        std::int64_t classes, const Options& o) {
  return fit_sets(x, y.unsqueeze(1), train_mask, classes, o);
}

Fit fit_sets(const torch::Tensor& x_in, const torch::Tensor& y_sets,
             const torch::Tensor& train_mask, std::int64_t classes, const Options& o) {
  torch::Tensor x = x_in.to(torch::kFloat64);
  torch::Tensor m = train_mask.to(torch::kFloat64).unsqueeze(2);  // [P, n, 1]
  torch::Tensor count = m.sum(1).clamp_min(1.0);                  // [P, 1]
  Fit f;
  torch::Tensor z = x;
  if (o.standardize) {
    f.mean = (x * m).sum(1) / count;
    torch::Tensor var = (((x - f.mean.unsqueeze(1)) * m).pow(2)).sum(1) / count;
    f.scale = var.sqrt().clamp_min(1e-12);
    z = (x - f.mean.unsqueeze(1)) / f.scale.unsqueeze(1);
  } else {
    f.mean = torch::zeros({x.size(0), x.size(2)}, x.options());
    f.scale = torch::ones({x.size(0), x.size(2)}, x.options());
  }
  const std::int64_t p = x.size(0), d = x.size(2), sets = y_sets.size(1);
  if (use_newton(o, x)) {
    z = z.contiguous();
    torch::Tensor labels = y_sets.to(torch::kLong).contiguous();  // [P, L, n]
    torch::Tensor mask = train_mask.to(torch::kBool).contiguous();
    const std::int64_t n = x.size(1);
    torch::Tensor w = torch::empty({p * sets, d + 1, classes}, torch::kFloat64);
    tbb::parallel_for(std::int64_t{0}, p, [&](std::int64_t q) {
      std::vector<std::int64_t> rows;
      const bool* m = mask.data_ptr<bool>() + q * n;
      for (std::int64_t i = 0; i < n; ++i) {
        if (m[i]) rows.push_back(i);
      }
      std::vector<const std::int64_t*> label_sets;
      for (std::int64_t l = 0; l < sets; ++l)
        label_sets.push_back(labels.data_ptr<std::int64_t>() + (q * sets + l) * n);
      svm_fit_rows(z.data_ptr<double>() + q * n * d, d, rows, label_sets, classes, o,
                   w.data_ptr<double>() + q * sets * (d + 1) * classes);
    });
    f.mean = f.mean.repeat_interleave(sets, 0);
    f.scale = f.scale.repeat_interleave(sets, 0);
    f.weight = w.narrow(1, 0, d).contiguous();
    f.bias = w.select(1, d).contiguous();
    return f;
  }
  if (sets > 1) {  // lbfgs: every label set is its own problem
    return fit_sets(x.repeat_interleave(sets, 0), y_sets.reshape({p * sets, 1, -1}),
                    train_mask.repeat_interleave(sets, 0), classes, o);
  }
  torch::Tensor y = y_sets.select(1, 0);
  const auto on =
      torch::TensorOptions(torch::kFloat64).device(x.device());  // lbfgs runs where x is
  torch::Tensor w = torch::zeros({p, d, classes}, on).requires_grad_(true);
  torch::Tensor b = torch::zeros({p, classes}, on).requires_grad_(true);
  torch::Tensor mask = train_mask.to(torch::kFloat64);
  torch::Tensor onehot =
      torch::one_hot(y.to(torch::kLong), classes).to(torch::kFloat64);  // [P, n, K]
  const double c = o.c;
  const bool svm = o.model == Model::kSvm;
  // Two-class logistic regression is scikit-learn's binary model: one weight
  // vector (class 0's scores fixed at 0), not a two-column softmax, whose L2
  // penalty would be halved.
  torch::Tensor column_mask = torch::ones({1, 1, classes}, torch::kFloat64);
  if (!svm && classes == 2) column_mask[0][0][0] = 0.0;
  column_mask = column_mask.to(x.device());
  auto objective = [&]() {
    torch::Tensor s =
        torch::bmm(z, w * column_mask) + b.unsqueeze(1) * column_mask.squeeze(0);  // [P, n, K]
    torch::Tensor loss;
    if (svm) {
      torch::Tensor sign = onehot * 2.0 - 1.0;
      torch::Tensor h = torch::relu(1.0 - sign * s).pow(2).sum(2);  // [P, n]
      loss = c * (h * mask).sum() + 0.5 * (w.pow(2).sum() + b.pow(2).sum());
    } else {
      torch::Tensor ce = -(torch::log_softmax(s, 2) * onehot).sum(2);  // [P, n]
      loss = (ce * mask).sum() + w.pow(2).sum() / (2.0 * c);
    }
    return loss;
  };
  torch::optim::LBFGS opt({w, b}, torch::optim::LBFGSOptions(1.0)
                                      .max_iter(o.max_iter)
                                      .tolerance_grad(1e-9)
                                      .tolerance_change(1e-12)
                                      .history_size(20)
                                      .line_search_fn("strong_wolfe"));
  opt.step([&] {
    opt.zero_grad();
    torch::Tensor loss = objective();
    loss.backward();
    return loss;
  });
  f.weight = (w * column_mask).detach();
  f.bias = (b * column_mask.squeeze(0)).detach();
  return f;
}

Fit fit_shared(const torch::Tensor& x_in, const torch::Tensor& y, std::int64_t classes,
               const Options& o) {
  torch::Tensor x = x_in.to(torch::kFloat64);
  const std::int64_t l = y.size(0), n = x.size(0), d = x.size(1);
  if (!use_newton(o, x)) {
    return fit(x.unsqueeze(0).expand({l, n, d}), y,
               torch::ones({l, n}, torch::TensorOptions(torch::kBool).device(x.device())), classes,
               o);
  }
  torch::Tensor mean = torch::zeros({d}, torch::kFloat64),
                scale = torch::ones({d}, torch::kFloat64);
  if (o.standardize) {
    mean = x.mean(0);
    scale = x.var(0, false).sqrt().clamp_min(1e-12);
  }
  torch::Tensor z = ((x - mean) / scale).contiguous();
  torch::Tensor labels = y.to(torch::kLong).contiguous();
  torch::Tensor w = torch::empty({l, d + 1, classes}, torch::kFloat64);
  std::vector<std::int64_t> rows(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) rows[i] = i;
  // One factorisation shared by every label set; label sets in parallel chunks.
  const std::int64_t chunk = std::max<std::int64_t>(1, (l + 1) / 2);
  tbb::parallel_for(std::int64_t{0}, (l + chunk - 1) / chunk, [&](std::int64_t part) {
    std::vector<const std::int64_t*> sets;
    for (std::int64_t q = part * chunk; q < std::min(l, (part + 1) * chunk); ++q)
      sets.push_back(labels.data_ptr<std::int64_t>() + q * n);
    svm_fit_rows(z.data_ptr<double>(), d, rows, sets, classes, o,
                 w.data_ptr<double>() + part * chunk * (d + 1) * classes);
  });
  Fit f;
  f.weight = w.narrow(1, 0, d).contiguous();
  f.bias = w.select(1, d).contiguous();
  f.mean = mean.unsqueeze(0).expand({l, d}).contiguous();
  f.scale = scale.unsqueeze(0).expand({l, d}).contiguous();
  return f;
}

torch::Tensor decision(const Fit& f, const torch::Tensor& x) {
  torch::Tensor z = (x.to(torch::kFloat64) - f.mean.unsqueeze(1)) / f.scale.unsqueeze(1);
  return torch::bmm(z, f.weight) + f.bias.unsqueeze(1);
}

torch::Tensor predict(const Fit& f, const torch::Tensor& x) { return decision(f, x).argmax(2); }

torch::Tensor predict_shared(const Fit& f, const torch::Tensor& x) {
  const std::int64_t p = f.weight.size(0), d = f.weight.size(1), k = f.weight.size(2);
  torch::Tensor w = f.weight / f.scale.unsqueeze(2);                         // [P, d, K]
  torch::Tensor b = f.bias - torch::bmm(f.mean.unsqueeze(1), w).squeeze(1);  // [P, K]
  torch::Tensor scores =
      torch::mm(x.to(torch::kFloat64), w.permute({1, 0, 2}).reshape({d, p * k}));  // [n, P*K]
  scores = scores.view({x.size(0), p, k}) + b.unsqueeze(0);
  return scores.argmax(2).t().contiguous();
}

namespace {
// Stratified dealing: each class's items are shuffled (seeded per class) and
// dealt to folds in turn, continuing where the previous class stopped, so
// fold sizes stay balanced. `items` names them in the error ("samples").
std::vector<std::int32_t> deal_stratified(const std::vector<std::int64_t>& labels, int k,
                                          std::uint64_t seed, const char* items) {
  std::map<std::int64_t, std::vector<std::size_t>> by_class;
  for (std::size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(i);
  std::vector<std::int32_t> folds(labels.size(), 0);
  int next = 0;
  for (auto& [label, rows] : by_class) {
    if (static_cast<int>(rows.size()) < k) {
      throw InputError("class " + std::to_string(label) + " has " + std::to_string(rows.size()) +
                       " " + items + ", fewer than the " + std::to_string(k) + " folds");
    }
    // Fisher-Yates with the project's counter-based generator: same folds everywhere.
    random::Rng rng(random::hash_combine(seed, static_cast<std::uint64_t>(label)));
    for (std::size_t i = rows.size(); i > 1; --i)
      std::swap(rows[i - 1], rows[static_cast<std::size_t>(rng.range(0, static_cast<int>(i) - 1))]);
    for (std::size_t j = 0; j < rows.size(); ++j)
      folds[rows[j]] = static_cast<std::int32_t>((next + j) % k);
    next = static_cast<int>((next + rows.size()) % k);
  }
  return folds;
}
}  // namespace

std::vector<std::int32_t> stratified_folds(const std::vector<std::int64_t>& labels, int k,
                                           std::uint64_t seed) {
  return deal_stratified(labels, k, seed, "samples");
}

std::vector<std::int32_t> grouped_folds(const std::vector<std::int64_t>& labels,
                                        const std::vector<std::int64_t>& groups, int k,
                                        std::uint64_t seed) {
  if (labels.size() != groups.size())
    throw Error("grouped_folds: labels and groups differ in length");
  std::map<std::int64_t, std::int64_t> label_of;  // group -> its label, groups ascending
  for (std::size_t i = 0; i < labels.size(); ++i) {
    auto [it, fresh] = label_of.emplace(groups[i], labels[i]);
    if (!fresh && it->second != labels[i]) {
      throw InputError("group " + std::to_string(groups[i]) + " carries two labels (" +
                       std::to_string(it->second) + " and " + std::to_string(labels[i]) +
                       "); grouped folds need one label per group");
    }
  }
  // The groups are dealt as stratified_folds deals samples; every sample
  // then takes its group's fold.
  std::vector<std::int64_t> group_ids, group_labels;
  for (const auto& [group, label] : label_of) {
    group_ids.push_back(group);
    group_labels.push_back(label);
  }
  const auto group_folds = deal_stratified(group_labels, k, seed, "distinct groups (images)");
  std::map<std::int64_t, std::int32_t> fold_of;
  for (std::size_t g = 0; g < group_ids.size(); ++g) fold_of[group_ids[g]] = group_folds[g];
  std::vector<std::int32_t> folds(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) folds[i] = fold_of.at(groups[i]);
  return folds;
}

torch::Tensor cross_validate(const torch::Tensor& x, const torch::Tensor& y,
                             const std::vector<std::int32_t>& folds, int k, std::int64_t classes,
                             const Options& o) {
  const std::int64_t p = x.size(0), n = x.size(1);
  torch::Tensor fold = torch::tensor(folds, torch::kInt32).to(x.device());
  // All (problem, fold) pairs in one batch: problem-major, k copies each.
  torch::Tensor xs = x.repeat_interleave(k, 0);
  torch::Tensor ys = y.repeat_interleave(k, 0);
  torch::Tensor which = torch::arange(k, torch::TensorOptions(torch::kInt32).device(x.device()))
                            .repeat({p})
                            .unsqueeze(1);  // [P*k, 1]
  torch::Tensor held_out = fold.unsqueeze(0).expand({p * k, n}).eq(which);
  Fit f = fit(xs, ys, held_out.logical_not(), classes, o);
  torch::Tensor correct =
      predict(f, xs).eq(ys.to(torch::kLong)).logical_and(held_out).sum(1).to(torch::kFloat64);
  return (correct / held_out.sum(1).to(torch::kFloat64)).view({p, k});
}

}  // namespace wmgeom::decoders
