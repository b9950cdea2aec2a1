// Geometry beyond the cross-validated families and the orthogonalisation
// indices (orthogonality.cpp): RSA / linear CKA with permutation p-values
// over conditions, and dimensionality with bootstrap intervals.
#include <cmath>
#include <mutex>
#include <numeric>

#include <tbb/parallel_for.h>
#include <Eigen/Dense>

#include "analyze/analyses.h"
#include "analyze/participation.h"
#include "core/random.h"
#include "nets/torch_util.h"

namespace wmgeom::analyze {

namespace {

// Linear CKA of x [n, dx] and y [n, dy] (rows: the same items):
// ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F) after centring, computed from the
// centred Gram matrices <Kx, Ky> / (||Kx|| ||Ky||); NaN for a constant space.
double linear_cka(const torch::Tensor& kx, const torch::Tensor& ky) {
  double xx = kx.norm().item<double>(), yy = ky.norm().item<double>();
  if (xx == 0 || yy == 0) return std::nan("");
  return (kx * ky).sum().item<double>() / (xx * yy);
}

torch::Tensor centred_gram(torch::Tensor x) {
  x = x.to(torch::kFloat64);
  x = x - x.mean(0, true);
  return torch::mm(x, x.t());
}

// Trial-level linear CKA (descriptive): through the smaller Gram side.
double trial_cka(torch::Tensor x, torch::Tensor y) {
  x = x.to(torch::kFloat64);
  y = y.to(torch::kFloat64);
  x = x - x.mean(0, true);
  y = y - y.mean(0, true);
  auto self = [](const torch::Tensor& m) {
    return (m.size(0) < m.size(1) ? torch::mm(m, m.t()) : torch::mm(m.t(), m))
        .norm()
        .item<double>();
  };
  double xx = self(x), yy = self(y);
  if (xx == 0 || yy == 0) return std::nan("");
  return torch::mm(y.t(), x).pow(2).sum().item<double>() / (xx * yy);
}

// Upper triangle of the correlation-distance RDM of condition means [C, d].
std::vector<double> rdm(const torch::Tensor& means) {
  torch::Tensor c = means.to(torch::kFloat64);
  c = c - c.mean(1, true);
  c = c / c.norm(2, 1, true).clamp_min(1e-300);
  torch::Tensor d = (1.0 - torch::mm(c, c.t())).contiguous();
  std::vector<double> out;
  auto a = d.accessor<double, 2>();
  for (std::int64_t i = 0; i < d.size(0); ++i) {
    for (std::int64_t j = i + 1; j < d.size(0); ++j) out.push_back(a[i][j]);
  }
  return out;
}

// The upper triangle `upper` of a symmetric [C, C] matrix with rows and
// columns permuted, into `out`.
void permute_upper(const std::vector<double>& upper, std::int64_t c,
                   const std::vector<std::int64_t>& perm, std::vector<double>& out) {
  auto at = [&](std::int64_t i, std::int64_t j) {  // index of (i, j), i != j, in the upper triangle
    if (i > j) std::swap(i, j);
    return static_cast<std::size_t>(i * c - i * (i + 1) / 2 + (j - i - 1));
  };
  std::size_t k = 0;
  for (std::int64_t i = 0; i < c; ++i) {
    for (std::int64_t j = i + 1; j < c; ++j) out[k++] = upper[at(perm[i], perm[j])];
  }
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Ranks (ties share their mean rank), centred on their mean.
std::vector<double> centred_ranks(const std::vector<double>& v) {
  std::vector<double> r = stats::ranks(v);
  const double m = stats::mean(r);
  for (double& x : r) x -= m;
  return r;
}

// Condition means of x [n, d] per condition id [n] (only conditions present).
torch::Tensor condition_means(const torch::Tensor& x, const torch::Tensor& cond,
                              std::int64_t conditions) {
  torch::Tensor sums = torch::zeros({conditions, x.size(1)}, torch::kFloat64)
                           .index_add_(0, cond, x.to(torch::kFloat64));
  torch::Tensor counts = torch::bincount(cond, {}, conditions).to(torch::kFloat64);
  torch::Tensor present = counts.gt(0).nonzero().squeeze(1);
  return sums.index_select(0, present) / counts.index_select(0, present).unsqueeze(1);
}

}  // namespace

void rsa(const ModelData& m, const Settings& s, Tables& tables) {
  // Conditions: the stimulus's (identity, location), the finest labels we have
  // (identity implies category). Tests run over conditions, not trials:
  // trials that share a stimulus are not independent.
  auto condition = [&](int frame) {
    torch::Tensor c = torch::zeros({m.states.size(0)}, torch::kLong);
    std::int64_t total = 1;
    for (const std::string f : {"id", "cat", "loc"}) {
      if (m.labels.count(f) == 0) continue;
      c = c * s.classes.at(f) + m.labels.at(f).select(1, frame);
      total *= s.classes.at(f);
    }
    return std::make_pair(c, total);
  };
  const std::string rnn_space = choice_name(kSpaces, s.space);
  const std::int64_t frames = m.frames();
  auto add = [&](const std::string& space_a, int fa, const torch::Tensor& a,
                 const std::string& space_b, int fb, const torch::Tensor& b, Tables& tables) {
    auto [cond, total] = condition(fa);
    torch::Tensor ma = condition_means(a, cond, total), mb = condition_means(b, cond, total);
    const std::int64_t c = ma.size(0);
    std::vector<double> ra = rdm(ma), rb = rdm(mb);
    torch::Tensor ka = centred_gram(ma).contiguous(), kb = centred_gram(mb).contiguous();
    const double cka = linear_cka(ka, kb), rho = stats::spearman(ra, rb);
    // Permutation nulls: the conditions of space b relabelled. Ranks commute
    // with permutations, so Spearman's rho of a permuted RDM is the Pearson
    // correlation of permuted ranks, and CKA's numerator a permuted inner
    // product: each permutation costs O(C^2), no sorting, no allocation.
    const std::vector<double> rank_a = centred_ranks(ra), rank_b = centred_ranks(rb);
    const double rank_norm = std::sqrt(dot(rank_a, rank_a) * dot(rank_b, rank_b));
    const double* pa = ka.data_ptr<double>();
    const double* pb = kb.data_ptr<double>();
    const double ka_norm = ka.norm().item<double>(), kb_norm = kb.norm().item<double>();
    std::vector<double> cka_null, rho_null;
    random::Rng rng(
        m.own_seed(random::hash_combine(s.seed, random::hash_string(space_a + space_b) +
                                                    static_cast<std::uint64_t>(fa * 97 + fb))));
    std::vector<std::int64_t> perm(static_cast<std::size_t>(c));
    std::vector<double> permuted(rank_b.size());
    for (int r = 0; r < s.rsa_permutations; ++r) {
      std::iota(perm.begin(), perm.end(), 0);
      for (std::int64_t i = c; i > 1; --i)
        std::swap(perm[i - 1], perm[rng.range(0, static_cast<int>(i) - 1)]);
      double inner = 0;
      for (std::int64_t i = 0; i < c; ++i) {
        for (std::int64_t j = 0; j < c; ++j) inner += pa[i * c + j] * pb[perm[i] * c + perm[j]];
      }
      cka_null.push_back(ka_norm == 0 || kb_norm == 0 ? std::nan("") : inner / (ka_norm * kb_norm));
      permute_upper(rank_b, c, perm, permuted);
      rho_null.push_back(rank_norm == 0 ? std::nan("") : dot(rank_a, permuted) / rank_norm);
    }
    Row row = model_columns(m);
    row.insert(row.end(),
               {{"space_a", space_a},
                {"frame_a", double(fa)},
                {"space_b", space_b},
                {"frame_b", double(fb)},
                {"cka", cka},
                {"cka_null_mean", mean(cka_null)},
                {"cka_p", stats::permutation_p(cka, cka_null, stats::Alternative::kGreater)},
                {"rdm_spearman", rho},
                {"rdm_spearman_null_mean", mean(rho_null)},
                {"rdm_p", stats::permutation_p(rho, rho_null, stats::Alternative::kGreater)},
                {"cka_trials", trial_cka(a, b)},
                {"permutations", double(s.rsa_permutations)},
                {"conditions", double(c)}});
    tables["rsa"].add(std::move(row));
  };
  // Pairs (space a, frame a, space b, frame b), in parallel, rows in this order.
  std::vector<std::tuple<std::string, int, std::string, int>> pairs;
  for (int t = 0; t < frames; ++t) {
    if (m.perceptual.defined()) pairs.emplace_back("perceptual", t, rnn_space, t);
    if (m.embedding.defined()) pairs.emplace_back("embedding", t, rnn_space, t);
  }
  for (int a = 0; a < frames; ++a) {
    for (int b = a; b < frames; ++b) pairs.emplace_back(rnn_space, a, rnn_space, b);
  }
  auto space_of = [&](const std::string& name) -> const torch::Tensor& {
    return name == "perceptual" ? m.perceptual : name == "embedding" ? m.embedding : m.states;
  };
  for_each_unit(
      pairs.size(),
      [&](std::size_t i, Tables& out) {
        const auto& [sa, fa, sb, fb] = pairs[i];
        add(sa, fa, space_of(sa).select(1, fa), sb, fb, space_of(sb).select(1, fb), out);
      },
      tables);
}

void dimensionality(const ModelData& m, const Settings& s, Tables& tables) {
  std::vector<std::pair<std::string, torch::Tensor>> spaces{
      {choice_name(kSpaces, s.space), m.states}};
  if (m.perceptual.defined()) spaces.emplace_back("perceptual", m.perceptual);
  if (m.embedding.defined()) spaces.emplace_back("embedding", m.embedding);
  std::vector<std::pair<std::string, torch::Tensor>> groups{
      {"all", torch::arange(m.states.size(0), torch::kLong)}};
  for (std::size_t k = 0; k < m.tasks.size(); ++k)
    groups.emplace_back(m.tasks[k].name, m.rows_of_task(k));
  std::vector<std::tuple<std::size_t, std::size_t, int>>
      units;  // (space, group, frame), rows in this order
  for (std::size_t a = 0; a < spaces.size(); ++a) {
    for (std::size_t g = 0; g < groups.size(); ++g) {
      for (int t = 0; t < m.frames(); ++t) units.emplace_back(a, g, t);
    }
  }
  for_each_unit(
      units.size(),
      [&](std::size_t u, Tables& out) {
        const auto& [space_index, group_index, t] = units[u];
        const auto& [space, data] = spaces[space_index];
        const auto& [group, rows] = groups[group_index];
        // The frame first, then the rows: only one frame's values are copied
        // (the whole [rows, T, 2048] block was, for every frame).
        torch::Tensor x = data.select(1, t).index_select(0, rows).to(torch::kFloat64);
        const std::int64_t n = x.size(0);
        // Identical rows (perceptual vectors of a repeated image) collapse to
        // one row with their count as weight: the bootstrap then costs
        // nothing extra for them.
        auto [unique, inverse, counts] = torch::unique_dim(x, 0, true, true, true);
        const bool collapse = unique.size(0) * 2 <= n;
        torch::Tensor xs = collapse ? unique : x;
        torch::Tensor base =
            collapse ? counts.to(torch::kFloat64) : torch::ones({n}, torch::kFloat64);
        torch::Tensor gram = torch::mm(xs, xs.t()).contiguous();
        ParticipationRatio ratio(
            Eigen::Map<const Eigen::MatrixXd>(gram.data_ptr<double>(), gram.size(0), gram.size(1)));
        Eigen::VectorXd base_w =
            Eigen::Map<const Eigen::VectorXd>(base.contiguous().data_ptr<double>(), base.size(0));
        const double pr = ratio(base_w);
        // Bootstrap over images: trials that show one image at frame t share
        // it (and their states are near-twins), so the unit resampled is the
        // image: each draw picks as many images as there are, with
        // replacement, and takes all trials of each drawn image together.
        torch::Tensor inv = inverse.contiguous();
        const std::int64_t* inv_p = inv.data_ptr<std::int64_t>();
        auto [images, image_of] =
            at::_unique(m.stimulus.index_select(0, rows).select(1, t).contiguous(), true, true);
        image_of = image_of.contiguous();
        const std::int64_t* image_p = image_of.data_ptr<std::int64_t>();
        const std::int64_t n_images = images.size(0);
        // Per image: the rows of xs its trials add weight to, with their counts.
        std::vector<std::map<std::int64_t, double>> image_rows(static_cast<std::size_t>(n_images));
        for (std::int64_t i = 0; i < n; ++i) image_rows[image_p[i]][collapse ? inv_p[i] : i] += 1.0;
        random::Rng rng(random::hash_combine(s.seed, random::hash_string(space + "/" + group)) +
                        static_cast<std::uint64_t>(t));
        // The draws' weights, one row each, a block at a time (its memory
        // bounded whatever the number of draws), and their ratios together.
        std::vector<double> boot;
        boot.reserve(static_cast<std::size_t>(s.bootstrap));
        ParticipationRatio::Draws draws;
        for (int start = 0; start < s.bootstrap; start += ParticipationRatio::kBlock) {
          const int block = std::min<int>(ParticipationRatio::kBlock, s.bootstrap - start);
          draws.setZero(block, xs.size(0));
          for (int b = 0; b < block; ++b) {
            for (std::int64_t j = 0; j < n_images; ++j) {
              const std::int64_t pick = rng.range(0, static_cast<int>(n_images) - 1);
              for (const auto& [row, count] : image_rows[pick]) draws(b, row) += count;
            }
          }
          for (double r : ratio(draws)) boot.push_back(r);
        }
        Row row = model_columns(m);
        row.insert(row.end(), {{"space", space},
                               {"task", group},
                               {"frame", double(t)},
                               {"participation_ratio", pr},
                               // Basic (pivotal) bootstrap over images: resampling duplicates
                               // images, which biases the ratio down; reflecting the percentiles
                               // about the estimate corrects for it.
                               {"ci_lo", 2 * pr - stats::quantile(boot, 0.975)},
                               {"ci_hi", 2 * pr - stats::quantile(boot, 0.025)},
                               {"bootstrap", double(boot.size())},
                               {"images", double(n_images)},
                               {"dims", double(std::min(n - 1, x.size(1)))},
                               {"n", double(n)}});
        out["dimensionality"].add(std::move(row));
      },
      tables);
}

}  // namespace wmgeom::analyze
