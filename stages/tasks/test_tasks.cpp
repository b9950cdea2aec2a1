// The tasks stage through the engine: render -> tasks in-process, the
// TrialSet's shape and content (counts per task and split, an honest split
// column, targets, the stimulus table), the cue layouts, determinism, the
// cache key, the train stage's path (a sampler rebuilt from the TrialSet),
// and every bad input (exit 2 with a message naming the key).
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <sstream>

#include "cache/cache.h"
#include "config/diagnostics.h"
#include "core/artifacts.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "graph/registry.h"
#include "nback/sampler.h"
#include "register_all.h"
#include "stage_kit.h"
#include "tasks/tasks.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

namespace fs = std::filesystem;

// 4 categories x 2 identities x 8 views x 4 locations = 256 small images,
// views 1 and 5 held out: 192 training and 64 validation stimuli.
std::string stimuli_toml(
    const std::string& render_extra = "holdout_views = [1, 5]\n",
    const std::string& shape = "categories = 4\nidentities_per_category = 2\n") {
  return "[pipeline]\nname = \"t\"\nseed = 3\n\n"
         "[stage.stimuli]\ntype = \"render\"\nviews = 8\nimage_size = 32\nsupersample = 1\n" +
         shape + render_extra + "\n";
}

std::string tasks_toml(const std::string& body = "") {
  return "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"stimuli\"\n" + body + "\n";
}

struct Pipeline : InProcess {
  std::pair<StimulusSet, TrialSet> operator()(const std::string& text, int threads = 2) {
    return {get_as<StimulusSet>(text, "stimuli", threads),
            get_as<TrialSet>(text, "tasks", threads)};
  }
};

std::vector<std::int32_t> ints(const Array& a) {
  const auto v = a.values<std::int32_t>();
  return {v.begin(), v.end()};
}

std::string bytes_hash(const TrialSet& t) {
  return hash64_hex(t.stimuli.bytes()) + hash64_hex(t.targets.bytes()) +
         hash64_hex(t.task.bytes()) + hash64_hex(t.split.bytes());
}

