// The Slurm executor against a real Slurm: a single-node cluster started by
// scripts/slurm-local (scripts/test does it when run as root; CI runs as
// root). Without one (SLURM_CONF unset) every test here skips, saying why.
// The submitter runs in-process (run_cli); its jobs run the test CLI (the
// engine's small test stages) or, for the science pipeline, the real wmgeom.
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
#include "config/diagnostics.h"
#include "core/instance_name.h"
#include "graph/plan.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

namespace fs = std::filesystem;

bool have_slurm() {
  const char* conf = std::getenv("SLURM_CONF");
  return conf && *conf && fs::exists(conf);
}

#define REQUIRE_SLURM()                                                                            \
  if (!have_slurm())                                                                               \
  GTEST_SKIP() << "no Slurm cluster (SLURM_CONF unset): scripts/test starts one when run as root " \
                  "(scripts/slurm-local)"

// A profile whose jobs run `cli` with short polls.
std::string profile_text(const std::string& cli, const std::string& more = "") {
  return "[slurm]\nwmgeom = \"" + cli + "\"\npoll_seconds = 0.5\n" + more;
}

struct Cluster {
  TempDir dir;
  fs::path cache() const { return dir / "cache"; }
  fs::path out(const std::string& name = "out") const { return dir / name; }

  // wmgeom run FILE --executor slurm against the test stages (or `registry`).
  CliResult run(const std::string& file, std::vector<std::string> extra = {},
                const StageRegistry& registry = test_registry(),
                const std::string& out_name = "out") {
    std::vector<std::string> args = {
        "run",       (dir / file).string(),           "--executor",   "slurm",
        "--profile", (dir / "profile.toml").string(), "--cache-dir",  cache().string(),
        "--out",     out(out_name).string(),          "--no-progress"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args, registry);
  }
  nlohmann::json submission(const std::string& out_name = "out") const {
    std::ifstream f(SlurmExecutor::submission_file(out(out_name)));
    return nlohmann::json::parse(f);
  }
};

std::vector<std::string> lines_of(const fs::path& p) {
  std::vector<std::string> out;
  std::ifstream f(p);
  for (std::string line; std::getline(f, line);) out.push_back(line);
  return out;
}

// Each instance's (start, end) in microseconds, from the test stages' events file.
std::map<std::string, std::pair<long long, long long>> spans_of(const fs::path& events) {
  std::map<std::string, std::pair<long long, long long>> span;
  for (const auto& line : lines_of(events)) {
    std::istringstream s(line);
    std::string what, inst;
    long long t = 0;
    s >> what >> inst >> t;
    (what == "start" ? span[inst].first : span[inst].second) = t;
  }
  return span;
}

// source -> a sweep of 4 scales (one array) -> sum; every computation is
// recorded in `counter` and timed in `events`.
std::string sweep_pipeline(const fs::path& dir, const std::string& scaled_extra = "") {
  const std::string instr = "counter = \"" + (dir / "counter.txt").string() + "\"\nevents = \"" +
                            (dir / "events.txt").string() + "\"\n";
  return "[pipeline]\nname = \"sweep\"\nseed = 1\n\n[stage.numbers]\ntype = \"source\"\nn = 6\n" +
         instr +
         "\n[stage.scaled]\ntype = \"scale\"\nx = \"numbers\"\nsweep = { factor = [2.0, 3.0, 4.0, "
         "5.0] }\n" +
         instr + scaled_extra + "\n[stage.total]\ntype = \"sum\"\nxs = [\"scaled\"]\n" + instr;
}

// ---- Requests that fit (no cluster needed) ----

// What `scontrol -o show partition` and `show node` print (Slurm 22.05): a
// 2-CPU CPU partition (the default) and a GPU partition with a day's MaxTime.
const char* kPartitions =
    "PartitionName=debug AllowGroups=ALL Default=YES QoS=N/A DefaultTime=NONE MaxNodes=UNLIMITED "
    "MaxTime=UNLIMITED "
    "MinNodes=0 MaxCPUsPerNode=UNLIMITED Nodes=vm State=UP TotalCPUs=2 TotalNodes=1 "
    "DefMemPerNode=UNLIMITED "
    "MaxMemPerNode=UNLIMITED TRES=cpu=2,mem=24105M,node=1,billing=2\n"
    "PartitionName=gpu AllowGroups=ALL Default=NO MaxTime=1-00:00:00 MaxCPUsPerNode=16 "
    "Nodes=g[1-2] State=UP "
    "MaxMemPerNode=64000\n";
