// The CLI end to end (in-process): run, validate, stages, export, profile, cache.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/embed.h"
#include "core/run_summary.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "graph/registry.h"
#include "test_stages.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

namespace fs = std::filesystem;

const StageRegistry& registry() { return test_registry(); }

struct Cli {
  TempDir dir;
  std::string file = (dir / "p.toml").string();
  Cli() {
    write_file(file,
               "[pipeline]\nname = \"demo\"\nseed = 1\n"
               "[stage.a]\ntype = \"source\"\nn = 3\nsweep = { value = [1.0, 2.0] }\n"
               "[stage.total]\ntype = \"sum\"\nxs = \"a\"\n");
  }
  CliResult operator()(std::vector<std::string> args, bool with_cache = true) {
    if (with_cache) {
      args.push_back("--cache-dir");
      args.push_back((dir / "cache").string());
    }
    return run_cli(args, registry());
  }
};

TEST(Cli, RunWritesProfileAndLogAndTable) {
  Cli cli;
  CliResult r = cli({"run", cli.file, "--out", (cli.dir / "out").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("a[value=1.0]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("miss"), std::string::npos);
  auto prof = nlohmann::json::parse(read_file(cli.dir / "out" / "run.json"));
  EXPECT_EQ(prof["pipeline"], "demo");
  ASSERT_EQ(prof["stages"].size(), 3u);
  for (const auto& s : prof["stages"]) {
    for (const char* k : {"stage", "type", "cache", "seconds", "items", "items_per_s", "bytes"}) {
      EXPECT_TRUE(s.contains(k)) << k;
    }
  }
  EXPECT_TRUE(fs::exists(cli.dir / "out" / "wmgeom.log"));
  CliResult again = cli({"run", cli.file, "--out", (cli.dir / "out").string()});
  EXPECT_EQ(again.code, 0);
  EXPECT_EQ(again.out.find("miss"), std::string::npos) << again.out;
}

// Issue 24 item 3: a command plans its pipeline once (planning validates
// every stage, hashes the files parameters name and computes every key).
// The Slurm commands are counted in src/cluster/test_slurm.cpp.
TEST(Cli, EachCommandPlansThePipelineOnce) {
  Cli cli;
  const std::string out = (cli.dir / "out").string();
  const std::vector<std::vector<std::string>> commands = {
      {"run", cli.file, "--out", out},
      {"run", cli.file, "--out", out, "--dry-run"},
      {"run", cli.file, "--out", out, "--only", "total", "--from", "a"},
      {"profile", cli.file, "--out", out},
      {"export", cli.file, "total", (cli.dir / "export").string()},
      {"cache", "explain", cli.file, "total"}};
  for (const auto& command : commands) {
    const std::int64_t before = plans_made();
    const CliResult r = cli(command);
    EXPECT_EQ(r.code, 0) << command[0] << ": " << r.err;
    EXPECT_EQ(plans_made() - before, 1) << command[0] << " " << command.back();
  }
  const std::int64_t before = plans_made();
  EXPECT_EQ(cli({"validate", cli.file}, false).code, 0);
  EXPECT_EQ(plans_made() - before, 1) << "validate";
}

// Issue 22: run.json holds each instance's inputs and the run's critical
// path (the slowest chain of dependent instances by compute seconds), and
// the run prints it.
TEST(Cli, RunJsonRecordsInputsAndTheCriticalPath) {
  TempDir dir;
  const std::string file = (dir / "p.toml").string();
  write_file(file,
             "[pipeline]\nname = \"path\"\nseed = 1\n"
             "[stage.fast]\ntype = \"source\"\nn = 3\nsleep_ms = 10\n"
             "[stage.slow]\ntype = \"source\"\nn = 3\nvalue = 2.0\nsleep_ms = 600\n"
             "[stage.scaled]\ntype = \"scale\"\nx = \"slow\"\nsleep_ms = 200\n"
             "[stage.total]\ntype = \"sum\"\nxs = [\"fast\", \"scaled\"]\n");
  CliResult r = run_cli(
      {"run", file, "--out", (dir / "out").string(), "--cache-dir", (dir / "cache").string()},
      registry());
  ASSERT_EQ(r.code, 0) << r.err;
  auto prof = nlohmann::json::parse(read_file(dir / "out" / "run.json"));
  std::map<std::string, nlohmann::json> by;
  for (const auto& s : prof["stages"]) by[s["stage"]] = s;
  EXPECT_EQ(by["total"]["inputs"], nlohmann::json({"fast", "scaled"}));
  EXPECT_EQ(by["scaled"]["inputs"], nlohmann::json({"slow"}));
  EXPECT_TRUE(by["slow"]["inputs"].empty());
  EXPECT_EQ(by["total"]["kind"],
            "Numbers");  // the artifact kind each instance produced (its schema's output)
  const auto& path = prof["critical_path"];
  EXPECT_EQ(path["instances"], nlohmann::json({"slow", "scaled", "total"}));
  const double along = by["slow"]["compute_seconds"].get<double>() +
                       by["scaled"]["compute_seconds"].get<double>() +
                       by["total"]["compute_seconds"].get<double>();
  EXPECT_NEAR(path["seconds"].get<double>(), along, 1e-9);
  EXPECT_GE(path["seconds"].get<double>(), 0.8);
  EXPECT_NEAR(path["total_seconds"].get<double>(),
              along + by["fast"]["compute_seconds"].get<double>(), 1e-9);
  EXPECT_NE(r.out.find("critical path: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(slow -> ... -> total, 3 instances;"), std::string::npos) << r.out;
  // Warm: every instance cached counts the seconds it took then, so the
  // path is the same; it survives the record's round trip.
  CliResult again = run_cli(
      {"run", file, "--out", (dir / "out2").string(), "--cache-dir", (dir / "cache").string()},
      registry());
  ASSERT_EQ(again.code, 0) << again.err;
  const auto warm =
      RunSummary::from_json(nlohmann::json::parse(read_file(dir / "out2" / "run.json")));
  EXPECT_EQ(warm.critical_path().instances, (std::vector<std::string>{"slow", "scaled", "total"}));
  EXPECT_EQ(warm.instances.back().kind, "Numbers");
  EXPECT_NEAR(warm.critical_path().seconds, path["seconds"].get<double>(), 1e-6);
}

// Planted: the path follows the slowest chain, skips what is not part of
// the run, and counts a cached instance's original seconds.
TEST(RunSummary, CriticalPathIsTheSlowestChainOfTheRun) {
  RunSummary r;
  auto add = [&](const std::string& name, double secs, CacheStatus cache,
                 std::vector<std::string> inputs) {
    r.instances.push_back(instance_summary(name, cache, std::move(inputs), "", secs));
  };
  add("features", 10, CacheStatus::kHit, {});
  add("train[seed=1]", 50, CacheStatus::kMiss, {"features"});
  add("train[seed=2]", 70, CacheStatus::kHit, {"features"});
  add("capture[seed=1]", 1, CacheStatus::kMiss, {"train[seed=1]"});
  add("capture[seed=2]", 1, CacheStatus::kMiss, {"train[seed=2]"});
  add("analyze[seed=1]", 60, CacheStatus::kMiss, {"capture[seed=1]"});
  add("analyze[seed=2]", 30, CacheStatus::kMiss, {"capture[seed=2]"});
  add("unused", 1000, CacheStatus::kSkip, {});
  add("findings", 0.5, CacheStatus::kMiss, {"analyze[seed=1]", "analyze[seed=2]", "unused"});
  const CriticalPath p = r.critical_path();
  // seed 1: 10 + 50 + 1 + 60 = 121; seed 2: 10 + 70 + 1 + 30 = 111.
  EXPECT_DOUBLE_EQ(p.seconds, 121.5);
  EXPECT_EQ(p.instances, (std::vector<std::string>{"features", "train[seed=1]", "capture[seed=1]",
                                                   "analyze[seed=1]", "findings"}));
  EXPECT_DOUBLE_EQ(p.total_seconds, 10 + 50 + 70 + 1 + 1 + 60 + 30 + 0.5);
  EXPECT_TRUE(RunSummary{}.critical_path().instances.empty());
}

// Issue 14 ("Also"): the output folder and the cache are never one inside
// the other; export never writes into a folder with someone else's files.
TEST(Cli, OutAndCacheMayNotNestAndExportKeepsOthersFiles) {
  TempDir dir;
  write_file(dir / "p.toml", "[pipeline]\nname = \"p\"\n\n[stage.a]\ntype = \"source\"\n");
  auto run = [&](const fs::path& out, const fs::path& cache) {
    return run_cli({"run", (dir / "p.toml").string(), "--out", out.string(), "--cache-dir",
                    cache.string(), "--no-progress"},
                   test_registry());
  };
  CliResult r = run(dir / "c" / "out", dir / "c");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("is inside the cache"), std::string::npos) << r.err;
  r = run(dir / "o", dir / "o" / "cache");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("is inside --out"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "o" / "cache"));
  ASSERT_EQ(run(dir / "o", dir / "c").code, 0);
  // export: a folder with a user's file is refused; a new one, or an earlier export, is fine.
  write_file(dir / "mine" / "notes.txt", "keep me");
  auto exp = [&](const fs::path& to, bool force) {
    std::vector<std::string> args = {"export",      (dir / "p.toml").string(), "a", to.string(),
                                     "--cache-dir", (dir / "c").string()};
    if (force) args.push_back("--force");
    return run_cli(args, test_registry());
  };
  r = exp(dir / "mine", false);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("is not empty and was not written by wmgeom export"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir / "mine" / "meta.json"));
  EXPECT_EQ(exp(dir / "fresh", false).code, 0);
  EXPECT_EQ(exp(dir / "fresh", false).code, 0);  // its own earlier export
  EXPECT_EQ(exp(dir / "mine", true).code, 0);
  EXPECT_EQ(read_file(dir / "mine" / "notes.txt"), "keep me");
}

