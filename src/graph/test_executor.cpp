// The executor: cache hits, concurrency, resource tokens, cancellation,
// --only/--from, corruption recovery, and two processes on one cache.
#include <gtest/gtest.h>

#include <sstream>

#include "cache/cache.h"
#include "config/diagnostics.h"
#include "core/log.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "test_stages.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

namespace fs = std::filesystem;

const StageRegistry& registry() { return test_registry(); }

int lines(const fs::path& p) {
  if (!fs::exists(p)) return 0;
  std::string s = read_file(p);
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

int lines_with(const fs::path& p, const std::string& needle) {
  std::istringstream in(read_file(p));
  int n = 0;
  for (std::string l; std::getline(in, l);) n += l == needle;
  return n;
}

struct Harness {
  TempDir dir;
  std::ostringstream log_text;
  Logger log{log_text, Logger::Level::kDebug};
  Cache cache{dir / "cache"};

  std::string counter() const { return (dir / "counter").string(); }

  Plan plan(const std::string& text, const std::vector<std::string>& sets = {}) {
    Diagnostics d;
    auto p = make_plan_from_text((dir / "p.toml").string(), text, sets, registry(), d);
    if (!p) throw std::runtime_error(d.format_all());
    return *p;
  }
  RunReport run(const Plan& p, RunOptions o = {}) {
    if (o.threads == 0) o.threads = 2;
    o.progress = false;
    return Executor(p, cache, log).run(o);
  }
  std::map<std::string, std::string> status(const RunReport& r) {
    std::map<std::string, std::string> m;
    for (const auto& i : r.instances) m[i.instance] = to_string(i.cache);
    return m;
  }
};

std::string chain3(const std::string& counter) {
  return "[pipeline]\nname = \"t\"\n"
         "[stage.a]\ntype = \"source\"\ncounter = \"" +
         counter +
         "\"\n"
         "[stage.b]\ntype = \"scale\"\nx = \"a\"\ncounter = \"" +
         counter +
         "\"\n"
         "[stage.c]\ntype = \"scale\"\nx = \"b\"\nfactor = 10.0\ncounter = \"" +
         counter + "\"\n";
}

TEST(Executor, RunsOnceThenHitsWithoutLoading) {
  Harness h;
  Plan p = h.plan(chain3(h.counter()));
  RunReport r1 = h.run(p);
  ASSERT_EQ(r1.exit_code, 0) << r1.error;
  EXPECT_EQ(h.status(r1),
            (std::map<std::string, std::string>{{"a", "miss"}, {"b", "miss"}, {"c", "miss"}}));
  EXPECT_EQ(lines(h.counter()), 3);
  RunReport r2 = h.run(p);
  EXPECT_EQ(h.status(r2),
            (std::map<std::string, std::string>{{"a", "hit"}, {"b", "hit"}, {"c", "hit"}}));
  EXPECT_EQ(lines(h.counter()), 3);
  for (const auto& i : r2.instances)
    EXPECT_EQ(i.seconds, 0.0) << i.instance << " was loaded needlessly";
  // The result is right: c = 10 * 2 * (k + 1).
  auto c = Executor(p, h.cache, h.log).materialize(2);
  auto x = c->array("x").values<double>();
  EXPECT_EQ(std::vector<double>(x.begin(), x.end()), (std::vector<double>{20, 40, 60, 80}));
}

TEST(Executor, ChangingOneParameterRerunsOnlyWhatItTouches) {
  Harness h;
  h.run(h.plan(chain3(h.counter())));
  RunReport r = h.run(h.plan(chain3(h.counter()), {"stage.c.factor=3.0"}));
  EXPECT_EQ(h.status(r),
            (std::map<std::string, std::string>{{"a", "hit"}, {"b", "hit"}, {"c", "miss"}}));
  EXPECT_EQ(lines_with(h.counter(), "c"), 2);
  EXPECT_EQ(lines_with(h.counter(), "a"), 1);
}

// Each input carries its upstream's cache key, the identity a stage may
// seed per-input random draws from: a function of what the artifact is made
// of, not of the stage's name (renaming a stage keeps every key).
TEST(Executor, InputsCarryTheirUpstreamsKeyNotTheirName) {
  auto text = [](const std::string& name) {
    return "[pipeline]\nname = \"t\"\n[stage." + name +
           "]\ntype = \"source\"\nsweep = { value = [1.0, 2.0] }\n"
           "[stage.total]\ntype = \"sum\"\nxs = \"" +
           name + "\"\n";
  };
  Harness h;
  Plan p = h.plan(text("a"));
  ASSERT_EQ(h.run(p).exit_code, 0);
  const std::size_t total = p.instances.size() - 1;
  ASSERT_EQ(p.instances[total].name, "total");
  std::vector<std::string> want;
  for (const auto& e : p.instances[total].inputs) want.push_back(p.instances[e.upstream].key);
  ASSERT_EQ(want.size(), 2u);
  EXPECT_NE(want[0], want[1]);
  auto keys = [&](const Plan& plan) {
    auto a = Executor(plan, h.cache, h.log).materialize(total);
    return a->meta.at("input_keys").get<std::vector<std::string>>();
  };
  EXPECT_EQ(keys(p), want);
  Plan renamed = h.plan(text("b"));
  EXPECT_EQ(renamed.instances[total].key, p.instances[total].key);
  // Recomputed under the new name (forced), the inputs' keys are the same.
  RunOptions o;
  o.from = {"total"};
  ASSERT_EQ(h.run(renamed, o).exit_code, 0);
  EXPECT_EQ(keys(renamed), want);
}

TEST(Executor, IndependentStagesRunConcurrently) {
  Harness h;
  std::string barrier = (h.dir / "barrier").string();
  // Each waits (up to 30 s) until both are running: serial execution would fail.
  Plan p = h.plan(
      "[pipeline]\nname = \"t\"\n"
      "[stage.a]\ntype = \"source\"\nbarrier_dir = \"" +
      barrier +
      "\"\nbarrier_peers = 2\n"
      "[stage.b]\ntype = \"source\"\nn = 5\nbarrier_dir = \"" +
      barrier + "\"\nbarrier_peers = 2\n");
  RunReport r = h.run(p, {.threads = 2});
  EXPECT_EQ(r.exit_code, 0) << r.error;
}

TEST(Executor, SweepMembersRunConcurrently) {
  Harness h;
  std::string barrier = (h.dir / "barrier").string();
  Plan p = h.plan(
      "[pipeline]\nname = \"t\"\n"
      "[stage.a]\ntype = \"source\"\nbarrier_dir = \"" +
      barrier +
      "\"\nbarrier_peers = 3\n"
      "sweep = { seed = [1, 2, 3] }\n");
  RunReport r = h.run(p, {.threads = 3});
  EXPECT_EQ(r.exit_code, 0) << r.error;
}

TEST(Executor, SharedResourceNeverOverlaps) {
  Harness h;
  std::string events = (h.dir / "events").string();
  Plan p = h.plan(
      "[pipeline]\nname = \"t\"\n"
      "[stage.a]\ntype = \"source\"\nresource = \"cuda:0\"\nsleep_ms = 60\nevents = \"" +
      events +
      "\"\n"
      "sweep = { seed = [1, 2, 3] }\n");
  RunReport r = h.run(p, {.threads = 3});
  ASSERT_EQ(r.exit_code, 0) << r.error;
  std::istringstream in(read_file(events));
  std::vector<std::pair<long long, long long>> spans;
  std::map<std::string, long long> start;
  for (std::string kind, name; in >> kind >> name;) {
    long long t;
    in >> t;
    if (kind == "start")
      start[name] = t;
    else
      spans.emplace_back(start[name], t);
  }
  ASSERT_EQ(spans.size(), 3u);
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i) EXPECT_LE(spans[i - 1].second, spans[i].first);
}

