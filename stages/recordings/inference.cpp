#include "recordings/inference.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "analyze/stats.h"

namespace wmgeom::recordings {

namespace {

double binomial(int n, int k) {
  double c = 1;
  for (int i = 1; i <= k; ++i) c = c * (n - k + i) / i;
  return c;
}

// Two-sided permutation test of mean(a) - mean(b): p and the smallest p the
// group sizes allow (a split and its mirror image give the same |difference|
// when the groups are the same size).
std::pair<double, double> group_test(const std::vector<double>& a, const std::vector<double>& b,
                                     std::int64_t limit, std::mt19937_64& rng) {
  std::vector<double> pooled = a;
  pooled.insert(pooled.end(), b.begin(), b.end());
  const int n = static_cast<int>(pooled.size()), na = static_cast<int>(a.size());
  const double total = std::accumulate(pooled.begin(), pooled.end(), 0.0);
  auto stat = [&](double sum_a) { return std::abs(sum_a / na - (total - sum_a) / (n - na)); };
  // At least as extreme, up to rounding.
  const double observed = stat(std::accumulate(a.begin(), a.end(), 0.0)) * (1 - 1e-12);
  const double splits = binomial(n, na);
  double min_p = (2 * na == n ? 2.0 : 1.0) / splits;
  if (splits <= static_cast<double>(limit)) {
    std::vector<char> pick(static_cast<std::size_t>(n), 0);
    std::fill(pick.begin(), pick.begin() + na, 1);
    std::int64_t hits = 0, all = 0;
    do {
      double sum = 0;
      for (int i = 0; i < n; ++i)
        if (pick[static_cast<std::size_t>(i)]) sum += pooled[static_cast<std::size_t>(i)];
      hits += stat(sum) >= observed;
      ++all;
    } while (std::prev_permutation(pick.begin(), pick.end()));
    return {static_cast<double>(hits) / static_cast<double>(all), min_p};
  }
  std::int64_t hits = 0;
  for (std::int64_t d = 0; d < limit; ++d) {
    std::shuffle(pooled.begin(), pooled.end(), rng);
    hits += stat(std::accumulate(pooled.begin(), pooled.begin() + na, 0.0)) >= observed;
  }
  min_p = std::max(min_p, 1.0 / static_cast<double>(1 + limit));
  return {static_cast<double>(1 + hits) / static_cast<double>(1 + limit), min_p};
}

double bootstrap_p(const std::vector<double>& draws) {
  double le = 1, ge = 1;
  for (double d : draws) {
    le += d <= 0;
    ge += d >= 0;
  }
  return std::min(1.0, 2 * std::min(le, ge) / static_cast<double>(draws.size() + 1));
}

}  // namespace

Units Units::of(const std::vector<std::string>& labels) {
  Units u;
  for (std::size_t m = 0; m < labels.size(); ++m) {
    const auto it = std::find(u.names.begin(), u.names.end(), labels[m]);
    if (it == u.names.end()) {
      u.names.push_back(labels[m]);
      u.members.push_back({m});
    } else {
      u.members[static_cast<std::size_t>(it - u.names.begin())].push_back(m);
    }
  }
  return u;
}

double model_score(Comparison c, const std::vector<Vector>& views,
                   const std::vector<Vector>& subjects, const PairSet& pairs) {
  double sum = 0;
  for (const auto& v : views) sum += score(c, v, subjects, pairs);
  return sum / static_cast<double>(views.size());
}

Draws bootstrap(Comparison c, const std::vector<std::vector<Vector>>& model_rdms,
                const std::vector<Vector>& subjects, const Units& units, std::int64_t resamples,
                std::uint64_t seed, bool ceilings, const std::function<void(std::int64_t)>& each) {
  const int k = static_cast<int>(
      std::lround((1 + std::sqrt(1 + 8.0 * static_cast<double>(subjects.front().size()))) / 2));
  const auto b_count = static_cast<std::size_t>(resamples);
  Draws d;
  d.unit.assign(units.names.size(), std::vector<double>(b_count));
  if (ceilings) d.ceiling.assign(4, std::vector<double>(b_count));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> pick(0, k - 1);
  std::vector<double> model_b(model_rdms.size());
  std::vector<int> drawn(static_cast<std::size_t>(k));
  for (std::size_t b = 0; b < b_count; ++b) {
    for (auto& x : drawn) x = pick(rng);
    const PairSet ps = PairSet::sample(drawn, k);
    std::vector<Vector> subj;
    for (const auto& r : subjects) subj.push_back(take(r, ps));
    if (ceilings) {
      for (int ci = 0; ci < 2; ++ci) {
        const auto cc = ci == 0 ? Comparison::kSpearman : Comparison::kWhitenedCosine;
        const Ceiling ceil = noise_ceiling(cc, subj, ps);
        d.ceiling[static_cast<std::size_t>(2 * ci)][b] = ceil.lower;
        d.ceiling[static_cast<std::size_t>(2 * ci + 1)][b] = ceil.upper;
      }
    }
    // Spearman: every vector ranked once per resample (not once per pair).
    const bool ranked = c == Comparison::kSpearman;
    std::vector<Vector> subj_ranks;
    if (ranked)
      for (const auto& v : subj) subj_ranks.push_back(ranks(v));
    for (std::size_t m = 0; m < model_rdms.size(); ++m) {
      double sum = 0;
      for (const auto& v : model_rdms[m]) {
        const Vector view = take(v, ps);
        if (ranked) {
          const Vector r = ranks(view);
          double s = 0;
          for (const auto& sr : subj_ranks) s += pearson(r, sr);
          sum += s / static_cast<double>(subj_ranks.size());
        } else {
          sum += score(c, view, subj, ps);
        }
      }
      model_b[m] = sum / static_cast<double>(model_rdms[m].size());
    }
    for (std::size_t u = 0; u < units.names.size(); ++u) {
      const auto& mem = units.members[u];
      double plain = 0;
      for (auto m : mem) plain += model_b[m];
      const double n = static_cast<double>(mem.size());
      if (mem.size() == 1) {
        d.unit[u][b] = plain;
        continue;
      }
      std::uniform_int_distribution<std::size_t> which(0, mem.size() - 1);
      double resampled = 0;
      for (std::size_t i = 0; i < mem.size(); ++i) resampled += model_b[mem[which(rng)]];
      d.unit[u][b] = plain / n + std::sqrt(n / (n - 1)) * (resampled - plain) / n;
    }
    if (each) each(static_cast<std::int64_t>(b + 1));
  }
  return d;
}

std::vector<double> unit_scores(const std::vector<double>& scores, const Units& units) {
  std::vector<double> out;
  for (const auto& mem : units.members) {
    double sum = 0;
    for (auto m : mem) sum += scores[m];
    out.push_back(sum / static_cast<double>(mem.size()));
  }
  return out;
}

std::vector<double> holm(const std::vector<double>& p) {
  std::vector<std::size_t> order(p.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return p[a] < p[b]; });
  std::vector<double> out(p.size());
  double running = 0;
  for (std::size_t r = 0; r < order.size(); ++r) {
    running = std::max(running, std::min(1.0, static_cast<double>(p.size() - r) * p[order[r]]));
    out[order[r]] = running;
  }
  return out;
}

