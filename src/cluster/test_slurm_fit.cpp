// The Slurm executor's pieces that need no cluster: partitions and nodes
// parsed from scontrol's output, requests fitted to them (sized down or
// refused, naming stage, request, offer and key), Slurm's reasons sorted by
// whether waiting clears them, the job script's template and the
// submission record.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "cluster/slurm.h"
#include "cluster/slurm_detail.h"
#include "cluster/test_slurm_cluster.h"
#include "core/error.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

// ---- The dry run (no cluster needed; checked against one where there is) ----

// `--executor slurm --dry-run` planned without the profile: its per-type
// sets (new keys) and its requests were not in what it showed. Now the plan
// is the submission's, and each job's sizing options are listed.
TEST(SlurmDryRun, PlansWithTheProfileAndListsEachJobsRequest) {
  TempDir dir;
  write_file(dir / "p.toml", sweep_pipeline(dir.path()));
  write_file(dir / "profile.toml",
             "[slurm]\nmax_running = 2\n[stage.source]\nset = [\"value=3.0\"]\n"
             "[stage.scale]\ncpus = 1\nmem_mb = 100\nminutes = 5\n");
  const std::string cache = (dir / "cache").string();
  // Everything cached by a local run without the profile's set.
  CliResult r = run_cli({"run", (dir / "p.toml").string(), "--cache-dir", cache, "--out",
                         (dir / "local").string(), "--no-progress"},
                        test_registry());
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_cli({"run", (dir / "p.toml").string(), "--executor", "slurm", "--profile",
               (dir / "profile.toml").string(), "--dry-run", "--cache-dir", cache, "--out",
               (dir / "out").string()},
              test_registry());
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  // value = 3.0 changes every key: all six instances are misses, three jobs.
  EXPECT_NE(r.out.find("would submit 3 job(s), 6 instance(s) (cluster profile "), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  scaled (scale): 4 instances, one array task each; --cpus-per-task=1 "
                       "--mem=100M --time=0:05:00 --array=0-3%2\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  numbers (source): 1 instance; --cpus-per-task=1"), std::string::npos)
      << r.out;
  EXPECT_LT(r.out.find("  numbers (source)"), r.out.find("  scaled (scale)"));
  EXPECT_LT(r.out.find("  scaled (scale)"), r.out.find("  total (sum)"));
  EXPECT_FALSE(fs::exists(dir / "out")) << "a dry run wrote its output folder";
  // Without the profile's set nothing is missing: no job.
  r = run_cli({"run", (dir / "p.toml").string(), "--executor", "slurm", "--dry-run", "--cache-dir",
               cache, "--out", (dir / "out").string()},
              test_registry());
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("would submit 0 job(s), 0 instance(s) (no cluster profile)"),
            std::string::npos)
      << r.out;
  // What cannot fit this machine stops a local dry run, but a cluster's
  // jobs run on its nodes: a note, as a submission does not check it here.
  // (The profile's mem_mb keeps the request at 100 MB: without it the
  // request is the estimate's 100 TB, which no node of a cluster that
  // answers holds: MemoryFollowsTheLargestInstancesEstimate.)
  const std::vector<std::string> huge = {"--set", "stage.numbers.working_mb=100000000"};
  std::vector<std::string> args = {"run", (dir / "p.toml").string(), "--dry-run", "--cache-dir",
                                   (dir / "empty").string()};
  args.insert(args.end(), huge.begin(), huge.end());
  r = run_cli(args, test_registry());
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  write_file(dir / "small.toml", "[stage.source]\nmem_mb = 100\n");
  args.insert(args.end(), {"--executor", "slurm", "--profile", (dir / "small.toml").string()});
  r = run_cli(args, test_registry());
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("note: on this machine: "), std::string::npos) << r.err;
  EXPECT_TRUE(r.err.rfind("error:", 0) != 0 && r.err.find("\nerror:") == std::string::npos)
      << r.err;
  // A bad profile is refused as a real submission would refuse it.
  write_file(dir / "bad.toml", "[slurm]\nmax_running = -1\n");
  r = run_cli({"run", (dir / "p.toml").string(), "--executor", "slurm", "--profile",
               (dir / "bad.toml").string(), "--dry-run", "--cache-dir", cache},
              test_registry());
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("bad.toml:2:"), std::string::npos) << r.err;
}

