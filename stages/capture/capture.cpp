#include "capture/capture.h"

#include "core/artifacts.h"
#include "nets/threads.h"
#include "nets/torch_util.h"
#include "nets/wm_model.h"

namespace wmgeom {

namespace {

// Per-frame attribute [M, T] from a per-stimulus column and stimulus indices.
Array per_frame(const Array& column, const torch::Tensor& stimuli) {
  if (column.empty()) return nets::to_array(torch::full(stimuli.sizes(), -1, torch::kInt32));
  return nets::to_array(
      nets::view(column).index_select(0, stimuli.flatten()).view(stimuli.sizes()));
}

}  // namespace

// Capture is a forward pass with recorded states (bench_capture: ~3,000
// trials/s on one core): minutes; its memory is the states it returns.
Resources CaptureStage::resources_of(const CaptureSettings& s) const {
  Resources r;
  r.cpus = std::max(1, s.threads);
  r.mem_mb = 4000;
  r.minutes = 30;
  return r;
}

SizeEstimate CaptureStage::estimate_of(const CaptureSettings& s,
                                       const EstimateInputs& inputs) const {
  auto first = [&](const char* port) -> const SizeEstimate* {
    const auto it = inputs.find(port);
    return it == inputs.end() || it->second.empty() || !it->second.front().known
               ? nullptr
               : &it->second.front();
  };
  const SizeEstimate *model = first("model"), *tasks = first("tasks"),
                     *features = first("features");
  if (!model || !tasks || !features) return {};
  const std::int64_t trials =
      s.split_code < 0 ? tasks->dim("trials") : tasks->dim("trials_per_split");
  const std::int64_t frames = tasks->dim("trial_length");
  const std::int64_t hidden = model->dim("hidden"), embed = model->dim("embed");
  const std::int64_t perceptual =
      s.perceptual ? features->dim("channels") * features->dim("area") : 0;
  if (trials < 0 || frames < 0 || hidden < 0 || embed < 0 || perceptual < 0) return {};
  const std::int64_t floats = hidden * (1 + model->dim("cell", 0)) + 3 + perceptual + embed;
  SizeEstimate e;
  e.known = true;
  e.bytes = trials * frames * (floats + 6) * 4 + trials * 2 * 4;
  e.working = s.batch * frames * floats * 4 * 2;
  // What analyze's estimate reads: the states' shape and the suite's size.
  e.dims = {{"trials", trials},
            {"frames", frames},
            {"hidden", hidden},
            {"perceptual", perceptual},
            {"tasks", tasks->dim("tasks", 1)}};
  return e;
}

Artifact CaptureStage::compute(const CaptureSettings& s, const StageInputs& inputs,
                               RunContext& ctx) const {
  TrainedModel tm = inputs.get<TrainedModel>("model");
  TrialSet ts = inputs.get<TrialSet>("tasks");
  FeatureBank fb = inputs.get<FeatureBank>("features");
  nets::IntraOpThreads width(s.threads > 0 ? s.threads : ctx.threads());
  torch::Device device = nets::resolve_device(s.device);

  std::vector<std::string> names;
  for (const auto& t : ts.tasks) names.push_back(t.name);
  if (tm.config.value("tasks", std::vector<std::string>{}) != names ||
      tm.config.value("task_cue", "") != ts.task_cue) {
    throw InputError("capture: the model was trained on tasks " +
                     tm.config.value("tasks", nlohmann::json::array()).dump() + " (cue " +
                     tm.config.value("task_cue", "?") + ") but the task suite has " +
                     nlohmann::json(names).dump() + " (cue " + ts.task_cue +
                     "); connect the suite it was trained on");
  }
  const std::vector<std::int64_t> shape = nets::WmModelConfig::from_json(tm.config).feature_shape;
  if (shape !=
      std::vector<std::int64_t>{fb.features.dim(1), fb.features.dim(2), fb.features.dim(3)}) {
    throw InputError("capture: the model expects feature maps " + nlohmann::json(shape).dump() +
                     " but the feature bank has " + fb.features.describe() +
                     "; connect the bank it was trained on");
  }
  if (!ts.stimulus_split.empty() && ts.stimulus_split.dim(0) != fb.features.dim(0)) {
    throw InputError("capture: the task suite's stimuli (" +
                     std::to_string(ts.stimulus_split.dim(0)) + ") and the feature bank (" +
                     std::to_string(fb.features.dim(0)) + " images) differ");
  }

  nets::WmModel model = nets::load_model(tm.config, tm.weights, device);
  torch::Tensor cues = nets::cue_matrix(names, ts.task_cue).to(device);
  torch::Tensor bank = nets::view(fb.features).to(device, torch::kFloat32);

  // The trials captured: one split's (its code in TrialSet::split) or all (-1).
  const std::string& split = s.split;
  const int code = s.split_code;
  torch::Tensor split_col = nets::view(ts.split);
  torch::Tensor rows = code < 0 ? torch::arange(split_col.size(0), torch::kLong)
                                : split_col.eq(code).nonzero().squeeze(1);
  if (rows.numel() == 0) {
    throw InputError("capture: the task suite has no evaluation trials of split \"" + split +
                     "\" (see eval_splits of the tasks stage)");
  }
  torch::Tensor stimuli = nets::view(ts.stimuli).index_select(0, rows).to(torch::kLong);
  torch::Tensor task = nets::view(ts.task).index_select(0, rows).to(torch::kLong);
  const std::int64_t m = stimuli.size(0), batch = s.batch;

  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> hidden, cell, logits, embedding;
  for (std::int64_t i = 0; i < m; i += batch) {
    ctx.check_cancelled();
    std::int64_t len = std::min(batch, m - i);
    torch::Tensor chunk = stimuli.narrow(0, i, len).to(device);
    auto out = model->forward(bank, chunk, cues.index_select(0, task.narrow(0, i, len).to(device)));
    nets::WmStates st = nets::step_states(model, out.embedding);
    hidden.push_back(st.hidden.cpu());
    if (st.cell.defined()) cell.push_back(st.cell.cpu());
    logits.push_back(st.logits.cpu());
    embedding.push_back(out.embedding.cpu());
    ctx.progress(i + len, m);
  }

  StateSet ss;
  ss.model = tm.config;
  ss.model["split"] = split;
  ss.hidden = nets::to_array(torch::cat(hidden));
  if (!cell.empty()) ss.cell = nets::to_array(torch::cat(cell));
  ss.logits = nets::to_array(torch::cat(logits));
  ss.embedding = nets::to_array(torch::cat(embedding));
  ss.targets = nets::to_array(nets::view(ts.targets).index_select(0, rows));
  ss.task = nets::to_array(task.to(torch::kInt32));
  ss.stimulus = nets::to_array(stimuli.to(torch::kInt32));
  ss.split = nets::to_array(split_col.index_select(0, rows).to(torch::kInt32));
  ss.location = per_frame(ts.stimulus_location, stimuli);
  ss.category = per_frame(ts.stimulus_category, stimuli);
  ss.identity = per_frame(ts.stimulus_identity, stimuli);
  ss.view = per_frame(ts.stimulus_view, stimuli);
  if (s.perceptual) {
    torch::Tensor maps = bank.cpu().flatten(1);
    ss.perceptual = nets::to_array(
        maps.index_select(0, stimuli.flatten()).view({m, stimuli.size(1), maps.size(1)}));
  }
  ctx.set_items(m);
  return ss.to_artifact();
}

}  // namespace wmgeom