const char* kNodes =
    "NodeName=vm Arch=x86_64 CoresPerSocket=1  CPUAlloc=0 CPUEfctv=2 CPUTot=2 CPULoad=2.56 "
    "Gres=(null) NodeAddr=vm "
    "OS=Linux 6.18.44 #1 SMP PREEMPT_DYNAMIC @0  RealMemory=24105 AllocMem=0 Partitions=debug  "
    "BootTime=None\n"
    "NodeName=g1 CPUTot=32 CPUEfctv=32 Gres=gpu:a100:4(S:0-1) RealMemory=128000 Partitions=gpu\n"
    "NodeName=g2 CPUTot=8 Gres=gpu:1,mps:100 RealMemory=32000 Partitions=gpu,debug-gpu\n";

JobRequest request(const std::string& type, Resources res) {
  JobRequest r;
  r.decl = type == "train" ? "net" : "geometry";
  r.type = type;
  r.res = res;
  r.profile_file = "site.toml";
  return r;
}

TEST(SlurmFit, ReadsPartitionsAndTheirNodes) {
  const auto parts = parse_partitions(kPartitions, kNodes);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].name, "debug");
  EXPECT_TRUE(parts[0].is_default);
  EXPECT_EQ(parts[0].max_minutes, -1);
  EXPECT_EQ(parts[0].max_mem_per_node, -1);
  ASSERT_EQ(parts[0].nodes.size(), 1u);
  EXPECT_EQ(parts[0].nodes[0].cpus, 2);
  EXPECT_EQ(parts[0].nodes[0].mem_mb, 24105);
  EXPECT_EQ(parts[0].nodes[0].gpus, 0);
  EXPECT_FALSE(parts[1].is_default);
  EXPECT_EQ(parts[1].max_minutes, 1440);
  EXPECT_EQ(parts[1].max_cpus_per_node, 16);
  EXPECT_EQ(parts[1].max_mem_per_node, 64000);
  ASSERT_EQ(parts[1].nodes.size(), 2u);
  EXPECT_EQ(parts[1].nodes[0].gpus, 4);
  EXPECT_EQ(parts[1].nodes[1].gpus, 1);
  EXPECT_EQ(parts[1].nodes[1].cpus, 8);  // CPUTot when there is no CPUEfctv
  EXPECT_EQ(parse_slurm_minutes("30"), 30);
  EXPECT_EQ(parse_slurm_minutes("30:01"), 31);
  EXPECT_EQ(parse_slurm_minutes("02:00:00"), 120);
  EXPECT_EQ(parse_slurm_minutes("2-12"), 3600);
  EXPECT_EQ(parse_slurm_minutes("1-00:30"), 1470);
  EXPECT_EQ(parse_slurm_minutes("INFINITE"), -1);
}

TEST(SlurmFit, AWidthTheResultDoesNotDependOnIsSizedDownToTheLargestNode) {
  const auto parts = parse_partitions(kPartitions, kNodes);
  Resources analyze;  // AnalyzeStage::resources with threads = 0
  analyze.cpus = 4;
  analyze.mem_mb = 8000;
  analyze.minutes = 180;
  const FitResult fit = fit_request(request("analyze", analyze), parts[0]);
  EXPECT_TRUE(fit.errors.empty()) << fit.errors.front();
  EXPECT_EQ(fit.res.cpus, 2);
  EXPECT_EQ(fit.res.mem_mb, 8000);
  ASSERT_EQ(fit.notes.size(), 1u);
  EXPECT_NE(fit.notes[0].find("stage geometry (analyze) asks 4 CPUs; partition debug offers at "
                              "most 2 CPU(s) on a node: "
                              "sized down to 2"),
            std::string::npos)
      << fit.notes[0];
  // MaxCPUsPerNode caps a node's CPUs: 32 on g1, 16 usable.
  analyze.cpus = 64;
  analyze.gpus = 1;
  EXPECT_EQ(fit_request(request("analyze", analyze), parts[1]).res.cpus, 16);
  // What fits is left alone.
  analyze.cpus = 2;
  analyze.gpus = 0;
  const FitResult same = fit_request(request("analyze", analyze), parts[0]);
  EXPECT_EQ(same.res.cpus, 2);
  EXPECT_TRUE(same.notes.empty() && same.errors.empty());
}

