// _wmgeom: the engine as a Python extension (pybind11). The package around it
// (wmgeom/__init__.py) gives the results their Python types, raises the
// exceptions, feeds the log to `logging` and turns tables into DataFrames;
// everything it computes, plans, reads or checks is the engine's code:
//
//   validate  make_plan (the CLI's planning), its diagnostics as tuples;
//   run       run_embedded (cli/embed.h): `wmgeom run`, with the stop flag,
//             the log and the summary handed to the caller;
//   load      the plan, the executor's run of what is missing (stoppable)
//             and Executor::materialize, as `wmgeom export` gets it; arrays
//             become NumPy arrays over the engine's own buffers (no copy);
//   engine_load  the same load timed in C++ alone (the benchmark's reference).
//
// Long calls run on a thread of their own; the calling (Python) thread waits
// in 50 ms slices with the GIL released, forwards the log lines queued
// meanwhile, and checks for signals: a KeyboardInterrupt sets the stop flag,
// the engine stops as on Ctrl-C (finished stages cached, training
// checkpointed) and the call returns "interrupted".
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cache/cache.h"
#include "cli/embed.h"
#include "config/diagnostics.h"
#include "config/schema.h"
#include "core/artifact.h"
#include "core/artifacts.h"
#include "core/error.h"
#include "core/log.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "graph/registry.h"
#include "nets/threads.h"
#include "register_all.h"

namespace py = pybind11;
using namespace wmgeom;

namespace {

const StageRegistry& registry() {
  static const StageRegistry r = [] {
    StageRegistry reg;
    register_all(reg);
    return reg;
  }();
  return r;
}

std::string default_cache(const std::string& cache_dir) {
  return cache_dir.empty() ? default_cache_dir() : cache_dir;
}

// Python's logging levels.
int py_level(Logger::Level l) {
  switch (l) {
    case Logger::Level::kDebug:
      return 10;
    case Logger::Level::kInfo:
      return 20;
    case Logger::Level::kWarn:
      return 30;
    case Logger::Level::kError:
      return 40;
  }
  return 20;
}

py::list diagnostics_list(const Diagnostics& d) {
  py::list out;
  for (const auto& x : d.all())
    out.append(py::make_tuple(x.pos.file, x.pos.line, x.pos.col, x.key, x.message, x.format()));
  return out;
}

// Log lines from the engine's threads, forwarded on the Python thread.
class LogQueue {
 public:
  Logger::Sink sink() {
    return [this](Logger::Level level, const std::string& msg) {
      std::lock_guard lk(mu_);
      lines_.emplace_back(py_level(level), msg);
    };
  }
  // With the GIL held.
  void drain(const py::object& callback) {
    std::deque<std::pair<int, std::string>> lines;
    {
      std::lock_guard lk(mu_);
      lines.swap(lines_);
    }
    if (callback.is_none()) return;
    for (auto& [level, msg] : lines) callback(level, msg);
  }

 private:
  std::mutex mu_;
  std::deque<std::pair<int, std::string>> lines_;
};

// Runs `work` on its own thread (under the engine's thread policy) while
// this thread forwards the log and watches for KeyboardInterrupt (above).
// Returns work's result; rethrows its exception. `interrupted` tells whether
// the stop flag was set by an interrupt; another Python exception (from the
// log callback) also stops the run and is raised once it has ended.
template <typename F>
auto supervise(F work, LogQueue& log, const py::object& callback, std::atomic<bool>& stop,
               bool& interrupted) -> decltype(work()) {
  auto fut = std::async(std::launch::async, [&work] {
    nets::EngineThreads policy;
    return work();
  });
  std::optional<py::error_already_set> pending;
  for (;;) {
    std::future_status st;
    {
      py::gil_scoped_release nogil;
      st = fut.wait_for(std::chrono::milliseconds(50));
    }
    try {
      log.drain(callback);
    } catch (py::error_already_set& e) {
      if (!pending) pending.emplace(std::move(e));
      stop = true;
    }
    if (PyErr_CheckSignals() != 0) {
      if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
        PyErr_Clear();
        interrupted = true;
      } else if (!pending) {
        pending.emplace();  // fetches the error indicator
      } else {
        PyErr_Clear();
      }
      stop = true;
    }
    if (st == std::future_status::ready) break;
  }
  log.drain(callback);
  if (pending) throw std::move(*pending);
  return fut.get();
}

