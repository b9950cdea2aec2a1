// Table building and small statistics shared by the analyses.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "analyze/analyses.h"
#include "core/error.h"

namespace wmgeom::analyze {

TableBuilder& TableBuilder::add(std::vector<std::pair<std::string, Cell>> row) {
  if (!rows_.empty() && row.size() != rows_.front().size()) throw Error("analyze: a table row has another shape");
  rows_.push_back(std::move(row));
  return *this;
}

Table TableBuilder::build() const {
  Table t;
  if (rows_.empty()) return t;
  for (std::size_t c = 0; c < rows_.front().size(); ++c) {
    const auto& [name, first] = rows_.front()[c];
    if (std::holds_alternative<double>(first)) {
      std::vector<double> v;
      v.reserve(rows_.size());
      for (const auto& r : rows_) v.push_back(std::get<double>(r[c].second));
      t.add(name, std::move(v));
    } else {
      std::vector<std::string> v;
      v.reserve(rows_.size());
      for (const auto& r : rows_) v.push_back(std::get<std::string>(r[c].second));
      t.add(name, std::move(v));
    }
  }
  return t;
}

double mean(const std::vector<double>& v) {
  return v.empty() ? std::nan("") : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double sd(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  double m = mean(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

namespace {

// Continued fraction of the regularised incomplete beta function (Lentz).
double beta_cf(double a, double b, double x) {
  const double tiny = 1e-300;
  double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::abs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 300; ++m) {
    double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 + aa * d;
    if (std::abs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 + aa * d;
    if (std::abs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1.0 / d;
    double del = d * c;
    h *= del;
    if (std::abs(del - 1.0) < 1e-15) break;
  }
  return h;
}

double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_cf(a, b, x) / a;
  return 1.0 - front * beta_cf(b, a, 1.0 - x) / b;
}

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<std::size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < idx.size();) {
    std::size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    double avg = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;  // ties share their mean rank
    for (std::size_t q = i; q <= j; ++q) r[idx[q]] = avg;
    i = j + 1;
  }
  return r;
}

}  // namespace

double student_t_two_sided_p(double t, double df) {
  if (!std::isfinite(t)) return std::isnan(t) ? std::nan("") : 0.0;
  return incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
}

TTest welch_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  TTest r;
  if (a.size() < 2 || b.size() < 2) {
    r.t = r.df = r.p = std::nan("");
    return r;
  }
  double va = sd(a) * sd(a) / static_cast<double>(a.size()), vb = sd(b) * sd(b) / static_cast<double>(b.size());
  double se = std::sqrt(va + vb);
  if (se == 0) {
    r.t = mean(a) == mean(b) ? 0.0 : std::copysign(INFINITY, mean(a) - mean(b));
    r.df = static_cast<double>(a.size() + b.size() - 2);
    r.p = mean(a) == mean(b) ? 1.0 : 0.0;
    return r;
  }
  r.t = (mean(a) - mean(b)) / se;
  r.df = (va + vb) * (va + vb) /
         (va * va / static_cast<double>(a.size() - 1) + vb * vb / static_cast<double>(b.size() - 1));
  r.p = student_t_two_sided_p(r.t, r.df);
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
  return saa == 0 || sbb == 0 ? std::nan("") : sab / std::sqrt(saa * sbb);
}

double orthogonality_index(const torch::Tensor& normals) {
  torch::Tensor n = torch::nn::functional::normalize(normals.to(torch::kFloat64),
                                                     torch::nn::functional::NormalizeFuncOptions().dim(1));
  torch::Tensor cos = torch::mm(n, n.t()).abs();
  const std::int64_t k = n.size(0);
  if (k < 2) return std::nan("");
  double sum = 0;
  auto c = cos.accessor<double, 2>();
  for (std::int64_t i = 0; i < k; ++i) {
    for (std::int64_t j = i + 1; j < k; ++j) sum += 1.0 - std::min(1.0, c[i][j]);
  }
  return sum / static_cast<double>(k * (k - 1) / 2);
}

Row model_columns(const ModelData& m) { return {{"model", m.name}, {"rnn", m.rnn}, {"regime", m.regime}}; }

torch::Tensor ModelData::rows_of_task(std::size_t k) const {
  return task.eq(static_cast<std::int64_t>(k)).nonzero().squeeze(1);
}

}  // namespace wmgeom::analyze
