#include "testing.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "cache/cache.h"
#include "cli/cli.h"
#include "config/diagnostics.h"
#include "core/error.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "register_all.h"
#include "test_stages.h"

namespace wmgeom::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  path_ = fs::temp_directory_path() / ("wmgeom-test-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(counter++) + "-" + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_file(const fs::path& path, const std::string& text) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary);
  f << text;
}

std::string read_file(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

Child::Child(const std::vector<std::string>& argv, const fs::path& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string log_path = log.string();
  pid_ = ::fork();
  if (pid_ == 0) {
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  if (pid_ < 0) throw std::runtime_error("fork failed");
}

Child::~Child() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    wait();
  }
}

void Child::signal(int sig) const { ::kill(pid_, sig); }

int Child::wait() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  return WIFEXITED(status)     ? WEXITSTATUS(status)
         : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                               : -1;
}

bool wait_for_text(const fs::path& path, const std::string& text, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (read_file(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

CliResult run_cli(const std::vector<std::string>& args, const StageRegistry& registry) {
  std::ostringstream out, err;
  CliResult r;
  r.code = wmgeom::run_cli(args, registry, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

CliResult run_pipeline_in(const std::filesystem::path& file, const std::filesystem::path& dir,
                          const StageRegistry& registry) {
  return run_cli({"run", file.string(), "--cache-dir", (dir / "cache").string(), "--out",
                  (dir / "out").string(), "--no-progress"},
                 registry);
}

void expect_refused(const CliResult& r, const std::string& what, const std::string& expect) {
  EXPECT_EQ(r.code, 2) << what << "\n" << r.out << r.err;
  EXPECT_NE(r.err.find(expect), std::string::npos)
      << what << ": stderr lacks \"" << expect << "\"\n"
      << r.err;
}

const StageRegistry& real_registry() {
  static const StageRegistry* registry = [] {
    auto* r = new StageRegistry();
    register_all(*r);
    return r;
  }();
  return *registry;
}

const StageRegistry& test_registry() {
  static const StageRegistry* registry = [] {
    auto* r = new StageRegistry();
    register_test_stages(*r);
    return r;
  }();
  return *registry;
}

InProcess::InProcess(const StageRegistry& registry, Logger::Level level)
    : registry_(registry), log_(log_text, level) {}

std::shared_ptr<const Artifact> InProcess::get(const std::string& text, const std::string& instance,
                                               int threads, const fs::path& cache_dir) {
  Diagnostics d;
  auto plan = make_plan_from_text((dir / "p.toml").string(), text, {}, registry_, d);
  if (!plan) throw std::runtime_error(d.format_all());
  auto sel = plan->select(instance);
  if (sel.size() != 1) throw std::runtime_error("not exactly one instance named " + instance);
  Cache cache(cache_dir.empty() ? dir / "cache" : cache_dir);
  Executor ex(*plan, cache, log_);
  return ex.materialize(sel[0], threads);
}

std::string instance_key(const fs::path& file, const std::string& text, const std::string& stage,
                         const StageRegistry& registry) {
  Diagnostics diags;
  const auto plan = make_plan_from_text(file.string(), text, {}, registry, diags);
  if (!plan) throw InputError(diags.format_all());
  const auto picked = plan->select(stage);
  if (picked.empty())
    throw InputError("instance_key: no stage or instance \"" + stage + "\" in " + file.string());
  return plan->instances.at(picked.front()).key;
}

std::map<std::string, std::string> instance_keys(const fs::path& file, const std::string& text,
                                                 const StageRegistry& registry) {
  Diagnostics diags;
  const auto plan = make_plan_from_text(file.string(), text, {}, registry, diags);
  if (!plan) throw InputError(diags.format_all());
  std::map<std::string, std::string> keys;
  for (const auto& instance : plan->instances) keys[instance.name] = instance.key;
  return keys;
}

std::string tiny_states_pipeline(const TinyStates& s) {
  return "[pipeline]\nname = \"" + s.name +
         "\"\nseed = 4\n\n"
         "[stage.stimuli]\ntype = \"render\"\ncategories = 2\nidentities_per_category = 2\n"
         "views = 6\nimage_size = 32\nholdout_views = [2]\n\n"
         "[stage.cnn]\ntype = \"features\"\nstimuli = \"stimuli\"\nmodel = \"random\"\n"
         "input_size = 32\n\n"
         "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"stimuli\"\n"
         "tasks = [\"loc-1\", \"cat-1\"]\neval_trials_per_task = 64\n\n"
         "[stage.net]\ntype = \"train\"\nfeatures = \"cnn\"\ntasks = \"tasks\"\nrnn = \"" +
         s.rnn +
         "\"\nhidden = 16\nconv_channels = 8\nembed = 16\nbatch_size = 32\nlr = 0.003\n"
         "steps = " +
         std::to_string(s.steps) + "\neval_every = " + std::to_string(s.eval_every) +
         "\ndevice = \"cpu\"\n" + s.net_extra +
         "\n[stage.states]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\n"
         "features = \"cnn\"\n\n";
}

InstanceSummary instance_summary(const std::string& name, CacheStatus cache,
                                 std::vector<std::string> inputs, const std::string& kind,
                                 double compute_seconds) {
  InstanceSummary i;
  i.instance = name;
  i.cache = cache;
  i.inputs = std::move(inputs);
  i.kind = kind;
  i.compute_seconds = compute_seconds;
  return i;
}

Params stage_params(const StageRegistry& registry, const std::string& type,
                    const std::string& toml_body, const fs::path& base_dir) {
  std::string text =
      "[pipeline]\nname = \"params\"\n\n[stage.s]\ntype = \"" + type + "\"\n" + toml_body + "\n";
  Diagnostics diags;
  auto plan = make_plan_from_text((base_dir / "params.toml").string(), text, {}, registry, diags);
  if (!plan) throw InputError(diags.format_all());
  auto sel = plan->select("s");
  return plan->instances.at(sel.empty() ? 0 : sel.front()).params;
}

}  // namespace wmgeom::testing