py::dict validate(const std::string& pipeline, const std::vector<std::string>& sets) {
  Diagnostics diags;
  std::optional<Plan> plan;
  {
    py::gil_scoped_release nogil;
    plan = make_plan(pipeline, sets, registry(), diags);
  }
  py::dict out;
  out["ok"] = plan.has_value();
  out["diagnostics"] = diagnostics_list(diags);
  out["formatted"] = diags.format_all();
  py::list instances;
  if (plan) {
    out["name"] = plan->spec.name;
    for (const auto& inst : plan->instances) {
      py::dict d;
      d["name"] = inst.name;
      d["stage"] = plan->spec.stages[inst.decl].name;
      d["type"] = inst.entry->schema.type;
      d["kind"] = inst.entry->schema.output;
      d["key"] = inst.key;
      d["estimated_bytes"] =
          inst.estimate.known ? py::int_(inst.estimate.bytes) : py::object(py::none());
      py::list inputs;
      for (const auto& e : inst.inputs) inputs.append(plan->instances[e.upstream].name);
      d["inputs"] = inputs;
      instances.append(d);
    }
  }
  out["instances"] = instances;
  return out;
}

py::dict run(const std::string& pipeline, const std::vector<std::string>& sets,
             const std::vector<std::string>& only, const std::vector<std::string>& from,
             const std::string& out_dir, const std::string& cache_dir, int threads, bool dry_run,
             const py::object& log_callback) {
  std::atomic<bool> stop{false};
  LogQueue log;
  RunSummary summary;
  Diagnostics diags;
  EmbeddedRun r;
  r.pipeline = pipeline;
  r.sets = sets;
  r.only = only;
  r.from = from;
  r.out_dir = out_dir;
  r.cache_dir = cache_dir;
  r.threads = threads;
  r.dry_run = dry_run;
  r.stop = &stop;
  r.log = log.sink();
  r.summary = &summary;
  r.diagnostics = &diags;
  std::ostringstream out, err;
  bool interrupted = false;
  const int code = supervise([&] { return run_embedded(r, registry(), out, err); }, log,
                             log_callback, stop, interrupted);
  py::dict d;
  d["code"] = code;
  d["out"] = out.str();
  d["err"] = err.str();
  d["interrupted"] = interrupted;
  d["diagnostics"] = diagnostics_list(diags);
  d["summary"] = summary.instances.empty() && summary.pipeline.empty()
                     ? py::object(py::none())
                     : py::object(py::str(summary.to_json().dump()));
  return d;
}

// A NumPy array over the Array's buffer: the capsule holds a copy of the
// Array (which shares the buffer), so the memory lives as long as NumPy's.
py::array numpy_view(const Array& a) {
  std::vector<py::ssize_t> shape(a.shape().begin(), a.shape().end());
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t step = static_cast<py::ssize_t>(dtype_size(a.dtype()));
  for (std::size_t k = shape.size(); k-- > 0;) {
    strides[k] = step;
    step *= shape[k];
  }
  const py::dtype dt(std::string(npy_descr(a.dtype())));  // "<f4", "|u1": NumPy's own
  if (a.nbytes() == 0 || a.raw() == nullptr) return py::array(dt, shape, strides);
  auto* keep = new Array(a);
  py::capsule owner(keep, [](void* p) { delete static_cast<Array*>(p); });
  return py::array(dt, shape, strides, const_cast<std::byte*>(keep->raw()), owner);
}

py::dict table_dict(const Table& t) {
  py::dict columns;
  for (const auto& name : t.columns) {
    if (auto it = t.numeric.find(name); it != t.numeric.end())
      columns[name.c_str()] =
          py::array_t<double>(static_cast<py::ssize_t>(it->second.size()), it->second.data());
    else if (auto jt = t.text.find(name); jt != t.text.end())
      columns[name.c_str()] = py::cast(jt->second);
  }
  py::dict d;
  d["columns"] = py::cast(t.columns);
  d["data"] = columns;
  return d;
}

py::dict artifact_dict(const std::string& instance, const Artifact& a) {
  py::dict d;
  d["instance"] = instance;
  d["kind"] = a.kind;
  d["meta"] = a.meta.dump();
  py::dict arrays, addresses;
  for (const auto& [name, x] : a.arrays) {
    arrays[name.c_str()] = numpy_view(x);
    addresses[name.c_str()] = py::int_(reinterpret_cast<std::uintptr_t>(x.raw()));
  }
  d["arrays"] = arrays;
  d["addresses"] = addresses;
  if (a.kind == AnalysisResult::kKind) {
    const AnalysisResult r = AnalysisResult::from_artifact(a);
    py::dict tables;
    for (const auto& [name, t] : r.tables) tables[name.c_str()] = table_dict(t);
    d["tables"] = tables;
    d["findings"] = r.findings.dump();
  }
  return d;
}

