#include "train/train.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <optional>

#include <oneapi/tbb/task_group.h>

#include "core/artifacts.h"
#include "core/format.h"
#include "nback/sampler.h"
#include "nets/adamw.h"
#include "nets/threads.h"
#include "nets/torch_util.h"
#include "nets/wide.h"
#include "nets/wm_model.h"

namespace wmgeom {

namespace {

namespace fs = std::filesystem;

struct EvalSet {
  torch::Tensor stimuli, task, targets,
      decision;        // decision: [M, T] bool, t >= N of the trial's task
  torch::Tensor hard;  // [M, T] bool: hard non-match frames (nback::hard_nonmatch_mask)
  std::vector<std::int64_t> count_per_task;
};

EvalSet eval_set(const TrialSet& ts, const nback::StimulusTable& table,
                 const std::vector<nback::Task>& tasks, std::int32_t split,
                 const torch::Device& device) {
  torch::Tensor rows = nets::view(ts.split).eq(split).nonzero().squeeze(1);
  EvalSet e;
  torch::Tensor stimuli = nets::view(ts.stimuli).index_select(0, rows).contiguous();
  torch::Tensor task = nets::view(ts.task).index_select(0, rows).contiguous();
  e.stimuli = stimuli.to(torch::kLong).to(device);
  e.task = task.to(torch::kLong).to(device);
  e.targets = nets::view(ts.targets).index_select(0, rows).to(torch::kLong).to(device);
  std::vector<std::int64_t> n_of_task;
  for (const auto& t : ts.tasks) n_of_task.push_back(t.n);
  torch::Tensor n = torch::tensor(n_of_task, torch::kLong).to(device).index_select(0, e.task);
  torch::Tensor frame =
      torch::arange(ts.trial_length, torch::TensorOptions().dtype(torch::kLong).device(device));
  e.decision = frame.unsqueeze(0) >= n.unsqueeze(1);
  nback::Batch b;
  b.trials = stimuli.size(0);
  b.length = ts.trial_length;
  b.stimuli.assign(stimuli.data_ptr<std::int32_t>(),
                   stimuli.data_ptr<std::int32_t>() + stimuli.numel());
  b.task.assign(task.data_ptr<std::int32_t>(), task.data_ptr<std::int32_t>() + task.numel());
  std::vector<std::uint8_t> hard = nback::hard_nonmatch_mask(table, tasks, b);
  e.hard = torch::tensor(std::vector<std::int64_t>(hard.begin(), hard.end()), torch::kLong)
               .view({b.trials, b.length})
               .to(torch::kBool)
               .to(device);
  return e;
}

// Per task: accuracy on decision frames (t >= N), and on the hard
// non-match frames among them; NaN for a task without such frames.
struct Accuracy {
  std::vector<float> all, hard;
};

using Forward =
    std::function<nets::WmOutput(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&)>;

Accuracy accuracy(nets::WmModel& model, const Forward& forward, const torch::Tensor& bank,
                  const torch::Tensor& cues, const EvalSet& e, std::size_t tasks) {
  Accuracy acc{std::vector<float>(tasks, NAN), std::vector<float>(tasks, NAN)};
  if (!e.stimuli.defined() || e.stimuli.size(0) == 0) return acc;
  torch::NoGradGuard no_grad;
  model->eval();
  std::vector<torch::Tensor> correct;
  for (std::int64_t i = 0; i < e.stimuli.size(0); i += 1024) {
    std::int64_t len = std::min<std::int64_t>(1024, e.stimuli.size(0) - i);
    auto out =
        forward(bank, e.stimuli.narrow(0, i, len), cues.index_select(0, e.task.narrow(0, i, len)));
    correct.push_back(out.logits.argmax(2).eq(e.targets.narrow(0, i, len)));
  }
  torch::Tensor right = torch::cat(correct);
  torch::Tensor task = e.task.cpu();
  auto score = [&](const torch::Tensor& frames, std::vector<float>& out) {
    torch::Tensor ok = right.logical_and(frames).sum(1).to(torch::kDouble).cpu();
    torch::Tensor total = frames.sum(1).to(torch::kDouble).cpu();
    for (std::size_t t = 0; t < tasks; ++t) {
      torch::Tensor m = task.eq(static_cast<std::int64_t>(t));
      double denom = total.masked_select(m).sum().item<double>();
      if (denom > 0) out[t] = static_cast<float>(ok.masked_select(m).sum().item<double>() / denom);
    }
  };
  score(e.decision, acc.all);
  score(e.decision.logical_and(e.hard), acc.hard);
  model->train();
  return acc;
}

struct Curves {
  std::vector<std::int64_t> step;
  std::vector<float> loss, train_acc, val_acc;      // acc: [K][tasks] flattened
  std::vector<float> train_hard_acc, val_hard_acc;  // the same on hard non-match frames
};

const char* kCheckpoint = "checkpoint.pt";

// The training state at the start of `step`: weights, optimiser, curves, and
// the loss accumulated since the last evaluation (so that a resumed run's
// curves are the uninterrupted run's, whatever step it stopped at).
struct Accumulated {
  double loss_sum = 0;
  std::int64_t loss_count = 0;
};

void save_checkpoint(const fs::path& dir, nets::WmModel& model, const nets::MultiTensorAdamW& opt,
                     std::int64_t step, const Curves& c, const Accumulated& acc) {
  torch::serialize::OutputArchive ar;
  for (const auto& p : model->named_parameters())
    ar.write("param." + p.key(), p.value().detach().cpu());
  auto state = opt.state();
  for (std::size_t i = 0; i < state.size(); ++i)
    ar.write("adam." + std::to_string(i), state[i].cpu());
  ar.write("step", torch::tensor({step}, torch::kLong));
  ar.write("curve_step", torch::tensor(c.step, torch::kLong));
  ar.write("curve_loss", torch::tensor(c.loss));
  ar.write("curve_train_acc", torch::tensor(c.train_acc));
  ar.write("curve_val_acc", torch::tensor(c.val_acc));
  ar.write("curve_train_hard_acc", torch::tensor(c.train_hard_acc));
  ar.write("curve_val_hard_acc", torch::tensor(c.val_hard_acc));
  ar.write("loss_sum", torch::tensor({acc.loss_sum}, torch::kFloat64));
  ar.write("loss_count", torch::tensor({acc.loss_count}, torch::kLong));
  fs::path tmp = dir / (std::string(kCheckpoint) + ".tmp");
  ar.save_to(tmp.string());
  fs::rename(tmp, dir / kCheckpoint);  // a kill never leaves a half-written checkpoint
}

template <typename T>
std::vector<T> to_vector(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous().cpu();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

// Returns the step to continue from (0 when there is no checkpoint).
std::int64_t load_checkpoint(const fs::path& dir, nets::WmModel& model, nets::MultiTensorAdamW& opt,
                             Curves& c, Accumulated& acc, const torch::Device& device) {
  fs::path file = dir / kCheckpoint;
  if (!fs::exists(file)) return 0;
  torch::serialize::InputArchive ar;
  ar.load_from(file.string());
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    torch::Tensor t;
    ar.read("param." + p.key(), t);
    p.value().copy_(t.to(device));
  }
  std::vector<torch::Tensor> state = opt.state();
  for (std::size_t i = 0; i < state.size(); ++i) {
    torch::Tensor t;
    ar.read("adam." + std::to_string(i), t);
    state[i] = t.to(device);
  }
  torch::Tensor step, cs, cl, ct, cv, cth, cvh;
  ar.read("step", step);
  ar.read("curve_step", cs);
  ar.read("curve_loss", cl);
  ar.read("curve_train_acc", ct);
  ar.read("curve_val_acc", cv);
  ar.read("curve_train_hard_acc", cth);
  ar.read("curve_val_hard_acc", cvh);
  opt.load_state(state, step.item<std::int64_t>());
  c.step = to_vector<std::int64_t>(cs);
  c.loss = to_vector<float>(cl);
  c.train_acc = to_vector<float>(ct);
  c.val_acc = to_vector<float>(cv);
  c.train_hard_acc = to_vector<float>(cth);
  c.val_hard_acc = to_vector<float>(cvh);
  torch::Tensor ls, lc;  // absent from checkpoints of train before version 3: zero
  if (ar.try_read("loss_sum", ls) && ar.try_read("loss_count", lc)) {
    acc.loss_sum = ls.item<double>();
    acc.loss_count = lc.item<std::int64_t>();
  }
  return step.item<std::int64_t>();
}

Array matrix(const std::vector<float>& v, std::int64_t cols) {
  std::int64_t rows = cols > 0 ? static_cast<std::int64_t>(v.size()) / cols : 0;
  Array a = Array::zeros<float>({rows, cols});
  std::copy(v.begin(), v.end(), a.data<float>());
  return a;
}

std::string per_task(const std::vector<std::string>& names, const std::vector<float>& acc) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += (i ? " " : "") + names[i] + " " +
           (std::isnan(acc[i]) ? "-" : format_percent(acc[i], 0));  // "-": no such frames
  }
  return out;
}