// A job's memory was the stage's own default (analyze: 8,000 MB) even where
// the plan's size estimate said an instance needs more, and an array asked
// what its first instance asked. Now the memory is raised to the largest
// instance's need (artifact + inputs + working memory) in MiB, rounded up,
// times 1.25, plus 256 MiB, and every field is the largest of the array's.
TEST(SlurmDryRun, MemoryFollowsTheLargestInstancesEstimate) {
  TempDir dir;
  // Two sources of 8 MB, the first small: working memory 0 and 1,000 MB.
  write_file(dir / "p.toml",
             "[pipeline]\nname = \"mem\"\nseed = 1\n\n[stage.numbers]\ntype = \"source\"\n"
             "n = 1000000\nsweep = { zip = { seed = [1, 2], working_mb = [0, 1000] } "
             "}\n\n[stage.scaled]\ntype = \"scale\"\nx = \"numbers\"\n");
  const std::vector<std::string> base = {
      "run",         (dir / "p.toml").string(), "--executor", "slurm", "--dry-run",
      "--cache-dir", (dir / "cache").string()};
  CliResult r = run_cli(base, test_registry());
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  // The second's 1,008,000,000 bytes = 962 MiB rounded up; x 1.25 = 1,203, + 256.
  EXPECT_NE(r.out.find("  numbers (source): 2 instances, one array task each; --cpus-per-task=1 "
                       "--mem=1459M --time=0:10:00 --array=0-1\n"),
            std::string::npos)
      << r.out;
  // scale's artifact and its input, 8 MB each: 16 MiB; x 1.25 = 20, + 256
  // (its artifact alone would give 266).
  EXPECT_NE(r.out.find("  scaled (scale): 2 instances, one array task each; --cpus-per-task=1 "
                       "--mem=276M "),
            std::string::npos)
      << r.out;
  // A profile's value stands, with a warning naming the estimate.
  write_file(dir / "prof.toml", "[stage.source]\nmem_mb = 1000\n");
  std::vector<std::string> args = base;
  args.insert(args.end(), {"--profile", (dir / "prof.toml").string()});
  r = run_cli(args, test_registry());
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("--cpus-per-task=1 --mem=1000M "), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("stage numbers (source) asks 1000 MB of memory ([stage.source] mem_mb at "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("less than the 1459 MB of the plan's estimate for numbers[seed=2,"
                       "working_mb=1000]: 962 MiB (1.0 GB: its artifact 8.0 MB, its inputs 0 B, "
                       "working memory 1.0 GB), times 1.25, plus 256 MiB for the process"),
            std::string::npos)
      << r.err;
}