// Issue 24 item 4: an instance waiting for a resource's token holds no
// worker. Two workers; three instances share a GPU token, and the one
// holding it waits at a barrier for an instance without a resource. Had the
// second worker blocked on the token (a mutex in the node's body, before),
// the instance without a resource could not start while the first waits
// for it (the barrier times out, or not, as TBB happens to schedule); with
// the token as a flow-graph resource the waiting instances are not tasks
// yet and the free worker always takes it.
TEST(Executor, WaitingForATokenHoldsNoWorker) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    Harness h;
    const std::string barrier = (h.dir / "barrier").string();
    const std::string events = (h.dir / "events").string();
    Plan p = h.plan(
        "[pipeline]\nname = \"t\"\n"
        "[stage.gpu]\ntype = \"source\"\nresource = \"cuda:0\"\nsleep_ms = 20\nevents = \"" +
        events + "\"\nbarrier_dir = \"" + barrier +
        "\"\nbarrier_peers = 2\nsweep = { seed = [1, 2, 3] }\n"
        "[stage.cpu]\ntype = \"source\"\nvalue = 2.0\nevents = \"" +
        events + "\"\nbarrier_dir = \"" + barrier + "\"\nbarrier_peers = 2\n");
    RunReport r = h.run(p, {.threads = 2});
    ASSERT_EQ(r.exit_code, 0) << r.error;
    std::istringstream in(read_file(events));
    std::vector<std::pair<long long, long long>> gpu;
    std::map<std::string, long long> start;
    for (std::string kind, name; in >> kind >> name;) {
      long long t;
      in >> t;
      if (kind == "start")
        start[name] = t;
      else if (name.rfind("gpu", 0) == 0)
        gpu.emplace_back(start[name], t);
    }
    ASSERT_EQ(gpu.size(), 3u);
    std::sort(gpu.begin(), gpu.end());
    for (std::size_t i = 1; i < gpu.size(); ++i)
      EXPECT_LE(gpu[i - 1].second, gpu[i].first);  // still one at a time
  }
}