TEST(TasksStage, RenderToTasksGivesTheSuite) {
  Pipeline run;
  const auto [s, t] = run(stimuli_toml() + tasks_toml("eval_trials_per_task = 64"));
  const std::vector<std::string> nine = {"loc-1", "loc-2", "loc-3", "cat-1", "cat-2",
                                         "cat-3", "id-1",  "id-2",  "id-3"};
  ASSERT_EQ(t.tasks.size(), 9u);
  for (std::size_t k = 0; k < 9; ++k) {
    EXPECT_EQ(t.tasks[k].name, nine[k]);
    EXPECT_EQ(t.tasks[k].feature, nine[k].substr(0, nine[k].find('-')));
    EXPECT_EQ(t.tasks[k].n, static_cast<int>(k % 3) + 1);
  }
  EXPECT_EQ(t.trial_length, 6);
  EXPECT_EQ(t.match_prob, 0.5);
  EXPECT_EQ(t.hard_nonmatch, 0.5);
  EXPECT_EQ(t.task_cue, "onehot");
  // 9 tasks x 64 trials x 2 splits, training trials first, task-major.
  const std::int64_t m = 9 * 64 * 2;
  EXPECT_EQ(t.stimuli.shape(), (std::vector<std::int64_t>{m, 6}));
  EXPECT_EQ(t.targets.shape(), (std::vector<std::int64_t>{m, 6}));
  const auto task = ints(t.task), split = ints(t.split), stim = ints(t.stimuli),
             tgt = ints(t.targets);
  const auto loc = ints(s.location), cat = ints(s.category), id = ints(s.identity),
             ssplit = ints(s.split);
  std::map<std::pair<int, int>, int> counts;  // (split, task) -> trials
  for (std::int64_t i = 0; i < m; ++i) {
    const auto r = static_cast<std::size_t>(i);
    EXPECT_EQ(split[r], i < m / 2 ? kSplitTrain : kSplitValidation);
    EXPECT_EQ(task[r], (i % (m / 2)) / 64);
    ++counts[{split[r], task[r]}];
    const auto& def = t.tasks[static_cast<std::size_t>(task[r])];
    const auto& column = def.feature == "loc" ? loc : def.feature == "cat" ? cat : id;
    for (int f = 0; f < 6; ++f) {
      const auto st = static_cast<std::size_t>(stim[r * 6 + static_cast<std::size_t>(f)]);
      // The split column is honest: every stimulus of the trial is of that split.
      ASSERT_EQ(ssplit[st], split[r]) << "trial " << i << " frame " << f;
      int want = nback::kNoAction;
      if (f >= def.n) {
        const auto back =
            static_cast<std::size_t>(stim[r * 6 + static_cast<std::size_t>(f - def.n)]);
        want = column[st] == column[back] ? nback::kMatch : nback::kNonMatch;
      }
      ASSERT_EQ(tgt[r * 6 + static_cast<std::size_t>(f)], want) << "trial " << i << " frame " << f;
    }
  }
  EXPECT_EQ(counts.size(), 18u);
  for (const auto& [key, n] : counts) EXPECT_EQ(n, 64);
  // The stimulus table is the StimulusSet's columns.
  EXPECT_EQ(ints(t.stimulus_location), loc);
  EXPECT_EQ(ints(t.stimulus_category), cat);
  EXPECT_EQ(ints(t.stimulus_identity), id);
  EXPECT_EQ(ints(t.stimulus_split), ssplit);
  // Info: cue layout, counts, realised match rates.
  EXPECT_EQ(t.info["cue"]["kind"], "onehot");
  EXPECT_EQ(t.info["cue"]["dim"], 9);
  EXPECT_EQ(t.info["cue"]["hot"]["cat-2"], (std::vector<int>{4}));
  EXPECT_EQ(t.info["trials"]["train"], 576);
  EXPECT_EQ(t.info["trials"]["validation"], 576);
  EXPECT_EQ(t.info["trials_per_task"]["validation"]["id-3"], 64);
  EXPECT_EQ(t.info["stimuli_per_split"]["train"], 192);
  EXPECT_EQ(t.info["stimuli_per_split"]["validation"], 64);
  for (const auto& name : nine) {
    for (const char* sp : {"train", "validation"}) {
      const double rate = t.info["match_rate"][sp][name].get<double>();
      // 64 trials x (6 - N) >= 192 frames: 4 standard errors ~ 0.14.
      EXPECT_NEAR(rate, 0.5, 0.15) << name << " " << sp;
      // Hard non-matches: recorded for identity tasks only. Expected share
      // 0.5 + 0.5 / 7 = 0.57 over ~96-160 non-matches (4 sd ~ 0.2).
      if (name.rfind("id-", 0) == 0) {
        EXPECT_NEAR(t.info["hard_nonmatch_rate"][sp][name].get<double>(), 0.57, 0.2)
            << name << " " << sp;
        EXPECT_EQ(t.info["hard_nonmatch_coverage"][sp][name].get<double>(), 1.0);
      } else {
        EXPECT_FALSE(t.info["hard_nonmatch_rate"][sp].contains(name)) << name;
        EXPECT_FALSE(t.info["hard_nonmatch_coverage"][sp].contains(name)) << name;
      }
    }
  }
}

TEST(TasksStage, HardNonMatchShareReachesTheTrials) {
  Pipeline run;
  for (double h : {0.0, 1.0}) {
    const auto [s, t] = run(stimuli_toml() +
                            tasks_toml("tasks = [\"id-1\", \"cat-1\"]\neval_trials_per_task = 200\n"
                                       "hard_nonmatch = " +
                                       std::to_string(h)));
    EXPECT_EQ(t.hard_nonmatch, h);
    const auto cat = ints(s.category), stim = ints(t.stimuli), tgt = ints(t.targets),
               task = ints(t.task);
    std::int64_t non = 0, same = 0;
    for (std::size_t r = 0; r < task.size(); ++r) {
      if (task[r] != 0) continue;  // id-1
      for (std::size_t f = 1; f < 6; ++f) {
        if (tgt[r * 6 + f] != nback::kNonMatch) continue;
        ++non;
        same += cat[static_cast<std::size_t>(stim[r * 6 + f])] ==
                cat[static_cast<std::size_t>(stim[r * 6 + f - 1])];
      }
    }
    ASSERT_GT(non, 500);
    if (h == 1.0) {
      EXPECT_EQ(same, non);
    } else {
      EXPECT_NEAR(static_cast<double>(same) / static_cast<double>(non), 1.0 / 7.0, 0.06);
    }
    EXPECT_NEAR(t.info["hard_nonmatch_rate"]["train"]["id-1"].get<double>(), h + (1 - h) / 7.0,
                0.06);
  }
}