// An array's tasks share one request: each field is the largest of its
// instances' (it was the first instance's), and the memory the largest
// estimate's, named.
TEST(SlurmRequest, AnArrayAsksTheLargestOfItsInstances) {
  Diagnostics diags;
  const auto plan = make_plan_from_text(
      "p.toml",
      "[pipeline]\nname = \"req\"\nseed = 1\n\n[stage.numbers]\ntype = \"source\"\nn = 6\n"
      "sweep = { zip = { seed = [1, 2, 3], working_mb = [0, 3000, 10], cpus = [1, 3, 2] } }\n",
      {}, test_registry(), diags);
  ASSERT_TRUE(plan) << diags.format_all();
  ClusterProfile none;
  JobRequest req = slurm_detail::request_of(*plan, 0, {0, 1, 2}, none);
  EXPECT_EQ(req.res.cpus, 3);
  EXPECT_FALSE(req.res.fixed_width);
  EXPECT_EQ(req.fixed_cpus, 0);
  // 3,000,000,048 bytes = 2,862 MiB rounded up; x 1.25 = 3,578, + 256.
  EXPECT_EQ(req.res.mem_mb, 3834);
  EXPECT_EQ(req.res.minutes, 10);
  EXPECT_EQ(req.estimate_mb, 3834);
  EXPECT_EQ(req.estimate_why,
            "the plan's estimate for numbers[cpus=3,seed=2,working_mb=3000]: 2862 MiB (3.0 GB: "
            "its artifact 48 B, its inputs 0 B, working memory 3.0 GB), times 1.25, plus 256 MiB "
            "for the process");
  // The first instance alone: 48 bytes, 1 MiB; x 1.25 = 2, + 256, over the stage's 200.
  req = slurm_detail::request_of(*plan, 0, {0}, none);
  EXPECT_EQ(req.res.cpus, 1);
  EXPECT_EQ(req.res.mem_mb, 258);
  // A profile's value stands over both.
  none.stages["source"].mem_mb = 500;
  none.stages["source"].cpus = 1;
  req = slurm_detail::request_of(*plan, 0, {0, 1, 2}, none);
  EXPECT_EQ(req.res.mem_mb, 500);
  EXPECT_EQ(req.res.cpus, 1);
  EXPECT_EQ(req.estimate_mb, 3834);
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

// A hashed width belongs to its own instance: an array of a CNN trained at 2
// threads and a random one run at 8 was refused as "the width it trains at
// (8)"; now the 8 is sized down to the node's 2 and the trained one's 2 fits.
// The largest time limit of an array (a training's grows with its steps) and
// its largest hashed width are what it asks.
TEST(SlurmRequest, AHashedWidthIsItsOwnInstancesAndTheLongestTimeIsAsked) {
  Diagnostics diags;
  const auto plan = make_plan_from_text(
      "p.toml",
      "[pipeline]\nname = \"w\"\nseed = 1\n\n[stage.stimuli]\ntype = \"render\"\n\n"
      "[stage.cnn]\ntype = \"features\"\nstimuli = \"stimuli\"\n"
      "sweep = { zip = { model = [\"builtin\", \"random\"], threads = [2, 8], epochs = [1, 0] } "
      "}\n\n"
      "[stage.cnn0]\ntype = \"features\"\nstimuli = \"stimuli\"\nmodel = \"random\"\n\n"
      "[stage.suite]\ntype = \"tasks\"\nstimuli = \"stimuli\"\n\n"
      "[stage.net]\ntype = \"train\"\nfeatures = \"cnn0\"\ntasks = \"suite\"\n"
      "sweep = { zip = { steps = [100, 40000], threads = [3, 1] } }\n",
      {}, real_registry(), diags);
  ASSERT_TRUE(plan) << diags.format_all();
  auto instances_of = [&](const std::string& decl) {
    std::size_t d = 0;
    while (plan->spec.stages[d].name != decl) ++d;
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < plan->instances.size(); ++i)
      if (plan->instances[i].decl == d) out.push_back(i);
    return std::make_pair(d, out);
  };
  const auto parts = parse_partitions(kPartitions, kNodes);  // debug: 2 CPUs
  const ClusterProfile none;
  const auto [cnn, cnns] = instances_of("cnn");
  ASSERT_EQ(cnns.size(), 2u);
  JobRequest req = slurm_detail::request_of(*plan, cnn, cnns, none);
  EXPECT_EQ(req.res.cpus, 8);
  EXPECT_EQ(req.fixed_cpus, 2);
  EXPECT_FALSE(req.res.fixed_width);
  EXPECT_EQ(req.threads_param, 2);
  FitResult fit = fit_request(req, parts[0]);
  EXPECT_TRUE(fit.errors.empty()) << fit.errors.front();
  EXPECT_EQ(fit.res.cpus, 2);
  ASSERT_EQ(fit.notes.size(), 1u);
  EXPECT_NE(fit.notes[0].find("sized down to 2 (the widths its array's results depend on, at "
                              "most 2, still fit)"),
            std::string::npos)
      << fit.notes[0];
  const auto [net, nets] = instances_of("net");
  ASSERT_EQ(nets.size(), 2u);
  req = slurm_detail::request_of(*plan, net, nets, none);
  EXPECT_EQ(req.res.cpus, 3);
  EXPECT_EQ(req.fixed_cpus, 3);
  EXPECT_TRUE(req.res.fixed_width);
  EXPECT_EQ(req.threads_param, 3);
  // train asks 10 minutes + 2 per 240 steps: the 40,000-step model's 343.
  EXPECT_EQ(req.res.minutes, 343);
  EXPECT_EQ(slurm_detail::request_of(*plan, net, {nets[0]}, none).res.minutes, 10);
  fit = fit_request(req, parts[0]);
  ASSERT_EQ(fit.errors.size(), 1u);
  EXPECT_NE(fit.errors[0].find("stage net (train) asks 3 CPUs, the width it trains at (its "
                               "threads = 3, hashed"),
            std::string::npos)
      << fit.errors[0];
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
  EXPECT_NE(fit.errors[0].find("asks 100000 MB of memory (the stage's request); partition debug "
                               "offers at most 24105 MB"),
            std::string::npos)
      << fit.errors[0];
  EXPECT_NE(fit.errors[0].find("[stage.train] mem_mb"), std::string::npos) << fit.errors[0];
  // Memory raised by the plan's estimate says so (request_of fills these).
  req = request("train", train);
  req.estimate_mb = 100000;
  req.estimate_why = "the plan's estimate for net[seed=1]: about 76.1 GB";
  fit = fit_request(req, parts[0]);
  ASSERT_EQ(fit.errors.size(), 1u);
  EXPECT_NE(fit.errors[0].find("asks 100000 MB of memory (the plan's estimate for net[seed=1]: "
                               "about 76.1 GB); partition debug offers at most 24105 MB"),
            std::string::npos)
      << fit.errors[0];
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
  EXPECT_NE(fit.errors[0].find("asks a time limit of 2000 min (the stage's request); partition "
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

// submission.json keeps what `wmgeom status` needs in one read: the jobs and
// the --set lines the jobs plan with (a record written before "sets" was a
// field reads as none).
TEST(SlurmSubmission, TheRecordRoundTripsWithItsSets) {
  Submission s;
  s.pipeline = "study";
  s.jobs.push_back({"12", "net", {"net[seed=1]", "net[seed=2]"}, true, 1700000000.5});
  s.cached = {"img"};
  s.sets = {"stage.net.steps=10", "stage.cnn.model=\"random\""};
  const Submission back = Submission::from_json(nlohmann::json::parse(s.to_json().dump()));
  EXPECT_EQ(back.pipeline, "study");
  ASSERT_EQ(back.jobs.size(), 1u);
  EXPECT_EQ(back.jobs[0].instances, s.jobs[0].instances);
  EXPECT_TRUE(back.jobs[0].array);
  EXPECT_EQ(back.jobs[0].submitted, 1700000000.5);
  EXPECT_EQ(back.cached, s.cached);
  EXPECT_EQ(back.sets, s.sets);
  nlohmann::json old = s.to_json();
  old.erase("sets");
  EXPECT_TRUE(Submission::from_json(old).sets.empty());
  old.erase("jobs");
  EXPECT_THROW(Submission::from_json(old), Error);
}

}  // namespace
}  // namespace wmgeom::testing
