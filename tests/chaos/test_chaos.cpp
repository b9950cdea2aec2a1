// Chaos (issue 14): the real wmgeom runs a small full pipeline (render ->
// features -> tasks -> train -> capture -> analyze -> report) and is killed
// with SIGKILL at a random moment, 20 times, each from an empty cache. After
// each kill a rerun must finish, every cache entry must verify, the cache's
// tmp/ may hold only the killed writer's partial files, and every entry must hold exactly what an
// uninterrupted run stored (kind, metadata, every array's dtype, shape and
// per-chunk checksums).
//
// The moments are uniform over the uninterrupted run's duration, drawn from
// a fixed seed (WMGEOM_CHAOS_SEED overrides; WMGEOM_CHAOS_KILLS the count),
// and printed, so a failure can be replayed.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "testing.h"

namespace wmgeom::testing {
namespace {

namespace fs = std::filesystem;

// About 4 s on two cores, most of it computing (a third of it in the
// training, which checkpoints every 25 steps); every stage type.
constexpr const char* kPipeline = R"([pipeline]
name = "chaos"
seed = 3

[stage.stimuli]
type = "render"
categories = 2
identities_per_category = 2
views = 4
holdout_views = [1]
image_size = 32
locations = 4
supersample = 1

[stage.cnn]
type = "features"
stimuli = "stimuli"
input_size = 32
width = 8
blocks = 2
epochs = 3

[stage.tasks]
type = "tasks"
stimuli = "stimuli"
tasks = ["loc-1", "cat-1", "id-1"]
eval_trials_per_task = 32

[stage.net]
type = "train"
features = "cnn"
tasks = "tasks"
rnn = "gru"
hidden = 16
conv_channels = 8
embed = 16
batch_size = 16
steps = 400
eval_every = 50
checkpoint_every = 25

[stage.states]
type = "capture"
model = "net"
tasks = "tasks"
features = "cnn"

[stage.geometry]
type = "analyze"
states = ["states"]
models = ["net"]
analyses = ["decoding", "cross_task", "orthogonality", "procrustes"]
folds = 2
permutations = 3
null_shuffles = 2
random_directions = 10
bootstrap = 10

[stage.report]
type = "report"
analysis = ["geometry"]
models = ["net"]
stimuli = "stimuli"
)";

// key -> what the entry holds, from its manifest (not its timing fields).
std::map<std::string, std::string> fingerprints(const fs::path& cache) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  if (!fs::exists(cache / "v1", ec)) return out;
  for (const auto& fan : fs::directory_iterator(cache / "v1")) {
    for (const auto& entry : fs::directory_iterator(fan.path())) {
      const auto doc =
          nlohmann::json::parse(read_file(entry.path() / "manifest.json"), nullptr, false);
      if (doc.is_discarded()) {
        out[entry.path().filename().string()] = "unparseable manifest";
        continue;
      }
      const auto& body = doc["body"];
      nlohmann::json arrays = nlohmann::json::array();
      for (const auto& a : body["arrays"]) {
        arrays.push_back({{"name", a["name"]},
                          {"dtype", a["dtype"]},
                          {"shape", a["shape"]},
                          {"xxh3", a["xxh3"]}});
      }
      out[entry.path().filename().string()] =
          nlohmann::json{{"kind", body["kind"]}, {"meta", body["meta"]}, {"arrays", arrays}}.dump();
    }
  }
  return out;
}

