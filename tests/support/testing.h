// Helpers shared by every test: temporary directories, in-process CLI runs,
// and schema-validated Params for running one stage in isolation.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/artifact.h"
#include "core/log.h"
#include "core/params.h"
#include "core/run_summary.h"
#include "graph/registry.h"

// The scikit-learn comparisons are each number's one independent check:
// without python3-sklearn (scripts/bootstrap installs it) they fail rather
// than skip, so that a broken install cannot turn them into a green run.
#define WMGEOM_REQUIRE_SKLEARN()                                                   \
  if (std::system("/usr/bin/python3 -c 'import sklearn' 2>/dev/null") != 0)        \
  FAIL() << "python3-sklearn is missing (scripts/bootstrap installs it); this is " \
            "an independent check and does not skip"

namespace wmgeom::testing {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, const std::string& text);
std::string read_file(const std::filesystem::path& path);

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs `wmgeom ARGS` in-process against `registry`.
CliResult run_cli(const std::vector<std::string>& args, const StageRegistry& registry);

// Non-fatal gtest checks of a bad input's refusal: exit 2 and `expect` in
// stderr; failures name the case `what`.
void expect_refused(const CliResult& r, const std::string& what, const std::string& expect);

// A child process: `argv` (argv[0] the program's path) with stdout and
// stderr appended to `log`. Exit status by wait(); kill by signal.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::filesystem::path& log);
  ~Child();  // kills (SIGKILL) and reaps the child if it still runs
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  void signal(int sig) const;
  // Waits for the end: the exit code, or 128 + the signal that ended it.
  int wait();
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  bool reaped_ = false;
};

// Polls `path` until it contains `text` (or `seconds` pass); true if found.
bool wait_for_text(const std::filesystem::path& path, const std::string& text, double seconds = 60);

// The registry of the real stages (stages/register_all.cpp), built once.
const StageRegistry& real_registry();
// The registry of the engine's small test stages (test_stages.h), built once.
const StageRegistry& test_registry();

// `wmgeom run FILE --no-progress` in-process with the cache and the outputs
// under `dir` (dir/cache, dir/out).
CliResult run_pipeline_in(const std::filesystem::path& file, const std::filesystem::path& dir,
                          const StageRegistry& registry = real_registry());

// Runs pipelines in-process: plans `text` (as if it were DIR/p.toml) and
// loads or computes one instance, with a cache in this object's temporary
// directory (or `cache_dir`). Throws std::runtime_error with every
// diagnostic if the pipeline is invalid. Log lines collect in log_text.
class InProcess {
 public:
  explicit InProcess(const StageRegistry& registry = real_registry(),
                     Logger::Level level = Logger::Level::kWarn);
  std::shared_ptr<const Artifact> get(const std::string& text, const std::string& instance,
                                      int threads = 2, const std::filesystem::path& cache_dir = {});
  template <typename T>
  T get_as(const std::string& text, const std::string& instance, int threads = 2,
           const std::filesystem::path& cache_dir = {}) {
    return T::from_artifact(*get(text, instance, threads, cache_dir));
  }

  TempDir dir;
  std::ostringstream log_text;

 private:
  const StageRegistry& registry_;
  Logger log_;
};

// Parameters of stage TYPE given as the body of a [stage.X] table in TOML
// ("categories = 2\nviews = 4"), validated and defaulted exactly as in a
// pipeline (relative paths resolve against `base_dir`). The body may go on
// to define upstream stages ([stage.up] ...) that the ports name; they are
// planned, never run. Throws
// wmgeom::InputError with every diagnostic if invalid.
// One instance of a RunSummary built by hand (tests of what is decided from
// a run's record: who writes findings, the critical path).
InstanceSummary instance_summary(const std::string& name, CacheStatus cache,
                                 std::vector<std::string> inputs = {}, const std::string& kind = "",
                                 double compute_seconds = 0);

Params stage_params(const StageRegistry& registry, const std::string& type,
                    const std::string& toml_body,
                    const std::filesystem::path& base_dir = std::filesystem::current_path());

// The smallest science pipeline up to trained states, for tests that run
// the analysis stages on real ones: 2 categories x 2 identities x 6 views
// rendered at 32 px, a random CNN, tasks loc-1 and cat-1 (64 evaluation
// trials each), `net` (a small RNN, hidden 16, trained on the CPU) and its
// states, `states`. Callers append their analysis stages.
struct TinyStates {
  std::string name = "a";  // [pipeline] name
  std::string rnn = "lstm";
  int steps = 100;
  int eval_every = 100;
  std::string net_extra;  // more lines of [stage.net]: a sweep, checkpoints
};
std::string tiny_states_pipeline(const TinyStates& s = {});

// The cache key of the first instance of `stage` (a stage or instance name)
// when `text` is planned as the pipeline file `file` (relative paths resolve
// against its folder). Nothing runs. Throws wmgeom::InputError with every
// diagnostic if the pipeline is invalid.
std::string instance_key(const std::filesystem::path& file, const std::string& text,
                         const std::string& stage, const StageRegistry& registry = real_registry());
// Every instance's cache key (instance name -> key), from one plan of `text`
// as `file`; throws as instance_key does.
std::map<std::string, std::string> instance_keys(const std::filesystem::path& file,
                                                 const std::string& text,
                                                 const StageRegistry& registry = real_registry());

}  // namespace wmgeom::testing
