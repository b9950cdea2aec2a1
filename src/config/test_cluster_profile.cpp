// Cluster profiles (config/cluster_profile.h): read and validated like
// pipelines, every problem located; and the CLI refuses a bad profile with
// exit 2 before submitting anything (no Slurm needed).
#include <gtest/gtest.h>

#include "cache/cache.h"
#include "cluster/slurm.h"
#include "config/cluster_profile.h"
#include "config/diagnostics.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

const std::vector<std::string> kTypes = {"render", "train", "analyze"};

TEST(ClusterProfile, ReadsEveryKeyAndPerTypeOverrides) {
  Diagnostics d;
  auto p = load_cluster_profile_text("site.toml", R"([slurm]
partition = "cpu"
account = "lab"
qos = "normal"
sbatch = ["--constraint=avx2"]
setup = ["module load gcc/12"]
wmgeom = "/shared/bin/wmgeom"
max_requeues = 5
warn_seconds = 300
poll_seconds = 10.0
stuck_seconds = 30
remind_seconds = 600

[stage.train]
partition = "gpu"
gpus = 1
cpus = 4
mem_mb = 16000
minutes = 240
set = ["device=\"cuda\""]
max_running = 2
)",
                                     kTypes, d);
  ASSERT_TRUE(p) << d.format_all();
  EXPECT_EQ(p->partition, "cpu");
  EXPECT_EQ(p->account, "lab");
  EXPECT_EQ(p->qos, "normal");
  EXPECT_EQ(p->sbatch, std::vector<std::string>{"--constraint=avx2"});
  EXPECT_EQ(p->setup, std::vector<std::string>{"module load gcc/12"});
  EXPECT_EQ(p->wmgeom, "/shared/bin/wmgeom");
  EXPECT_EQ(p->max_requeues, 5);
  EXPECT_EQ(p->warn_seconds, 300);
  EXPECT_EQ(p->poll_seconds, 10.0);
  EXPECT_EQ(p->stuck_seconds, 30);
  EXPECT_EQ(p->remind_seconds, 600);
  EXPECT_EQ(p->where.at("partition"),
            "site.toml:2:13");  // for messages naming the key that changes a request
  const ClusterStage& t = p->stages.at("train");
  EXPECT_EQ(t.where.at("cpus"), "site.toml:17:8");
  EXPECT_EQ(t.partition, "gpu");
  EXPECT_EQ(t.gpus, 1);
  EXPECT_EQ(t.cpus, 4);
  EXPECT_EQ(t.mem_mb, 16000);
  EXPECT_EQ(t.minutes, 240);
  EXPECT_EQ(t.set, std::vector<std::string>{"device=\"cuda\""});
  EXPECT_EQ(t.max_running, 2);
  EXPECT_EQ(p->max_running, 0);  // [slurm] did not set it: no cap
  // Defaults: an empty profile is valid.
  Diagnostics d2;
  auto empty = load_cluster_profile_text("e.toml", "", kTypes, d2);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->max_requeues, 3);
  EXPECT_EQ(empty->warn_seconds, 120);
  EXPECT_EQ(empty->stuck_seconds, 60);
  EXPECT_EQ(empty->remind_seconds, 300);
  EXPECT_EQ(empty->max_running, 0);
  // The per-type set lines become --set lines for every declaration of the type.
  PipelineSpec spec;
  spec.stages.resize(2);
  spec.stages[0].name = "gru";
  spec.stages[0].type = "train";
  spec.stages[1].name = "stimuli";
  spec.stages[1].type = "render";
  EXPECT_EQ(SlurmExecutor::profile_sets(spec, *p),
            std::vector<std::string>{"stage.gru.device=\"cuda\""});
}