std::vector<std::string> run_args(const fs::path& dir, const fs::path& cache) {
  return {WMGEOM_CLI,     "run",   (dir / "p.toml").string(), "--cache-dir",
          cache.string(), "--out", (dir / "out").string(),    "--no-progress",
          "--threads",    "2"};
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

TEST(Chaos, RandomSigkillsNeverCorruptOrChangeResults) {
  TempDir dir;
  write_file(dir / "p.toml", kPipeline);
  // Two uninterrupted runs: the reference entries (the same twice) and the
  // duration of the second (the first also warms the page cache).
  double seconds = 0;
  for (const char* name : {"reference", "reference2"}) {
    const auto t0 = std::chrono::steady_clock::now();
    Child ref(run_args(dir.path(), dir / name), dir / "reference.log");
    ASSERT_EQ(ref.wait(), 0) << read_file(dir / "reference.log");
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const auto reference = fingerprints(dir / "reference");
  ASSERT_EQ(reference.size(), 7u) << "one entry per stage expected";
  ASSERT_EQ(fingerprints(dir / "reference2"), reference) << "two uninterrupted runs differ";

  const int kills = env_int("WMGEOM_CHAOS_KILLS", 20);
  const auto seed = static_cast<unsigned>(env_int("WMGEOM_CHAOS_SEED", 14));
  std::mt19937 rng(seed);
  // Over the first 90% of the uninterrupted run's time, so that kills land
  // while it runs.
  std::uniform_real_distribution<double> moment(0.0, 0.9 * seconds);
  int interrupted = 0;
  std::map<std::size_t, int> finished_at_kill;  // entries in the cache when killed -> kills
  for (int k = 0; k < kills; ++k) {
    const fs::path cache = dir / ("cache" + std::to_string(k));
    const double at = moment(rng);
    int victim_pid = 0;
    SCOPED_TRACE("kill " + std::to_string(k) + " at " + std::to_string(at) + " s of " +
                 std::to_string(seconds) + " s (WMGEOM_CHAOS_SEED=" + std::to_string(seed) + ")");
    {
      Child victim(run_args(dir.path(), cache), dir / "victim.log");
      std::this_thread::sleep_for(std::chrono::duration<double>(at));
      victim.signal(SIGKILL);
      interrupted += victim.wait() == 128 + SIGKILL;
      victim_pid = victim.pid();
    }
    ++finished_at_kill[fingerprints(cache).size()];
    const fs::path log = dir / ("rerun" + std::to_string(k) + ".log");
    {
      Child rerun(run_args(dir.path(), cache), log);
      ASSERT_EQ(rerun.wait(), 0) << read_file(log);
    }
    Child verify({WMGEOM_CLI, "cache", "verify", "--cache-dir", cache.string()},
                 dir / "verify.log");
    EXPECT_EQ(verify.wait(), 0) << read_file(dir / "verify.log");
    // What a writer killed mid-store leaves in tmp/ is never an entry (the
    // verify above) and is named by its pid (`wmgeom cache gc` removes a dead
    // writer's); the rerun leaves nothing of its own there.
    std::error_code ec;
    if (fs::exists(cache / "tmp", ec)) {
      for (const auto& e : fs::directory_iterator(cache / "tmp")) {
        const std::string name = e.path().filename().string();
        EXPECT_NE(name.find("." + std::to_string(victim_pid) + "."), std::string::npos)
            << "tmp/" << name << " is not the killed writer's";
      }
    }
    const auto got = fingerprints(cache);
    EXPECT_EQ(got.size(), reference.size());
    for (const auto& [key, print] : reference) {
      auto it = got.find(key);
      if (it == got.end()) {
        ADD_FAILURE() << "entry " << key << " is missing after the rerun";
      } else {
        EXPECT_EQ(it->second, print) << "entry " << key << " differs from the uninterrupted run";
      }
    }
    fs::remove_all(cache, ec);
    if (HasFailure()) break;  // one replayable failure is enough
  }
  std::cout << "chaos: " << kills << " kills (seed " << seed << "), " << interrupted
            << " while running; uninterrupted run " << seconds
            << " s; stages finished when killed:";
  for (const auto& [entries, n] : finished_at_kill)
    std::cout << " " << entries << " (x" << n << ")";
  std::cout << "\n";
  EXPECT_GE(interrupted, kills / 2) << "most kills should land while the run is going";
  if (kills >= 20) {
    EXPECT_GE(finished_at_kill.size(), 3u)
        << "the kills should land at several stages of the pipeline";
  }
}

}  // namespace
}  // namespace wmgeom::testing

namespace wmgeom::testing {
namespace {

// nets/threads.h: wmgeom's OpenMP waits passively unless the user chose a
// policy (GNU OpenMP itself says what it read, OMP_DISPLAY_ENV); the log
// says which policy it ran under and how many CPUs it may use.
TEST(Threads, WmgeomWaitsPassivelyUnlessTheUserChose) {
  TempDir dir;
  write_file(dir / "p.toml",
             "[pipeline]\nname = \"t\"\n[stage.s]\ntype = \"render\"\ncategories = 2\n"
             "identities_per_category = 1\nviews = 2\nimage_size = 16\nlocations = 1\n");
  auto log_of = [&](const std::string& env) {
    const std::string cmd = "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT " + env + " " + WMGEOM_CLI +
                            " run " + (dir / "p.toml").string() + " --cache-dir " +
                            (dir / "c").string() + " --out " + (dir / "o").string() +
                            " --no-progress -q --from s > " + (dir / "log").string() + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << read_file(dir / "log");
    return read_file(dir / "o" / "wmgeom.log");
  };
  EXPECT_NE(log_of("").find("OMP_WAIT_POLICY=passive"), std::string::npos);
  EXPECT_NE(log_of("OMP_WAIT_POLICY=active").find("OMP_WAIT_POLICY=active"), std::string::npos);
  EXPECT_NE(log_of("GOMP_SPINCOUNT=1000").find("OMP_WAIT_POLICY=(unset)"), std::string::npos);
  EXPECT_NE(log_of("taskset -c 0").find("this process may use 1 CPU"), std::string::npos);
  // What GNU OpenMP itself read at its initialisation, before main: passive
  // waiting is a spin count of 0 (its default is 300000).
  auto openmp_says = [&](const std::string& env, const std::string& command) {
    const std::string cmd = "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=verbose " +
                            env + " " + WMGEOM_CLI + " " + command + " > " +
                            (dir / "env").string() + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << read_file(dir / "env");
    return read_file(dir / "env");
  };
  const std::string run = "run " + (dir / "p.toml").string() + " --cache-dir " +
                          (dir / "c").string() + " --out " + (dir / "o").string() +
                          " --no-progress -q";
  EXPECT_NE(openmp_says("", run).find("GOMP_SPINCOUNT = '0'"), std::string::npos)
      << openmp_says("", run);
  EXPECT_NE(openmp_says("GOMP_SPINCOUNT=1000", run).find("GOMP_SPINCOUNT = '1000'"),
            std::string::npos);
  // Commands that never compute do not pay for a second start.
  EXPECT_NE(
      openmp_says("", "validate " + (dir / "p.toml").string()).find("GOMP_SPINCOUNT = '300000'"),
      std::string::npos);
}

}  // namespace
}  // namespace wmgeom::testing
