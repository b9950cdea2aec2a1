// The causal test (SCIENCE.md 4.5 and 6): on non-match trials, shift the
// memory of stimulus s, in the state just before the probe frame s + N,
// along the decoder direction that points from its class to the probe's
// class, and run the RNN on for the probe frame: if the decoded subspace is
// what the network compares, p(match) rises with the shift and falls for
// the opposite shift (the response: p(+shift) - p(-shift), mean over the
// trials); the same response to directions drawn from the covariance of the
// task's states at the shifted frame (the states' own subspace), each at
// the same dose, is the null.
//
// Units: the direction is built in standardised units (each unit divided by
// its SD, as the decoder sees the states), and a shift of size a moves the
// states' projection on it by a standard deviations of that projection; a
// near-silent unit therefore cannot dominate the direction. A null
// direction is shifted by a SDs of the states' projection on it. Decoders
// are cross-fitted: each held-out fold (grouped by image) is shifted along
// the direction fitted on the other folds.
//
// Two tables: `causal`, the dose-response over causal_sds at every analysed
// stimulus frame (description: no test, no CI over trials), and
// `causal_test`, one row per task at the declared dose (causal_dose) and
// stimulus frame (causal_frame): the per-task values of the one test that
// decides (finding5_causal.cpp, across seeds).
#include <cmath>
#include <map>

#include "analyze/analyses.h"
#include "core/random.h"
#include "nets/torch_util.h"

