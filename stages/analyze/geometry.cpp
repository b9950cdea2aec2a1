// Geometry without cross-validation: orthogonalisation indices with their
// nulls and t-tests, RSA / linear CKA, and dimensionality.
#include <cmath>

#include "analyze/analyses.h"
#include "core/random.h"
#include "nets/torch_util.h"

namespace wmgeom::analyze {

namespace {

torch::Tensor shuffled(const torch::Tensor& y, std::uint64_t seed) {
  torch::Tensor out = y.clone().contiguous();
  auto* v = out.data_ptr<std::int64_t>();
  random::Rng rng(seed);
  for (std::int64_t i = out.numel(); i > 1; --i) std::swap(v[i - 1], v[rng.range(0, static_cast<int>(i) - 1)]);
  return out;
}

// Mean index of `k` independent random unit directions in R^d over `draws`.
double random_direction_null(std::int64_t k, std::int64_t d, int draws, std::uint64_t seed) {
  at::Generator gen = nets::make_generator(random::hash_combine(seed, static_cast<std::uint64_t>(k * 1000003 + d)));
  torch::Tensor v = at::randn({draws, k, d}, gen, torch::kFloat64);
  v = v / v.norm(2, 2, true);
  torch::Tensor cos = torch::bmm(v, v.transpose(1, 2)).abs();
  torch::Tensor upper = torch::triu(torch::ones({k, k}, torch::kBool), 1);
  return (1.0 - cos.masked_select(upper.unsqueeze(0).expand({draws, k, k}))).mean().item<double>();
}

}  // namespace

void orthogonality(const ModelData& m, const Settings& s, Tables& tables) {
  std::map<std::pair<std::int64_t, std::int64_t>, double> random_null;
  // (feature, space) -> the indices over (task, frame), for the t-tests.
  std::map<std::pair<std::string, std::string>, std::vector<double>> values, normalised;
  decoders::Options o = s.options;
  o.model = "svm";  // one-vs-rest normals
  for (std::size_t k = 0; k < m.tasks.size(); ++k) {
    torch::Tensor rows = m.rows_of_task(k);
    const std::int64_t n = rows.size(0);
    for (const auto& feature : s.features) {
      for (int stim : s.frames) {
        torch::Tensor y = m.labels.at(feature).index_select(0, rows).select(1, stim).contiguous();
        torch::Tensor present = torch::bincount(y, {}, s.classes.at(feature)).gt(0).nonzero().squeeze(1);
        const std::int64_t classes = present.size(0);
        if (classes < 2) continue;
        const std::uint64_t seed = random::hash_combine(s.seed, random::hash_string(m.tasks[k].name + "/" + feature + "/o")) + stim;
        std::vector<torch::Tensor> ys{y};
        for (int i = 0; i < s.null_shuffles; ++i) ys.push_back(shuffled(y, random::hash_combine(seed, i)));
        torch::Tensor yb = torch::stack(ys);
        const std::int64_t p = yb.size(0);
        for (const std::string space : {"perceptual", "rnn"}) {
          const torch::Tensor& source = space == "rnn" ? m.states : m.perceptual;
          if (!source.defined()) continue;
          torch::Tensor x = source.index_select(0, rows).select(1, stim).to(torch::kFloat64);
          auto fit = decoders::fit_shared(x.to(s.device), yb.to(s.device), s.classes.at(feature), o);
          fit = {fit.weight.cpu(), fit.bias.cpu(), fit.mean.cpu(), fit.scale.cpu()};
          // Unit normals in the space's own units: w / scale, one row per class present.
          torch::Tensor normals = (fit.weight / fit.scale.unsqueeze(2)).transpose(1, 2).index_select(1, present);
          double index = orthogonality_index(normals[0]);
          std::vector<double> null;
          for (std::int64_t i = 1; i < p; ++i) null.push_back(orthogonality_index(normals[i]));
          auto key = std::make_pair(classes, x.size(1));
          if (random_null.count(key) == 0) {
            random_null[key] = random_direction_null(classes, x.size(1), s.random_directions, s.seed);
          }
          double rnd = random_null[key];
          values[{feature, space}].push_back(index);
          normalised[{feature, space}].push_back(index / rnd);
          Row row = model_columns(m);
          row.insert(row.end(), {{"task", m.tasks[k].name},
                                 {"feature", feature},
                                 {"stim_frame", double(stim)},
                                 {"space", space},
                                 {"index", index},
                                 {"null_shuffle_mean", null.empty() ? std::nan("") : mean(null)},
                                 {"null_shuffle_sd", null.empty() ? std::nan("") : sd(null)},
                                 {"null_random_mean", rnd},
                                 {"normalised", index / rnd},
                                 {"classes", double(classes)},
                                 {"dims", double(x.size(1))},
                                 {"n", double(n)}});
          tables["orthogonality"].add(std::move(row));
        }
      }
    }
  }
  for (const auto& feature : s.features) {
    const auto& rnn = values[{feature, "rnn"}];
    const auto& perc = values[{feature, "perceptual"}];
    if (rnn.empty() || perc.empty()) continue;
    TTest t = welch_t_test(rnn, perc);
    Row row = model_columns(m);
    row.insert(row.end(), {{"feature", feature},
                           {"mean_rnn", mean(rnn)},
                           {"mean_perceptual", mean(perc)},
                           {"mean_rnn_normalised", mean(normalised[{feature, "rnn"}])},
                           {"mean_perceptual_normalised", mean(normalised[{feature, "perceptual"}])},
                           {"t", t.t},
                           {"df", t.df},
                           {"p", t.p},
                           {"n_rnn", double(rnn.size())},
                           {"n_perceptual", double(perc.size())}});
    tables["orthogonality_test"].add(std::move(row));
  }
}

namespace {

// Linear CKA of x [n, dx] and y [n, dy] (rows: the same trials), and of x
// with y's rows permuted (the null): ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F),
// the self-similarities computed once for both.
std::pair<double, double> linear_cka(torch::Tensor x, torch::Tensor y, const torch::Tensor& permutation) {
  x = x.to(torch::kFloat64);
  y = y.to(torch::kFloat64);
  x = x - x.mean(0, true);
  y = y - y.mean(0, true);
  auto self = [](const torch::Tensor& m) {  // ||M^T M||_F through the smaller Gram matrix
    return (m.size(0) < m.size(1) ? torch::mm(m, m.t()) : torch::mm(m.t(), m)).norm().item<double>();
  };
  double xx = self(x), yy = self(y);
  if (xx == 0 || yy == 0) return {std::nan(""), std::nan("")};
  double xy = torch::mm(y.t(), x).pow(2).sum().item<double>();
  double null = torch::mm(y.index_select(0, permutation).t(), x).pow(2).sum().item<double>();
  return {xy / (xx * yy), null / (xx * yy)};
}

// Upper triangle of the correlation-distance RDM of condition means [C, d].
std::vector<double> rdm(const torch::Tensor& means) {
  torch::Tensor c = means.to(torch::kFloat64);
  c = c - c.mean(1, true);
  c = c / c.norm(2, 1, true).clamp_min(1e-300);
  torch::Tensor d = 1.0 - torch::mm(c, c.t());
  std::vector<double> out;
  auto a = d.accessor<double, 2>();
  for (std::int64_t i = 0; i < d.size(0); ++i) {
    for (std::int64_t j = i + 1; j < d.size(0); ++j) out.push_back(a[i][j]);
  }
  return out;
}

// Condition means of x [n, d] per condition id [n] (only conditions present).
torch::Tensor condition_means(const torch::Tensor& x, const torch::Tensor& cond, std::int64_t conditions) {
  torch::Tensor sums = torch::zeros({conditions, x.size(1)}, torch::kFloat64).index_add_(0, cond, x.to(torch::kFloat64));
  torch::Tensor counts = torch::bincount(cond, {}, conditions).to(torch::kFloat64);
  torch::Tensor present = counts.gt(0).nonzero().squeeze(1);
  return sums.index_select(0, present) / counts.index_select(0, present).unsqueeze(1);
}

}  // namespace

void rsa(const ModelData& m, const Settings& s, Tables& tables) {
  // Conditions: the stimulus's (identity, location), the finest labels we have
  // (identity implies category).
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
  const std::string rnn_space = s.space;
  const std::int64_t frames = m.frames();
  auto add = [&](const std::string& space_a, int fa, const torch::Tensor& a, const std::string& space_b, int fb,
                 const torch::Tensor& b) {
    auto [cond, total] = condition(fa);
    torch::Tensor ma = condition_means(a, cond, total), mb = condition_means(b, cond, total);
    std::vector<double> ra = rdm(ma), rb = rdm(mb);
    std::uint64_t seed = random::hash_combine(s.seed, static_cast<std::uint64_t>(fa * 97 + fb));
    torch::Tensor perm = shuffled(torch::arange(mb.size(0), torch::kLong), seed);
    std::vector<double> rb_null = rdm(mb.index_select(0, perm));
    torch::Tensor rows = shuffled(torch::arange(b.size(0), torch::kLong), seed ^ 0xc4a);
    auto [cka, cka_null] = linear_cka(a, b, rows);
    Row row = model_columns(m);
    row.insert(row.end(), {{"space_a", space_a},
                           {"frame_a", double(fa)},
                           {"space_b", space_b},
                           {"frame_b", double(fb)},
                           {"cka", cka},
                           {"cka_null", cka_null},
                           {"rdm_spearman", spearman(ra, rb)},
                           {"rdm_spearman_null", spearman(ra, rb_null)},
                           {"conditions", double(ma.size(0))}});
    tables["rsa"].add(std::move(row));
  };
  for (int t = 0; t < frames; ++t) {
    if (m.perceptual.defined()) add("perceptual", t, m.perceptual.select(1, t), rnn_space, t, m.states.select(1, t));
    if (m.embedding.defined()) add("embedding", t, m.embedding.select(1, t), rnn_space, t, m.states.select(1, t));
  }
  for (int a = 0; a < frames; ++a) {
    for (int b = a; b < frames; ++b) add(rnn_space, a, m.states.select(1, a), rnn_space, b, m.states.select(1, b));
  }
}

void dimensionality(const ModelData& m, const Settings& s, Tables& tables) {
  std::vector<std::pair<std::string, torch::Tensor>> spaces{{s.space, m.states}};
  if (m.perceptual.defined()) spaces.emplace_back("perceptual", m.perceptual);
  if (m.embedding.defined()) spaces.emplace_back("embedding", m.embedding);
  std::vector<std::pair<std::string, torch::Tensor>> groups{{"all", torch::arange(m.states.size(0), torch::kLong)}};
  for (std::size_t k = 0; k < m.tasks.size(); ++k) groups.emplace_back(m.tasks[k].name, m.rows_of_task(k));
  for (const auto& [space, data] : spaces) {
    for (const auto& [group, rows] : groups) {
      for (int t = 0; t < m.frames(); ++t) {
        torch::Tensor x = data.index_select(0, rows).select(1, t).to(torch::kFloat64);
        x = x - x.mean(0, true);
        // Participation ratio (sum l)^2 / sum l^2 of the covariance's
        // eigenvalues = tr(G)^2 / ||G||_F^2 for the smaller Gram matrix.
        torch::Tensor g = x.size(0) < x.size(1) ? torch::mm(x, x.t()) : torch::mm(x.t(), x);
        double tr = g.trace().item<double>(), fro = g.norm().item<double>();
        Row row = model_columns(m);
        row.insert(row.end(), {{"space", space},
                               {"task", group},
                               {"frame", double(t)},
                               {"participation_ratio", fro == 0 ? 0.0 : tr * tr / (fro * fro)},
                               {"dims", double(std::min(x.size(0) - 1, x.size(1)))},
                               {"n", double(x.size(0))}});
        tables["dimensionality"].add(std::move(row));
      }
    }
  }
}

}  // namespace wmgeom::analyze