std::string percent(const std::vector<float>& acc) {
  double lo = 1.0;
  for (float a : acc) {
    if (!std::isnan(a)) lo = std::min(lo, static_cast<double>(a));
  }
  return format_percent(lo, 1);
}

}  // namespace

void TrainStage::check(const TrainSettings& s, ParamIssues& issues) const {
  if (s.eval_every > s.steps) {
    issues.error("eval_every", "expected eval_every <= steps (" + std::to_string(s.steps) +
                                   "), found " + std::to_string(s.eval_every) +
                                   ": the curves would be empty");
  }
  // Milestones: strictly ascending step counts (>= 1 is the schema's);
  // lr_decay is the factor applied at each, so it must decay.
  const auto& milestones = s.lr_milestones;
  for (std::size_t i = 1; i < milestones.size(); ++i) {
    if (milestones[i] <= milestones[i - 1]) {
      issues.error("lr_milestones", "expected strictly ascending steps, found " +
                                        std::to_string(milestones[i]) + " after " +
                                        std::to_string(milestones[i - 1]));
      break;
    }
  }
  if (!milestones.empty() && s.lr_decay >= 1.0) {
    issues.error("lr_milestones",
                 "expected lr_decay < 1 with lr_milestones (lr_decay is the factor applied at "
                 "each milestone, e.g. 0.1), found lr_decay = " +
                     std::to_string(s.lr_decay));
  }
  if (!milestones.empty() && milestones.back() >= s.steps) {
    issues.error("lr_milestones", "expected every milestone below steps (" +
                                      std::to_string(s.steps) + "), found " +
                                      std::to_string(milestones.back()) + ": it would never apply");
  }
}

