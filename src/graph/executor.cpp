#include "graph/executor.h"

#include <chrono>
#include <thread>

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include "core/cpus.h"
#include "core/error.h"
#include "graph/progress.h"

namespace wmgeom {

namespace {
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

nlohmann::json params_json(const Params& p) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : p.all()) j[k] = format_value(v);
  return j;
}
}  // namespace

struct Executor::Slot {
  std::mutex mu;  // held while loading/computing; recursion only goes upstream
  std::shared_ptr<const Artifact> artifact;
  bool forced = false;
  InstanceReport report;
};

Executor::Executor(const Plan& plan, const Cache& cache, Logger& log)
    : plan_(plan), cache_(cache), log_(log) {
  for (const auto& inst : plan_.instances) {
    auto slot = std::make_unique<Slot>();
    slot->report.instance = inst.name;
    slot->report.type = inst.entry->schema.type;
    slot->report.key = inst.key;
    slot->report.items_unit = inst.entry->schema.items;
    slot->report.estimated_bytes = inst.estimate.known ? inst.estimate.bytes : -1;
    slot->report.versions = inst.extras;
    slot->report.cache = CacheStatus::kSkip;
    slots_.push_back(std::move(slot));
  }
}

Executor::~Executor() = default;

RunSummary Executor::blank_summary() const {
  RunSummary r;
  r.pipeline = plan_.spec.name;
  r.file = plan_.spec.file;
  r.text = plan_.spec.text;
  r.overrides = plan_.spec.overrides;
  return r;
}

Executor::Selection Executor::select(const RunOptions& options, bool repair) const {
  std::size_t n = plan_.instances.size();
  Selection s{std::vector<bool>(n, options.only.empty()),
              std::vector<bool>(n, options.only.empty()), std::vector<bool>(n, false),
              std::vector<bool>(n, false)};
  auto pick = [&](const std::string& name) {
    auto sel = plan_.select(name);
    if (sel.empty()) throw InputError(plan_.unknown_selection(name));
    return sel;
  };
  for (const auto& name : options.only) {
    auto sel = pick(name);
    for (auto i : sel) s.requested[i] = true;
    for (auto i : plan_.upstream_closure(sel)) s.target[i] = true;
  }
  for (const auto& name : options.from) {
    for (auto i : plan_.downstream_closure(pick(name))) s.forced[i] = s.target[i];
  }
  // A requested instance runs if it is missing or forced; then every missing
  // (or forced) direct input of a running instance runs too. Hits are loaded
  // lazily, so nothing upstream of a hit is touched.
  // Each target's entry is checked once (contains() parses its manifest and
  // stats its blobs). A damaged entry counts as missing; a run removes it
  // there and says so, a dry run (repair = false) only says so.
  std::vector<bool> present(n, false);
  for (std::size_t k = 0; k < n; ++k) {
    if (!s.target[k]) continue;
    std::string problem;
    present[k] = cache_.contains(plan_.instances[k].key, &problem);
    if (problem.empty()) continue;
    const std::string entry = "cache entry " + plan_.instances[k].key + " of " +
                              plan_.instances[k].name + " is corrupt (" + problem + ")";
    if (repair) {  // lookup and repair apart: the repair is here
      cache_.remove(plan_.instances[k].key);
      log_.warn(entry + "; removed, recomputing");
    } else {
      log_.warn(entry + "; a run would remove and recompute it (a miss)");
    }
  }
  for (std::size_t k = n; k-- > 0;) {
    bool missing = s.forced[k] || !present[k];
    if (s.requested[k] && missing) s.run[k] = true;
    if (!s.run[k]) continue;
    for (const auto& e : plan_.instances[k].inputs) {
      if (s.forced[e.upstream] || !present[e.upstream]) s.run[e.upstream] = true;
    }
  }
  return s;
}

FitReport Executor::fit(const RunOptions& options) const {
  return fit_of(select(options, false), options);
}

FitReport Executor::fit_of(const Selection& s, const RunOptions& options) const {
  return check_fit(plan_, s.run, options.free ? *options.free : measure_free_space(cache_.root()));
}