Closest test_closest(const std::vector<double>& scores, const Units& units, const Draws& draws,
                     bool by_model, std::int64_t permutations, std::uint64_t seed, double alpha) {
  namespace stats = analyze::stats;
  const std::vector<double> u = unit_scores(scores, units);
  Closest out;
  out.best = static_cast<std::size_t>(std::max_element(u.begin(), u.end()) - u.begin());
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  std::vector<double> raw;
  double floor = 0;
  for (std::size_t o = 0; o < u.size(); ++o) {
    if (o == out.best) continue;
    PairTest t;
    t.other = o;
    t.difference = u[out.best] - u[o];
    std::vector<double> d(draws.unit[o].size());
    for (std::size_t b = 0; b < d.size(); ++b) d[b] = draws.unit[out.best][b] - draws.unit[o][b];
    t.ci_lo = stats::quantile(d, alpha / 2);
    t.ci_hi = stats::quantile(d, 1 - alpha / 2);
    if (by_model) {
      t.p = bootstrap_p(d);
      t.min_p = 2.0 / static_cast<double>(d.size() + 1);
    } else {
      std::vector<double> a, b;
      for (auto m : units.members[out.best]) a.push_back(scores[m]);
      for (auto m : units.members[o]) b.push_back(scores[m]);
      std::tie(t.p, t.min_p) = group_test(a, b, permutations, rng);
    }
    floor = std::max(floor, t.min_p);
    raw.push_back(t.p);
    out.pairs.push_back(t);
  }
  const std::vector<double> adjusted = holm(raw);
  for (std::size_t i = 0; i < out.pairs.size(); ++i) out.pairs[i].p_holm = adjusted[i];
  if (out.pairs.empty()) return out;
  out.p = *std::max_element(adjusted.begin(), adjusted.end());
  // Holm multiplies the smallest p by the number of comparisons.
  out.testable = floor * static_cast<double>(raw.size()) < alpha;
  out.held = out.testable && out.p < alpha;
  return out;
}

}  // namespace wmgeom::recordings