py::dict load(const std::string& pipeline, const std::vector<std::string>& sets,
              const std::string& stage, const std::string& cache_dir, int threads,
              const py::object& log_callback) {
  Diagnostics diags;
  std::optional<Plan> plan;
  {
    py::gil_scoped_release nogil;
    plan = make_plan(pipeline, sets, registry(), diags);
  }
  py::dict d;
  d["diagnostics"] = diagnostics_list(diags);
  d["formatted"] = diags.format_all();
  d["artifacts"] = py::list();
  if (!plan) return d;
  const std::vector<std::size_t> selected = plan->select(stage);
  if (selected.empty()) {
    d["unknown"] = plan->unknown_selection(stage);
    return d;
  }
  Cache cache(default_cache(cache_dir));
  std::ostringstream term;
  Logger logger(term, Logger::Level::kDebug);
  LogQueue log;
  logger.set_sink(log.sink());
  Executor exec(*plan, cache, logger);
  std::atomic<bool> stop{false};
  bool interrupted = false;
  struct Loaded {
    RunSummary summary;
    bool ran = false;
    std::vector<std::shared_ptr<const Artifact>> artifacts;
  };
  Loaded got = supervise(
      [&] {
        Loaded l;
        // What is missing is computed by the executor's run (stoppable,
        // logged), then every selected instance is a cache hit.
        bool missing = false;
        for (auto i : selected) missing = missing || !cache.contains(plan->instances[i].key);
        if (missing) {
          RunOptions opt;
          opt.threads = threads;
          opt.only = {stage};
          opt.progress = false;
          opt.stop = &stop;
          l.summary = exec.run(opt);
          l.ran = true;
          if (l.summary.exit_code != 0) return l;
        }
        for (auto i : selected) l.artifacts.push_back(exec.materialize(i, threads));
        return l;
      },
      log, log_callback, stop, interrupted);
  d["interrupted"] = interrupted;
  if (got.ran && got.summary.exit_code != 0) {
    d["failed"] = got.summary.failed_stage.empty() ? std::string("run") : got.summary.failed_stage;
    d["error"] = got.summary.error;
    d["code"] = got.summary.exit_code;
    d["summary"] = got.summary.to_json().dump();
    return d;
  }
  py::list artifacts;
  for (std::size_t k = 0; k < selected.size(); ++k)
    artifacts.append(artifact_dict(plan->instances[selected[k]].name, *got.artifacts[k]));
  d["artifacts"] = artifacts;
  return d;
}

// The reference for the load benchmark: the same plan and cached load,
// timed in C++ (no Python object made), and the bare Cache::load.
py::dict engine_load(const std::string& pipeline, const std::vector<std::string>& sets,
                     const std::string& stage, const std::string& cache_dir, int threads) {
  py::gil_scoped_release nogil;
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  Diagnostics diags;
  auto plan = make_plan(pipeline, sets, registry(), diags);
  if (!plan) throw InputError(diags.format_all());
  const auto sel = plan->select(stage);
  if (sel.size() != 1) throw InputError("engine_load: \"" + stage + "\" is not one instance");
  const auto t1 = clock::now();
  Cache cache(default_cache(cache_dir));
  std::ostringstream term;
  Logger logger(term, Logger::Level::kWarn);
  Executor exec(*plan, cache, logger);
  const std::string& key = plan->instances[sel[0]].key;
  if (!cache.contains(key)) throw InputError("engine_load: " + stage + " is not cached");
  auto a = exec.materialize(sel[0], threads);  // as load(): 0, the CPUs this process may use
  const auto t2 = clock::now();
  auto b = cache.load(key);
  const auto t3 = clock::now();
  py::gil_scoped_acquire gil;
  py::dict d;
  d["plan_s"] = std::chrono::duration<double>(t1 - t0).count();
  d["load_s"] = std::chrono::duration<double>(t2 - t1).count();
  d["cache_load_s"] = std::chrono::duration<double>(t3 - t2).count();
  d["bytes"] = a->nbytes();
  return d;
}

}  // namespace

PYBIND11_MODULE(_wmgeom, m) {
  m.doc() = "The wmgeom engine (C++); use the wmgeom package, which wraps it.";
  // The engine's errors as Python's: bad input is a ValueError carrying the
  // CLI's message; anything else a RuntimeError.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InputError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });
  m.def("validate", &validate, py::arg("pipeline"), py::arg("sets"));
  m.def("run", &run, py::arg("pipeline"), py::arg("sets"), py::arg("only"), py::arg("from_"),
        py::arg("out_dir"), py::arg("cache_dir"), py::arg("threads"), py::arg("dry_run"),
        py::arg("log"));
  m.def("load", &load, py::arg("pipeline"), py::arg("sets"), py::arg("stage"), py::arg("cache_dir"),
        py::arg("threads"), py::arg("log"));
  m.def("engine_load", &engine_load, py::arg("pipeline"), py::arg("sets"), py::arg("stage"),
        py::arg("cache_dir"), py::arg("threads") = 0);
  m.def("stage_types", [] { return registry().types(); });
  m.def("describe_stage", [](const std::string& type) -> py::object {
    const StageEntry* e = registry().find(type);
    if (!e) return py::none();
    return py::str(describe_schema(e->schema));
  });
}