TEST(Executor, FailureCancelsDownstreamAndKeepsFinishedWork) {
  Harness h;
  Plan p = h.plan(
      "[pipeline]\nname = \"t\"\n"
      "[stage.ok]\ntype = \"source\"\n"
      "[stage.bad]\ntype = \"scale\"\nx = \"ok\"\nfail = true\n"
      "[stage.after]\ntype = \"scale\"\nx = \"bad\"\ncounter = \"" +
      h.counter() + "\"\n");
  RunReport r = h.run(p);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.failed_stage, "bad");
  EXPECT_NE(r.error.find("deliberate failure"), std::string::npos);
  auto s = h.status(r);
  EXPECT_EQ(s["ok"], "miss");
  EXPECT_EQ(s["bad"], "failed");
  EXPECT_EQ(s["after"], "cancelled");
  EXPECT_EQ(lines(h.counter()), 0);
  EXPECT_TRUE(h.cache.contains(p.instances[0].key));  // finished work is kept
  EXPECT_FALSE(h.cache.contains(p.instances[1].key));
}

TEST(Executor, InputErrorInsideAStageExitsTwo) {
  Harness h;
  RunReport r =
      h.run(h.plan("[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nfail_input = true\n"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.error.find("bad.obj:3"), std::string::npos);
}

TEST(Executor, OnlyRunsTheStageAndWhatItNeeds) {
  Harness h;
  Plan p = h.plan(chain3(h.counter()));
  RunReport r = h.run(p, {.only = {"b"}});
  EXPECT_EQ(h.status(r),
            (std::map<std::string, std::string>{{"a", "miss"}, {"b", "miss"}, {"c", "skip"}}));
  RunReport again = h.run(p, {.only = {"b"}});
  EXPECT_EQ(h.status(again)["b"], "hit");
  EXPECT_EQ(lines(h.counter()), 2);
  // With a cached upstream, --only loads it and computes just the target.
  RunReport c = h.run(p, {.only = {"c"}});
  EXPECT_EQ(h.status(c),
            (std::map<std::string, std::string>{{"a", "hit"}, {"b", "hit"}, {"c", "miss"}}));
  EXPECT_EQ(lines(h.counter()), 3);
}

TEST(Executor, FromForcesTheStageAndEverythingDownstream) {
  Harness h;
  Plan p = h.plan(chain3(h.counter()));
  h.run(p);
  RunReport r = h.run(p, {.from = {"b"}});
  EXPECT_EQ(h.status(r),
            (std::map<std::string, std::string>{{"a", "hit"}, {"b", "miss"}, {"c", "miss"}}));
  EXPECT_EQ(lines_with(h.counter(), "a"), 1);
  EXPECT_EQ(lines_with(h.counter(), "b"), 2);
  EXPECT_EQ(lines_with(h.counter(), "c"), 2);
}

TEST(Executor, UnknownOnlyNameIsAnInputError) {
  Harness h;
  Plan p = h.plan(chain3(h.counter()));
  EXPECT_THROW(h.run(p, {.only = {"zz"}}), InputError);
}

TEST(Executor, CorruptEntryIsReportedAndRecomputed) {
  Harness h;
  Plan p = h.plan(chain3(h.counter()));
  h.run(p);
  // Corrupt a's blob; then make b need a again.
  fs::path blob = h.cache.entry_dir(p.instances[0].key) / "0.zst";
  fs::resize_file(blob, fs::file_size(blob) - 3);
  RunReport r = h.run(h.plan(chain3(h.counter()), {"stage.b.factor=5.0"}));
  EXPECT_EQ(r.exit_code, 0) << r.error;
  EXPECT_NE(h.log_text.str().find("is corrupt"), std::string::npos) << h.log_text.str();
  EXPECT_EQ(lines_with(h.counter(), "a"), 2);
  EXPECT_TRUE(h.cache.contains(p.instances[0].key));
}

// A key with a `hash_content` line stands for the contents the plan hashed.
// A result computed from other contents must never be filed under it: a
// file edited after the plan stops the instance before it runs, and one
// edited while it runs (here the stage itself appends to the file it was
// keyed by) is not stored; both exit 2 naming the parameter and the file.
// Once the files are settled a new plan keys and stores the result.
TEST(Executor, AFileEditedAfterThePlanIsNeverStoredUnderItsOldKey) {
  Harness h;
  const fs::path file = h.dir / "data.txt";
  write_file(file, "one");
  auto kitchen = [&](const fs::path& counter) {
    return "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"n\"\nfile = \"" +
           file.string() + "\"\ncounter = \"" + counter.string() + "\"\n";
  };
  // Edited between the plan and the run: nothing runs.
  Plan before = h.plan(kitchen(h.counter()));
  write_file(file, "two!");
  RunReport r = h.run(before);
  EXPECT_EQ(r.exit_code, 2) << r.error;
  EXPECT_NE(r.error.find("stage.k.file: " + file.string() + " was modified after the plan"),
            std::string::npos)
      << r.error;
  EXPECT_EQ(lines(h.counter()), 0) << "the stage must not start";
  EXPECT_FALSE(h.cache.contains(before.instances[0].key));
  // Edited while the stage runs (its counter is the keyed file): not stored.
  Plan during = h.plan(kitchen(file));
  EXPECT_NE(during.instances[0].key, before.instances[0].key);
  r = h.run(during);
  EXPECT_EQ(r.exit_code, 2) << r.error;
  EXPECT_NE(r.error.find("stage.k.file: " + file.string() + " was modified while the stage ran"),
            std::string::npos)
      << r.error;
  EXPECT_NE(r.error.find("not stored"), std::string::npos) << r.error;
  EXPECT_FALSE(h.cache.contains(during.instances[0].key));
  // Settled: planned from what is there now, computed once, then a hit.
  Plan settled = h.plan(kitchen(h.counter()));
  r = h.run(settled);
  ASSERT_EQ(r.exit_code, 0) << r.error;
  EXPECT_TRUE(h.cache.contains(settled.instances[0].key));
  r = h.run(h.plan(kitchen(h.counter())));
  EXPECT_EQ(h.status(r), (std::map<std::string, std::string>{{"k", "hit"}}));
  EXPECT_EQ(lines(h.counter()), 1);
}

TEST(Executor, DryRunReportsHitsAndMissesWithoutRunning) {
  Harness h;
  Plan p = h.plan(chain3(h.counter()));
  h.run(p, {.only = {"a"}});
  RunReport r = Executor(p, h.cache, h.log).dry_run({});
  EXPECT_EQ(h.status(r),
            (std::map<std::string, std::string>{{"a", "hit"}, {"b", "miss"}, {"c", "miss"}}));
  EXPECT_EQ(lines(h.counter()), 1);
}

// A dry run changes nothing on disk: a truncated entry is a miss there
// (the run would recompute it) and says so, and it is still there for the
// run to remove (before, the dry run's selection removed it).
TEST(Executor, DryRunCountsADamagedEntryAMissAndLeavesIt) {
  Harness h;
  Plan p = h.plan(chain3(h.counter()));
  h.run(p);
  const fs::path blob = h.cache.entry_dir(p.instances[1].key) / "0.zst";
  fs::resize_file(blob, fs::file_size(blob) - 3);
  RunReport r = Executor(p, h.cache, h.log).dry_run({});
  EXPECT_EQ(h.status(r),
            (std::map<std::string, std::string>{{"a", "hit"}, {"b", "miss"}, {"c", "hit"}}));
  EXPECT_NE(h.log_text.str().find("a run would remove and recompute it"), std::string::npos)
      << h.log_text.str();
  EXPECT_TRUE(fs::exists(blob)) << "a dry run removes nothing";
  EXPECT_EQ(lines(h.counter()), 3);
  r = h.run(p);
  ASSERT_EQ(r.exit_code, 0) << r.error;
  EXPECT_EQ(lines_with(h.counter(), "b"), 2);
  EXPECT_TRUE(h.cache.contains(p.instances[1].key));
}

// Plan-time resource checks (graph/fit.h): an instance whose artifact,
// inputs and working memory exceed the free memory, or whose artifact
// exceeds the free disk, stops the run before anything starts; downstream
// instances are not reported again; hits are not checked.
TEST(Executor, ArtifactsThatCannotFitStopTheRunBeforeItStarts) {
  Harness h;
  Plan p = h.plan(chain3(h.counter()), {"stage.a.n=1000", "stage.a.working_mb=5"});
  EXPECT_EQ(p.instances[0].estimate.bytes, 8000);
  EXPECT_EQ(p.instances[1].estimate.bytes, 8000);  // from its input's estimate
  // Memory: a needs 8 kB + 5 MB of working memory; 1 MB is free.
  FreeSpace tight{
      .memory = 1000000, .disk = 1 << 30, .memory_from = "the test", .disk_at = "/test"};
  try {
    h.run(p, {.free = &tight});
    FAIL() << "expected the run to be refused";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("stage a (source) needs about 5.0 MB of memory"), std::string::npos) << m;
    EXPECT_NE(m.find("1.0 MB is free (the test)"), std::string::npos) << m;
    EXPECT_NE(m.find("2 instances downstream"), std::string::npos) << m;
    EXPECT_EQ(m.find("stage b"), std::string::npos) << "a consequence was reported again: " << m;
  }
  EXPECT_EQ(lines(h.counter()), 0) << "a stage ran although the run was refused";
  // Disk: 8 kB will not fit in 4 kB.
  FreeSpace small_disk{
      .memory = 1 << 30, .disk = 4000, .memory_from = "the test", .disk_at = "/test"};
  try {
    h.run(p, {.free = &small_disk});
    FAIL() << "expected the run to be refused";
  } catch (const InputError& e) {
    EXPECT_NE(
        std::string(e.what()).find(
            "would store an artifact of about 8.0 kB but the cache's disk has 4.0 kB free (/test)"),
        std::string::npos)
        << e.what();
  }
  // Enough of both: it runs. Then a is a hit and no longer checked.
  FreeSpace ample{.memory = 1 << 30, .disk = 1 << 30};
  ASSERT_EQ(h.run(p, {.free = &ample}).exit_code, 0);
  EXPECT_EQ(lines(h.counter()), 3);
  Plan p2 =
      h.plan(chain3(h.counter()), {"stage.a.n=1000", "stage.a.working_mb=5", "stage.c.factor=2.0"});
  EXPECT_EQ(h.run(p2, {.free = &tight}).exit_code, 0) << "a cached instance was checked";
}

