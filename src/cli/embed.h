// The CLI's `run` as a function, for a program that embeds the engine (the
// Python module, python/): the same planning, run, run.json, after-run
// hooks, messages and exit codes as `wmgeom run`, with three things handed
// over to the embedder: the stop flag (no signal handler is installed; the
// embedder sets the flag, e.g. on a notebook's KeyboardInterrupt), the log
// (a Logger::Sink instead of the terminal; the progress display is off),
// and the results (the run's summary, the plan's diagnostics) as values
// rather than text.
#pragma once

#include <atomic>
#include <iosfwd>
#include <string>
#include <vector>

#include "config/diagnostics.h"
#include "core/log.h"
#include "core/run_summary.h"

namespace wmgeom {

class StageRegistry;

struct EmbeddedRun {
  // What `wmgeom run PIPELINE --set S... --only O... --from F... --out DIR
  // --cache-dir C --threads N` would get. Empty cache_dir: $WMGEOM_CACHE or
  // .wmgeom-cache; empty out_dir: wmgeom-out/<pipeline name>.
  std::string pipeline;
  std::vector<std::string> sets, only, from;
  std::string out_dir, cache_dir;
  int threads = 0;
  bool dry_run = false;

  const std::atomic<bool>* stop = nullptr;  // set: the run stops as on Ctrl-C (exit 75)
  Logger::Sink log;                         // every log line, at Debug and above
  RunSummary* summary = nullptr;            // filled when the run started
  Diagnostics* diagnostics = nullptr;       // filled when the pipeline is invalid (exit 2)
};

// The cache directory a command uses when none is given: $WMGEOM_CACHE, or
// .wmgeom-cache (relative to the working directory).
std::string default_cache_dir();

// Exit code as `wmgeom run`'s: 0, 1 (a stage failed: summary->error), 2
// (invalid input: diagnostics, or a message on err), 75 (stopped). `out`
// gets what the CLI prints on stdout (the table, "done in ..."), `err` its
// error lines.
int run_embedded(const EmbeddedRun& run, const StageRegistry& registry, std::ostream& out,
                 std::ostream& err);

}  // namespace wmgeom