TEST(ClusterProfile, EveryProblemIsLocated) {
  Diagnostics d;
  auto p = load_cluster_profile_text("bad.toml", R"([slurm]
partiton = "cpu"
max_requeues = -1
poll_seconds = "fast"

[stage.trian]
cpus = 2

[stage.train]
gpus = 100
max_running = -2

[stage.analyze]
set = ["nonsense"]

[cluster]
)",
                                     kTypes, d);
  EXPECT_FALSE(p);
  const std::string all = d.format_all();
  EXPECT_NE(all.find("bad.toml:2:1: error: slurm.partiton: unknown key for [slurm] (did you mean "
                     "\"partition\"?)"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("bad.toml:3:16: error: slurm.max_requeues: expected an integer in [0, 100]"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("bad.toml:4:16: error: slurm.poll_seconds"), std::string::npos) << all;
  EXPECT_NE(
      all.find("bad.toml:6:8: error: stage.trian: unknown stage type (did you mean \"train\"?)"),
      std::string::npos)
      << all;
  EXPECT_NE(all.find("bad.toml:10:8: error: stage.train.gpus"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.toml:14:7: error: stage.analyze.set: expected PARAM=VALUE items, found "
                     "\"nonsense\""),
            std::string::npos)
      << all;
  EXPECT_NE(
      all.find(
          "bad.toml:11:15: error: stage.train.max_running: expected an integer in [0, 100000]"),
      std::string::npos)
      << all;
  EXPECT_NE(all.find("bad.toml:16:2: error: cluster: unknown top-level key"), std::string::npos)
      << all;
  Diagnostics syntax;
  EXPECT_FALSE(load_cluster_profile_text("s.toml", "[slurm\n", kTypes, syntax));
  EXPECT_NE(syntax.format_all().find("s.toml:1:"), std::string::npos) << syntax.format_all();
}

TEST(ClusterProfile, TheCliRefusesABadProfileWithExitTwoBeforeSubmitting) {
  TempDir dir;
  write_file(dir / "p.toml", "[pipeline]\nname = \"p\"\n\n[stage.a]\ntype = \"source\"\n");
  write_file(dir / "bad.toml", "[slurm]\nwarn_seconds = 5\n");
  CliResult r = run_cli({"run", (dir / "p.toml").string(), "--executor", "slurm", "--profile",
                         (dir / "bad.toml").string(), "--cache-dir", (dir / "c").string(), "--out",
                         (dir / "o").string()},
                        test_registry());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(
      r.err.find("bad.toml:2:16: error: slurm.warn_seconds: expected an integer in [10, 3600]"),
      std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("nothing was submitted"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "o" / "slurm"));
  // The embedded quickstart is not a file the nodes can read.
  r = run_cli({"run", "--executor", "slurm"}, test_registry());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("needs a pipeline file that the nodes can read"), std::string::npos)
      << r.err;
  // status without a submission says so.
  r = run_cli({"status", (dir / "p.toml").string(), "--out", (dir / "o").string()},
              test_registry());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no Slurm submission"), std::string::npos) << r.err;
}

// A cluster job runs its instance only under the submitter's key (else a
// setting such as device = "auto" resolved differently on the node).
TEST(ClusterProfile, AJobRefusesAKeyOtherThanTheSubmittersWithExitTwo) {
  TempDir dir;
  const std::string text = "[pipeline]\nname = \"p\"\n\n[stage.a]\ntype = \"source\"\n";
  write_file(dir / "p.toml", text);
  const std::string key = instance_key(dir / "p.toml", text, "a", test_registry());
  auto run = [&](const std::string& expect) {
    return run_cli(
        {"run", (dir / "p.toml").string(), "--only", "a", "--expect-key", expect, "--cache-dir",
         (dir / "c").string(), "--out", (dir / "o").string(), "--no-progress"},
        test_registry());
  };
  CliResult r = run("0123456789abcdef0123456789abcdef");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("a plans to key " + key +
                       " here but to 0123456789abcdef0123456789abcdef where it was submitted"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(Cache(dir / "c").contains(key));  // nothing computed
  r = run(key);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(Cache(dir / "c").contains(key));
}

}  // namespace
}  // namespace wmgeom::testing
