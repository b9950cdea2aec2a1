// What the analyze stage's tests on synthetic states share (test_analyze.cpp,
// test_leak_rule.cpp, test_lag_rule.cpp, test_memory_echo.cpp,
// test_orthogonality.cpp): states with planted encoding and memory codes, and
// one run of the stage on them.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analyze/analyses.h"
#include "analyze/analyze.h"
#include "analyze/synthetic.h"
#include "core/artifacts.h"
#include "stage_kit.h"
#include "testing.h"

namespace wmgeom::testing {

// Trials of `tasks` (trials_per_task each) over 4 x 4 x `views` images, T
// frames, H units. The state at frame t holds the stimulus at t in an
// "encoding" code and the stimulus at t - 1 in a different "memory" code,
// for the features in `encoded`; plus unit Gaussian noise per trial.
inline StateSet synthetic(const std::vector<std::string>& tasks, int trials_per_task, int frames,
                          int units, const std::vector<std::string>& encoded, std::uint64_t seed,
                          double gap = 6.0, int views = 4) {
  synth::Trials t = synth::trials(tasks, trials_per_task, frames, views, seed);
  torch::Tensor h = torch::randn({t.m, frames, units}, torch::kFloat64);
  auto labels = t.labels();
  for (const auto& f : encoded) {
    torch::Tensor enc = synth::code(static_cast<int>(synth::values_of(f)), units, gap);
    torch::Tensor mem = synth::code(static_cast<int>(synth::values_of(f)), units, gap);
    for (int fr = 0; fr < frames; ++fr) {
      h.select(1, fr) += synth::lookup(enc, labels[f], fr);
      if (fr > 0) h.select(1, fr) += synth::lookup(mem, labels[f], fr - 1);
    }
  }
  return synth::stateset(t, h, "gru", static_cast<std::int64_t>(seed), 20);
}

inline const std::string kUpstream =
    "[stage.img]\ntype = \"render\"\n[stage.cnn]\ntype = \"features\"\nstimuli = \"img\"\n"
    "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"img\"\n"
    "[stage.net]\ntype = \"train\"\nfeatures = \"cnn\"\ntasks = \"tasks\"\n"
    "[stage.up]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\nfeatures = \"cnn\"\n";

struct Analysis {
  AnalysisResult result;
  double seconds = 0;
};

// How a test runs the stage: `keys`, each state set's cache key
// (InputItem::key, as the executor passes it; none if empty); the inputs
// named `prefix` + their index (the models' names in the tables); `seed`
// appended to the body (none: the body's own or the schema's default); the
// stage on `threads` threads (the tables do not depend on them).
struct Call {
  std::vector<std::string> keys;
  std::string prefix = "states";
  std::optional<int> seed = 3;
  int threads = 2;
};

inline Analysis analyze_with(const std::vector<StateSet>& sets, const std::string& body,
                             const Call& call) {
  AnalyzeStage stage;
  // Ports must name planned stages; these are planned, never run.
  const std::string seed = call.seed ? "\nseed = " + std::to_string(*call.seed) : "";
  Params p =
      stage_params(real_registry(), "analyze", body + seed + "\nstates = [\"up\"]\n" + kUpstream);
  StageInputs in;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    in.add("states", InputItem{call.prefix + std::to_string(i),
                               {},
                               std::make_shared<const Artifact>(sets[i].to_artifact()),
                               call.keys.empty() ? std::string() : call.keys.at(i)});
  }
  TempDir dir;
  RunContext ctx("analyze", dir / "work", call.threads);
  auto start = std::chrono::steady_clock::now();
  Analysis r{AnalysisResult::from_artifact(stage.run(p, in, ctx)), 0};
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// The common case: inputs "states0", "states1", ..., seed 3, 2 threads.
inline Analysis analyze(const std::vector<StateSet>& sets, const std::string& body,
                        const std::vector<std::string>& keys = {}) {
  return analyze_with(sets, body, Call{keys});
}

// Mean of `column` over rows where every (text column, value) matches and
// the numeric predicate holds.
inline double mean_where(
    const Table& t, const std::string& column, const std::map<std::string, std::string>& text,
    const std::function<bool(std::size_t)>& keep = [](std::size_t) { return true; }) {
  double sum = 0;
  int n = 0;
  for (std::size_t i = 0; i < t.rows(); ++i) {
    bool ok = keep(i);
    for (const auto& [c, v] : text) ok = ok && t.text.at(c)[i] == v;
    if (!ok) continue;
    sum += t.numeric.at(column)[i];
    ++n;
  }
  EXPECT_GT(n, 0) << column;
  return sum / n;
}

// ---- States on the real N-back sampler's trials, and reading their tables
// (the leak rule, the lag rule and the memory echo tests) ----

// States on trials of the real N-back sampler (64 images, repeated across
// trials and frames): at every frame a random code per image shown
// (`image_gap`), plus a location code shared by every task (`loc_gap`),
// plus noise.
inline StateSet image_coded(const std::vector<std::string>& tasks, int per_task, int frames,
                            std::uint64_t seed, double image_gap, double loc_gap, int units = 32) {
  synth::Trials t = synth::sampled_trials(tasks, per_task, frames, 4, seed);
  torch::Tensor images = torch::randn({t.images(), units}, torch::kFloat64) * image_gap;
  torch::Tensor loc = synth::code(synth::kLocations, units, loc_gap);
  torch::Tensor h = torch::randn({t.m, frames, units}, torch::kFloat64) * 0.3;
  for (int f = 0; f < frames; ++f) {
    h.select(1, f) +=
        images.index_select(0, t.stimulus.select(1, f)) + synth::lookup(loc, t.loc, f);
  }
  return synth::stateset(t, h, "gru", static_cast<std::int64_t>(seed));
}

// Mean of (accuracy - chance_empirical) over the rows that `keep` selects.
inline double above_chance(const Table& t, const std::function<bool(std::size_t)>& keep) {
  double sum = 0;
  int n = 0;
  for (std::size_t i = 0; i < t.rows(); ++i) {
    if (!keep(i)) continue;
    sum += t.numeric.at("accuracy")[i] - t.numeric.at("chance_empirical")[i];
    ++n;
  }
  EXPECT_GT(n, 0);
  return sum / n;
}

// The task's N from its name ("loc-2" -> 2).
inline int n_of(const std::string& task) { return std::stoi(task.substr(task.find('-') + 1)); }

// The `scoring` cell of row i, or "" where the table has no such column.
inline std::string scoring_of(const Table& t, std::size_t i) {
  return t.text.count("scoring") ? t.text.at("scoring")[i] : std::string();
}

// States that hold the image shown e frames ago in block e of the units
// (blocks of `block` units, e = 0 .. frames - 1: one fixed rotation per
// elapsed frame), a random code per image (`image_gap`) plus a location code
// (`loc_gap`), on the real sampler's trials.
inline StateSet elapsed_blocks(const std::vector<std::string>& tasks, int per_task, int frames,
                               std::uint64_t seed, double image_gap, double loc_gap, int block = 32,
                               int views = 4) {
  synth::Trials t = synth::sampled_trials(tasks, per_task, frames, views, seed);
  torch::Tensor images = torch::randn({t.images(), block}, torch::kFloat64) * image_gap;
  torch::Tensor loc = synth::code(synth::kLocations, block, loc_gap);
  torch::Tensor h = torch::randn({t.m, frames, block * frames}, torch::kFloat64) * 0.3;
  for (int f = 0; f < frames; ++f) {
    for (int e = 0; e <= f; ++e) {
      h.select(1, f).narrow(1, e * block, block) +=
          images.index_select(0, t.stimulus.select(1, f - e)) + synth::lookup(loc, t.loc, f - e);
    }
  }
  return synth::stateset(t, h, "gru", static_cast<std::int64_t>(seed));
}

}  // namespace wmgeom::testing
