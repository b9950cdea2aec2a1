// The train stage through the engine (render -> features -> tasks -> train):
// it learns, it is deterministic, a killed run resumes to the same weights,
// divergence is reported with its step. The model's own tests are beside
// it: src/nets/test_wm_model.cpp.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "cache/cache.h"
#include "config/diagnostics.h"
#include "core/artifacts.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "nback/sampler.h"
#include "nets/torch_util.h"
#include "nets/wm_model.h"
#include "stage_kit.h"
#include "testing.h"
#include "train/train.h"

namespace wmgeom::testing {
namespace {

namespace fs = std::filesystem;

// The train stage's keys: small defaults, overridden by `train_body` lines ("key = value").
std::string train_keys(const std::string& train_body) {
  std::map<std::string, std::string> keys = {{"hidden", "32"},
                                             {"conv_channels", "8"},
                                             {"batch_size", "32"},
                                             {"lr", "0.003"},
                                             {"device", "\"cpu\""}};
  std::istringstream in(train_body);
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = line.substr(0, line.find_last_not_of(' ', eq - 1) + 1);
    keys[k] = line.substr(line.find_first_not_of(' ', eq + 1));
  }
  std::string out;
  for (const auto& [k, v] : keys) out += k + " = " + v + "\n";
  return out;
}

std::string pipeline(const std::string& train_body,
                     const std::string& tasks = "[\"loc-1\", \"cat-1\"]",
                     const std::string& tasks_extra = "") {
  return "[pipeline]\nname = \"t\"\nseed = 2\n\n"
         "[stage.stimuli]\ntype = \"render\"\ncategories = 4\nidentities_per_category = 2\nviews = "
         "6\n"
         "image_size = 32\nholdout_views = [2]\n\n"
         "[stage.cnn]\ntype = \"features\"\nstimuli = \"stimuli\"\nmodel = \"random\"\ninput_size "
         "= 32\n\n"
         "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"stimuli\"\ntasks = " +
         tasks + "\neval_trials_per_task = 64\n" + tasks_extra +
         "\n"
         "[stage.gru]\ntype = \"train\"\nfeatures = \"cnn\"\ntasks = \"tasks\"\n" +
         train_keys(train_body);
}

struct Pipeline : InProcess {
  Pipeline() : InProcess(real_registry(), Logger::Level::kInfo) {}
  TrainedModel operator()(const std::string& text, const fs::path& cache_dir = {}) {
    return get_as<TrainedModel>(text, "gru", 2, cache_dir);
  }
};

std::string weights_hash(const TrainedModel& m) {
  std::string all;
  for (const auto& [name, a] : m.weights) all += name + hash64_hex(a.bytes());
  return hash128_hex(all);
}

// At 2 threads of its own (hashed): the same weights whatever the run's width.
TEST(Train, PassesTheStageKit) {
  expect_stage_kit(
      {pipeline("steps = 20\neval_every = 10\ncheckpoint_every = 10\nthreads = 2\nlr_decay = 0.5"),
       "gru",
       {},
       {{"device", "\"auto\""}}});
}

TEST(Train, LearnsAndRecordsCurves) {
  Pipeline run;
  TrainedModel m = run(pipeline("steps = 600\neval_every = 200\n"));
  EXPECT_EQ(m.config["rnn"], "gru");
  EXPECT_EQ(m.config["hidden"], 32);
  EXPECT_EQ(m.config["steps"], 600);
  EXPECT_EQ(m.weights.count("rnn.weight_hh_l0"), 1u);
  EXPECT_EQ(m.weights.count("input_mean"), 1u);  // the standardisation travels with the weights
  EXPECT_EQ(m.weights.at("rnn.weight_hh_l0").shape(), (std::vector<std::int64_t>{96, 32}));
  ASSERT_EQ(m.curve_step.numel(), 3);
  EXPECT_EQ(m.curve_train_acc.shape(), (std::vector<std::int64_t>{3, 2}));
  // The lab's architecture by default, recorded for capture and analyze.
  EXPECT_EQ(m.config["input_relu"], true);
  EXPECT_EQ(m.config["readout_norm"], true);
  EXPECT_EQ(m.config["hard_nonmatch"], 0.5);
  EXPECT_EQ(m.weights.count("readout_norm.weight"), 1u);
  // Hard non-matches exist only for identity tasks: NaN for loc-1 and cat-1.
  ASSERT_EQ(m.curve_val_hard_acc.shape(), (std::vector<std::int64_t>{3, 2}));
  ASSERT_EQ(m.curve_train_hard_acc.shape(), (std::vector<std::int64_t>{3, 2}));
  for (float a : m.curve_val_hard_acc.values<float>()) EXPECT_TRUE(std::isnan(a));
  auto loss = m.curve_loss.values<float>();
  EXPECT_LT(loss[2], loss[0]);
  // loc-1 and cat-1 with a random CNN: well above the 50% of guessing match/non-match
  // (measured: ~0.9 and ~0.8 after 600 steps).
  auto acc = m.curve_val_acc.values<float>();
  EXPECT_GT(acc[4], 0.7f) << "loc-1 held-out accuracy";
}

TEST(Train, EveryRnnTypeTrainsDeterministically) {
  for (const char* rnn : {"rnn", "gru", "lstm"}) {
    Pipeline a, b;
    std::string text =
        pipeline(std::string("rnn = \"") + rnn + "\"\nsteps = 20\neval_every = 10\n");
    EXPECT_EQ(weights_hash(a(text)), weights_hash(b(text))) << rnn;
  }
}

TEST(Train, StopsEarlyAtTheAccuracyBar) {
  Pipeline run;
  TrainedModel m = run(
      pipeline("steps = 3000\neval_every = 100\nstop_at_accuracy = 0.9\nstop_at_heldout = 0.8\n",
               "[\"loc-1\"]"));
  EXPECT_TRUE(m.config["stopped_early"].get<bool>());
  std::int64_t steps = m.config["steps"].get<std::int64_t>();
  EXPECT_LT(steps, 3000);
  EXPECT_EQ(steps % 100, 0);
  auto k = m.curve_step.numel();
  EXPECT_EQ(m.curve_step.values<std::int64_t>()[k - 1], steps);
  EXPECT_GE(m.curve_train_acc.values<float>()[k - 1], 0.9f);
  EXPECT_GE(m.curve_val_acc.values<float>()[k - 1], 0.8f);
}

// The hard-non-match curve of an identity task equals a recomputation from
// the artifact alone: the model rebuilt by load_model (the architecture it
// was trained with) on the held-out trials, scored on the frames that
// nback::hard_nonmatch_mask marks.
TEST(Train, RecordsHardNonMatchAccuracyOfIdentityTasks) {
  Pipeline run;
  const std::string text = pipeline("steps = 200\neval_every = 100\n", "[\"loc-1\", \"id-1\"]");
  TrainedModel m = run(text);
  TrialSet ts = run.get_as<TrialSet>(text, "tasks");
  ASSERT_EQ(m.curve_val_hard_acc.shape(), (std::vector<std::int64_t>{2, 2}));
  auto hard = m.curve_val_hard_acc.values<float>();
  EXPECT_TRUE(std::isnan(hard[2]));  // loc-1 has no parent feature
  ASSERT_FALSE(std::isnan(hard[3]));
  EXPECT_FALSE(std::isnan(m.curve_train_hard_acc.values<float>()[3]));

  nets::WmModel model = nets::load_model(m.config, m.weights, torch::kCPU);
  EXPECT_TRUE(model->config().input_relu);
  EXPECT_TRUE(model->config().readout_norm);
  torch::Tensor rows = nets::view(ts.split).eq(kSplitValidation).nonzero().squeeze(1);
  torch::Tensor stim = nets::view(ts.stimuli).index_select(0, rows).contiguous();
  torch::Tensor task = nets::view(ts.task).index_select(0, rows).contiguous();
  torch::Tensor targets = nets::view(ts.targets).index_select(0, rows).to(torch::kLong);
  nback::Batch b;
  b.trials = stim.size(0);
  b.length = ts.trial_length;
  b.stimuli.assign(stim.data_ptr<std::int32_t>(), stim.data_ptr<std::int32_t>() + stim.numel());
  b.task.assign(task.data_ptr<std::int32_t>(), task.data_ptr<std::int32_t>() + task.numel());
  std::vector<std::uint8_t> mask = nback::hard_nonmatch_mask(
      nback::StimulusTable::from(ts), nback::parse_tasks({"loc-1", "id-1"}), b);
  torch::Tensor bank =
      nets::view(run.get_as<FeatureBank>(text, "cnn").features).to(torch::kFloat32);
  torch::NoGradGuard no_grad;
  auto out = model->forward(
      bank, stim.to(torch::kLong),
      nets::cue_matrix({"loc-1", "id-1"}, "onehot").index_select(0, task.to(torch::kLong)));
  torch::Tensor right = out.logits.argmax(2).eq(targets);
  std::int64_t frames = 0, correct = 0;
  for (std::int64_t i = 0; i < b.trials; ++i) {
    for (std::int64_t f = 0; f < b.length; ++f) {
      if (!mask[static_cast<std::size_t>(i * b.length + f)]) continue;
      EXPECT_EQ(b.task[static_cast<std::size_t>(i)], 1);
      EXPECT_EQ(targets[i][f].item<std::int64_t>(), 1);  // hard frames are non-matches
      ++frames;
      correct += right[i][f].item<bool>();
    }
  }
  // 64 trials x 5 frames x 1/2 non-match x ~4/7 hard.
  ASSERT_GT(frames, 60);
  // Within two frames: the training's evaluation and this forward may run
  // on threads with other OpenMP widths, so a logit tie within rounding can
  // go either way (seen once, in a loaded CI run, 2026-12-07: 0.910 against
  // 0.888, 2 of 89 frames; equal in every other run). The mask itself is
  // checked frame by frame above (identity task, non-match targets).
  EXPECT_NEAR(hard[3], static_cast<double>(correct) / static_cast<double>(frames),
              2.5 / static_cast<double>(frames));
  // The log names the held-out hard accuracy of the identity task.
  EXPECT_NE(run.log_text.str().find("hard non-matches held-out: id-1 "), std::string::npos)
      << run.log_text.str();
}

// Trained without hard non-matches (hard_nonmatch = 0 in the task suite), an
// identity model leans on category: measured here, train accuracy >= 95% and
// held-out >= 80% from step ~400 while held-out hard non-matches stay at
// 55-70%. The stage must not stop there.
TEST(Train, EarlyStopWaitsForHardNonMatches) {
  Pipeline run;
  TrainedModel m = run(
      pipeline("steps = 1000\neval_every = 100\nstop_at_accuracy = 0.95\nstop_at_heldout = 0.8\n",
               "[\"id-1\"]", "hard_nonmatch = 0.0\n"));
  const auto tr = m.curve_train_acc.values<float>(), va = m.curve_val_acc.values<float>(),
             hard = m.curve_val_hard_acc.values<float>();
  const auto k = static_cast<std::size_t>(m.curve_step.numel());
  ASSERT_GT(k, 0u);
  std::size_t held_back = 0;  // evaluations that passed the old bars but not the hard one
  for (std::size_t i = 0; i < k; ++i) {
    ASSERT_FALSE(std::isnan(hard[i]));
    if (tr[i] >= 0.95f && va[i] >= 0.8f && hard[i] < 0.8f) ++held_back;
  }
  EXPECT_GE(held_back, 1u) << "the scenario no longer separates the bars; retune it";
  if (m.config["stopped_early"].get<bool>()) {
    EXPECT_GE(hard[k - 1], 0.8f);
  } else {
    EXPECT_EQ(m.config["steps"], 1000);
  }
}

TEST(Train, StoppingBarIncludesHeldOutHardNonMatches) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Every task passes; identity task hard non-matches at 0.93.
  EXPECT_TRUE(reaches_stopping_bar({0.97f, 0.96f}, {0.92f, 0.91f}, {nan, 0.93f}, 0.95, 0.90));
  // A category-only strategy: 93% on an identity task, 71% on its hard non-matches.
  EXPECT_FALSE(reaches_stopping_bar({0.97f, 0.96f}, {0.92f, 0.93f}, {nan, 0.71f}, 0.95, 0.90));
  // The other bars still hold.
  EXPECT_FALSE(reaches_stopping_bar({0.97f, 0.94f}, {0.92f, 0.93f}, {nan, 0.95f}, 0.95, 0.90));
  EXPECT_FALSE(reaches_stopping_bar({0.97f, 0.96f}, {0.89f, 0.93f}, {nan, 0.95f}, 0.95, 0.90));
  // No hard frames (one identity per category held out), no held-out split: no bar.
  EXPECT_TRUE(reaches_stopping_bar({0.97f, 0.96f}, {0.92f, 0.91f}, {nan, nan}, 0.95, 0.90));
  EXPECT_TRUE(reaches_stopping_bar({0.97f}, {nan}, {nan}, 0.95, 0.90));
  // Exactly at the bar passes.
  EXPECT_TRUE(reaches_stopping_bar({0.95f}, {0.9f}, {0.9f}, 0.95f, 0.9f));
}

