// The stage contract (DESIGN.md "Stage contract"). A stage type is a class
// deriving from Stage plus a schema file stages/<type>/schema.toml that declares its
// version, input ports, output kind and parameters. The engine validates and
// defaults parameters from the schema before anything runs, computes the cache
// key, gathers inputs, and calls run(); stage authors never touch TBB, the
// cache or the TOML file.
//
// run() must be deterministic given (params, inputs): the same bytes out for
// the same parameters and inputs, whatever the thread count. It may be called
// concurrently for different instances, so a Stage object holds no mutable
// state. It reports bad input it could only find while running (a malformed
// mesh) with wmgeom::InputError, other failures with wmgeom::Error.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/artifact.h"
#include "core/error.h"
#include "core/params.h"
#include "core/run_summary.h"

namespace wmgeom {

// Problems found by Stage::validate. The engine adds FILE:LINE:COL of `key`.
class ParamIssues {
 public:
  virtual ~ParamIssues() = default;
  virtual void error(const std::string& key, const std::string& message) = 0;
};

// One upstream instance feeding a port.
struct InputItem {
  std::string instance;                                     // "gru[seed=1]"
  std::vector<std::pair<std::string, std::string>> labels;  // sweep labels, e.g. {seed, 1}
  std::shared_ptr<const Artifact> artifact;
  // The upstream instance's cache key: what its artifact is a function of
  // (its stage's code version, parameters and inputs; not its name). Empty
  // for inputs built in memory (tests, benchmarks). A stage that draws
  // random numbers per input seeds them from this, so that the draws, like
  // the key, do not change when a stage is renamed.
  std::string key;
};

class StageInputs {
 public:
  void add(const std::string& port, InputItem item) { ports_[port].push_back(std::move(item)); }
  bool has(const std::string& port) const { return ports_.count(port) != 0; }
  // A single-valued port. Throws std::logic_error if the port is absent.
  const Artifact& one(const std::string& port) const;
  template <typename T>
  T get(const std::string& port) const {
    return T::from_artifact(one(port));
  }
  // A port declared `many = true`: every upstream instance, in plan order.
  const std::vector<InputItem>& many(const std::string& port) const;

 private:
  std::map<std::string, std::vector<InputItem>> ports_;
};

// What a running stage may ask of the engine. Tests and benchmarks construct
// one directly; the executor wires the hooks to its progress display and log.
class RunContext {
 public:
  RunContext(std::string instance, std::filesystem::path work_dir, int threads)
      : instance_(std::move(instance)), work_dir_(std::move(work_dir)), threads_(threads) {}

  const std::string& instance() const { return instance_; }
  int threads() const { return threads_; }
  // A directory that survives failed or killed runs of this exact cache key
  // (checkpoints live here); created on first call; removed after success.
  const std::filesystem::path& work_dir();

  // Progress in the stage's natural unit (images, trials, decoders).
  void progress(std::int64_t done, std::int64_t total);
  // Items processed, for `wmgeom profile` (defaults to the last progress total).
  void set_items(std::int64_t items) { items_ = items; }
  std::int64_t items() const { return items_; }

  bool cancelled() const { return cancel_flag_ != nullptr && cancel_flag_->load(); }
  void check_cancelled() const {
    if (cancelled()) throw Cancelled();
  }
  void info(const std::string& line) const;
  void warn(const std::string& line) const;

  // The instance's configuration without its seed, set by the engine from
  // its cache key (graph/plan.h, Instance::configuration): every hashed
  // parameter but `seed` (name -> value as the key writes it) and each
  // input's cache key ("input PORT"). Instances with equal configurations
  // differ only in their seed: replicates (SCIENCE.md section 6). The train
  // stage records it with the model. Empty in contexts built outside the
  // engine (tests, benchmarks).
  std::map<std::string, std::string> configuration;

  // Engine hooks.
  std::function<void(std::int64_t, std::int64_t)> on_progress;
  std::function<void(const std::string&, bool /*warning*/)> on_log;
  const std::atomic<bool>* cancel_flag_ = nullptr;