RunReport Executor::dry_run(const RunOptions& options) {
  // Changes nothing on disk. An entry is a hit when it is complete (its
  // manifest parses, every blob has its recorded size); the bytes'
  // checksums are checked when a run loads it (`wmgeom cache verify` checks
  // them all), so a hit here whose bytes were damaged is recomputed by the run.
  Selection s = select(options, false);
  RunReport r = blank_summary();
  for (std::size_t i = 0; i < plan_.instances.size(); ++i) {
    InstanceReport rep = slots_[i]->report;
    if (s.run[i])
      rep.cache = CacheStatus::kMiss;
    else if (s.target[i] && cache_.contains(plan_.instances[i].key))
      rep.cache = CacheStatus::kHit;
    if (auto info = cache_.info(plan_.instances[i].key); info && !s.run[i]) {
      record_entry(rep, *info);
    }
    r.instances.push_back(rep);
  }
  return r;
}

std::shared_ptr<const Artifact> Executor::materialize(std::size_t i, int threads) {
  threads_ = threads > 0 ? threads : cpu_budget().cpus;
  // TBB caps workers at the core count unless told otherwise; --threads wins.
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(threads_));
  tbb::task_arena arena(threads_);
  return arena.execute([&] { return get(i); });
}

std::shared_ptr<const Artifact> Executor::get(std::size_t i) {
  Slot& s = *slots_[i];
  std::lock_guard lk(s.mu);
  if (s.artifact) return s.artifact;
  const Instance& inst = plan_.instances[i];
  if (!s.forced) {
    auto t0 = std::chrono::steady_clock::now();
    std::string problem;
    EntryInfo info;
    if (auto a = cache_.load(inst.key, &problem, &info)) {
      s.artifact = std::move(a);
      s.report.cache = CacheStatus::kHit;
      s.report.seconds = since(t0);
      record_entry(s.report, info);
      log_.debug("loaded " + inst.name + " from cache (" + format_seconds(s.report.seconds) + ")");
      return s.artifact;
    }
    if (!problem.empty()) {
      log_.warn("cache entry " + inst.key + " of " + inst.name + " is corrupt (" + problem +
                "); it was removed and will be recomputed");
    }
  }
  return compute(i);
}

void Executor::require_planned_content(std::size_t i, bool ran) const {
  const Instance& inst = plan_.instances[i];
  for (const auto& [param, stamp] : inst.content) {
    const std::string what = content_changed(*stamp);
    if (what.empty()) continue;
    const std::string where = "stage." + plan_.spec.stages[inst.decl].name + "." + param;
    if (!ran) {
      throw InputError(where + ": " + what + " after the plan hashed it (its key is the old " +
                       "contents'); nothing was computed: rerun to plan from the files as they " +
                       "are now");
    }
    throw InputError(where + ": " + what + " while the stage ran; its result was not stored " +
                     "(it would be filed under the key of the contents planned): rerun once the " +
                     "files are settled");
  }
}

