// What the Slurm tests against a real cluster share (test_slurm.cpp,
// test_slurm_limits.cpp): whether a cluster is there (scripts/slurm-local
// starts one; SLURM_CONF names it), a test folder submitting to it, and the
// pipelines they submit. Every test here skips, saying why, without one.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cluster/slurm.h"
#include "testing.h"

namespace wmgeom::testing {

namespace fs = std::filesystem;

inline bool have_slurm() {
  const char* conf = std::getenv("SLURM_CONF");
  return conf && *conf && fs::exists(conf);
}

#define REQUIRE_SLURM()                                                                            \
  if (!have_slurm())                                                                               \
  GTEST_SKIP() << "no Slurm cluster (SLURM_CONF unset): scripts/test starts one when run as root " \
                  "(scripts/slurm-local)"

// A profile whose jobs run `cli` with short polls.
inline std::string profile_text(const std::string& cli, const std::string& more = "") {
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

inline std::vector<std::string> lines_of(const fs::path& p) {
  std::vector<std::string> out;
  std::ifstream f(p);
  for (std::string line; std::getline(f, line);) out.push_back(line);
  return out;
}

// Each instance's (start, end) in microseconds, from the test stages' events file.
inline std::map<std::string, std::pair<long long, long long>> spans_of(const fs::path& events) {
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
inline std::string sweep_pipeline(const fs::path& dir, const std::string& scaled_extra = "") {
  const std::string instr = "counter = \"" + (dir / "counter.txt").string() + "\"\nevents = \"" +
                            (dir / "events.txt").string() + "\"\n";
  return "[pipeline]\nname = \"sweep\"\nseed = 1\n\n[stage.numbers]\ntype = \"source\"\nn = 6\n" +
         instr +
         "\n[stage.scaled]\ntype = \"scale\"\nx = \"numbers\"\nsweep = { factor = [2.0, 3.0, 4.0, "
         "5.0] }\n" +
         instr + scaled_extra + "\n[stage.total]\ntype = \"sum\"\nxs = [\"scaled\"]\n" + instr;
}

// The science pipeline, tiny: 4 trainings (one array), their captures (an
// array), each model's analyses in two halves as pipelines/study.toml has
// them (two arrays: `geometry` and `shapes`, other analyses of the same
// models), the findings across them and the report, on the real stages.
inline std::string study_pipeline(int steps, const std::string& train_extra = "") {
  return tiny_states_pipeline({.name = "study",
                               .rnn = "gru",
                               .steps = steps,
                               .eval_every = std::min(steps, 50),
                               .net_extra = "checkpoint_every = 100000\n"
                                            "sweep = { seed = [1, 2, 3, 4] }\n" +
                                            train_extra}) +
         "[stage.geometry]\ntype = \"analyze\"\nstates = { each = \"states\" }\nmodels = "
         "[\"net\"]\nanalyses = [\"decoding\"]\n"
         "folds = 3\nnull_shuffles = 1\npermutations = 2\n\n"
         "[stage.shapes]\ntype = \"analyze\"\nstates = { each = \"states\" }\nmodels = "
         "[\"net\"]\nanalyses = [\"dimensionality\"]\n"
         "folds = 3\nnull_shuffles = 1\npermutations = 2\n\n"
         "[stage.verdicts]\ntype = \"findings\"\nanalysis = [\"geometry\", \"shapes\"]\n\n"
         "[stage.report]\ntype = \"report\"\nanalysis = [\"verdicts\"]\nmodels = [\"net\"]\n";
}

// The CPUs of the cluster's largest node (scontrol), 0 when unreadable.
inline int node_cpus() {
  const auto parts = parse_partitions(run_command({"scontrol", "-o", "show", "partition"}).out,
                                      run_command({"scontrol", "-o", "show", "node"}).out);
  int most = 0;
  for (const auto& p : parts) {
    for (const auto& n : p.nodes) most = std::max(most, n.cpus);
  }
  return most;
}

}  // namespace wmgeom::testing
