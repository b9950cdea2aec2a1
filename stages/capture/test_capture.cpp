// The capture stage through the engine (render -> features -> tasks ->
// train -> capture): shapes, per-frame attributes, stepped states that
// reproduce the trained model's accuracy, LSTM cell states, and mismatches.
#include <gtest/gtest.h>

#include "core/artifacts.h"
#include "nets/torch_util.h"
#include "stage_kit.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

std::string pipeline(const std::string& rnn, const std::string& capture_body = "") {
  return "[pipeline]\nname = \"c\"\nseed = 4\n\n"
         "[stage.stimuli]\ntype = \"render\"\ncategories = 4\nidentities_per_category = 2\nviews = "
         "6\n"
         "image_size = 32\nholdout_views = [2]\n\n"
         "[stage.cnn]\ntype = \"features\"\nstimuli = \"stimuli\"\nmodel = \"random\"\ninput_size "
         "= 32\n\n"
         "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"stimuli\"\ntasks = [\"loc-1\", \"cat-1\"]\n"
         "eval_trials_per_task = 48\n\n"
         "[stage.tasks9]\ntype = \"tasks\"\nstimuli = \"stimuli\"\n\n"
         "[stage.net]\ntype = \"train\"\nfeatures = \"cnn\"\ntasks = \"tasks\"\nrnn = \"" +
         rnn +
         "\"\n"
         "hidden = 24\nconv_channels = 8\nembed = 32\nbatch_size = 32\nlr = 0.003\nsteps = 300\n"
         "eval_every = 300\ndevice = \"cpu\"\n\n"
         "[stage.states]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\nfeatures = "
         "\"cnn\"\n" +
         capture_body;
}

// Accuracy on decision frames (t >= N) per task from captured logits.
std::vector<double> accuracy(const StateSet& s, const std::vector<int>& n_of_task) {
  auto logits = nets::view(s.logits), targets = nets::view(s.targets).to(torch::kLong),
       task = nets::view(s.task);
  std::vector<double> ok(n_of_task.size(), 0), total(n_of_task.size(), 0);
  auto pred = logits.argmax(2);
  for (std::int64_t i = 0; i < pred.size(0); ++i) {
    int k = task[i].item<int>();
    for (std::int64_t t = n_of_task[k]; t < pred.size(1); ++t) {
      ok[k] += pred[i][t].item<std::int64_t>() == targets[i][t].item<std::int64_t>();
      total[k] += 1;
    }
  }
  for (std::size_t k = 0; k < ok.size(); ++k) ok[k] /= total[k];
  return ok;
}

// threads = 0: the run's width, so the kit's 1- and 2-thread runs differ in it.
TEST(Capture, PassesTheStageKit) {
  expect_stage_kit({pipeline("gru", "threads = 0\n"), "states", {}, {{"device", "\"cpu\""}}});
}

TEST(Capture, StatesAlignWithTrialsAndReproduceTheModel) {
  InProcess run;
  std::string text = pipeline("gru");
  auto s = run.get_as<StateSet>(text, "states");
  auto ts = run.get_as<TrialSet>(text, "tasks");
  auto tm = run.get_as<TrainedModel>(text, "net");
  auto fb = run.get_as<FeatureBank>(text, "cnn");
  const std::int64_t m = 2 * 48, t = 6;  // validation trials of two tasks
  EXPECT_EQ(s.hidden.shape(), (std::vector<std::int64_t>{m, t, 24}));
  EXPECT_EQ(s.logits.shape(), (std::vector<std::int64_t>{m, t, 3}));
  EXPECT_EQ(s.embedding.shape(), (std::vector<std::int64_t>{m, t, 32}));
  EXPECT_TRUE(s.cell.empty());
  EXPECT_EQ(s.model["split"], "validation");
  // Per-frame attributes are the stimulus table's, and every stimulus is held out.
  auto stim = s.stimulus.values<std::int32_t>();
  for (std::size_t i = 0; i < stim.size(); ++i) {
    EXPECT_EQ(s.location.values<std::int32_t>()[i],
              ts.stimulus_location.values<std::int32_t>()[stim[i]]);
    EXPECT_EQ(s.category.values<std::int32_t>()[i],
              ts.stimulus_category.values<std::int32_t>()[stim[i]]);
    EXPECT_EQ(s.view.values<std::int32_t>()[i], 2);
  }
  // The perceptual vectors are the bank's rows.
  ASSERT_FALSE(s.perceptual.empty());
  EXPECT_TRUE(torch::equal(nets::view(s.perceptual)[5][3],
                           nets::view(fb.features)[stim[5 * 6 + 3]].flatten()));
  // Stepping the RNN frame by frame reproduces the trainer's own evaluation.
  auto acc = accuracy(s, {1, 1});
  auto val = tm.curve_val_acc.values<float>();
  EXPECT_NEAR(acc[0], val[val.size() - 2], 1e-6);
  EXPECT_NEAR(acc[1], val[val.size() - 1], 1e-6);
}

TEST(Capture, LstmCellStatesAndBothSplits) {
  InProcess run;
  auto s =
      run.get_as<StateSet>(pipeline("lstm", "split = \"both\"\nperceptual = false\n"), "states");
  EXPECT_EQ(s.hidden.shape(), (std::vector<std::int64_t>{4 * 48, 6, 24}));
  EXPECT_EQ(s.cell.shape(), s.hidden.shape());
  EXPECT_TRUE(s.perceptual.empty());
  // h = o * tanh(c) with o in (0, 1): elementwise |h| <= |tanh(c)| at the
  // same trial, frame and unit. Fails if the cell array is not the cell
  // state of the same step (a copy of h: |tanh(h)| < |h|; another frame).
  torch::Tensor h = nets::view(s.hidden), c = nets::view(s.cell);
  EXPECT_LE((h.abs() - c.tanh().abs()).max().item<float>(), 1e-6f);
  EXPECT_GT((h - c).abs().max().item<float>(), 1e-3f);
}

TEST(Capture, MismatchedInputsExitTwo) {
  TempDir dir;
  std::string text = pipeline("gru");
  text.replace(
      text.find("[stage.states]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\""),
      std::string("[stage.states]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"").size(),
      "[stage.states]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks9\"");
  write_file(dir / "p.toml", text);
  CliResult r = run_cli({"run", (dir / "p.toml").string(), "--cache-dir", (dir / "c").string(),
                         "--out", (dir / "o").string(), "--no-progress"},
                        real_registry());
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("the model was trained on tasks [\"loc-1\",\"cat-1\"]"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace wmgeom::testing
