// What a report costs, beside the plainest way to look at the same results:
//   BM_Report: the report stage's run on the synthetic analysis of its tests
//     (report_fixtures.h: every table of the analyze stage's contract, the
//     findings, a model's curves, a contact sheet of 24 stimuli), i.e. every
//     section and figure drawn, the page assembled;
//   BM_ExportCsv: `wmgeom export` of the same AnalysisResult (every array as
//     NPY, every table as CSV, findings.json).
// The ratio Report/ExportCsv is the price of the figures over the raw tables.
#include <benchmark/benchmark.h>

#include "bench_main.h"
#include "core/artifact.h"
#include "report/report_fixtures.h"

namespace {

using namespace wmgeom;
using namespace wmgeom::testing::report_fixtures;

void BM_Report(benchmark::State& state) {
  const StageInputs in = full_inputs();
  std::size_t bytes = 0;
  for (auto _ : state) bytes = run_report(in).html.size();
  state.counters["html_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Report)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ExportCsv(benchmark::State& state) {
  const Artifact a = synthetic_analysis("gru-model", "gru").to_artifact();
  wmgeom::testing::TempDir dir;
  for (auto _ : state) export_artifact(a, dir / "export");
}
BENCHMARK(BM_ExportCsv)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

WMGEOM_BENCHMARK_MAIN()