TEST(Train, LearningRateSchedules) {
  // Step decay (no milestones): x0.5 every 3 steps.
  EXPECT_DOUBLE_EQ(scheduled_lr(1.0, 0.5, 3, {}, 0), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_lr(1.0, 0.5, 3, {}, 2), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_lr(1.0, 0.5, 3, {}, 3), 0.5);
  EXPECT_DOUBLE_EQ(scheduled_lr(1.0, 0.5, 3, {}, 7), 0.25);
  // Milestones [4, 10] x 0.1 (torch's MultiStepLR stepped per step): steps
  // 0-3 at lr, 4-9 at lr/10, from 10 on at lr/100; lr_decay_every is ignored.
  const std::vector<std::int64_t> ms = {4, 10};
  EXPECT_DOUBLE_EQ(scheduled_lr(2e-3, 0.1, 1, ms, 0), 2e-3);
  EXPECT_DOUBLE_EQ(scheduled_lr(2e-3, 0.1, 1, ms, 3), 2e-3);
  EXPECT_DOUBLE_EQ(scheduled_lr(2e-3, 0.1, 1, ms, 4), 2e-3 * 0.1);
  EXPECT_DOUBLE_EQ(scheduled_lr(2e-3, 0.1, 1, ms, 9), 2e-3 * 0.1);
  EXPECT_DOUBLE_EQ(scheduled_lr(2e-3, 0.1, 1, ms, 10), 2e-3 * 0.1 * 0.1);
  EXPECT_DOUBLE_EQ(scheduled_lr(2e-3, 0.1, 1, ms, 100000), 2e-3 * 0.1 * 0.1);
}