 private:
  std::string instance_;
  std::filesystem::path work_dir_;
  int threads_;
  std::int64_t items_ = 0;
};

// What one instance asks of a cluster node (a Slurm job's request). A
// cluster profile may override any field per stage type. The Slurm executor
// checks each request against the partition it goes to: `cpus` shrinks to
// the largest node's CPUs unless `fixed_width` says the result depends on
// it; memory, time and GPUs never shrink (a request that cannot fit is
// refused before anything is submitted).
struct Resources {
  int cpus = 1;
  int mem_mb = 2000;
  int minutes = 60;  // time limit
  int gpus = 0;
  // true: `cpus` is a hashed width (a training's threads, the parts its
  // matrix products split into, nets/wide.h), so a job with fewer CPUs would
  // oversubscribe them; false: the result does not depend on the width and
  // fewer CPUs only make it slower.
  bool fixed_width = false;
};

// What an instance's artifact will weigh, known at plan time from its
// parameters and its inputs' estimates (nothing is loaded or computed). The
// plan prints it; before a run starts, the executor refuses (exit 2) an
// instance whose artifact, inputs and working memory would not fit the free
// memory, or whose artifact would not fit the cache's free disk.
struct SizeEstimate {
  bool known = false;        // false: this stage does not estimate (the check skips it)
  std::int64_t bytes = 0;    // the artifact in memory (arrays uncompressed, metadata); an upper
                             // bound of its cache entry, which zstd makes smaller
  std::int64_t working = 0;  // peak memory while computing beyond its inputs and its artifact
  // Sizes that downstream estimates read, e.g. render's {"stimuli": N, "image_size": S}.
  std::map<std::string, std::int64_t> dims;
  std::int64_t dim(const std::string& name, std::int64_t fallback = -1) const {
    auto it = dims.find(name);
    return it == dims.end() ? fallback : it->second;
  }
};
// The estimates of an instance's inputs, by port, in plan order (like StageInputs).
using EstimateInputs = std::map<std::string, std::vector<SizeEstimate>>;

// An upstream instance as a plan-time check of the stage that reads it sees
// it (Stage::check_inputs): nothing is loaded, only the plan's facts.
class Stage;
struct PlanInput {
  std::string instance;            // its name, e.g. "decoders[rnn=gru,seed=1,states=gated_states]"
  const Stage* stage = nullptr;    // its stage type (typed settings: StageWith<S>::settings)
  const Params* params = nullptr;  // its parameters, validated and defaulted
  std::string key;                 // its cache key
  struct Read {
    std::string instance;  // an instance it reads, and that instance's key
    std::string key;
  };
  std::map<std::string, std::vector<Read>> reads;  // by its own ports, in plan order
  // Its plan-time size estimate (graph/fit.h), with its shape (`dims`, e.g.
  // a state set's frames); `known` is false where its stage cannot tell.
  const SizeEstimate* estimate = nullptr;
};
// The upstream instances of an instance, by port, in plan order (like StageInputs).
using PlanInputs = std::map<std::string, std::vector<PlanInput>>;

class Stage {
 public:
  virtual ~Stage() = default;
  // Equal to the stage's folder, its schema file name and the TOML `type`.
  virtual std::string type() const = 0;
  // Plan-time checks beyond the schema's per-key types and ranges: relations
  // between parameters, files that must exist. Path parameters arrive
  // resolved against the pipeline file's directory.
  virtual void validate(const Params& params, ParamIssues& issues) const {}
  // Extra lines for the cache key (library versions, device kind) where they
  // change results. Parameters, inputs and content-hashed files are added by
  // the engine.
  virtual std::string key_extras(const Params& params) const { return {}; }
  // Plan-time checks across the instances this one reads, for rules no one
  // instance can see (the findings stage: each table of a model from one
  // analysis, the analyses' parameters alike). Called after every key is
  // known; an issue is reported at the named key or port of this stage and
  // stops the plan (exit 2) before anything runs.
  virtual void check_inputs(const Params& params, const PlanInputs& inputs,
                            ParamIssues& issues) const {}
  // Instances naming the same resource (e.g. "cuda:0") never run at once.
  virtual std::string resource(const Params& params) const { return {}; }
  // What one instance needs on a cluster node, derived from its parameters
  // (threads, batch, model size). The default: 1 CPU, 2 GB, 1 hour, and
  // one GPU when resource() names a CUDA device (the engine adds that GPU
  // for a stage whose schema's device is CUDA: graph/plan.h,
  // instance_resources).
  virtual Resources resources(const Params& params) const {
    Resources r;
    r.gpus = resource(params).rfind("cuda", 0) == 0 ? 1 : 0;
    return r;
  }
  // The artifact's size from parameters and inputs' estimates (SizeEstimate).
  // The default: unknown. Must be cheap (no file contents read, no model built)
  // and must not throw for parameters that passed validate().
  virtual SizeEstimate estimate(const Params& params, const EstimateInputs& inputs) const {
    return {};
  }
  virtual Artifact run(const Params& params, const StageInputs& inputs, RunContext& ctx) const = 0;
  // Stage-specific files written by `wmgeom export` beside the NPY arrays.
  virtual void export_extras(const Artifact& artifact, const std::filesystem::path& dir) const {}