TEST(TasksStage, NovelIdentitiesWarnThatHardNonMatchesFallBack) {
  // One held-out identity per category: the validation split cannot hold
  // hard non-matches; the stage runs, warns, and records the coverage.
  Pipeline run;
  const auto [s, t] =
      run(stimuli_toml("holdout_views = []\nholdout_every = 0\nholdout_identities = [1]\n") +
          tasks_toml("tasks = [\"id-1\"]\neval_trials_per_task = 100"));
  EXPECT_EQ(t.info["hard_nonmatch_coverage"]["validation"]["id-1"].get<double>(), 0.0);
  EXPECT_EQ(t.info["hard_nonmatch_coverage"]["train"]["id-1"].get<double>(), 0.0);
  EXPECT_EQ(t.info["hard_nonmatch_rate"]["validation"]["id-1"].get<double>(), 0.0);
  EXPECT_NE(run.log_text.str().find(
                "task \"id-1\": only 0% of the validation-split stimuli have another id of "
                "their category"),
            std::string::npos)
      << run.log_text.str();
}

TEST(TasksStage, FeaturePlusNCueSubsetOfTasksOneSplit) {
  Pipeline run;
  const auto [s, t] =
      run(stimuli_toml() + tasks_toml("tasks = [\"loc-4\", \"id-2\"]\ntrial_length = 7\n"
                                      "task_cue = \"feature+n\"\neval_splits = [\"validation\"]\n"
                                      "eval_trials_per_task = 50\nmatch_prob = 0.8"));
  EXPECT_EQ(t.stimuli.shape(), (std::vector<std::int64_t>{100, 7}));
  for (auto v : ints(t.split)) EXPECT_EQ(v, kSplitValidation);
  EXPECT_EQ(t.tasks[0].feature, "loc");
  EXPECT_EQ(t.tasks[0].n, 4);
  EXPECT_EQ(t.info["cue"]["dim"], 7);  // loc, cat, id, n=1..4
  EXPECT_EQ(t.info["cue"]["slots"],
            (std::vector<std::string>{"loc", "cat", "id", "n=1", "n=2", "n=3", "n=4"}));
  EXPECT_EQ(t.info["cue"]["hot"]["loc-4"], (std::vector<int>{0, 6}));
  EXPECT_EQ(t.info["cue"]["hot"]["id-2"], (std::vector<int>{2, 4}));
  EXPECT_FALSE(t.info["trials"].contains("train"));
  EXPECT_NEAR(t.info["match_rate"]["validation"]["loc-4"].get<double>(), 0.8, 0.12);
}

TEST(TasksStage, DeterministicAcrossRunsAndThreadsAndSeedSensitive) {
  const std::string text = stimuli_toml() + tasks_toml("eval_trials_per_task = 32");
  Pipeline a, b, c, d;
  const TrialSet ta = a(text, 1).second, tb = b(text, 2).second;
  EXPECT_EQ(bytes_hash(ta), bytes_hash(tb));
  EXPECT_EQ(ta.info, tb.info);
  EXPECT_NE(bytes_hash(c(text + "seed = 9\n", 2).second), bytes_hash(ta));
  // The order of eval_splits does not matter; training trials come first.
  const TrialSet td =
      d(stimuli_toml() +
        tasks_toml("eval_trials_per_task = 32\neval_splits = [\"validation\", \"train\"]"))
          .second;
  EXPECT_EQ(bytes_hash(td), bytes_hash(ta));
}

TEST(TasksStage, TrainStageCanStreamTrialsFromTheTrialSet) {
  Pipeline run;
  const TrialSet t = run(stimuli_toml() + tasks_toml("eval_trials_per_task = 8")).second;
  const nback::StimulusTable table = nback::StimulusTable::from(t);
  std::vector<std::string> names;
  for (const auto& d : t.tasks) names.push_back(d.name);
  const nback::Sampler sampler(table, nback::parse_tasks(names), t.trial_length, t.match_prob,
                               kSplitTrain, t.hard_nonmatch);
  const nback::Batch b = sampler.batch(1, 0, 90);
  EXPECT_EQ(b.trials, 90);
  for (auto s : b.stimuli) EXPECT_EQ(table.split[static_cast<std::size_t>(s)], kSplitTrain);
  // The stage's training evaluation set is the sampler's per_task set.
  // (The pipeline's seed, 3, is the stage's.)
  const nback::Batch e = sampler.per_task(3, 8);
  const auto all = ints(t.stimuli);
  EXPECT_EQ(e.stimuli, std::vector<std::int32_t>(all.begin(), all.begin() + 9 * 8 * 6));
}

