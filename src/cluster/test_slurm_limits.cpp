// The Slurm executor against a real Slurm (scripts/slurm-local; every test
// skips, saying why, without SLURM_CONF): jobs sized to the cluster's nodes,
// requests that can never run refused before submission, jobs held for a
// reason that cannot clear, and requeues (signals, time limits, warnings).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "cache/cache.h"
#include "cluster/slurm.h"
#include "cluster/test_slurm_cluster.h"
#include "config/diagnostics.h"
#include "core/instance_name.h"
#include "graph/plan.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

TEST(Slurm, AStageAskingMoreCpusThanTheNodeHasRunsSizedDown) {
  REQUIRE_SLURM();
  const int cpus = node_cpus();
  ASSERT_GT(cpus, 0);
  Cluster c;
  write_file(c.dir / "profile.toml", profile_text(WMGEOM_TESTCLI));
  write_file(c.dir / "p.toml",
             "[pipeline]\nname = \"wide\"\nseed = 1\n\n[stage.numbers]\ntype = \"source\"\nn = "
             "6\ncpus = " +
                 std::to_string(cpus + 2) + "\n");
  CliResult r = c.run("p.toml");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(
      r.err.find("stage numbers (source) asks " + std::to_string(cpus + 2) + " CPUs; partition "),
      std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("sized down to " + std::to_string(cpus) +
                       " (its result does not depend on its width)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("submitted numbers: job "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(", " + std::to_string(cpus) + " CPU, "), std::string::npos) << r.err;
  const std::string script = read_file(c.out() / "slurm" / "jobs" / "numbers.sh");
  EXPECT_NE(script.find("--threads " + std::to_string(cpus)), std::string::npos) << script;
}

TEST(Slurm, AHashedWidthThatCannotFitIsRefusedBeforeAnythingIsSubmitted) {
  REQUIRE_SLURM();
  Cluster c;
  write_file(c.dir / "profile.toml", profile_text(WMGEOM_CLI));
  write_file(c.dir / "p.toml", study_pipeline(40));
  const std::string before = run_command({"squeue", "-h", "-o", "%i"}).out;
  CliResult r = c.run("p.toml", {"--set", "stage.net.threads=4096"}, real_registry());
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("can never run on this cluster; nothing was submitted"), std::string::npos)
      << r.err;
  EXPECT_NE(
      r.err.find(
          "stage net (train) asks 4096 CPUs, the width it trains at (its threads = 4096, hashed"),
      std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("offers at most " + std::to_string(node_cpus()) + " CPU(s) on a node"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("[stage.train] set = [\"threads="), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("submitted "), std::string::npos) << r.err;  // not even the stages before it
  EXPECT_FALSE(fs::exists(SlurmExecutor::submission_file(c.out())));
  EXPECT_EQ(run_command({"squeue", "-h", "-o", "%i"}).out, before);
}

// A job's memory is what the plan's estimate says its instance needs (in
// MiB, x 1.25, + 256), not the stage's 200 MB: an estimate no node can hold
// is refused before anything is submitted, naming it; a modest one is
// submitted with that memory and runs.
TEST(Slurm, TheMemoryAskedIsTheEstimatesAndOneNoNodeHoldsIsRefused) {
  REQUIRE_SLURM();
  Cluster c;
  write_file(c.dir / "profile.toml", profile_text(WMGEOM_TESTCLI));
  write_file(c.dir / "p.toml",
             "[pipeline]\nname = \"mem\"\nseed = 1\n\n[stage.numbers]\ntype = \"source\"\n"
             "n = 6\n");
  const std::string before = run_command({"squeue", "-h", "-o", "%i"}).out;
  // 100 TB of working memory: beyond the node (this machine's real memory).
  CliResult r = c.run("p.toml", {"--set", "stage.numbers.working_mb=100000000"});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  // 1e14 + 48 bytes = 95,367,432 MiB rounded up; x 1.25 = 119,209,290, + 256.
  EXPECT_NE(r.err.find("stage numbers (source) asks 119209546 MB of memory (the plan's estimate "
                       "for numbers: 95367432 MiB (100.0 TB: "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("times 1.25, plus 256 MiB for the process); partition "), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("submitted "), std::string::npos) << r.err;
  EXPECT_EQ(run_command({"squeue", "-h", "-o", "%i"}).out, before);
  // 500 MB: 500,000,048 bytes = 477 MiB rounded up; x 1.25 = 597, + 256.
  r = c.run("p.toml", {"--set", "stage.numbers.working_mb=500"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("submitted numbers: job "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(", 1 CPU, 853 MB, "), std::string::npos) << r.err;
}

// A job Slurm holds for a reason that waiting cannot clear (here: more CPUs
// than any node has, asked through the profile's own sbatch flags, which
// wmgeom passes on unread) fails the run after stuck_seconds, and its
// dependents are cancelled; every state line carries Slurm's reason.
TEST(Slurm, AJobHeldForAReasonThatCannotClearFailsWithinTheGracePeriod) {
  REQUIRE_SLURM();
  Cluster c;
  write_file(
      c.dir / "profile.toml",
      profile_text(
          WMGEOM_TESTCLI,
          "stuck_seconds = 3\nremind_seconds = 1\n[stage.scale]\nsbatch = [\"--cpus-per-task=" +
              std::to_string(node_cpus() * 8) + "\"]\n"));
  write_file(c.dir / "p.toml", sweep_pipeline(c.dir.path()));
  const auto t0 = std::chrono::steady_clock::now();
  CliResult r = c.run("p.toml");
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_LT(took, 60.0) << r.err;
  EXPECT_NE(r.err.find("PENDING (PartitionConfig), which waiting cannot clear"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("total (job "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("PENDING (Dependency)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[slurm] still waiting after "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("could not start: PENDING (PartitionConfig) for "), std::string::npos)
      << r.err;
  EXPECT_NE(
      r.err.find("which waiting cannot clear. To change, in " + (c.dir / "profile.toml").string() +
                 ": lower the request ([stage.scale] cpus"),
      std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Cancelled it and the 1 job(s) that depend on it"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("error: stage scaled[factor="), std::string::npos) << r.err;
  const auto run = RunSummary::from_json(nlohmann::json::parse(read_file(c.out() / "run.json")));
  for (const auto& i : run.instances) {
    if (i.instance == "numbers") {
      EXPECT_EQ(i.cache, CacheStatus::kMiss);
    }
    if (i.instance == "total") {
      EXPECT_EQ(i.cache, CacheStatus::kCancelled) << i.error;
    }
    if (i.instance.rfind("scaled", 0) == 0) {
      EXPECT_EQ(i.cache, CacheStatus::kFailed) << i.instance;
      EXPECT_NE(i.error.find("PartitionConfig"), std::string::npos) << i.error;
    }
  }
  // Nothing of the run is left in the queue.
  std::string ids;
  for (const auto& j : c.submission()["jobs"])
    ids += (ids.empty() ? "" : ",") + j["id"].get<std::string>();
  EXPECT_EQ(run_command({"squeue", "-h", "-j", ids}).out, "");
}

// USR1 to a training job's shell (what Slurm sends warn_seconds before the
// time limit): wmgeom stops, train checkpoints, the job requeues itself and
// resumes to the weights of an uninterrupted run.
TEST(Slurm, SignalledTrainingCheckpointsRequeuesAndResumesToIdenticalWeights) {
  REQUIRE_SLURM();
  Cluster c;
  write_file(c.dir / "profile.toml", profile_text(WMGEOM_CLI));
  const std::string text = study_pipeline(4000, "sweep = { seed = [1] }\n");
  // One training: drop the 4-seed sweep line for a single seed.
  std::string one = text;
  one.erase(one.find("sweep = { seed = [1, 2, 3, 4] }\n"),
            std::string("sweep = { seed = [1, 2, 3, 4] }\n").size());
  write_file(c.dir / "p.toml", one);
  ASSERT_EQ(c.run("p.toml", {"--detach", "--only", "net"}, real_registry()).code, 0);
  const auto sub = c.submission();
  std::string train_job;
  for (const auto& j : sub["jobs"]) {
    if (j["decl"] == "net") train_job = j["id"];
  }
  ASSERT_FALSE(train_job.empty()) << sub.dump(2);
  // Once it has trained a while (a "step" line in its log), signal its shell.
  const fs::path log = c.out() / "slurm" / "logs" / ("net-" + train_job + ".log");
  bool stepping = false;
  for (int i = 0; i < 600 && !stepping; ++i) {
    stepping = fs::exists(log) && read_file(log).find(": step 100/") != std::string::npos;
    if (!stepping) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(stepping) << (fs::exists(log) ? read_file(log) : "no log");
  ASSERT_EQ(run_command({"scancel", "--signal=USR1", "--batch", train_job}).status, 0);
  // The waiting run follows the requeued job to its end.
  CliResult r = c.run("p.toml", {"--only", "net"}, real_registry());
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string text_log = read_file(log);
  EXPECT_NE(text_log.find("checkpoint saved; requeueing (restart 1 of at most 3)"),
            std::string::npos)
      << text_log;
  EXPECT_NE(text_log.find("resuming from the checkpoint at step"), std::string::npos) << text_log;
  // The same weights and curves as a run that was never stopped.
  TempDir local;
  ASSERT_EQ(
      run_cli({"run", (c.dir / "p.toml").string(), "--only", "net", "--cache-dir",
               (local / "cache").string(), "--out", (local / "out").string(), "--no-progress"},
              real_registry())
          .code,
      0);
  Diagnostics d;
  auto plan = make_plan((c.dir / "p.toml").string(), {}, real_registry(), d);
  ASSERT_TRUE(plan) << d.format_all();
  const std::string key = plan->instances.at(plan->select("net").front()).key;
  auto x = Cache(c.cache()).load(key), y = Cache(local / "cache").load(key);
  ASSERT_TRUE(x && y);
  for (const auto& [name, arr] : x->arrays) {
    const auto bx = arr.bytes(), by = y->array(name).bytes();
    EXPECT_TRUE(std::equal(bx.begin(), bx.end(), by.begin(), by.end())) << name;
  }
}

// A time limit too short for the training: each run is warned (USR1 at
// warn_seconds before the limit), checkpoints and requeues, until
// max_requeues; then the job fails, saying so.
TEST(Slurm, ATimeLimitTooShortRequeuesThenFailsAtTheCap) {
  REQUIRE_SLURM();
  Cluster c;
  write_file(c.dir / "profile.toml",
             profile_text(WMGEOM_CLI,
                          "warn_seconds = 50\nmax_requeues = 1\n[stage.train]\nminutes = 1\n"));
  std::string one = study_pipeline(1000000);
  one.replace(one.find("sweep = { seed = [1, 2, 3, 4] }"),
              std::string("sweep = { seed = [1, 2, 3, 4] }").size(), "");
  write_file(c.dir / "p.toml", one);
  CliResult r = c.run("p.toml", {"--only", "net"}, real_registry());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(
      r.err.find(
          "stage net failed: stopped 2 times by its time limit or preemption (max_requeues = 1)"),
      std::string::npos)
      << r.err;
  const auto run = RunSummary::from_json(nlohmann::json::parse(read_file(c.out() / "run.json")));
  for (const auto& i : run.instances) {
    if (i.instance == "net") {
      EXPECT_EQ(i.cache, CacheStatus::kFailed);
      EXPECT_EQ(i.job.requeues, 1);
      EXPECT_NE(read_file(i.job.log).find("max_requeues = 1 in the cluster profile: failing"),
                std::string::npos);
    }
  }
}

// Slurm may send the time-limit warning up to a minute early: at a job's
// start, before wmgeom has installed its handler (it is still loading), the
// forwarded USR1 kills it. That is a stop like any other: the job requeues
// and the next run computes the result. Here the "wmgeom" sleeps in a shell
// that never catches USR1 before it starts the real one, and the signal is
// sent while it sleeps.
TEST(Slurm, AWarningBeforeWmgeomCanCatchItRequeuesTheJob) {
  REQUIRE_SLURM();
  Cluster c;
  const fs::path slow = c.dir / "slow-wmgeom";
  write_file(slow, "#!/bin/bash\nsleep 20\nexec '" + std::string(WMGEOM_TESTCLI) + "\' \"$@\"\n");
  fs::permissions(slow, fs::perms::owner_all, fs::perm_options::add);
  write_file(c.dir / "profile.toml", profile_text(slow.string(), "max_requeues = 1\n"));
  write_file(
      c.dir / "p.toml",
      "[pipeline]\nname = \"early\"\nseed = 1\n\n[stage.numbers]\ntype = \"source\"\nn = 6\n");
  ASSERT_EQ(c.run("p.toml", {"--detach"}).code, 0);
  const auto sub = c.submission();
  ASSERT_EQ(sub["jobs"].size(), 1u) << sub.dump(2);
  const std::string job = sub["jobs"][0]["id"];
  // The job's shell writes job.json just before it starts "wmgeom".
  const fs::path started = c.out() / "slurm" / "runs" / "numbers" / "job.json";
  bool running = false;
  for (int i = 0; i < 600 && !running; ++i) {
    running = fs::exists(started);
    if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(running) << "the job never started";
  ASSERT_EQ(run_command({"scancel", "--signal=USR1", "--batch", job}).status, 0);
  CliResult r = c.run("p.toml");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string log = read_file(c.out() / "slurm" / "logs" / ("numbers-" + job + ".log"));
  EXPECT_NE(log.find("was ended by the forwarded signal before it could catch it"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("requeueing (restart 1 of at most 1)"), std::string::npos) << log;
  const auto run = RunSummary::from_json(nlohmann::json::parse(read_file(c.out() / "run.json")));
  for (const auto& i : run.instances) {
    if (i.instance == "numbers") {
      EXPECT_EQ(i.job.requeues, 1);
    }
  }
}

}  // namespace
}  // namespace wmgeom::testing