std::shared_ptr<const Artifact> Executor::compute(std::size_t i) {
  Slot& s = *slots_[i];
  const Instance& inst = plan_.instances[i];
  try {
    StageInputs inputs;
    for (const auto& e : inst.inputs) {
      const Instance& up = plan_.instances[e.upstream];
      inputs.add(e.port, InputItem{up.name, up.labels, get(e.upstream), up.key});
    }
    if (cancel_) throw Cancelled();
    Cache::Lock lock = cache_.lock(inst.key);
    if (!s.forced) {
      // Another process may have computed it while we waited for the lock.
      EntryInfo info;
      if (auto a = cache_.load(inst.key, nullptr, &info)) {
        s.artifact = std::move(a);
        s.report.cache = CacheStatus::kHit;
        record_entry(s.report, info);
        log_.info(inst.name + ": computed by another process; reusing it");
        return s.artifact;
      }
    }
    require_planned_content(i, false);
    int n = ++started_;
    log_.info("[" + std::to_string(n) + "/" + std::to_string(std::max(n, to_run_)) + "] " +
              inst.name + " (" + inst.entry->schema.type + ")");
    RunContext ctx(inst.name, cache_.work_dir(inst.key), threads_);
    ctx.configuration = inst.configuration;
    ProgressLine progress(log_, inst.name, inst.entry->schema.items, tty_, show_progress_);
    ctx.on_progress = [&progress](std::int64_t done, std::int64_t total) {
      progress.update(done, total);
    };
    ctx.on_log = [this, &inst](const std::string& line, bool warn) {
      if (warn)
        log_.warn(inst.name + ": " + line);
      else
        log_.info(inst.name + ": " + line);
    };
    ctx.cancel_flag_ = &cancel_;
    auto t0 = std::chrono::steady_clock::now();
    Artifact out = inst.entry->stage->run(inst.params, inputs, ctx);
    double seconds = since(t0);
    if (out.kind != inst.entry->schema.output) {
      throw Error("produced a " + out.kind + " but its schema declares " +
                  inst.entry->schema.output);
    }
    require_planned_content(i, true);
    StoreInfo si{inst.name, inst.entry->schema.type, params_json(inst.params), seconds,
                 ctx.items()};
    cache_.store(inst.key, out, si);
    std::error_code ec;
    std::filesystem::remove_all(cache_.work_dir(inst.key), ec);
    s.report.cache = CacheStatus::kMiss;
    s.report.seconds = seconds;
    s.report.compute_seconds = seconds;
    s.report.items = ctx.items();
    s.report.bytes = out.nbytes();
    s.artifact = std::make_shared<const Artifact>(std::move(out));
    log_.info(inst.name + ": done in " + format_seconds(seconds) +
              (ctx.items() > 0 ? ", " + std::to_string(ctx.items()) + " " + inst.entry->schema.items
                               : ""));
    return s.artifact;
  } catch (const StageError&) {
    throw;  // an upstream instance failed; keep its name
  } catch (const Cancelled&) {
    s.report.cache = CacheStatus::kCancelled;
    throw;
  } catch (const Error& e) {
    s.report.cache = CacheStatus::kFailed;
    s.report.error = e.what();
    throw StageError(inst.name, e.what(), e.exit_code());
  } catch (const std::exception& e) {
    s.report.cache = CacheStatus::kFailed;
    s.report.error = e.what();
    throw StageError(inst.name, e.what(), 1);
  }
}