// ------------------------------------------------------------ cache key

TEST(TasksStage, PassesTheStageKit) {
  expect_stage_kit({stimuli_toml() + tasks_toml("eval_trials_per_task = 16"), "tasks"});
}

// ------------------------------------------------------------ bad input (exit 2)

// A StimulusSet made here, with every image in split `split`: the render
// stage refuses to hold out everything, so only a hand-made set can reach
// the tasks stage with an empty training split.
class FixtureStimuli final : public Stage {
 public:
  std::string type() const override { return "fixture_stimuli"; }
  Artifact run(const Params& params, const StageInputs& inputs, RunContext& ctx) const override {
    StimulusSet s;
    const std::int64_t n = 16;  // 2 categories x 1 identity x 2 views x 4 locations
    s.images = Array::zeros<std::uint8_t>({n, 3, 16, 16});
    std::vector<std::int32_t> loc, cat, id, view, split;
    for (std::int64_t i = 0; i < n; ++i) {
      loc.push_back(static_cast<std::int32_t>(i % 4));
      view.push_back(static_cast<std::int32_t>(i / 4 % 2));
      cat.push_back(static_cast<std::int32_t>(i / 8));
      id.push_back(static_cast<std::int32_t>(i / 8));
      split.push_back(static_cast<std::int32_t>(params.i("split")));
    }
    s.location = Array::from_vector(loc);
    s.category = Array::from_vector(cat);
    s.identity = Array::from_vector(id);
    s.view = Array::from_vector(view);
    s.split = Array::from_vector(split);
    s.category_names = {"a", "b"};
    s.identity_names = {"a0", "b0"};
    s.identity_category = {0, 1};
    s.n_locations = 4;
    s.n_views = 2;
    return s.to_artifact();
  }
};

constexpr const char* kFixtureSchema = R"([stage]
type = "fixture_stimuli"
version = 1
output = "StimulusSet"
items = "images"
doc = "16 blank images, all in one split (tests only)."

[param.split]
type = "int"
default = 1
min = 0
max = 1
doc = "The split of every image."
)";

const StageRegistry& fixture_registry() {
  static const StageRegistry* registry = [] {
    auto* r = new StageRegistry();
    register_all(*r);
    r->add(std::make_unique<FixtureStimuli>(), kFixtureSchema, "fixture_stimuli.toml");
    return r;
  }();
  return *registry;
}

struct BadCase {
  const char* name;
  std::string text;  // the whole pipeline
  std::string expect;
};

