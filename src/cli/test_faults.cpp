// Faults a run must survive (issue 14): SIGTERM and Ctrl-C stop it cleanly
// (exit 75, a message, no partial entry, finished stages kept); a disk that
// fills during a store fails the stage with an error naming the cache, keeps
// no partial entry and keeps the stages that finished. The random-moment
// SIGKILL runs of the real pipeline are in tests/chaos/test_chaos.cpp.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "graph/executor.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

namespace fs = std::filesystem;

// a -> b, b slow (sleep_ms) so that a signal or a full disk meets it running.
std::string slow_chain(const fs::path& dir, int n, int sleep_ms) {
  return "[pipeline]\nname = \"t\"\n"
         "[stage.a]\ntype = \"source\"\nn = " +
         std::to_string(n) + "\nevents = \"" + (dir / "events").string() +
         "\"\n"
         "[stage.b]\ntype = \"scale\"\nx = \"a\"\nsleep_ms = " +
         std::to_string(sleep_ms) + "\nevents = \"" + (dir / "events").string() + "\"\n";
}

std::vector<std::string> run_args(const fs::path& dir, const fs::path& cache) {
  return {WMGEOM_TESTCLI, "run",   (dir / "p.toml").string(), "--cache-dir",
          cache.string(), "--out", (dir / "out").string(),    "--no-progress"};
}

int cli(const std::vector<std::string>& args, const fs::path& log) {
  Child c(args, log);
  return c.wait();
}

// `wmgeom cache verify` lines "ok       KEY  STAGE": the stages whose entries verify.
std::string verified_stages(const fs::path& verify_log) {
  std::istringstream in(read_file(verify_log));
  std::string stages;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("ok ", 0) == 0)
      stages += (stages.empty() ? "" : " ") + line.substr(line.rfind(' ') + 1);
  }
  return stages;
}

std::size_t entries_in(const fs::path& folder) {
  std::error_code ec;
  if (!fs::exists(folder, ec)) return 0;
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(folder), fs::directory_iterator()));
}

void expect_clean_stop(int sig) {
  TempDir dir;
  write_file(dir / "p.toml", slow_chain(dir.path(), 4, 3000));
  const fs::path cache = dir / "cache";
  Child run(run_args(dir.path(), cache), dir / "log");
  ASSERT_TRUE(wait_for_text(dir / "events", "start b")) << read_file(dir / "log");
  run.signal(sig);
  EXPECT_EQ(run.wait(), kExitStopped) << read_file(dir / "log");
  const std::string log = read_file(dir / "log");
  EXPECT_NE(log.find("stopped by a signal"), std::string::npos) << log;
  EXPECT_NE(log.find("finished stages are cached"), std::string::npos) << log;
  EXPECT_EQ(entries_in(cache / "tmp"), 0u) << "a partial entry was left";
  // a finished and is kept, intact; b is not in the cache.
  EXPECT_EQ(cli({WMGEOM_TESTCLI, "cache", "verify", "--cache-dir", cache.string()}, dir / "verify"),
            0)
      << read_file(dir / "verify");
  EXPECT_EQ(verified_stages(dir / "verify"), "a") << read_file(dir / "verify");
  // The rerun computes only b.
  EXPECT_EQ(cli(run_args(dir.path(), cache), dir / "rerun"), 0) << read_file(dir / "rerun");
  const std::string events = read_file(dir / "events");
  EXPECT_EQ(events.find("start a", events.find("start b")), std::string::npos) << "a ran again:\n"
                                                                               << events;
}

TEST(Faults, SigtermStopsCleanlyKeepingFinishedStages) { expect_clean_stop(SIGTERM); }
TEST(Faults, CtrlCStopsCleanlyKeepingFinishedStages) { expect_clean_stop(SIGINT); }

// A tmpfs mounted for the test (root only: CI runs as root).
struct SmallDisk {
  fs::path at;
  bool mounted = false;
  SmallDisk(const fs::path& where, const std::string& size) : at(where) {
    fs::create_directories(at);
    mounted =
        ::geteuid() == 0 && ::mount("tmpfs", at.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted) ::umount2(at.c_str(), MNT_DETACH);
  }
};

TEST(Faults, AFullDiskDuringAStoreFailsTheStageNamingTheCache) {
  TempDir dir;
  SmallDisk disk(dir / "disk", "2m");
  if (!disk.mounted) GTEST_SKIP() << "needs root to mount a tmpfs (CI runs as root)";
  const fs::path cache = disk.at / "cache";
  // a (8 kB) fits and is stored; while b sleeps, the disk fills up.
  write_file(dir / "p.toml", slow_chain(dir.path(), 1000, 1500));
  Child run(run_args(dir.path(), cache), dir / "log");
  ASSERT_TRUE(wait_for_text(dir / "events", "start b")) << read_file(dir / "log");
  {
    std::ofstream filler(disk.at / "filler", std::ios::binary);
    const std::string block(4096, 'x');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }
  EXPECT_EQ(run.wait(), 1);
  const std::string log = read_file(dir / "log");
  EXPECT_NE(log.find("stage b failed"), std::string::npos) << log;
  EXPECT_NE(log.find("No space left on device"), std::string::npos) << log;
  EXPECT_NE(log.find("the disk holding the cache " + cache.string() + " is full"),
            std::string::npos)
      << log;
  EXPECT_EQ(entries_in(cache / "tmp"), 0u) << "a partial entry was left";
  fs::remove(disk.at / "filler");
  EXPECT_EQ(cli({WMGEOM_TESTCLI, "cache", "verify", "--cache-dir", cache.string()}, dir / "verify"),
            0)
      << read_file(dir / "verify");
  EXPECT_EQ(verified_stages(dir / "verify"), "a") << read_file(dir / "verify");
  EXPECT_EQ(cli(run_args(dir.path(), cache), dir / "rerun"), 0) << read_file(dir / "rerun");
}

}  // namespace
}  // namespace wmgeom::testing