// The schedule reaches the optimiser: with lr_decay = 0 at milestone 4 the
// weights freeze after 4 steps (AdamW's update and decoupled decay both
// scale with lr), so 6 and 10 steps end where 4 undecayed steps do; a
// milestone at 5 lets one more step through.
TEST(Train, MilestonesReachTheOptimiser) {
  Pipeline a, b, c, d;
  const std::string four = weights_hash(a(pipeline("steps = 4\neval_every = 2\n")));
  const std::string frozen = "lr_milestones = [4]\nlr_decay = 0.0\neval_every = 2\n";
  EXPECT_EQ(weights_hash(b(pipeline(frozen + "steps = 6\n"))), four);
  EXPECT_EQ(weights_hash(c(pipeline(frozen + "steps = 10\n"))), four);
  EXPECT_NE(weights_hash(
                d(pipeline("lr_milestones = [5]\nlr_decay = 0.0\neval_every = 2\nsteps = 10\n"))),
            four);
}

std::string train_key(const fs::path& base, const std::string& body) {
  return instance_key(base / "k.toml", pipeline(body), "gru");
}

// The kit moves every parameter; spelling out the defaults of the parameters
// added in version 2 must not change the key of a pipeline that omits them.
// A cluster job's request follows the parameters: its own threads, more
// memory for a wider model, more time for more steps.
TEST(Train, ResourcesFollowTheParameters) {
  const TrainStage stage;
  auto params = [](const std::string& body) {
    return stage_params(real_registry(), "train",
                        body +
                            "\n[stage.f]\ntype = \"features\"\nstimuli = \"r\"\n[stage.t]\ntype = "
                            "\"tasks\"\nstimuli = \"r\"\n[stage.r]\ntype = \"render\"\n");
  };
  const std::string ports = "features = \"f\"\ntasks = \"t\"\n";
  const Resources small = stage.resources(params(ports + "hidden = 64\nsteps = 1000\nthreads = 1"));
  const Resources big =
      stage.resources(params(ports + "hidden = 1024\nsteps = 100000\nthreads = 4"));
  EXPECT_EQ(small.cpus, 1);
  EXPECT_EQ(big.cpus, 4);
  EXPECT_LT(small.mem_mb, big.mem_mb);
  EXPECT_LT(small.minutes, big.minutes);
  EXPECT_GE(big.minutes, 100000 / 4 / 60);  // never less than the steps at 4 steps/s
  EXPECT_EQ(small.gpus, 0);
  // The device is the engine's (schema.toml `device`): a CUDA training holds
  // the GPU's token, and its cluster job asks one GPU (instance_resources).
  Diagnostics d;
  auto plan = make_plan_from_text(
      "/tmp/t.toml",
      "[pipeline]\nname = \"t\"\n[stage.gru]\ntype = \"train\"\n" + ports +
          "device = \"cuda\"\n[stage.f]\ntype = \"features\"\nstimuli = \"r\"\ndevice = \"cpu\"\n"
          "[stage.t]\ntype = \"tasks\"\nstimuli = \"r\"\n[stage.r]\ntype = \"render\"\n",
      {}, real_registry(), d);
  ASSERT_TRUE(plan) << d.format_all();
  const Instance& gru = plan->instances[plan->select("gru").at(0)];
  EXPECT_EQ(gru.resource, "cuda:0");
  EXPECT_EQ(instance_resources(gru).gpus, 1);
  const Instance& cnn = plan->instances[plan->select("f").at(0)];
  EXPECT_EQ(cnn.resource, "");
  EXPECT_EQ(instance_resources(cnn).gpus, 0);
}