TEST(SlurmFit, WhatCanNeverRunIsRefusedNamingStageRequestOfferAndKey) {
  const auto parts = parse_partitions(kPartitions, kNodes);
  Resources train;
  train.cpus = 4;
  train.fixed_width = true;
  train.mem_mb = 2100;
  train.minutes = 2000;
  JobRequest req = request("train", train);
  req.threads_param = 4;
  FitResult fit = fit_request(req, parts[0]);
  ASSERT_EQ(fit.errors.size(), 1u);
  const std::string& width = fit.errors[0];
  EXPECT_NE(
      width.find("stage net (train) asks 4 CPUs, the width it trains at (its threads = 4, hashed"),
      std::string::npos)
      << width;
  EXPECT_NE(width.find("partition debug offers at most 2 CPU(s)"), std::string::npos) << width;
  EXPECT_NE(width.find("--set stage.net.threads=2"), std::string::npos) << width;
  EXPECT_NE(width.find("[stage.train] set = [\"threads=2\"] in site.toml"), std::string::npos)
      << width;
  // Memory, a GPU and minutes over MaxTime never shrink.
  train.cpus = 1;
  train.mem_mb = 100000;
  fit = fit_request(request("train", train), parts[0]);
  ASSERT_EQ(fit.errors.size(), 1u);
  EXPECT_NE(fit.errors[0].find("asks 100000 MB of memory (the stage's estimate); partition debug "
                               "offers at most 24105 MB"),
            std::string::npos)
      << fit.errors[0];
  EXPECT_NE(fit.errors[0].find("[stage.train] mem_mb"), std::string::npos) << fit.errors[0];
  train.mem_mb = 2000;
  train.gpus = 1;
  fit = fit_request(request("train", train), parts[0]);
  ASSERT_EQ(fit.errors.size(), 1u);
  EXPECT_NE(fit.errors[0].find("asks 1 GPU(s) (its device is CUDA); partition debug has no GPU"),
            std::string::npos)
      << fit.errors[0];
  EXPECT_NE(fit.errors[0].find("[stage.train] gpus = 0"), std::string::npos) << fit.errors[0];
  fit = fit_request(request("train", train), parts[1]);
  ASSERT_EQ(fit.errors.size(), 1u);
  EXPECT_NE(fit.errors[0].find("asks a time limit of 2000 min (the stage's estimate); partition "
                               "gpu allows at most 1440 min "
                               "(MaxTime). Set [stage.train] minutes (at most 1440) in site.toml"),
            std::string::npos)
      << fit.errors[0];
  // A profile's value is checked, never changed: it names its key.
  Resources analyze;
  analyze.cpus = 8;
  JobRequest from_profile = request("analyze", analyze);
  from_profile.from_profile["cpus"] = "site.toml:7:8";
  fit = fit_request(from_profile, parts[0]);
  ASSERT_EQ(fit.errors.size(), 1u);
  EXPECT_NE(
      fit.errors[0].find(
          "stage geometry (analyze) asks 8 CPUs ([stage.analyze] cpus at site.toml:7:8); partition "
          "debug offers at most 2 CPU(s) on a node. Set [stage.analyze] cpus to at most 2 in "
          "site.toml"),
      std::string::npos)
      << fit.errors[0];
}

TEST(SlurmReason, WaitingClearsSomeReasonsAndNeverOthers) {
  for (const char* r :
       {"Priority", "Resources", "Dependency", "BeginTime", "JobHeldUser", "JobHeldAdmin",
        "NodeDown", "ReqNodeNotAvail", "PartitionDown", "Reservation", "Licenses",
        "AssocGrpCpuLimit", "QOSGrpNodeLimit", "QOSJobLimit", "None", "SomeReasonOfANewerSlurm"}) {
    EXPECT_EQ(slurm_reason(r).kind, ReasonKind::kWaits) << r;
  }
  for (const char* r :
       {"PartitionConfig", "PartitionTimeLimit", "PartitionNodeLimit", "BadConstraints",
        "AccountNotAllowed", "InvalidAccount", "InvalidQOS", "QOSNotAllowed",
        "DependencyNeverSatisfied", "QOSMaxCpuPerJobLimit", "QOSMaxWallDurationPerJobLimit",
        "AssocMaxNodePerJobLimit", "QOSMaxGRESPerJob", "QOSMinCpuNotSatisfied"}) {
    const ReasonInfo info = slurm_reason(r);
    EXPECT_EQ(info.kind, ReasonKind::kNever) << r;
    EXPECT_FALSE(info.why.empty() || info.change.empty()) << r;
  }
  for (const char* r : {"QOSMaxCpuPerUserLimit", "QOSMaxJobsPerUserLimit", "MaxCpuPerAccount",
                        "QOSMaxGRESPerUser"}) {
    EXPECT_EQ(slurm_reason(r).kind, ReasonKind::kUserLimit) << r;
  }
  EXPECT_EQ((JobTask{"a", "1", "a", "PENDING", "Resources", "", 0}.line()), "PENDING (Resources)");
  EXPECT_EQ((JobTask{"a", "1", "a", "PENDING", "PartitionConfig", "", 0}.line()),
            "PENDING (PartitionConfig), which waiting cannot clear");
  EXPECT_EQ((JobTask{"a", "1", "a", "RUNNING", "None", "vm", 0}.line()), "RUNNING on vm");
}

