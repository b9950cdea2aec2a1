// Synthetic state sets with planted structure, for the analyze tests: trials
// of N-back tasks over a small image set (4 locations x 4 identities, 2
// categories, `views` views), and hidden states built from codes the test
// chooses, so the answer of every analysis is known.
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/artifacts.h"
#include "nback/sampler.h"
#include "nets/torch_util.h"

namespace wmgeom::testing::synth {

inline constexpr int kLocations = 4;
inline constexpr int kIdentities = 4;  // category = identity / 2

struct Trials {
  std::vector<std::string> tasks;
  std::int64_t m = 0, frames = 0;
  int views = 1;
  torch::Tensor loc, id, cat, view, stimulus;  // long [m, T]
  torch::Tensor task;                          // long [m]
  torch::Tensor split;                         // long [m]: 0 training views, 1 novel views
  std::map<std::string, torch::Tensor> labels() const {
    return {{"loc", loc}, {"cat", cat}, {"id", id}};
  }
  std::int64_t images() const {
    return static_cast<std::int64_t>(kLocations) * kIdentities * views;
  }
};

// `per_task` trials of each task (task-major), attributes drawn uniformly and
// independently per frame. Image = (loc * 4 + id) * views + view. Trials
// alternate between the splits (even trials: training views 0 .. views/2-1;
// odd trials: the others), for the views scheme. `views` must be even.
inline Trials trials(const std::vector<std::string>& tasks, int per_task, int frames, int views,
                     std::uint64_t seed) {
  torch::manual_seed(static_cast<std::int64_t>(seed));
  Trials t;
  t.tasks = tasks;
  t.m = static_cast<std::int64_t>(per_task) * static_cast<std::int64_t>(tasks.size());
  t.frames = frames;
  t.views = views;
  t.loc = torch::randint(kLocations, {t.m, frames}, torch::kLong);
  t.id = torch::randint(kIdentities, {t.m, frames}, torch::kLong);
  t.cat = t.id.div(2, "floor");
  t.task = torch::arange(t.m, torch::kLong).div(per_task, "floor");
  t.split = torch::arange(t.m, torch::kLong).remainder(2);  // 0 train, 1 validation
  const std::int64_t half = views / 2;
  t.view = torch::randint(half, {t.m, frames}, torch::kLong) + t.split.unsqueeze(1) * half;
  t.stimulus = (t.loc * kIdentities + t.id) * views + t.view;
  return t;
}

// `per_task` trials of each task (task-major) drawn by the real N-back
// sampler (src/nback/sampler.h: match_prob 0.5, hard non-matches in identity
// tasks) over the same images as trials(): the labels of stimuli N frames
// apart agree about half the time, and images repeat across trials and
// frames. Every image is a training view; split is 0 for every trial (not
// for the views scheme).
inline Trials sampled_trials(const std::vector<std::string>& tasks, int per_task, int frames,
                             int views, std::uint64_t seed) {
  nback::StimulusTable table;
  for (int loc = 0; loc < kLocations; ++loc) {
    for (int id = 0; id < kIdentities; ++id) {
      for (int v = 0; v < views; ++v) {  // image = (loc * 4 + id) * views + v, as trials()
        table.location.push_back(loc);
        table.identity.push_back(id);
        table.category.push_back(id / 2);
        table.split.push_back(0);
      }
    }
  }
  nback::Sampler sampler(table, nback::parse_tasks(tasks), frames, 0.5, 0);
  nback::Batch b = sampler.per_task(seed, per_task);
  Trials t;
  t.tasks = tasks;
  t.m = b.trials;
  t.frames = frames;
  t.views = views;
  t.stimulus =
      torch::tensor(std::vector<std::int64_t>(b.stimuli.begin(), b.stimuli.end()), torch::kLong)
          .view({t.m, frames});
  t.task = torch::tensor(std::vector<std::int64_t>(b.task.begin(), b.task.end()), torch::kLong);
  t.view = t.stimulus.remainder(views);
  t.id = t.stimulus.div(views, "floor").remainder(kIdentities);
  t.loc = t.stimulus.div(views * kIdentities, "floor");
  t.cat = t.id.div(2, "floor");
  t.split = torch::zeros({t.m}, torch::kLong);
  torch::manual_seed(
      static_cast<std::int64_t>(seed));  // the caller's codes and noise, as after trials()
  return t;
}

// One random vector per value: [values, units], each of norm `gap`.
inline torch::Tensor code(int values, int units, double gap) {
  torch::Tensor c = torch::randn({values, units}, torch::kFloat64);
  return c / c.norm(2, 1, true) * gap;
}

// code[label[:, src]] for every trial, [m, units].
inline torch::Tensor lookup(const torch::Tensor& code, const torch::Tensor& label,
                            std::int64_t src) {
  return code.index_select(0, label.select(1, src));
}

inline std::int64_t values_of(const std::string& feature) {
  return feature == "loc" ? kLocations : feature == "id" ? kIdentities : 2;
}

// A StateSet of a model `rnn` with seed `seed` and states h [m, T, H].
// Perceptual vectors: one fixed vector per image, the sum of a class code per
// feature and an image-specific part (as CNN features: identical for
// repeated images), of dimension `perceptual_dims` (0: none).
inline StateSet stateset(const Trials& t, const torch::Tensor& h, const std::string& rnn,
                         std::int64_t seed, int perceptual_dims = 0,
                         const torch::Tensor& perceptual_images = {}) {
  StateSet s;
  s.model = {{"rnn", rnn}, {"tasks", t.tasks}, {"layers", 1}, {"seed", seed}, {"split", "both"}};
  s.hidden = nets::to_array(h.to(torch::kFloat32));
  s.logits = nets::to_array(torch::zeros({t.m, t.frames, 3}));
  s.targets = nets::to_array(torch::randint(3, {t.m, t.frames}, torch::kInt32));
  s.task = nets::to_array(t.task.to(torch::kInt32));
  s.stimulus = nets::to_array(t.stimulus.to(torch::kInt32));
  s.location = nets::to_array(t.loc.to(torch::kInt32));
  s.category = nets::to_array(t.cat.to(torch::kInt32));
  s.identity = nets::to_array(t.id.to(torch::kInt32));
  s.view = nets::to_array(t.view.to(torch::kInt32));
  s.split = nets::to_array(t.split.to(torch::kInt32));
  if (perceptual_dims > 0) {
    torch::Tensor per_image = perceptual_images;
    if (!per_image.defined()) {
      per_image = torch::randn({t.images(), perceptual_dims}, torch::kFloat64) * 0.5;
      torch::Tensor image = torch::arange(t.images(), torch::kLong);
      torch::Tensor id = image.div(t.views, "floor").remainder(kIdentities);
      torch::Tensor loc = image.div(t.views * kIdentities, "floor");
      per_image += code(kLocations, perceptual_dims, 3.0).index_select(0, loc);
      per_image += code(kIdentities, perceptual_dims, 3.0).index_select(0, id);
    }
    s.perceptual = nets::to_array(per_image.index_select(0, t.stimulus.flatten())
                                      .view({t.m, t.frames, -1})
                                      .to(torch::kFloat32));
  }
  s.embedding = nets::to_array(torch::randn({t.m, t.frames, 4}));
  return s;
}

}  // namespace wmgeom::testing::synth
