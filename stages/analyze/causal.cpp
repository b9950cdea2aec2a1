// The causal test (SCIENCE.md 4.5): shift the state that holds a stimulus
// along a decoder's direction towards another class and run the RNN on:
// if the decoded subspace is what the network uses, the comparison N frames
// later should follow the shifted memory.
#include "analyze/analyses.h"
#include "core/random.h"
#include "nets/torch_util.h"

namespace wmgeom::analyze {

void causal(const ModelData& m, const Settings& s, Tables& tables) {
  torch::NoGradGuard no_grad;
  nets::WmModel& model = *m.model;
  const std::int64_t frames = m.frames();
  for (std::size_t k = 0; k < m.tasks.size(); ++k) {
    const auto& task = m.tasks[k];
    const std::string feature = nback::feature_name(task.feature);
    if (std::find(s.features.begin(), s.features.end(), feature) == s.features.end()) continue;
    torch::Tensor rows = m.rows_of_task(k);
    for (int stim : s.frames) {
      const int probe = stim + task.n;
      if (probe >= frames) continue;
      // The decoder of the task's feature for this stimulus at its encoding frame, on all trials.
      torch::Tensor x = m.states.index_select(0, rows).select(1, stim);  // [n, H] float64
      torch::Tensor y = m.labels.at(feature).index_select(0, rows).select(1, stim);
      const std::int64_t classes = s.classes.at(feature);
      decoders::Options o = s.options;
      o.model = "svm";
      const std::uint64_t seed = random::hash_combine(s.seed, random::hash_string(task.name + "/causal")) + stim;
      auto fit = decoders::fit(x.unsqueeze(0), y.unsqueeze(0), torch::ones({1, x.size(0)}, torch::kBool), classes, o);
      torch::Tensor normals = (fit.weight[0] / fit.scale[0].unsqueeze(1)).t();  // [K, H], raw units
      torch::Tensor counts = torch::bincount(y, {}, classes).to(torch::kFloat64);
      torch::Tensor means = torch::zeros({classes, x.size(1)}, torch::kFloat64).index_add_(0, y, x) /
                            counts.clamp_min(1).unsqueeze(1);
      // Non-match trials at the probe frame: shift the memory of the stimulus
      // towards the probe's class, which would make the trial a match.
      torch::Tensor probe_class = m.labels.at(feature).index_select(0, rows).select(1, probe);
      torch::Tensor use = m.targets.index_select(0, rows).select(1, probe).eq(nback::kNonMatch)
                              .logical_and(probe_class.ne(y))
                              .logical_and(counts.index_select(0, probe_class).gt(0));
      torch::Tensor sel = use.nonzero().squeeze(1);
      if (sel.numel() == 0) continue;
      torch::Tensor trials = rows.index_select(0, sel);
      torch::Tensor a = y.index_select(0, sel), c = probe_class.index_select(0, sel);
      torch::Tensor dir = normals.index_select(0, c) - normals.index_select(0, a);
      dir = dir / dir.norm(2, 1, true).clamp_min(1e-300);
      torch::Tensor gap = ((means.index_select(0, c) - means.index_select(0, a)) * dir).sum(1, true);  // [B, 1]
      at::Generator gen = nets::make_generator(seed ^ 0x7a11dULL);
      torch::Tensor rnd = at::randn(dir.sizes(), gen, torch::kFloat64);
      rnd = rnd / rnd.norm(2, 1, true);
      torch::Tensor h = m.hidden.index_select(0, trials).select(1, stim).to(torch::kFloat32);
      torch::Tensor cell = m.cell.defined() ? m.cell.index_select(0, trials).select(1, stim).to(torch::kFloat32) : torch::Tensor();
      torch::Tensor emb = m.embedding.index_select(0, trials).narrow(1, stim + 1, task.n);
      auto p_match = [&](const torch::Tensor& shift) {
        torch::Tensor hs = h, cs = cell;
        if (s.space == "cell") cs = cell + shift.to(torch::kFloat32);
        else hs = h + shift.to(torch::kFloat32);
        std::vector<torch::Tensor> state{hs.unsqueeze(0)};
        if (cs.defined()) state.push_back(cs.unsqueeze(0));
        nets::WmOutput out = model->run_from(emb, state);
        return torch::softmax(out.logits.select(1, task.n - 1), 1).select(1, nback::kMatch).mean().item<double>();
      };
      const double baseline = p_match(torch::zeros_like(dir));
      for (double alpha : s.alphas) {
        torch::Tensor shift = dir * gap * alpha;
        torch::Tensor shifted = x.index_select(0, sel) + shift;
        decoders::Fit one{fit.weight, fit.bias, fit.mean, fit.scale};
        torch::Tensor flipped = decoders::predict(one, shifted.unsqueeze(0))[0].eq(c);
        Row row = model_columns(m);
        row.insert(row.end(), {{"task", task.name},
                               {"feature", feature},
                               {"stim_frame", double(stim)},
                               {"probe_frame", double(probe)},
                               {"alpha", alpha},
                               {"p_match_baseline", baseline},
                               {"p_match_shifted", p_match(shift)},
                               {"p_match_random", p_match(rnd * gap.abs() * alpha)},
                               {"flip_rate", flipped.to(torch::kFloat64).mean().item<double>()},
                               {"n", double(sel.numel())}});
        tables["causal"].add(std::move(row));
      }
    }
  }
}

}  // namespace wmgeom::analyze