TEST(Train, ExplicitDefaultsKeepTheKey) {
  TempDir dir;
  EXPECT_EQ(train_key(dir.path(),
                      "steps = 100\ninput_relu = true\nreadout_norm = true\nlr_milestones = []\n"),
            train_key(dir.path(), "steps = 100\n"));
}

TEST(Train, DivergenceNamesTheStep) {
  TempDir dir;
  write_file(
      dir / "p.toml",
      pipeline("lr = 1e8\nweight_decay = 0.5\ngrad_clip = 0.0\nsteps = 200\neval_every = 100\n"));
  CliResult r = run_cli({"run", (dir / "p.toml").string(), "--cache-dir", (dir / "c").string(),
                         "--out", (dir / "o").string(), "--no-progress"},
                        real_registry());
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("stage gru failed: the training loss is not finite"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("at step"), std::string::npos) << r.err;
}

TEST(Train, BadParametersExitTwo) {
  TempDir dir;
  struct Case {
    std::string body, expected;
  } cases[] = {
      {"steps = 0\n", "stage.gru.steps: expected an integer >= 1, found 0"},
      {"rnn = \"transformer\"\n", "stage.gru.rnn: expected one of \"rnn\", \"gru\", \"lstm\""},
      {"steps = 10\neval_every = 50\n", "stage.gru.eval_every: expected eval_every <= steps"},
      {"device = \"gpu\"\n", "stage.gru.device: expected \"auto\""},
      {"steps = 100\nlr_decay = 0.1\nlr_milestones = [50, 20]\n",
       "stage.gru.lr_milestones: expected strictly ascending steps, found 20 after 50"},
      {"steps = 100\nlr_decay = 0.1\nlr_milestones = [50, 50]\n",
       "stage.gru.lr_milestones: expected strictly ascending steps, found 50 after 50"},
      {"steps = 100\nlr_decay = 0.1\nlr_milestones = [0, 50]\n",
       "stage.gru.lr_milestones: expected a list of integers >= 1"},
      {"steps = 100\nlr_decay = 0.1\nlr_milestones = [50, 100]\n",
       "stage.gru.lr_milestones: expected every milestone below steps (100), found 100"},
      {"steps = 100\nlr_milestones = [50]\n",
       "stage.gru.lr_milestones: expected lr_decay < 1 with lr_milestones"},
      {"input_relu = 1\n", "stage.gru.input_relu"}};
  for (const auto& c : cases) {
    write_file(dir / "p.toml", pipeline(c.body));
    CliResult r = run_cli({"validate", (dir / "p.toml").string()}, real_registry());
    EXPECT_EQ(r.code, 2) << c.body;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
  }
}