TEST(Executor, ManyArtifactsTogetherOverTheDiskAreAWarningNotAStop) {
  Harness h;
  Plan p = h.plan(chain3(h.counter()), {"stage.a.n=1000"});
  // Each 8 kB fits in 20 kB; the three together (24 kB) may not.
  FreeSpace disk{.memory = 1 << 30, .disk = 20000, .memory_from = "", .disk_at = "/test"};
  ASSERT_EQ(h.run(p, {.free = &disk}).exit_code, 0);
  EXPECT_NE(h.log_text.str().find("the 3 artifacts this run computes are estimated at 24.0 kB"),
            std::string::npos)
      << h.log_text.str();
}

TEST(Executor, FreeSpaceIsMeasured) {
  TempDir dir;
  const FreeSpace f = measure_free_space(dir / "not" / "yet");
  EXPECT_GT(f.memory, 0);
  EXPECT_GT(f.disk, 0);
  EXPECT_EQ(f.disk_at, dir.path().string());  // the nearest folder that exists
}

TEST(Executor, TwoProcessesOnOneCacheComputeEachKeyOnce) {
  TempDir dir;
  std::string counter = (dir / "counter").string();
  write_file(dir / "p.toml",
             "[pipeline]\nname = \"t\"\n"
             "[stage.a]\ntype = \"source\"\nsleep_ms = 400\ncounter = \"" +
                 counter +
                 "\"\n"
                 "[stage.b]\ntype = \"scale\"\nx = \"a\"\nsleep_ms = 200\ncounter = \"" +
                 counter + "\"\n");
  std::string cmd = std::string(WMGEOM_TESTCLI) + " run " + (dir / "p.toml").string() +
                    " --cache-dir " + (dir / "cache").string() + " --no-progress -q";
  std::string both = "(" + cmd + " --out " + (dir / "o1").string() + " & " + cmd + " --out " +
                     (dir / "o2").string() + " & wait) > " + (dir / "log").string() + " 2>&1";
  ASSERT_EQ(std::system(both.c_str()), 0) << read_file(dir / "log");
  EXPECT_EQ(lines_with(counter, "a"), 1) << read_file(counter);
  EXPECT_EQ(lines_with(counter, "b"), 1) << read_file(counter);
}

}  // namespace
}  // namespace wmgeom::testing