double scheduled_lr(double lr, double decay, std::int64_t decay_every,
                    const std::vector<std::int64_t>& milestones, std::int64_t step) {
  const auto decays =
      milestones.empty()
          ? step / decay_every
          : std::upper_bound(milestones.begin(), milestones.end(), step) - milestones.begin();
  return lr * std::pow(decay, static_cast<double>(decays));
}

bool reaches_stopping_bar(const std::vector<float>& train_acc,
                          const std::vector<float>& heldout_acc,
                          const std::vector<float>& heldout_hard_acc, double on_train,
                          double on_heldout) {
  auto reached = [](const std::vector<float>& acc, double bar) {
    return std::none_of(acc.begin(), acc.end(),
                        [bar](float a) { return !std::isnan(a) && a < bar; });
  };
  return reached(train_acc, on_train) && reached(heldout_acc, on_heldout) &&
         reached(heldout_hard_acc, on_heldout);
}

// Whether this training splits its matrix products over `threads` parts
// (nets/wide.h): on the CPU at threads >= 2. A GPU runs cuDNN's RNN.
static bool split_products(const TrainSettings& s, const torch::Device& device) {
  return s.threads > 1 && !device.is_cuda();
}

// Trainings at threads >= 2 split their products (nets/wide.h, issue 23):
// other bits than train version 3's LibTorch width, so another key. Width 1
// keeps its key (and its bits). The key does not ask where the training
// will run, so a GPU training at threads >= 2 (nothing split) is keyed the
// same way.
std::string TrainStage::key_extras_of(const TrainSettings& s) const {
  return s.threads > 1 ? "train products split over threads (nets/wide.h)" : "";
}

// Its own threads; memory for the model, AdamW's two moments and a batch's
// activations (floats: T = 6 frames of hidden and embedding per trial), with
// 2 GB for LibTorch itself; time from the steps at 4 steps/s (the paper's
// GRU-256 at batch 256 on one core: 4.2, bench_train), doubled, plus 10
// minutes, so the limit is generous, never tight. A cluster profile can
// override each.
Resources TrainStage::resources_of(const TrainSettings& s) const {
  Resources r;
  r.cpus = s.threads;
  r.fixed_width = true;  // hashed: the weights' last bits depend on it
  const double hidden = static_cast<double>(std::max(s.hidden, 512));
  const double params =
      4.0 * hidden * hidden * static_cast<double>(s.layers) + 128.0 * 49.0 * hidden;
  const double activations = static_cast<double>(s.batch_size) * 6.0 * 4.0 * hidden;
  r.mem_mb = 2000 + static_cast<int>((3.0 * params + 8.0 * activations) * 4.0 / 1e6);
  r.minutes = 10 + static_cast<int>(static_cast<double>(s.steps) / 4.0 / 60.0 * 2.0);
  return r;
}

