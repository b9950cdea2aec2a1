// core/cpus.h: the CPUs a process may use, from a fake cgroup tree and
// Slurm's variables, and the run's default width following it.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/cpus.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

namespace fs = std::filesystem;

struct FakeCgroup {
  TempDir dir;
  fs::path root = dir / "sys";
  fs::path self = dir / "self-cgroup";
};

// No quota anywhere: the affinity mask (or the cores) decides.
TEST(Cpus, WithoutLimitsTheAffinityMaskDecides) {
  FakeCgroup f;
  write_file(f.self, "0::/user.slice/job\n");
  write_file(f.root / "user.slice" / "job" / "cpu.max", "max 100000\n");
  const CpuBudget b = cpu_budget(f.root.string(), f.self.string());
  EXPECT_GE(b.cpus, 1);
  EXPECT_LE(b.cpus, b.cores);
  EXPECT_EQ(b.quota, 0.0);
  if (b.affinity > 0) {
    EXPECT_EQ(b.cpus, b.affinity);
  }
}

// cgroup v2: 1.5 CPUs of quota on a parent is 2 threads (rounded up), and the
// tightest quota on the path binds.
TEST(Cpus, ACgroupQuotaLimitsTheWidth) {
  FakeCgroup f;
  write_file(f.self, "0::/a/b\n");
  write_file(f.root / "a" / "cpu.max", "150000 100000\n");
  write_file(f.root / "a" / "b" / "cpu.max", "max 100000\n");
  CpuBudget b = cpu_budget(f.root.string(), f.self.string());
  EXPECT_DOUBLE_EQ(b.quota, 1.5);
  EXPECT_EQ(b.cpus, std::min(2, b.affinity > 0 ? b.affinity : b.cores));
  write_file(f.root / "a" / "b" / "cpu.max", "50000 100000\n");  // half a CPU: one thread
  b = cpu_budget(f.root.string(), f.self.string());
  EXPECT_EQ(b.cpus, 1);
  EXPECT_EQ(b.limit, "cgroup cpu.max");
  EXPECT_NE(b.describe().find("1 CPU (cgroup cpu.max; "), std::string::npos) << b.describe();
}

TEST(Cpus, ACgroupV1QuotaLimitsTheWidth) {
  FakeCgroup f;
  write_file(f.self, "5:cpu,cpuacct:/slurm/job_7\n4:memory:/slurm/job_7\n");
  write_file(f.root / "cpu,cpuacct" / "slurm" / "job_7" / "cpu.cfs_quota_us", "100000\n");
  write_file(f.root / "cpu,cpuacct" / "slurm" / "job_7" / "cpu.cfs_period_us", "100000\n");
  const CpuBudget b = cpu_budget(f.root.string(), f.self.string());
  EXPECT_DOUBLE_EQ(b.quota, 1.0);
  EXPECT_EQ(b.cpus, 1);
}

// SLURM_CPUS_PER_TASK counts only inside a job (SLURM_JOB_ID), and only
// when it is smaller than the other limits.
TEST(Cpus, SlurmCpusPerTaskLimitsTheWidthInsideAJob) {
  FakeCgroup f;
  write_file(f.self, "0::/\n");
  ::setenv("SLURM_CPUS_PER_TASK", "1", 1);
  ::unsetenv("SLURM_JOB_ID");
  CpuBudget b = cpu_budget(f.root.string(), f.self.string());
  EXPECT_EQ(b.slurm, 0) << "outside a job the variable is someone else's";
  ::setenv("SLURM_JOB_ID", "12", 1);
  b = cpu_budget(f.root.string(), f.self.string());
  EXPECT_EQ(b.slurm, 1);
  EXPECT_EQ(b.cpus, 1);
  if (b.cores > 1) {
    EXPECT_EQ(b.limit, "SLURM_CPUS_PER_TASK");
  }
  ::unsetenv("SLURM_JOB_ID");
  ::unsetenv("SLURM_CPUS_PER_TASK");
}

// The real process: an affinity mask of one CPU (taskset) makes a run's
// default width 1, as its log says.
TEST(Cpus, ARunUnderTasksetUsesOneThread) {
  TempDir dir;
  write_file(dir / "p.toml", "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n");
  if (std::system("command -v taskset >/dev/null 2>&1") != 0) GTEST_SKIP() << "no taskset";
  const std::string cmd = "taskset -c 0 " + std::string(WMGEOM_TESTCLI) + " run " +
                          (dir / "p.toml").string() + " --cache-dir " + (dir / "cache").string() +
                          " --out " + (dir / "out").string() + " --no-progress -q > " +
                          (dir / "log").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file(dir / "log");
  const std::string log = read_file(dir / "out" / "wmgeom.log");
  EXPECT_NE(log.find("threads: 1 CPU (affinity"), std::string::npos) << log;
}

}  // namespace
}  // namespace wmgeom::testing