RunReport Executor::run(const RunOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  Selection sel = select(options, true);
  {
    // Before anything starts: an artifact that cannot fit stops the run here
    // rather than as std::bad_alloc or a full disk hours later.
    const FitReport fit = fit_of(sel, options);
    for (const auto& w : fit.warnings) log_.warn(w);
    if (!fit.errors.empty()) {
      std::string all;
      for (const auto& e : fit.errors) all += (all.empty() ? "" : "\n       ") + e;
      throw InputError(all);
    }
  }
  threads_ = options.threads > 0 ? options.threads : cpu_budget().cpus;
  show_progress_ = options.progress;
  tty_ = options.tty;
  std::size_t n = plan_.instances.size();
  for (std::size_t i = 0; i < n; ++i) {
    slots_[i]->forced = sel.forced[i];
    if (sel.run[i]) ++to_run_;
  }
  RunReport report = blank_summary();
  std::mutex err_mu;
  auto fail = [&](const std::string& stage, const std::string& msg, int code) {
    std::lock_guard lk(err_mu);
    if (report.exit_code == 0) {
      report.exit_code = code;
      report.failed_stage = stage;
      report.error = msg;
    }
    cancel_ = true;
  };

  // A stop request becomes the run's cancel flag (polled every 50 ms).
  std::atomic<bool> finished{false};
  std::thread watcher;
  if (options.stop) {
    watcher = std::thread([&] {
      while (!finished && !*options.stop)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (*options.stop) {
        std::lock_guard lk(err_mu);
        if (report.exit_code == 0) {
          report.exit_code = kExitStopped;
          report.error =
              "stopped by a signal (finished instances are cached, checkpoints saved; rerun to "
              "resume)";
        }
        cancel_ = true;
      }
    });
  }
  // Stages fan out in this arena (not in nested ones): the calling thread
  // waits here in wait_for_all and takes the arena's tasks, theirs included.
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(threads_));
  tbb::task_arena arena(threads_);
  arena.execute([&] {
    using tbb::flow::continue_msg;
    using Token = int;  // a resource's one token; its value means nothing
    tbb::flow::graph g;
    // Runs instance i (or marks it cancelled); every failure is recorded.
    auto body = [this, &fail](std::size_t i) {
      if (cancel_) {
        if (slots_[i]->report.cache == CacheStatus::kSkip)
          slots_[i]->report.cache = CacheStatus::kCancelled;
        return;
      }
      try {
        get(i);
      } catch (const StageError& e) {
        fail(e.stage(), e.what(), e.exit_code());
      } catch (const Cancelled&) {
      } catch (const std::exception& e) {
        fail(plan_.instances[i].name, plan_.instances[i].name + ": " + e.what(), 1);
      }
    };
    // Each instance to compute is a node that fires when its inputs are
    // done. An instance that names a resource (a GPU) also needs the
    // resource's token, as oneTBB's dining philosophers take chopsticks:
    // its readiness waits in a buffer, a reserving join pairs it with the
    // token when both are there, and the node that runs it puts the token
    // back. So no worker ever blocks waiting for a GPU: an instance without
    // the token is not a task yet, and the worker takes other ready work.
    struct Nodes {
      std::unique_ptr<tbb::flow::continue_node<continue_msg>>
          ready;  // inputs done (runs it, without a resource)
      std::unique_ptr<tbb::flow::buffer_node<continue_msg>>
          waiting;  // with a resource: ready, no token yet
      std::unique_ptr<tbb::flow::join_node<std::tuple<continue_msg, Token>, tbb::flow::reserving>>
          join;
      std::unique_ptr<tbb::flow::function_node<std::tuple<continue_msg, Token>, continue_msg>>
          holding;
      tbb::flow::sender<continue_msg>& done() const {
        return holding ? static_cast<tbb::flow::sender<continue_msg>&>(*holding) : *ready;
      }
    };
    std::map<std::string, std::unique_ptr<tbb::flow::buffer_node<Token>>> tokens;
    std::vector<Nodes> nodes(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (!sel.run[i]) continue;
      const std::string& resource = plan_.instances[i].resource;
      if (resource.empty()) {
        nodes[i].ready = std::make_unique<tbb::flow::continue_node<continue_msg>>(
            g, [i, &body](const continue_msg&) { body(i); });
        continue;
      }
      auto& token = tokens[resource];
      if (!token) {
        token = std::make_unique<tbb::flow::buffer_node<Token>>(g);
        token->try_put(Token{});
      }
      Nodes& node = nodes[i];
      node.ready = std::make_unique<tbb::flow::continue_node<continue_msg>>(
          g, [](const continue_msg& m) { return m; });
      node.waiting = std::make_unique<tbb::flow::buffer_node<continue_msg>>(g);
      node.join = std::make_unique<
          tbb::flow::join_node<std::tuple<continue_msg, Token>, tbb::flow::reserving>>(g);
      tbb::flow::buffer_node<Token>* back = token.get();
      node.holding =
          std::make_unique<tbb::flow::function_node<std::tuple<continue_msg, Token>, continue_msg>>(
              g, tbb::flow::unlimited, [i, &body, back](const std::tuple<continue_msg, Token>& in) {
                body(i);
                back->try_put(std::get<1>(in));  // the token goes back, whatever happened
                return continue_msg();
              });
      tbb::flow::make_edge(*node.ready, *node.waiting);
      tbb::flow::make_edge(*node.waiting, tbb::flow::input_port<0>(*node.join));
      tbb::flow::make_edge(*token, tbb::flow::input_port<1>(*node.join));
      tbb::flow::make_edge(*node.join, *node.holding);
    }
    std::vector<std::size_t> roots;
    for (std::size_t i = 0; i < n; ++i) {
      if (!nodes[i].ready) continue;
      bool has_pred = false;
      for (const auto& e : plan_.instances[i].inputs) {
        if (nodes[e.upstream].ready) {
          tbb::flow::make_edge(nodes[e.upstream].done(), *nodes[i].ready);
          has_pred = true;
        }
      }
      if (!has_pred) roots.push_back(i);
    }
    for (auto i : roots) nodes[i].ready->try_put(continue_msg());
    g.wait_for_all();
  });
  finished = true;
  if (watcher.joinable()) watcher.join();

  for (std::size_t i = 0; i < n; ++i) {
    InstanceReport rep = slots_[i]->report;
    if (rep.cache == CacheStatus::kSkip && sel.target[i] &&
        cache_.contains(plan_.instances[i].key)) {
      rep.cache = CacheStatus::kHit;
      if (auto info = cache_.info(plan_.instances[i].key)) {
        record_entry(rep, *info);
      }
    }
    report.instances.push_back(rep);
  }
  report.seconds = since(t0);
  return report;
}

}  // namespace wmgeom