SizeEstimate TrainStage::estimate_of(const TrainSettings& s, const EstimateInputs& inputs) const {
  const auto f = inputs.find("features"), t = inputs.find("tasks");
  if (f == inputs.end() || f->second.empty() || t == inputs.end() || t->second.empty()) return {};
  const std::int64_t channels = f->second.front().dim("channels"),
                     area = f->second.front().dim("area");
  const std::int64_t frames = t->second.front().dim("trial_length");
  if (channels < 0 || area < 0 || frames < 0) return {};
  const std::string& rnn = s.rnn;
  const std::int64_t hidden = s.hidden, conv = s.conv_channels, embed = s.embed;
  const std::int64_t gates = rnn == "lstm" ? 4 : rnn == "gru" ? 3 : 1;
  std::int64_t weights = channels * conv + conv + conv * area * embed + embed;
  for (std::int64_t l = 0; l < s.layers; ++l) {
    weights += gates * ((l == 0 ? embed + 64 : hidden) * hidden + hidden * hidden +
                        2 * hidden);  // 64: room for the task cue
  }
  weights += hidden * 3 + 3 + 4 * hidden;  // readout, LayerNorms
  const std::int64_t curves = (s.steps / std::max<std::int64_t>(1, s.eval_every) + 2) * 5 * 16 * 4;
  SizeEstimate e;
  e.known = true;
  e.bytes = weights * 4 + curves;
  e.working = 3 * weights * 4 +
              s.batch_size * frames * (channels * area + embed + 2 * gates * hidden) * 4 * 3;
  e.dims = {{"hidden", hidden}, {"embed", embed}, {"cell", rnn == "lstm" ? 1 : 0}};
  return e;
}