  // The after-run hook. After a run that succeeded, the CLI calls it for
  // every instance of this stage that is part of the run (computed or found
  // cached), with its artifact and the run's record, and lists the files it
  // returns: outputs that belong to a run rather than to the cache (the
  // report stage's report.html with this run's profile and pipeline file).
  // Only stages whose has_after_run() is true are called, so no other
  // artifact is loaded for it. Throws wmgeom::Error on I/O failure.
  virtual bool has_after_run() const { return false; }
  virtual std::vector<std::filesystem::path> after_run(const Artifact& artifact,
                                                       const RunSummary& run,
                                                       const std::string& instance,
                                                       const std::filesystem::path& out_dir) const {
    return {};
  }

  // Typed settings (StageWith<S> below implements these three; the stage
  // kit checks them against the schema). has_settings: the stage reads its
  // parameters through a settings struct. settings_reads: the parameter names
  // its parser reads from `params`. same_settings: whether two parameter
  // sets parse to equal settings.
  virtual bool has_settings() const { return false; }
  virtual std::set<std::string> settings_reads(const Params& params) const { return {}; }
  virtual bool same_settings(const Params& a, const Params& b) const { return false; }
};

// The stage contract with typed settings (issue 24). A stage type's
// parameters are read in one place, `static S S::from_params(const Params&)`
// (in the stage's settings.cpp: no other file of a stage reads a Params), into
// a struct S that is equality-comparable (`= default`) and whose defaults are
// the schema's; the engine's Params arrive validated and defaulted, so
// from_params only converts (choices to enums, counts to int) and resolves
// "0 = derived" rules, never throws for schema-valid values, and applies no
// default of its own. Each instance's settings are parsed once (kept with its
// Params: Params::parsed) and every hook receives them:
//
//   check          plan-time checks across parameters (Stage::validate)
//   check_inputs_of plan-time checks across the instances read (Stage::check_inputs)
//   key_extras_of  library versions that change results (Stage::key_extras)
//   resources_of   a cluster job's request (Stage::resources)
//   estimate_of    the artifact's size (Stage::estimate)
//   compute        the artifact (Stage::run)
//
// The stage kit (tests/support/stage_kit.h) checks that from_params reads
// every schema parameter and that changing any of them changes the settings:
// each parameter is a field (or decides one), and the parser reads nothing
// the schema does not declare (Params throws for that).
template <typename S>
class StageWith : public Stage {
 public:
  // The instance's settings: parsed on the first call, then kept with `params`.
  static const S& settings(const Params& params) {
    return params.parsed<S>([](const Params& p) { return S::from_params(p); });
  }

  virtual void check(const S& settings, ParamIssues& issues) const {}
  virtual void check_inputs_of(const S& settings, const PlanInputs& inputs,
                               ParamIssues& issues) const {}
  virtual std::string key_extras_of(const S& settings) const { return {}; }
  virtual Resources resources_of(const S& settings) const { return {}; }
  virtual SizeEstimate estimate_of(const S& settings, const EstimateInputs& inputs) const {
    return {};
  }
  virtual Artifact compute(const S& settings, const StageInputs& inputs, RunContext& ctx) const = 0;

  void validate(const Params& params, ParamIssues& issues) const final {
    check(settings(params), issues);
  }
  std::string key_extras(const Params& params) const final {
    return key_extras_of(settings(params));
  }
  void check_inputs(const Params& params, const PlanInputs& inputs,
                    ParamIssues& issues) const final {
    check_inputs_of(settings(params), inputs, issues);
  }
  // A stage's only resource is its device's token, which the engine claims
  // from the schema's `device` (core/device.h); no typed stage names one.
  std::string resource(const Params&) const final { return {}; }
  Resources resources(const Params& params) const final { return resources_of(settings(params)); }
  SizeEstimate estimate(const Params& params, const EstimateInputs& inputs) const final {
    return estimate_of(settings(params), inputs);
  }
  Artifact run(const Params& params, const StageInputs& inputs, RunContext& ctx) const final {
    return compute(settings(params), inputs, ctx);
  }

  bool has_settings() const final { return true; }
  std::set<std::string> settings_reads(const Params& params) const final {
    std::set<std::string> names;
    Params recorded = params;
    recorded.record_reads(&names);
    (void)S::from_params(recorded);
    return names;
  }
  bool same_settings(const Params& a, const Params& b) const final {
    return S::from_params(a) == S::from_params(b);
  }
};

}  // namespace wmgeom