TEST(TasksStage, BadInputsExitTwoNamingTheKey) {
  TempDir dir;
  const std::string fixture =
      "[pipeline]\nname = \"t\"\nseed = 3\n\n[stage.stimuli]\ntype = \"fixture_stimuli\"\n";
  const std::vector<BadCase> cases = {
      // Plan time.
      {"unknown task", stimuli_toml() + tasks_toml("tasks = [\"loc-1\", \"foo-1\"]"),
       "stage.tasks.tasks: expected task names loc|cat|id-N with N >= 1, found \"foo-1\""},
      {"N = 0", stimuli_toml() + tasks_toml("tasks = [\"cat-0\"]"), "found \"cat-0\""},
      {"no N", stimuli_toml() + tasks_toml("tasks = [\"id\"]"), "found \"id\""},
      {"duplicate task", stimuli_toml() + tasks_toml("tasks = [\"loc-1\", \"loc-1\"]"),
       "stage.tasks.tasks: expected distinct task names, found \"loc-1\" twice"},
      {"no tasks", stimuli_toml() + tasks_toml("tasks = []"), "stage.tasks.tasks"},
      {"trial_length = N", stimuli_toml() + tasks_toml("trial_length = 3"),
       "stage.tasks.trial_length: expected trial_length > 3 (the largest N, task \"loc-3\"), found "
       "3"},
      {"trial_length < N", stimuli_toml() + tasks_toml("tasks = [\"id-7\"]"),
       "expected trial_length > 7 (the largest N, task \"id-7\"), found 6"},
      {"match_prob", stimuli_toml() + tasks_toml("match_prob = 1.5"), "stage.tasks.match_prob"},
      {"hard_nonmatch", stimuli_toml() + tasks_toml("hard_nonmatch = -0.5"),
       "stage.tasks.hard_nonmatch"},
      {"eval trials", stimuli_toml() + tasks_toml("eval_trials_per_task = 0"),
       "stage.tasks.eval_trials_per_task"},
      {"cue", stimuli_toml() + tasks_toml("task_cue = \"binary\""), "stage.tasks.task_cue"},
      {"split name", stimuli_toml() + tasks_toml("eval_splits = [\"test\"]"),
       "stage.tasks.eval_splits"},
      {"split twice", stimuli_toml() + tasks_toml("eval_splits = [\"train\", \"train\"]"),
       "stage.tasks.eval_splits: expected distinct split names"},
      {"wrong input", stimuli_toml() + "[stage.tasks]\ntype = \"tasks\"\n", "stimuli"},
      // Run time: what only the stimuli show.
      {"empty training split", fixture + "split = 1\n\n" + tasks_toml(),
       "the stimulus set has no training-split images (split 0); check holdout_views"},
      {"empty validation split", stimuli_toml("holdout_every = 0\n") + tasks_toml(),
       "stage.tasks.eval_splits: \"validation\" needs held-out images, but stimuli holds out "
       "none (split 1 is empty)"},
      // A stimulus set whose estimate does not say its split (the fixture's):
      // refused when the tasks run.
      {"empty validation split, known when run", fixture + "split = 0\n\n" + tasks_toml(),
       "no validation-split images (split 1) but eval_splits asks for \"validation\""},
      {"one location", stimuli_toml("locations = 1\n") + tasks_toml(),
       "task \"loc-1\" needs at least 2 locations among the training-split stimuli"},
      {"one identity",
       stimuli_toml("", "categories = 1\nidentities_per_category = 1\n") +
           tasks_toml("tasks = [\"id-1\"]"),
       "task \"id-1\" needs at least 2 identities"},
  };
  for (const auto& c : cases) {
    const fs::path file = dir / "p.toml";
    write_file(file, c.text);
    const CliResult r = run_cli({"run", file.string(), "--cache-dir", (dir / "cache").string(),
                                 "--out", (dir / "out").string(), "--no-progress"},
                                fixture_registry());
    EXPECT_EQ(r.code, 2) << c.name << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos)
        << c.name << ": stderr lacks \"" << c.expect << "\"\n"
        << r.err;
  }
  // The same set with its images in the training split runs (no validation
  // set asked for), and a good default pipeline validates.
  write_file(dir / "ok.toml", fixture + "split = 0\n\n" + tasks_toml("eval_splits = [\"train\"]"));
  const CliResult ok =
      run_cli({"run", (dir / "ok.toml").string(), "--cache-dir", (dir / "cache").string(), "--out",
               (dir / "out").string(), "--no-progress"},
              fixture_registry());
  EXPECT_EQ(ok.code, 0) << ok.err;
  write_file(dir / "v.toml", stimuli_toml() + tasks_toml());
  const CliResult v = run_cli({"validate", (dir / "v.toml").string()}, real_registry());
  EXPECT_EQ(v.code, 0) << v.err;
  // The empty validation split is a plan-time error (validate plans only),
  // at the eval_splits line; held-out identities alone, or views alone, are
  // a validation split.
  write_file(dir / "none.toml", stimuli_toml("holdout_every = 0\n") + tasks_toml());
  const CliResult none = run_cli({"validate", (dir / "none.toml").string()}, real_registry());
  EXPECT_EQ(none.code, 2) << none.err;
  EXPECT_NE(none.err.find("stage.tasks.eval_splits"), std::string::npos) << none.err;
  for (const char* held : {"holdout_every = 0\nholdout_identities = [1]\n", "holdout_every = 4\n",
                           "holdout_views = [7]\n"}) {
    write_file(dir / "some.toml", stimuli_toml(held) + tasks_toml());
    const CliResult some = run_cli({"validate", (dir / "some.toml").string()}, real_registry());
    EXPECT_EQ(some.code, 0) << held << "\n" << some.err;
  }
  // Without "validation" in eval_splits an empty split is fine.
  write_file(dir / "train.toml",
             stimuli_toml("holdout_every = 0\n") + tasks_toml("eval_splits = [\"train\"]"));
  EXPECT_EQ(run_cli({"validate", (dir / "train.toml").string()}, real_registry()).code, 0);
}

}  // namespace
}  // namespace wmgeom::testing