Artifact TrainStage::compute(const TrainSettings& s, const StageInputs& inputs,
                             RunContext& ctx) const {
  FeatureBank fb = inputs.get<FeatureBank>("features");
  TrialSet ts = inputs.get<TrialSet>("tasks");
  // LibTorch's own ops on one thread; the products on the training's
  // `threads` (nets/wide.h; hashed: see the schema).
  nets::IntraOpThreads one(1);
  if (const auto note = nets::width_note(s.threads); !note.empty()) ctx.info(note);
  torch::Device device = nets::resolve_device(s.device);
  if (ts.stimulus_split.empty() || ts.stimulus_split.dim(0) != fb.features.dim(0)) {
    throw InputError("train: the task suite's stimulus table (" +
                     std::to_string(ts.stimulus_split.empty() ? 0 : ts.stimulus_split.dim(0)) +
                     " stimuli) does not match the feature bank (" +
                     std::to_string(fb.features.dim(0)) +
                     " images): were they made from the same stimulus set?");
  }

  std::vector<std::string> names;
  for (const auto& t : ts.tasks) names.push_back(t.name);
  std::vector<nback::Task> tasks = nback::parse_tasks(names);
  const nback::StimulusTable table = nback::StimulusTable::from(ts);
  nback::Sampler sampler(table, tasks, ts.trial_length, ts.match_prob, kSplitTrain,
                         ts.hard_nonmatch);

  torch::Tensor cues = nets::cue_matrix(names, ts.task_cue).to(device);
  const nets::WmModelConfig cfg = s.model(
      {fb.features.dim(1), fb.features.dim(2), fb.features.dim(3)}, static_cast<int>(cues.size(1)));

  auto gen = nets::make_generator(s.seed);
  nets::WmModel model(cfg);
  model->initialise(gen);
  model->to(device);
  model->train();
  // The frozen bank lives on the device once; batches carry indices.
  torch::Tensor bank = nets::view(fb.features).to(device, torch::kFloat32);
  if (s.standardize) {
    torch::Tensor rows =
        nets::view(ts.stimulus_split).eq(kSplitTrain).nonzero().squeeze(1).to(device);
    torch::Tensor train_maps = bank.index_select(0, rows);
    model->set_standardization(train_maps.mean(0),
                               train_maps.std(0, /*unbiased=*/false).clamp_min(1e-5));
  }

  // At threads >= 2 on the CPU the products split over `threads` parts
  // (nets/wide.h; keyed: key_extras_of). At 1, and on a GPU (cuDNN's RNN),
  // the model's own forward: a width-1 training is train version 3's step,
  // bit for bit, under the same key.
  const bool split = split_products(s, device);
  nets::WideForward wide(model, split ? s.threads : 1);
  const Forward forward = [&](const torch::Tensor& b, const torch::Tensor& st,
                              const torch::Tensor& cu) {
    return split ? wide(b, st, cu) : model->forward(b, st, cu);
  };
  nets::MultiTensorAdamW opt(model->parameters(), {.lr = s.lr, .weight_decay = s.weight_decay});
  Curves curves;
  const std::int64_t steps = s.steps, batch = s.batch_size, eval_every = s.eval_every;
  const std::int64_t checkpoint_every = s.checkpoint_every;
  const std::size_t n_tasks = ts.tasks.size();
  Accumulated resumed;
  std::int64_t start = load_checkpoint(ctx.work_dir(), model, opt, curves, resumed, device);
  if (start > 0) ctx.info("resuming from the checkpoint at step " + std::to_string(start));

  EvalSet train_eval = eval_set(ts, table, tasks, kSplitTrain, device);
  EvalSet val_eval = eval_set(ts, table, tasks, kSplitValidation, device);
  // Tasks whose hard non-matches are part of the stopping bar: those with a
  // parent feature (identity tasks) that have hard frames in the held-out set.
  std::vector<std::string> hard_names;
  for (const auto& t : tasks) {
    if (nback::parent_feature(t.feature)) hard_names.push_back(t.name);
  }
  const std::uint64_t seed = s.seed;
  auto to_tensors = [&](const nback::Batch& b) {
    torch::Tensor stim = torch::tensor(b.stimuli, torch::kLong).view({b.trials, b.length});
    torch::Tensor tgt = torch::tensor(b.targets, torch::kLong).view({b.trials, b.length});
    torch::Tensor task = torch::tensor(b.task, torch::kLong);
    return std::make_tuple(stim.to(device), tgt.to(device), task.to(device));
  };

  // Trial generation overlaps the step: the next batch is sampled on a TBB
  // task while the current one trains.
  tbb::task_group producer;
  std::optional<nback::Batch> next;
  producer.run([&] { next = sampler.batch(seed, static_cast<std::uint64_t>(start), batch); });
  double loss_sum = resumed.loss_sum;
  std::int64_t loss_count = resumed.loss_count, step = start;
  bool stopped_early = false;
  for (; step < steps; ++step) {
    if (ctx.cancelled()) {
      // Stopped (a cluster job's time-limit warning, preemption, another
      // stage's failure): save where we are, so that a rerun resumes here.
      producer.wait();
      save_checkpoint(ctx.work_dir(), model, opt, step, curves, {loss_sum, loss_count});
      ctx.info("stopped at step " + std::to_string(step) + ": checkpoint saved");
      ctx.check_cancelled();
    }
    producer.wait();
    nback::Batch current = std::move(*next);
    if (step + 1 < steps) {
      producer.run([&, following = step + 1] {
        next = sampler.batch(seed, static_cast<std::uint64_t>(following), batch);
      });
    }
    auto [stim, targets, task] = to_tensors(current);
    opt.set_lr(scheduled_lr(s.lr, s.lr_decay, s.lr_decay_every, s.lr_milestones, step));
    auto out = forward(bank, stim, cues.index_select(0, task));
    torch::Tensor loss =
        torch::nn::functional::cross_entropy(out.logits.reshape({-1, 3}), targets.reshape({-1}));
    opt.zero_grad(/*set_to_none=*/split);
    loss.backward();
    double value = loss.item<double>();
    if (!std::isfinite(value)) {
      producer.wait();
      throw Error("the training loss is not finite (" + std::to_string(value) + ") at step " +
                  std::to_string(step) + "; lower lr or set grad_clip");
    }
    if (s.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), s.grad_clip);
    opt.step(split ? &wide.workers() : nullptr);
    loss_sum += value;
    ++loss_count;
    ctx.progress((step + 1) * batch, steps * batch);

    bool last = step + 1 == steps;
    if ((step + 1) % eval_every == 0 || last) {
      const Accuracy tr = accuracy(model, forward, bank, cues, train_eval, n_tasks);
      const Accuracy va = accuracy(model, forward, bank, cues, val_eval, n_tasks);
      curves.step.push_back(step + 1);
      curves.loss.push_back(static_cast<float>(
          loss_sum / static_cast<double>(std::max<std::int64_t>(1, loss_count))));
      curves.train_acc.insert(curves.train_acc.end(), tr.all.begin(), tr.all.end());
      curves.val_acc.insert(curves.val_acc.end(), va.all.begin(), va.all.end());
      curves.train_hard_acc.insert(curves.train_hard_acc.end(), tr.hard.begin(), tr.hard.end());
      curves.val_hard_acc.insert(curves.val_hard_acc.end(), va.hard.begin(), va.hard.end());
      loss_sum = 0;
      loss_count = 0;
      std::string line = "step " + std::to_string(step + 1) + "/" + std::to_string(steps) +
                         ": loss " + std::to_string(curves.loss.back()) +
                         ", worst task accuracy train " + percent(tr.all) + ", held-out " +
                         percent(va.all) + " (held-out: " + per_task(names, va.all) + ")";
      if (!hard_names.empty()) {
        std::vector<float> hard;
        for (std::size_t k = 0; k < n_tasks; ++k) {
          if (nback::parent_feature(tasks[k].feature)) hard.push_back(va.hard[k]);
        }
        line += "; hard non-matches held-out: " + per_task(hard_names, hard);
      }
      ctx.info(line);
      const double on_train = s.stop_at_accuracy, on_heldout = s.stop_at_heldout;
      // va.hard is NaN for tasks without a parent: only identity tasks'
      // hard non-matches take part.
      if (on_train > 0) {
        if (reaches_stopping_bar(tr.all, va.all, va.hard, on_train, on_heldout)) {
          stopped_early = true;
          ++step;
          ctx.info("every task reached the stopping bar (training trials " +
                   percent({static_cast<float>(on_train)}) + ", held-out " +
                   percent({static_cast<float>(on_heldout)}) +
                   (hard_names.empty() ? "" : ", hard non-matches included") + "): stopping");
          break;
        }
      }
    }
    if ((step + 1) % checkpoint_every == 0 && !last) {
      save_checkpoint(ctx.work_dir(), model, opt, step + 1, curves, {loss_sum, loss_count});
    }
  }
  producer.wait();
  ctx.set_items(step * batch);

  TrainedModel tm;
  std::vector<std::string> cue_names;
  // The model's architecture (WmModelConfig, read back by capture and
  // analyze) and, beside it, the record of what it was trained on and how.
  tm.config = cfg.to_json();
  tm.config.update({{"task_cue", ts.task_cue},
                    {"tasks", names},
                    {"trial_length", ts.trial_length},
                    {"match_prob", ts.match_prob},
                    {"hard_nonmatch", ts.hard_nonmatch},
                    {"steps", step},
                    {"stopped_early", stopped_early},
                    {"batch_size", batch},
                    {"device", device.is_cuda() ? "cuda" : "cpu"}});
  // Its configuration minus the seed, as the engine keys it (every hashed
  // parameter, the features' and tasks' keys): trainings whose
  // configurations are equal are replicates (core/artifacts.h,
  // replicate_group), so two that differ in lr, steps or the CNN are not.
  // Its seed beside it (since version 4): the replicate it is within its
  // group, so one training captured twice is known as one.
  if (!ctx.configuration.empty()) tm.config["configuration"] = ctx.configuration;
  tm.config["seed"] = s.seed;
  for (const auto& item : model->named_parameters())
    tm.weights[item.key()] = nets::to_array(item.value());
  for (const auto& item : model->named_buffers())
    tm.weights[item.key()] = nets::to_array(item.value());
  tm.curve_step = Array::from_vector(curves.step);
  tm.curve_loss = Array::from_vector(curves.loss);
  tm.curve_train_acc = matrix(curves.train_acc, static_cast<std::int64_t>(n_tasks));
  tm.curve_val_acc = matrix(curves.val_acc, static_cast<std::int64_t>(n_tasks));
  tm.curve_train_hard_acc = matrix(curves.train_hard_acc, static_cast<std::int64_t>(n_tasks));
  tm.curve_val_hard_acc = matrix(curves.val_hard_acc, static_cast<std::int64_t>(n_tasks));
  return tm.to_artifact();
}

}  // namespace wmgeom