namespace wmgeom::analyze {

namespace {
// Directions drawn from the states' covariance per (task, stimulus frame);
// with their opposites, the symmetric null has 2 x 49 values (p >= 1/99).
constexpr int kNullDirections = 49;

// One (task, stimulus frame): the decoders, the shifts and their rows.
// `describe`: the dose-response rows (the frame is analysed); `declared`:
// the declared test's row (the frame is causal_frame).
void causal_unit(const ModelData& m, const Settings& s, std::size_t k, int stim, bool describe,
                 bool declared, Tables& tables) {
  torch::NoGradGuard no_grad;
  nets::WmModel& model = *m.model;
  const auto& task = m.tasks[k];
  const std::string feature = nback::feature_name(task.feature);
  torch::Tensor rows = m.rows_of_task(k);
  const std::int64_t classes = s.classes.at(feature);
  const int probe = stim + task.n;
  const int at = probe - 1;  // the state shifted: the memory just before the probe
  torch::Tensor x = m.states.index_select(0, rows).select(1, at);  // [n, H] float64
  torch::Tensor y = m.labels.at(feature).index_select(0, rows).select(1, stim).contiguous();
  torch::Tensor probe_class = m.labels.at(feature).index_select(0, rows).select(1, probe);
  torch::Tensor groups = m.stimulus.index_select(0, rows).select(1, stim);
  const std::uint64_t seed =
      random::hash_combine(s.seed, random::hash_string(task.name + "/causal")) + stim;
  const std::int64_t n = y.size(0);
  auto folds_v = decoders::grouped_folds(to_vector(y), to_vector(groups), s.folds, seed);
  torch::Tensor fold =
      torch::tensor(std::vector<std::int64_t>(folds_v.begin(), folds_v.end()), torch::kLong);
  torch::Tensor which = torch::arange(s.folds, torch::kLong).unsqueeze(1);
  decoders::Options o = s.options;
  o.model = decoders::Model::kSvm;
  auto fit =
      decoders::fit(x.unsqueeze(0).expand({s.folds, n, x.size(1)}),
                    y.unsqueeze(0).expand({s.folds, n}), fold.unsqueeze(0).ne(which), classes, o);
  // Non-match trials at the probe: the probe's class differs from the memory's.
  torch::Tensor use = m.targets.index_select(0, rows)
                          .select(1, probe)
                          .eq(nback::kNonMatch)
                          .logical_and(probe_class.ne(y));
  torch::Tensor sel = use.nonzero().squeeze(1);
  if (sel.numel() == 0) return;
  const std::int64_t b = sel.size(0), hdim = x.size(1);
  torch::Tensor q = fold.index_select(0, sel);  // each trial's held-out fold
  torch::Tensor a = y.index_select(0, sel), c = probe_class.index_select(0, sel);
  torch::Tensor w = fit.weight.index_select(0, q);  // [B, H, K] standardised units
  torch::Tensor scale = fit.scale.index_select(0, q),
                mean_x = fit.mean.index_select(0, q);  // [B, H]
  torch::Tensor wc = w.gather(2, c.view({b, 1, 1}).expand({b, w.size(1), 1})).squeeze(2);
  torch::Tensor wa = w.gather(2, a.view({b, 1, 1}).expand({b, w.size(1), 1})).squeeze(2);
  torch::Tensor dir = wc - wa;
  dir = dir / dir.norm(2, 1, true).clamp_min(1e-300);  // unit, standardised units
  // SD of the states' projection on each trial's direction, over the task's trials.
  // The projection of standardised states, ((x - mean_b) / scale_b) . dir_b,
  // is x . (dir_b / scale_b) minus a constant per b, which leaves the SD
  // unchanged: one [n, H] x [H, B] product.
  torch::Tensor proj_sd =
      torch::mm(x, (dir / scale).t()).std(0, true, false).unsqueeze(1);  // [B, 1]
  torch::Tensor raw_dir = dir * scale;  // a unit standardised step, in raw units
  // The null's directions, drawn from the covariance of the task's states at
  // the shifted frame: v = (x - mean)^T g with g ~ N(0, I_n) is N(0, (n-1)
  // Sigma), so the draws lie in the states' own subspace, in proportion to
  // its variance (an isotropic draw in R^H would mostly point where the
  // states never go and the network need not respond). Each is shared by
  // all trials and shifted by the dose in SDs of the states' projection on it.
  at::Generator gen = nets::make_generator(m.own_seed(seed) ^ 0x7a11dULL);  // the model's own
  torch::Tensor xc = x - x.mean(0, true);
  torch::Tensor null_dir =
      torch::mm(at::randn({kNullDirections, n}, gen, torch::kFloat64), xc);  // [R, H]
  null_dir = null_dir / null_dir.norm(2, 1, true).clamp_min(1e-300);
  torch::Tensor null_sd = torch::mm(x, null_dir.t()).std(0, true, false).unsqueeze(1);  // [R, 1]
  torch::Tensor trials = rows.index_select(0, sel);
  torch::Tensor h = m.hidden.index_select(0, trials).select(1, at).to(torch::kFloat32);
  torch::Tensor cell = m.cell.defined()
                           ? m.cell.index_select(0, trials).select(1, at).to(torch::kFloat32)
                           : torch::Tensor();
  // The probe frame's input half of the RNN step, once for every shift; the
  // recurrent half is linear in the state, so a shift's share of it is a
  // multiple of the recurrent image of its direction (rec_of).
  torch::Tensor gates =
      model->input_gates(m.embedding.index_select(0, trials).select(1, probe));  // [B, G]
  const bool shift_cell = s.space == Space::kCell;
  torch::Tensor rec_base = model->recurrent(h);  // [B, G]
  auto rec_of = [&](const torch::Tensor& v) { return model->recurrent(v, false); };
  // Per-trial p(match) at the probe after adding each of `shifts` [S, B, H]
  // (float32) to the state, given the shifts' recurrent images `rec`
  // [S, B, G] (ignored when the cell is shifted): [S, B], all S shifts in
  // one batch, broadcast against the trials' unshifted halves.
  auto p_match_batch = [&](const torch::Tensor& shifts, const torch::Tensor& rec) {
    torch::Tensor hs = h.unsqueeze(0), cs = cell.defined() ? cell.unsqueeze(0) : torch::Tensor();
    torch::Tensor r = rec_base.unsqueeze(0);
    if (shift_cell) {
      cs = cs + shifts;
    } else {
      hs = hs + shifts;
      r = r + rec;
    }
    std::vector<torch::Tensor> state{hs};
    if (cs.defined()) state.push_back(cs);
    torch::Tensor next = model->step_from_halves(gates.unsqueeze(0), r, state)[0];
    return torch::softmax(model->readout(next), -1).select(-1, nback::kMatch).to(torch::kFloat64);
  };
  // In chunks of about kChunkRows shifted states: the step is a chain of
  // elementwise passes, which run several times faster while a chunk's
  // tensors stay in cache.
  constexpr std::int64_t kChunkRows = 512;
  const std::int64_t per_chunk = std::max<std::int64_t>(1, kChunkRows / b);
  auto p_match = [&](const torch::Tensor& shifts, const torch::Tensor& rec) {
    std::vector<torch::Tensor> parts;
    for (std::int64_t i = 0; i < shifts.size(0); i += per_chunk) {
      const std::int64_t len = std::min(per_chunk, shifts.size(0) - i);
      parts.push_back(p_match_batch(shifts.narrow(0, i, len), rec.narrow(0, i, len)));
    }
    return torch::cat(parts);
  };
  const torch::Tensor x_sel = x.index_select(0, sel);  // [B, H]
  // The decoders' class scores of the unshifted held-out states [B, K], and
  // each trial's weights in raw units [B, H, K]: a shift adds shift . w / scale.
  const torch::Tensor base_score =
      torch::bmm(((x_sel - mean_x) / scale).unsqueeze(1), w).squeeze(1) +
      fit.bias.index_select(0, q);
  const torch::Tensor w_raw = w / scale.unsqueeze(2);
  // How often the held-out states are decoded as the probe's class after
  // each is shifted by its row of `shift` [B, H], or (shared) by each row of
  // `shift` [S, H] in turn (then averaged over S).
  auto decoded_as_probe = [&](const torch::Tensor& shift, bool shared = false) {
    torch::Tensor score =
        shared ? base_score.unsqueeze(0) + torch::einsum("sh,bhk->sbk", {shift, w_raw})
               : base_score + torch::bmm(shift.unsqueeze(1), w_raw).squeeze(1);
    return score.argmax(-1)
        .eq(shared ? c.unsqueeze(0) : c)
        .to(torch::kFloat64)
        .mean()
        .item<double>();
  };
  const torch::Tensor baseline =
      p_match(torch::zeros({1, 1, hdim}), torch::zeros({1, 1, rec_base.size(1)}))[0];
  // What the captured network said at the probe on the same trials (a check
  // that the network is the one that produced the states: p_match_baseline
  // replays the same step); NaN without captured logits.
  double captured = NAN;
  if (m.logits.defined()) {
    captured =
        torch::softmax(m.logits.index_select(0, trials).select(1, probe).to(torch::kFloat64), -1)
            .select(-1, nback::kMatch)
            .mean()
            .item<double>();
  }
  // Directions in float32 (the network's precision) and their recurrent images.
  torch::Tensor raw_dir32 = raw_dir.to(torch::kFloat32), null32 = null_dir.to(torch::kFloat32);
  torch::Tensor rec_dir = rec_of(raw_dir32), rec_null = rec_of(null32);  // [B, G], [R, G]
  // One dose's network responses. The response is antisymmetric in the
  // shift, so dose -a is dose a with the shift and its opposite swapped (and
  // each null direction with its opposite): every |dose| is computed once.
  struct Dose {
    torch::Tensor ps, po;      // p(match) after +shift and -shift: [B]
    std::vector<double> null;  // the antisymmetric response to each null direction [R]
    double p_random = NAN;     // mean p(match) after a null shift of either sign
    double flip_random =
        NAN;  // how often a null shift (either sign) makes the decoder read the probe's class
  };
  std::map<double, Dose> doses;
  auto dose = [&](double size) -> const Dose& {
    if (auto it = doses.find(size); it != doses.end()) return it->second;
    // The shifts of this dose, one batch: +shift, -shift, then each null
    // direction and its opposite (shared by all trials).
    torch::Tensor amount = (proj_sd * size).to(torch::kFloat32);       // [B, 1]
    torch::Tensor null_amount = (null_sd * size).to(torch::kFloat32);  // [R, 1]
    torch::Tensor null_shift =
        (null32 * null_amount).unsqueeze(1).expand({kNullDirections, b, hdim});
    torch::Tensor null_rec =
        (rec_null * null_amount).unsqueeze(1).expand({kNullDirections, b, rec_null.size(1)});
    auto both_signs = [](const torch::Tensor& t) {
      return torch::stack({t, -t}, 1).flatten(0, 1);
    };  // [2R, B, X]
    torch::Tensor shifts = torch::cat(
        {torch::stack({raw_dir32 * amount, raw_dir32 * -amount}), both_signs(null_shift)});
    torch::Tensor recs =
        torch::cat({torch::stack({rec_dir * amount, rec_dir * -amount}), both_signs(null_rec)});
    torch::Tensor pm = p_match(shifts, recs);  // [2 + 2R, B]
    Dose out{pm[0], pm[1], {}, NAN, NAN};
    torch::Tensor null_pm = pm.narrow(0, 2, 2 * kNullDirections).view({kNullDirections, 2, b});
    torch::Tensor anti = (null_pm.select(1, 0) - null_pm.select(1, 1)).mean(1).contiguous();
    out.null.assign(anti.data_ptr<double>(), anti.data_ptr<double>() + kNullDirections);
    out.p_random = null_pm.mean().item<double>();
    torch::Tensor null_step = null_dir * (null_sd * size);  // [R, H] float64
    out.flip_random = decoded_as_probe(torch::cat({null_step, -null_step}), true);
    return doses.emplace(size, std::move(out)).first->second;
  };
  // One row's numbers at a signed dose.
  auto numbers = [&](double size) {
    const Dose& d = dose(std::abs(size));
    const bool up = size >= 0;
    const torch::Tensor& ps = up ? d.ps : d.po;
    const torch::Tensor& po = up ? d.po : d.ps;
    // The response: mean over trials of p(+shift) - p(-shift) (even-order
    // effects such as saturation and the softmax's curvature cancel).
    const double effect = (ps - po).mean().item<double>();
    // The null: each null direction's response and its opposite's (the null
    // is symmetric by construction: a direction and its opposite are equally
    // likely). Its root-mean-square is the typical response to a shift of
    // this size along the states' own subspace; z = effect / rms. Trials
    // share each null direction, so the unit is a direction, not a trial (a
    // fitted direction always leaks a little onto whatever the network
    // reads, which a per-trial test over many trials would call
    // significant).
    std::vector<double> null;
    double sum2 = 0;
    for (double v : d.null) {
      null.push_back(v);
      null.push_back(-v);
      sum2 += 2 * v * v;
    }
    const double rms = std::sqrt(sum2 / static_cast<double>(null.size()));
    const double z = rms > 0 ? effect / rms : (effect == 0 ? 0.0 : NAN);
    // Descriptive: the rank of the effect among the null's responses, in the
    // shift's direction ((1 + # at least as large) / 99); rows at -a mirror
    // those at +a (the same responses, signs swapped) and share their p.
    const double p = stats::permutation_p(
        effect, null, up ? stats::Alternative::kGreater : stats::Alternative::kLess);
    torch::Tensor shift = raw_dir * (proj_sd * size);
    Row row = model_columns(m);
    row.insert(row.end(), {{"task", task.name},
                           {"feature", feature},
                           {"stim_frame", double(stim)},
                           {"shift_frame", double(at)},
                           {"probe_frame", double(probe)},
                           {"sd", size},
                           {"shift_norm", shift.norm(2, 1).mean().item<double>()},
                           {"projection_sd", proj_sd.mean().item<double>()},
                           {"p_match_captured", captured},
                           {"p_match_baseline", baseline.mean().item<double>()},
                           {"p_match_shifted", ps.mean().item<double>()},
                           {"p_match_random", d.p_random},
                           {"p_match_opposite", po.mean().item<double>()},
                           {"effect", effect},
                           {"null_lo", stats::quantile(null, 0.025)},
                           {"null_hi", stats::quantile(null, 0.975)},
                           {"null_rms", rms},
                           {"z", z},
                           {"p", p},
                           {"effect_vs_random", ps.mean().item<double>() - d.p_random},
                           {"flip_rate", decoded_as_probe(shift)},
                           {"flip_rate_random", d.flip_random},
                           {"n", double(b)}});
    return row;
  };
  if (describe) {
    for (double size : s.causal_sds) tables["causal"].add(numbers(size));
  }
  if (declared) tables["causal_test"].add(numbers(s.causal_dose));
}

}  // namespace

void causal(const ModelData& m, const Settings& s, Tables& tables) {
  // Units: the (task, stimulus frame) pairs whose probe lies inside the
  // trial, for the analysed frames (the dose-response) and the declared
  // frame (the test), in parallel; each has its own seeded generator, so the
  // tables do not depend on the scheduling.
  struct Unit {
    std::size_t task;
    int stim;
    bool describe, declared;
  };
  std::vector<Unit> units;
  for (std::size_t k = 0; k < m.tasks.size(); ++k) {
    const std::string feature = nback::feature_name(m.tasks[k].feature);
    if (std::find(s.features.begin(), s.features.end(), feature) == s.features.end()) continue;
    std::vector<int> stims = s.frames;
    if (std::find(stims.begin(), stims.end(), s.causal_frame) == stims.end())
      stims.push_back(s.causal_frame);
    for (int stim : stims) {
      const bool describe = std::find(s.frames.begin(), s.frames.end(), stim) != s.frames.end();
      if (stim + m.tasks[k].n < m.frames())
        units.push_back({k, stim, describe, stim == s.causal_frame});
    }
  }
  for_each_unit(
      units.size(),
      [&](std::size_t i, Tables& out) {
        causal_unit(m, s, units[i].task, units[i].stim, units[i].describe, units[i].declared, out);
      },
      tables);
}

}  // namespace wmgeom::analyze