// Folders that cannot be folders are refused before anything runs, exit 2,
// and a refused export leaves nothing behind: an unknown stage, a file in
// the way (the folder itself, or above it), an empty path; a cache folder
// that is a file (every entry was a miss and every write failed); a cluster
// profile given to a local run (it was ignored, even when missing).
TEST(Cli, FoldersThatCannotBeAreRefusedBeforeAnythingRuns) {
  TempDir dir;
  write_file(dir / "p.toml", "[pipeline]\nname = \"p\"\n\n[stage.a]\ntype = \"source\"\n");
  write_file(dir / "afile", "not a folder");
  const std::string cache = (dir / "c").string();
  auto exp = [&](const std::string& stage, const std::string& to) {
    return run_cli({"export", (dir / "p.toml").string(), stage, to, "--cache-dir", cache},
                   test_registry());
  };
  CliResult r = exp("ghost", (dir / "x1").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no stage or instance named \"ghost\""), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "x1")) << "a refused export made its folder";
  r = exp("a", (dir / "afile").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("afile\": it is a file, not a folder"), std::string::npos) << r.err;
  r = exp("a", (dir / "afile" / "sub").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find((dir / "afile").string() + " is a file, not a folder"), std::string::npos)
      << r.err;
  r = exp("a", "");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("expected a folder, found an empty path"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "c" / "v1")) << "a refused export computed its stage";
  EXPECT_EQ(exp("a", (dir / "x2").string()).code, 0);
  EXPECT_TRUE(fs::exists(dir / "x2" / ".wmgeom-export"));

  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"run", (dir / "p.toml").string(), "--dry-run", "--cache-dir", (dir / "afile").string()},
           {"cache", "ls", "--cache-dir", (dir / "afile").string()},
           {"cache", "verify", "--cache-dir", (dir / "afile" / "deeper").string()}}) {
    r = run_cli(args, test_registry());
    EXPECT_EQ(r.code, 2) << args[0] << " " << args[1] << ": " << r.out;
    EXPECT_NE(r.err.find("error: cache folder"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("is a file, not a folder"), std::string::npos) << r.err;
  }
  r = run_cli({"run", (dir / "p.toml").string(), "--dry-run", "--cache-dir", cache, "--profile",
               (dir / "missing.toml").string()},
              test_registry());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("a cluster profile is read only with --executor slurm"), std::string::npos)
      << r.err;
}

