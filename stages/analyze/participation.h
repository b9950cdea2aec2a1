// The participation ratio of weighted rows, for the dimensionality
// analysis's image bootstrap (geometry.cpp): (sum l)^2 / sum l^2 of the
// eigenvalues l of the weighted covariance of rows x_i with weights w_i
// (bootstrap counts), i.e. tr(C)^2 / ||C||_F^2, from the raw Gram matrix
// G = X X^T [u, u] alone. With the rows centred on the weighted mean,
// Gc_ij = G_ij - a_i - a_j + b (g = G w, s = sum w, a = g / s,
// b = w.g / s^2), and ||C||_F^2 = sum_ij w_i w_j Gc_ij^2 expands into two
// products with w: G w and H w, H = G o G precomputed. O(u^2) per draw and
// no u x u temporary.
//
// A bootstrap's draws are independent, so they are taken together: the
// draws [B, u] as one matrix, G W^T and H W^T are two matrix products, which
// read G and H once per block of draws instead of once per draw (per draw
// they are matrix-vector products, bound by memory: at u = 2,304 each draw
// read 85 MB). bench_analyze.cpp's BM_ParticipationRatio measures both.
#pragma once

#include <algorithm>
#include <vector>

#include <Eigen/Dense>

namespace wmgeom::analyze {

class ParticipationRatio {
 public:
  // Draws taken together per matrix product: fixed, so that a ratio does
  // not depend on how many draws there are.
  static constexpr Eigen::Index kBlock = 64;
  using Draws = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  // From the Gram matrix X X^T of the rows (symmetric, [u, u]).
  explicit ParticipationRatio(Eigen::MatrixXd gram) : g_(std::move(gram)) {
    h_ = g_.cwiseProduct(g_);
    diag_ = g_.diagonal();
  }

  Eigen::Index rows() const { return g_.rows(); }

  // The ratio under weights w [u].
  double operator()(const Eigen::VectorXd& w) const {
    const Eigen::VectorXd gw = g_ * w, hw = h_ * w;
    return ratio(w, gw, hw);
  }

  // One ratio per row of draws [B, u] (row-major: one draw per row), in
  // blocks of kBlock draws: G and H are symmetric, so (G W^T)^T = W G.
  std::vector<double> operator()(const Draws& draws) const {
    std::vector<double> out;
    out.reserve(static_cast<std::size_t>(draws.rows()));
    Eigen::MatrixXd gw, hw;
    for (Eigen::Index start = 0; start < draws.rows(); start += kBlock) {
      const Eigen::Index n = std::min(kBlock, draws.rows() - start);
      const auto block = draws.middleRows(start, n);
      gw.noalias() = g_ * block.transpose();
      hw.noalias() = h_ * block.transpose();
      for (Eigen::Index b = 0; b < n; ++b)
        out.push_back(ratio(block.row(b).transpose(), gw.col(b), hw.col(b)));
    }
    return out;
  }

 private:
  using Ref = Eigen::Ref<const Eigen::VectorXd>;
  double ratio(const Ref& w, const Ref& gw, const Ref& hw) const {
    const double s = w.sum();
    const Eigen::VectorXd a = gw / s;
    const double wa = w.dot(a), wg = w.dot(gw), b = wg / (s * s);
    const double wa2 = w.dot(a.cwiseProduct(a)), wag = w.dot(a.cwiseProduct(gw));
    const double fro2 = w.dot(hw) + 2 * s * wa2 + 2 * wa * wa + b * b * s * s - 4 * wag +
                        2 * b * wg - 4 * b * s * wa;
    const double tr = w.dot(diag_) - 2 * wa + b * s;
    return fro2 <= 0 ? 0.0 : tr * tr / fro2;
  }

  Eigen::MatrixXd g_, h_;
  Eigen::VectorXd diag_;
};

}  // namespace wmgeom::analyze