// The job script is a template compiled in (src/cluster/job.sh, issue 24
// item 3), filled in one pass: a value is never scanned for placeholders
// again, and the template and its caller must agree on every name.
TEST(SlurmJobScript, TheTemplateIsFilledOnceAndCompletely) {
  EXPECT_EQ(fill_template("a @X@ b @Y@ c@", {{"X", "@Y@"}, {"Y", "2"}}, "t"), "a @Y@ b 2 c@");
  EXPECT_EQ(fill_template("mail me@host, @ alone, @lower@", {}, "t"),
            "mail me@host, @ alone, @lower@");
  try {
    fill_template("@X@ @Z@", {{"X", "1"}}, "job.sh");
    ADD_FAILURE() << "a placeholder without a value was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("job.sh: placeholder @Z@ has no value"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(fill_template("@X@", {{"X", "1"}, {"UNUSED", "2"}}, "t"), Error);
  const std::string_view text = job_script_template();
  EXPECT_EQ(text.substr(0, 12), "#!/bin/bash\n");
  // Every placeholder the executor fills is in the template (fill_template
  // refuses one that is not); a sample fill leaves no @NAME@ behind.
  std::map<std::string, std::string> values;
  for (const char* name :
       {"DECL", "PIPELINE", "WHAT", "SETUP", "INSTANCES", "DIRS", "KEYS", "WMGEOM", "PIPELINE_ARG",
        "CACHE", "THREADS", "MORE", "STOPPED", "RC_USR1", "RC_TERM", "MAX_REQUEUES", "TYPE"}) {
    values[name] = std::string("v") + name;
  }
  const std::string script = fill_template(text, values, "job.sh");
  EXPECT_EQ(script.find('@'), std::string::npos) << "a placeholder left unfilled:\n" << script;
  EXPECT_NE(script.find("vWMGEOM run vPIPELINE_ARG --only \"$inst\" --cache-dir vCACHE"),
            std::string::npos)
      << script;
}

TEST(Slurm, SweepIsOneArrayAfterItsInputAndMatchesALocalRun) {
  REQUIRE_SLURM();
  Cluster c;
  write_file(c.dir / "profile.toml", profile_text(WMGEOM_TESTCLI));
  write_file(c.dir / "p.toml", sweep_pipeline(c.dir.path()));
  CliResult r = c.run("p.toml");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  // Three jobs: numbers, the array of four scales, total.
  const auto sub = c.submission();
  ASSERT_EQ(sub["jobs"].size(), 3u) << sub.dump(2);
  EXPECT_FALSE(sub["jobs"][0]["array"].get<bool>());
  EXPECT_TRUE(sub["jobs"][1]["array"].get<bool>());
  EXPECT_EQ(sub["jobs"][1]["instances"].size(), 4u);
  // Dependencies: every scale started after numbers ended; total after every scale.
  auto span = spans_of(c.dir / "events.txt");
  ASSERT_EQ(span.size(), 6u);
  for (const auto& [inst, se] : span) {
    if (inst.rfind("scaled", 0) == 0) {
      EXPECT_GE(se.first, span["numbers"].second) << inst;
      EXPECT_LE(se.second, span["total"].first) << inst;
    }
  }
  // run.json names each job and node.
  const auto run = RunSummary::from_json(nlohmann::json::parse(read_file(c.out() / "run.json")));
  for (const auto& i : run.instances) {
    EXPECT_EQ(i.cache, CacheStatus::kMiss) << i.instance;
    EXPECT_FALSE(i.job.id.empty()) << i.instance;
    EXPECT_FALSE(i.job.node.empty()) << i.instance;
    EXPECT_TRUE(fs::exists(i.job.log)) << i.job.log;
  }
  EXPECT_EQ(lines_of(c.dir / "counter.txt").size(), 6u);  // each instance computed once
  // A local run of the same pipeline: the same keys, bit-identical entries.
  TempDir local;
  ASSERT_EQ(run_cli({"run", (c.dir / "p.toml").string(), "--cache-dir", (local / "cache").string(),
                     "--out", (local / "out").string(), "--no-progress"},
                    test_registry())
                .code,
            0);
  Cache a(c.cache()), b(local / "cache");
  for (const auto& i : run.instances) {
    auto x = a.load(i.key), y = b.load(i.key);
    ASSERT_TRUE(x && y) << i.instance;
    for (const auto& [name, arr] : x->arrays) {
      const auto bx = arr.bytes(), by = y->array(name).bytes();
      EXPECT_TRUE(std::equal(bx.begin(), bx.end(), by.begin(), by.end()))
          << i.instance << " " << name;
    }
  }
  // Rerunning submits nothing: everything is cached.
  r = c.run("p.toml");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(c.submission()["jobs"].size(), 0u);
  EXPECT_EQ(lines_of(c.dir / "counter.txt").size(),
            12u);  // the 6 of the cluster run and the 6 of the local one
}

TEST(Slurm, AFailureCancelsItsDependentsAndARerunComputesOnlyWhatIsMissing) {
  REQUIRE_SLURM();
  Cluster c;
  write_file(c.dir / "profile.toml", profile_text(WMGEOM_TESTCLI));
  write_file(c.dir / "p.toml", sweep_pipeline(c.dir.path(), "fail = true\n"));
  CliResult r = c.run("p.toml");
  EXPECT_NE(r.code, 0);
  // The summary names the failed instance, its job and its log.
  EXPECT_NE(r.err.find("stage scaled[factor="), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("deliberate failure"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("slurm/logs/scaled-"), std::string::npos) << r.err;
  const auto run = RunSummary::from_json(nlohmann::json::parse(read_file(c.out() / "run.json")));
  for (const auto& i : run.instances) {
    if (i.instance == "numbers") {
      EXPECT_EQ(i.cache, CacheStatus::kMiss);
    }
    if (i.instance == "total") {
      EXPECT_EQ(i.cache, CacheStatus::kCancelled) << i.error;
    }
  }
  // `fail` is not hashed: the rerun has the same keys, and only scaled and total run.
  r = c.run("p.toml", {"--set", "stage.scaled.fail=false"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto sub = c.submission();
  ASSERT_EQ(sub["jobs"].size(), 2u) << sub.dump(2);
  EXPECT_EQ(sub["jobs"][0]["decl"], "scaled");
  EXPECT_EQ(sub["jobs"][1]["decl"], "total");
  std::multiset<std::string> computed;
  for (const auto& l : lines_of(c.dir / "counter.txt")) computed.insert(l);
  EXPECT_EQ(computed.count("numbers"), 1u);
  EXPECT_EQ(computed.count("total"), 1u);
  // --from reaches the job: the cached `total` is computed again there (before
  // the fix the job found its old result in the cache and computed nothing).
  r = c.run("p.toml", {"--set", "stage.scaled.fail=false", "--from", "total"});
  ASSERT_EQ(r.code, 0) << r.err;
  computed.clear();
  for (const auto& l : lines_of(c.dir / "counter.txt")) computed.insert(l);
  EXPECT_EQ(computed.count("total"), 2u);
  EXPECT_EQ(computed.count("numbers"), 1u);
}

// A cap on running array tasks (profile max_running): the four scales ask
// for one CPU each on a 2-CPU node, yet with the cap at 1 they run one after
// another; Slurm holds the throttle Slurm was asked for.
TEST(Slurm, AnArrayCapRunsAtMostThatManyTasksAtOnce) {
  REQUIRE_SLURM();
  Cluster c;
  write_file(c.dir / "profile.toml",
             profile_text(WMGEOM_TESTCLI, "[stage.scale]\nmax_running = 1\n"));
  write_file(c.dir / "p.toml", sweep_pipeline(c.dir.path(), "sleep_ms = 1500\n"));
  CliResult r = c.run("p.toml");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("(array of 4, at most 1 at once)"), std::string::npos)
      << r.out << r.err;
  const auto sub = c.submission();
  ASSERT_EQ(sub["jobs"].size(), 3u) << sub.dump(2);
  const std::string array_job = sub["jobs"][1]["id"];
  const CommandResult shown = run_command({"scontrol", "show", "job", array_job});
  EXPECT_NE(shown.out.find("ArrayTaskThrottle=1"), std::string::npos) << shown.out;
  std::vector<std::pair<long long, long long>> spans;
  auto span = spans_of(c.dir / "events.txt");
  for (const auto& [inst, se] : span) {
    if (inst.rfind("scaled", 0) == 0) spans.push_back(se);
  }
  ASSERT_EQ(spans.size(), 4u);
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i) {
    EXPECT_GE(spans[i].first, spans[i - 1].second)
        << "two scales ran at once under max_running = 1";
  }
}

// A cancel sends TERM, as a preemption does; wmgeom stops on it and exits
// 75 (stopped), yet a cancelled job must end, not requeue itself. Here the
// "wmgeom" exits 75 on TERM at once, as wmgeom does once its checkpoints are
// saved; the cancel comes while it runs.
TEST(Slurm, ACancelledJobIsNotRequeued) {
  REQUIRE_SLURM();
  Cluster c;
  const fs::path stopper = c.dir / "stopping-wmgeom";
  write_file(stopper, "#!/bin/bash\ntrap 'exit 75' TERM\nsleep 60 &\nwait $!\nexec '" +
                          std::string(WMGEOM_TESTCLI) + "' \"$@\"\n");
  fs::permissions(stopper, fs::perms::owner_all, fs::perm_options::add);
  write_file(c.dir / "profile.toml", profile_text(stopper.string()));
  write_file(
      c.dir / "p.toml",
      "[pipeline]\nname = \"cancelled\"\nseed = 1\n\n[stage.numbers]\ntype = \"source\"\nn = 6\n");
  ASSERT_EQ(c.run("p.toml", {"--detach"}).code, 0);
  const std::string job = c.submission()["jobs"][0]["id"];
  const fs::path started = c.out() / "slurm" / "runs" / "numbers" / "job.json";
  for (int i = 0; i < 600 && !fs::exists(started); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(fs::exists(started)) << "the job never started";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // its trap is set
  const std::vector<std::string> where = {(c.dir / "p.toml").string(), "--out", c.out().string(),
                                          "--cache-dir", c.cache().string()};
  std::vector<std::string> cancel = {"cancel"};
  cancel.insert(cancel.end(), where.begin(), where.end());
  ASSERT_EQ(run_cli(cancel, test_registry()).code, 0);
  // Gone from the queue, and never back (a requeued job is back within
  // seconds; it would then wait the 60 s of its "wmgeom").
  bool gone = false;
  for (int i = 0; i < 120 && !gone; ++i) {
    gone =
        run_command({"squeue", "-h", "-j", job}).out.find_first_not_of(" \n") == std::string::npos;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(gone) << run_command({"squeue", "-j", job}).out;
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(run_command({"squeue", "-h", "-j", job}).out.find_first_not_of(" \n"),
            std::string::npos)
      << "the cancelled job came back";
  const std::string log = read_file(c.out() / "slurm" / "logs" / ("numbers-" + job + ".log"));
  EXPECT_NE(log.find("(cancelled): not requeued"), std::string::npos) << log;
  EXPECT_EQ(log.find("requeueing"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(c.cache() / "v1")) << "the cancelled stage computed";
}

TEST(Slurm, DetachStatusAndCancel) {
  REQUIRE_SLURM();
  Cluster c;
  write_file(c.dir / "profile.toml", profile_text(WMGEOM_TESTCLI));
  write_file(c.dir / "p.toml", sweep_pipeline(c.dir.path(), "sleep_ms = 60000\n"));
  // Each command plans the pipeline once (issue 24 item 3: it took 3 plans
  // to submit, 4 for status and 2 for cancel), cancel none: the submission
  // names its jobs.
  std::int64_t plans = plans_made();
  auto planned = [&plans] {
    const std::int64_t now = plans_made(), made = now - plans;
    plans = now;
    return made;
  };
  CliResult r = c.run("p.toml", {"--detach"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(planned(), 1) << "run --executor slurm --detach";
  EXPECT_NE(r.out.find("submitted 3 job(s), 6 instance(s)"), std::string::npos) << r.out;
  const std::vector<std::string> where = {(c.dir / "p.toml").string(), "--out", c.out().string(),
                                          "--cache-dir", c.cache().string()};
  auto cmd = [&](const std::string& verb) {
    std::vector<std::string> args = {verb};
    args.insert(args.end(), where.begin(), where.end());
    return run_cli(args, test_registry());
  };
  // Wait until a scale runs (numbers done), then look and cancel.
  CliResult s;
  for (int i = 0; i < 240; ++i) {
    s = cmd("status");
    if (s.out.find("RUNNING") != std::string::npos && s.out.find("scaled[") != std::string::npos &&
        s.out.find("numbers ") != std::string::npos && s.out.find("1 done") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_NE(s.out.find("1 done, 5 pending or running"), std::string::npos) << s.out;
  planned();
  EXPECT_EQ(cmd("status").code, 0);
  EXPECT_EQ(planned(), 1) << "status";
  CliResult x = cmd("cancel");
  ASSERT_EQ(x.code, 0) << x.err;
  EXPECT_EQ(planned(), 0) << "cancel";
  EXPECT_NE(x.out.find("cancel 3 job(s)"), std::string::npos) << x.out;
  // A cancelled running task ends after Slurm's KillWait (5 s on the test
  // cluster) and its epilog; on a loaded 2-core machine that has taken more
  // than 20 s, so the wait is generous (it ends as soon as all have ended).
  const auto cancelled = std::chrono::steady_clock::now();
  for (int i = 0; i < 360; ++i) {
    s = cmd("status");
    if (s.out.find("0 pending") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - cancelled).count();
  EXPECT_NE(s.out.find("1 done, 0 pending or running, 5 failed or cancelled"), std::string::npos)
      << s.out << "\n(" << waited << " s after the cancel)";
  std::cerr << "[ timing ] every job ended " << waited << " s after the cancel\n";
  if (std::getenv("WMGEOM_TEST_SHOW_LOGS")) {
    for (const auto& e : fs::directory_iterator(c.out() / "slurm" / "logs"))
      std::cerr << "== " << e.path() << "\n" << read_file(e.path());
  }
}

TEST(Slurm, TwoPipelinesSharingAStageComputeItOnce) {
  REQUIRE_SLURM();
  Cluster c;
  write_file(c.dir / "profile.toml", profile_text(WMGEOM_TESTCLI));
  // The same `numbers` (same parameters: one key) in two pipelines, slow
  // enough that both jobs run at once; each pipeline has its own scale.
  const std::string numbers =
      "[stage.numbers]\ntype = \"source\"\nn = 6\nsleep_ms = 2000\ncounter = \"" +
      (c.dir / "counter.txt").string() + "\"\n";
  write_file(c.dir / "a.toml", "[pipeline]\nname = \"a\"\nseed = 1\n\n" + numbers +
                                   "[stage.s]\ntype = \"scale\"\nx = \"numbers\"\nfactor = 2.0\n");
  write_file(c.dir / "b.toml", "[pipeline]\nname = \"b\"\nseed = 1\n\n" + numbers +
                                   "[stage.s]\ntype = \"scale\"\nx = \"numbers\"\nfactor = 3.0\n");
  ASSERT_EQ(c.run("a.toml", {"--detach"}, test_registry(), "out-a").code, 0);
  CliResult rb = c.run("b.toml", {}, test_registry(), "out-b");
  ASSERT_EQ(rb.code, 0) << rb.err;
  CliResult ra = c.run("a.toml", {}, test_registry(), "out-a");  // waits for nothing new: cached
  ASSERT_EQ(ra.code, 0) << ra.err;
  const auto counted = lines_of(c.dir / "counter.txt");
  EXPECT_EQ(std::count(counted.begin(), counted.end(), "numbers"), 1)
      << read_file(c.dir / "counter.txt");
}

// The science pipeline, tiny: 4 trainings (one array), their captures (an
// array), one analysis per model (an array), the findings across them and
// the report, on the real stages.
std::string study_pipeline(int steps, const std::string& train_extra = "") {
  return "[pipeline]\nname = \"study\"\nseed = 4\n\n"
         "[stage.stimuli]\ntype = \"render\"\ncategories = 2\nidentities_per_category = 2\nviews = "
         "6\n"
         "image_size = 32\nholdout_views = [2]\n\n"
         "[stage.cnn]\ntype = \"features\"\nstimuli = \"stimuli\"\nmodel = \"random\"\ninput_size "
         "= 32\n\n"
         "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"stimuli\"\ntasks = [\"loc-1\", "
         "\"cat-1\"]\neval_trials_per_task = 64\n\n"
         "[stage.net]\ntype = \"train\"\nfeatures = \"cnn\"\ntasks = \"tasks\"\nrnn = "
         "\"gru\"\nhidden = 16\n"
         "conv_channels = 8\nembed = 16\nbatch_size = 32\nlr = 0.003\nsteps = " +
         std::to_string(steps) + "\neval_every = " + std::to_string(std::min(steps, 50)) +
         "\ncheckpoint_every = 100000\ndevice = \"cpu\"\nsweep = { seed = [1, 2, 3, 4] }\n" +
         train_extra +
         "\n[stage.states]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\nfeatures = "
         "\"cnn\"\n\n"
         "[stage.geometry]\ntype = \"analyze\"\nstates = { each = \"states\" }\nmodels = "
         "[\"net\"]\nanalyses = [\"decoding\"]\n"
         "folds = 3\nnull_shuffles = 1\npermutations = 2\n\n"
         "[stage.verdicts]\ntype = \"findings\"\nanalysis = [\"geometry\"]\n\n"
         "[stage.report]\ntype = \"report\"\nanalysis = [\"verdicts\"]\nmodels = [\"net\"]\n";
}

// Also issue 22, the analysis as map-reduce on the cluster: one analysis
// per model (states = { each = ... }) is one job array, and the findings
// stage runs after every member (its result equal to one analysis of all
// the models: Findings.PerModelAnalysesMergedEqualOneAnalysisOfAllModels).
TEST(Slurm, TheStudyPipelineMatchesALocalRunBitForBit) {
  REQUIRE_SLURM();
  Cluster c;
  write_file(c.dir / "profile.toml", profile_text(WMGEOM_CLI));
  write_file(c.dir / "p.toml", study_pipeline(40));
  CliResult r = c.run("p.toml", {}, real_registry());
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const auto sub = c.submission();
  std::map<std::string, nlohmann::json> job_of;
  for (const auto& j : sub["jobs"]) job_of[j["decl"]] = j;
  EXPECT_EQ(job_of["net"]["instances"].size(), 4u);
  EXPECT_EQ(job_of["states"]["instances"].size(), 4u);
  ASSERT_TRUE(job_of.count("geometry") && job_of.count("verdicts")) << sub.dump(2);
  EXPECT_TRUE(job_of["geometry"]["array"].get<bool>());
  EXPECT_EQ(job_of["geometry"]["instances"].size(), 4u);
  EXPECT_EQ(job_of["verdicts"]["instances"].size(), 1u);
  EXPECT_EQ(job_of["report"]["instances"].size(), 1u);
  EXPECT_TRUE(fs::exists(c.out() / "findings.json"));  // the after-run hooks, as after a local run
  EXPECT_TRUE(fs::exists(c.out() / "report.html"));
  // The findings started after every analysis had ended (their run folders).
  const auto started = [&](const std::string& inst) {
    return nlohmann::json::parse(
               read_file(c.out() / "slurm" / "runs" / instance_folder_name(inst) / "job.json"))
        .at("start")
        .get<long long>();
  };
  // An instance's job writes its own run.json (its --out) as it ends.
  const auto ended = [&](const std::string& inst) {
    struct stat st {};
    const fs::path record = c.out() / "slurm" / "runs" / instance_folder_name(inst) / "run.json";
    EXPECT_EQ(::stat(record.c_str(), &st), 0) << record;
    return static_cast<long long>(st.st_mtime);
  };
  TempDir local;
  ASSERT_EQ(run_cli({"run", (c.dir / "p.toml").string(), "--cache-dir", (local / "cache").string(),
                     "--out", (local / "out").string(), "--no-progress", "--threads", "2"},
                    real_registry())
                .code,
            0);
  const auto run = RunSummary::from_json(nlohmann::json::parse(read_file(c.out() / "run.json")));
  Cache a(c.cache()), b(local / "cache");
  ASSERT_EQ(run.instances.size(),
            17u);  // stimuli, cnn, tasks, 4 nets, 4 captures, 4 analyses, verdicts, report
  for (const auto& i : run.instances) {
    if (i.instance.rfind("geometry[", 0) == 0) {
      EXPECT_LE(ended(i.instance), started("verdicts")) << i.instance;
    }
  }
  for (const auto& i : run.instances) {
    auto x = a.load(i.key), y = b.load(i.key);
    ASSERT_TRUE(x && y) << i.instance << ": the local run has other keys";
    for (const auto& [name, arr] : x->arrays) {
      const auto bx = arr.bytes(), by = y->array(name).bytes();
      EXPECT_TRUE(std::equal(bx.begin(), bx.end(), by.begin(), by.end()))
          << i.instance << " " << name;
    }
  }
}

// The CPUs of the cluster's largest node (scontrol), 0 when unreadable.
int node_cpus() {
  const auto parts = parse_partitions(run_command({"scontrol", "-o", "show", "partition"}).out,
                                      run_command({"scontrol", "-o", "show", "node"}).out);
  int most = 0;
  for (const auto& p : parts) {
    for (const auto& n : p.nodes) most = std::max(most, n.cpus);
  }
  return most;
}

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