TEST(Cli, AnUnknownCommandIsNamedWithWhatWouldDo) {
  // `wmgeom cache bogus` said only "A subcommand is required".
  CliResult r = run_cli({"cache", "bogus"}, test_registry());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("error: unknown command \"bogus\" after `wmgeom cache`: expected ls, "
                       "explain, verify or gc; see wmgeom cache --help"),
            std::string::npos)
      << r.err;
  r = run_cli({"cache", "lss"}, test_registry());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("(did you mean \"ls\"?)"), std::string::npos) << r.err;
  r = run_cli({"rnu", "p.toml"}, test_registry());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command \"rnu\" after `wmgeom`: expected run,"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("(did you mean \"run\"?)"), std::string::npos) << r.err;
  // Known words and options still reach CLI11 and the commands.
  TempDir dir;
  EXPECT_EQ(run_cli({"cache", "ls", "--cache-dir", (dir / "c").string()}, test_registry()).code, 0);
  EXPECT_EQ(run_cli({"--help"}, test_registry()).code, 0);
  r = run_cli({"cache"}, test_registry());
  EXPECT_EQ(r.code, 2);
}

TEST(Cli, DryRunShowsPlan) {
  Cli cli;
  CliResult r = cli({"run", cli.file, "--dry-run"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("plan of"), std::string::npos);
  EXPECT_NE(r.out.find("total"), std::string::npos);
  EXPECT_FALSE(fs::exists(cli.dir / "cache" / "v1"));
}

TEST(Cli, FailingStageExitsOneNamingIt) {
  Cli cli;
  CliResult r =
      cli({"run", cli.file, "--set", "stage.total.fail=true", "--out", (cli.dir / "o").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("error: stage total failed: deliberate failure"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("wmgeom.log"), std::string::npos);
}

TEST(Cli, ProfileWritesJson) {
  Cli cli;
  std::string json = (cli.dir / "prof.json").string();
  CliResult r = cli({"profile", cli.file, "--json", json, "--out", (cli.dir / "o").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  auto prof = nlohmann::json::parse(read_file(json));
  EXPECT_EQ(prof["stages"][0]["cache"], "miss");
  EXPECT_EQ(prof["stages"][0]["items"], 3);
  EXPECT_EQ(prof["stages"][0]["type"], "source");
  EXPECT_NE(r.out.find("items/s"), std::string::npos);
}

TEST(Cli, ExportWritesNpyThatNumpyReads) {
  Cli cli;
  fs::path out = cli.dir / "exp";
  CliResult r = cli({"export", cli.file, "total", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out / "x.npy"));
  auto meta = nlohmann::json::parse(read_file(out / "meta.json"));
  EXPECT_EQ(meta["kind"], "Numbers");
  EXPECT_EQ(meta["arrays"]["x"]["dtype"], "float64");
  // sum over value in {1, 2} of value * (k + 1) + seed(1) = 3 (k + 1) + 2
  // Debian's python3, where scripts/bootstrap installs numpy.
  std::string py = "/usr/bin/python3 -c \"import numpy as n; a = n.load('" +
                   (out / "x.npy").string() +
                   "'); assert a.dtype == n.float64 and a.shape == (3,), a; assert list(a) == "
                   "[5.0, 8.0, 11.0], a\"";
  if (std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0) {
    EXPECT_EQ(std::system(py.c_str()), 0);
  }
  // A swept stage exports one folder per instance.
  CliResult s = cli({"export", cli.file, "a", (cli.dir / "exp_a").string()});
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_TRUE(fs::exists(cli.dir / "exp_a" / "a.value=1.0" / "x.npy"));
  EXPECT_TRUE(fs::exists(cli.dir / "exp_a" / "a.value=2.0" / "x.npy"));
  EXPECT_EQ(cli({"export", cli.file, "nope", out.string()}).code, 2);
}

TEST(Cli, StagesListsAndDocuments) {
  Cli cli;
  CliResult r = cli({"stages"}, false);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("kitchen"), std::string::npos);
  CliResult d = cli({"stages", "kitchen"}, false);
  EXPECT_NE(d.out.find("tasks (list<string>) = [\"loc-1\"]"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("name (string) required"), std::string::npos) << d.out;
  EXPECT_EQ(cli({"stages", "kitchn"}, false).code, 2);
}

TEST(Cli, CacheLsExplainVerifyGc) {
  Cli cli;
  ASSERT_EQ(cli({"run", cli.file, "--out", (cli.dir / "o").string()}).code, 0);
  CliResult ls = cli({"cache", "ls"});
  EXPECT_EQ(ls.code, 0);
  EXPECT_NE(ls.out.find("3 entries"), std::string::npos) << ls.out;
  CliResult ex = cli({"cache", "explain", cli.file, "total"});
  EXPECT_EQ(ex.code, 0) << ex.err;
  EXPECT_NE(
      ex.out.find("wmgeom-cache-v1\ntype sum\nversion 1\nparam seed int 1\ninput xs {value=1.0}"),
      std::string::npos)
      << ex.out;
  EXPECT_NE(ex.out.find("(cached)"), std::string::npos);
  EXPECT_EQ(cli({"cache", "verify"}).code, 0);
  // Corrupt one entry: verify reports it and exits 1; --remove removes it.
  for (const auto& e : fs::recursive_directory_iterator(cli.dir / "cache" / "v1")) {
    if (e.path().filename() == "0.zst") {
      fs::resize_file(e.path(), 3);
      break;
    }
  }
  CliResult v = cli({"cache", "verify"});
  EXPECT_EQ(v.code, 1);
  EXPECT_NE(v.out.find("CORRUPT"), std::string::npos);
  EXPECT_EQ(cli({"cache", "verify", "--remove"}).code, 1);
  EXPECT_EQ(cli({"cache", "verify"}).code, 0);
  // gc against a pipeline that only keeps `a`'s instances.
  std::string other = (cli.dir / "q.toml").string();
  write_file(other,
             "[pipeline]\nname = \"q\"\nseed = 1\n[stage.a]\ntype = \"source\"\nn = 3\nsweep = { "
             "value = [1.0, 2.0] }\n");
  ASSERT_EQ(cli({"run", cli.file, "--out", (cli.dir / "o").string()}).code, 0);
  CliResult gc = cli({"cache", "gc", other});
  EXPECT_EQ(gc.code, 0) << gc.err;
  EXPECT_NE(gc.out.find("removed 1 entries"), std::string::npos) << gc.out;
  EXPECT_NE(cli({"cache", "ls"}).out.find("2 entries"), std::string::npos);
}

TEST(Cli, EmbeddedQuickstartValidates) {
  // The real registry and the embedded quickstart agree.
  CliResult r = run_cli({"validate", "embedded:quickstart"}, real_registry());
  EXPECT_EQ(r.code, 0) << r.err;
  // Every shipped pipeline plans against the real stages.
  for (const char* name : {"quickstart", "paper", "regimes", "study", "sensitivity"}) {
    CliResult f =
        run_cli({"validate", std::string(WMGEOM_SOURCE_DIR) + "/pipelines/" + name + ".toml"},
                real_registry());
    EXPECT_EQ(f.code, 0) << name << "\n" << f.err;
  }
}

// Issue 14's example: every value inside its schema range, 8 million images
// of 1024 px. The plan prints the estimate; run and --dry-run stop with exit
// 2 naming the stage, the estimate and what is free, before anything runs.
TEST(Cli, AStimulusSetThatCannotFitIsRefusedAtPlanTime) {
  TempDir dir;
  const std::vector<std::string> huge = {"--set", "stage.stimuli.views=10000",
                                         "--set", "stage.stimuli.identities_per_category=50",
                                         "--set", "stage.stimuli.image_size=1024"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), huge.begin(), huge.end());
    return run_cli(args, real_registry());
  };
  const CliResult v = with({"validate", "embedded:quickstart"});
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_NE(v.out.find("stimuli (render)  ~25.2 TB"), std::string::npos) << v.out;
  const std::string cache = (dir / "cache").string(), out = (dir / "out").string();
  const CliResult d = with({"run", "embedded:quickstart", "--dry-run", "--cache-dir", cache});
  EXPECT_EQ(d.code, 2);
  EXPECT_NE(d.out.find("~25.2 TB"), std::string::npos) << d.out;
  EXPECT_NE(d.err.find("error: stage stimuli (render) needs about"), std::string::npos) << d.err;
  const CliResult r =
      with({"run", "embedded:quickstart", "--no-progress", "--cache-dir", cache, "--out", out});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(
      r.err.find("stage stimuli (render) needs about 26.5 TB of memory (its artifact 25.2 TB"),
      std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(" is free ("), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("would store an artifact of about 25.2 TB"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "cache" / "v1")) << "something was computed";
  // The quickstart as shipped fits (its estimates are in the plan).
  const CliResult ok =
      run_cli({"run", "embedded:quickstart", "--dry-run", "--cache-dir", cache}, real_registry());
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("~14.5 MB"), std::string::npos) << ok.out;
}

// cli/embed.h: `wmgeom run` for an embedder (the Python module). The log
// goes to the sink with levels, none of it to the terminal stream; the
// summary and the diagnostics come back as values; the embedder's flag
// stops a running stage as Ctrl-C does (exit 75, the finished stage kept).
TEST(Cli, EmbeddedRunHandsOverLogStopSummaryAndDiagnostics) {
  Cli cli;
  std::mutex mu;
  std::vector<std::pair<Logger::Level, std::string>> lines;
  EmbeddedRun r;
  r.pipeline = cli.file;
  r.cache_dir = (cli.dir / "cache").string();
  r.out_dir = (cli.dir / "out").string();
  r.log = [&](Logger::Level level, const std::string& msg) {
    std::lock_guard lk(mu);
    lines.emplace_back(level, msg);
  };
  RunSummary summary;
  Diagnostics diags;
  r.summary = &summary;
  r.diagnostics = &diags;
  std::ostringstream out, err;
  ASSERT_EQ(run_embedded(r, registry(), out, err), 0) << err.str();
  EXPECT_EQ(err.str(), "");  // every log line went to the sink
  ASSERT_EQ(summary.instances.size(), 3u);
  EXPECT_EQ(summary.instances[2].instance, "total");
  EXPECT_EQ(summary.instances[2].inputs.size(), 2u);  // as run.json has them
  EXPECT_TRUE(diags.ok());
  bool done = false;
  for (const auto& [level, msg] : lines)
    done = done || (level == Logger::Level::kInfo && msg.find("total: done in") == 0);
  EXPECT_TRUE(done) << lines.size() << " lines";
  EXPECT_NE(out.str().find("done in"), std::string::npos) << out.str();

  // An override the schema refuses: exit 2, the problem with its key.
  r.sets = {"stage.total.nope=1"};
  std::ostringstream out2, err2;
  EXPECT_EQ(run_embedded(r, registry(), out2, err2), 2);
  ASSERT_EQ(diags.all().size(), 1u) << err2.str();
  EXPECT_EQ(diags.all()[0].key, "stage.total.nope");

  // A slow second stage (2 s, not interruptible) stopped by the flag once it
  // has started: the run ends there, b neither finished nor cached.
  write_file(cli.file,
             "[pipeline]\nname = \"slow\"\n[stage.a]\ntype = \"source\"\nn = 2\nevents = \"" +
                 (cli.dir / "events").string() +
                 "\"\n[stage.b]\ntype = \"scale\"\nx = \"a\"\nsleep_ms = 2000\nevents = \"" +
                 (cli.dir / "events").string() + "\"\n");
  r.sets.clear();
  std::atomic<bool> stop{false};
  r.stop = &stop;
  std::thread stopper([&] {
    if (wait_for_text(cli.dir / "events", "start b")) stop = true;
  });
  std::ostringstream out3, err3;
  EXPECT_EQ(run_embedded(r, registry(), out3, err3), kExitStopped) << err3.str();
  stopper.join();
  ASSERT_EQ(summary.instances.size(), 2u);
  EXPECT_EQ(summary.instances[0].cache, CacheStatus::kMiss);  // a finished, and is cached
  EXPECT_NE(summary.instances[1].cache, CacheStatus::kMiss);
}

}  // namespace
}  // namespace wmgeom::testing