// kill -9 in the middle of training, run again: the result equals an
// uninterrupted run's, bit for bit (CPU, same seed).
TEST(Train, KilledRunResumesToTheSameWeights) {
  std::string text = pipeline(
      "hidden = 64\nbatch_size = 64\nsteps = 400\neval_every = 100\ncheckpoint_every = 25\n");
  Pipeline reference;
  std::string want = weights_hash(reference(text));

  TempDir dir;
  write_file(dir / "p.toml", text);
  fs::path cache = dir / "cache";
  // Everything upstream first, so the killed process is inside train.
  std::string prep = std::string(WMGEOM_TESTCLI) + " run " + (dir / "p.toml").string() +
                     " --only tasks --only cnn" + " --cache-dir " + cache.string() + " --out " +
                     (dir / "o").string() + " -q --no-progress";
  ASSERT_EQ(std::system(prep.c_str()), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string out = (dir / "child.log").string();
    freopen(out.c_str(), "w", stderr);
    freopen(out.c_str(), "a", stdout);
    execl(WMGEOM_TESTCLI, WMGEOM_TESTCLI, "run", (dir / "p.toml").c_str(), "--cache-dir",
          cache.c_str(), "--out", (dir / "o").c_str(), "--no-progress", "--threads", "2",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill as soon as the first checkpoint exists.
  bool killed = false;
  for (int i = 0; i < 6000 && !killed; ++i) {
    for (const auto& e :
         fs::recursive_directory_iterator(cache, fs::directory_options::skip_permission_denied)) {
      if (e.path().filename() == "checkpoint.pt") {
        kill(pid, SIGKILL);
        killed = true;
        break;
      }
    }
    if (!killed) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(killed) << read_file(dir / "child.log");
  ASSERT_TRUE(WIFSIGNALED(status)) << "training finished before it could be killed";

  Pipeline resumed;
  TrainedModel m = resumed(text, cache);
  EXPECT_NE(resumed.log_text.str().find("resuming from the checkpoint at step"), std::string::npos)
      << resumed.log_text.str();
  EXPECT_EQ(weights_hash(m), want);
  EXPECT_EQ(m.curve_step.numel(), 4);
}

}  // namespace
}  // namespace wmgeom::testing
