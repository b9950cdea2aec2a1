// The report after a run: the placeholders filled from the run's record
// (after_run) or a note (export), the CLI writing
// wmgeom-out/<name>/report.html with the run's profile, the cache key, and a
// headless Chromium that opens the page, finds every figure drawn and no
// console error, and saves a screenshot.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <sstream>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "config/diagnostics.h"
#include "core/artifacts.h"
#include "core/error.h"
#include "graph/plan.h"
#include "graph/registry.h"
#include "report/report.h"
#include "report/report_fixtures.h"
#include "report/sections/common.h"
#include "report/svg.h"
#include "stage_kit.h"

namespace wmgeom::testing {
namespace {

using namespace report_fixtures;

TEST(Report, PlaceholdersProfileAndExport) {
  // The run record as run.json holds it (core/run_summary.h).
  nlohmann::json run_json = {{"pipeline", "p"},
                             {"file", "p.toml"},
                             {"exit_code", 0},
                             {"seconds", 12.5},
                             {"stages",
                              {{{"stage", "gru[seed=1]"},
                                {"type", "train"},
                                {"cache", "miss"},
                                {"seconds", 10.0},
                                {"compute_seconds", 10.0},
                                {"items", 5000},
                                {"items_unit", "trials"},
                                {"items_per_s", 500.0},
                                {"bytes", 2048}},
                               {{"stage", "report"},
                                {"type", "report"},
                                {"cache", "hit"},
                                {"seconds", 0.01},
                                {"compute_seconds", 0.2},
                                {"items", 18},
                                {"items_unit", "figures"},
                                {"items_per_s", 90.0},
                                {"bytes", 100}}}}};
  RunSummary run = RunSummary::from_json(run_json);
  EXPECT_EQ(RunSummary::from_json(run.to_json()).to_json(), run.to_json());
  // A malformed record is refused with the field named.
  nlohmann::json broken = run_json;
  broken["stages"][0].erase("items");
  try {
    RunSummary::from_json(broken);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "stage gru[seed=1] has no \"items\"")) << e.what();
  }
  broken = run_json;
  broken["stages"][1]["cache"] = "hot";
  EXPECT_THROW(RunSummary::from_json(broken), Error);
  std::string table = report::profile_table_html(run);
  EXPECT_TRUE(contains(table, "<td>gru[seed=1]</td><td>train</td>"));
  EXPECT_TRUE(contains(table, ">miss</span>"));
  EXPECT_TRUE(contains(table, "5000 trials"));
  EXPECT_TRUE(contains(table, "500.0"));
  EXPECT_TRUE(contains(table, "12.500"));
  EXPECT_FALSE(contains(table, "queue wait"));  // a local run has no job columns
  // A cluster run: the job, node and queue wait, through run.json and back.
  run.instances[0].job = {"12_3", "node07", "/out/slurm/logs/gru-12_3.log", 41.5, 1};
  const RunSummary back = RunSummary::from_json(run.to_json());
  EXPECT_EQ(back.instances[0].job.id, "12_3");
  EXPECT_EQ(back.instances[0].job.node, "node07");
  EXPECT_EQ(back.instances[0].job.requeues, 1);
  EXPECT_EQ(back.instances[0].job.queue_seconds, 41.5);
  table = report::profile_table_html(back);
  EXPECT_TRUE(contains(table, "<th>job</th><th>node</th><th>queue wait (s)</th>"));
  EXPECT_TRUE(contains(table, "<td>12_3</td><td>node07</td><td class=\"num\">41.5</td>"));
  std::string pipe =
      report::pipeline_html("p.toml", "[stage.a]\nx = \"<b>\"\n", {"stage.a.x=1"}, {"torch 2.1"});
  EXPECT_TRUE(contains(pipe, "x = &quot;&lt;b&gt;&quot;"));
  EXPECT_TRUE(contains(pipe, "--set stage.a.x=1"));
  EXPECT_TRUE(contains(pipe, "torch 2.1"));
  std::string filled =
      report::fill_placeholders(std::string("a") + report::kProfilePlaceholder + "b" +
                                    report::kPipelinePlaceholder + report::kProfilePlaceholder,
                                "P", "Q");
  EXPECT_EQ(filled, "aPbQP");

  TempDir dir;
  Made r = run_report(full_inputs());
  Report rep = r.report;
  ReportStage().export_extras(rep.to_artifact(), dir.path());
  std::string html = read_file(dir / "report.html");
  EXPECT_FALSE(contains(html, "<!--wmgeom:"));
  EXPECT_TRUE(contains(html, "Available in the report that <code>wmgeom run</code> writes"));

  // The after-run hook fills both from the run's record: report.html for
  // one report instance, report-<instance>.html for several.
  run.text = "[pipeline]\nname = \"p\"\n";
  run.instances[1].versions = {"opencv=4.6.0"};
  TempDir out;
  ASSERT_TRUE(ReportStage().has_after_run());
  auto files = ReportStage().after_run(rep.to_artifact(), run, "report", out.path());
  ASSERT_EQ(files, (std::vector<std::filesystem::path>{out.path() / "report.html"}));
  html = read_file(files[0]);
  EXPECT_FALSE(contains(html, "<!--wmgeom:"));
  EXPECT_TRUE(contains(html, "<td>gru[seed=1]</td><td>train</td>"));
  EXPECT_TRUE(contains(html, "opencv=4.6.0"));
  EXPECT_TRUE(contains(html, "name = &quot;p&quot;"));
  run.instances.push_back(run.instances[1]);
  run.instances.back().instance = "report[x=2]";
  files = ReportStage().after_run(rep.to_artifact(), run, "report[x=2]", out.path());
  EXPECT_EQ(files, (std::vector<std::filesystem::path>{out.path() / "report-report.x=2.html"}));
}

constexpr const char* kPipeline = R"([pipeline]
name = "rep"
seed = 1

[stage.analysis]
type = "fake_analysis"
sweep = { model = ["gru-a", "gru-b"] }

[stage.report]
type = "report"
analysis = ["analysis"]
title = "CLI <report>"
)";

TEST(Report, PassesTheStageKit) {
  expect_stage_kit({kPipeline, "report", {}, {}, &report_registry()});
}

TEST(Report, CliRunWritesReportWithProfileAndPipeline) {
  TempDir dir;
  write_file(dir / "p.toml", kPipeline);
  std::vector<std::string> args = {
      "run",   (dir / "p.toml").string(), "--cache-dir",  (dir / "c").string(),
      "--out", (dir / "o").string(),      "--no-progress"};
  CliResult r = run_cli(args, report_registry());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "report.html)")) << r.out;
  std::string html = read_file(dir / "o" / "report.html");
  EXPECT_FALSE(contains(html, "<!--wmgeom:"));
  EXPECT_TRUE(contains(html, "<table class=\"profile\">"));
  EXPECT_TRUE(contains(html, "<td>analysis[model=gru-a]</td><td>fake_analysis</td>"));
  EXPECT_TRUE(
      contains(html, "<td>report</td><td>report</td><td><span class=\"badge yes\">miss</span>"));
  EXPECT_TRUE(
      contains(html, "title = &quot;CLI &lt;report&gt;&quot;"));    // the pipeline file, escaped
  EXPECT_TRUE(contains(html, "opencv="));                           // versions from the cache keys
  EXPECT_TRUE(contains(html, "gru-a") && contains(html, "gru-b"));  // both sweep members
  // Everything cached: the report is loaded and written again, now a hit.
  r = run_cli(args, report_registry());
  ASSERT_EQ(r.code, 0) << r.err;
  html = read_file(dir / "o" / "report.html");
  EXPECT_TRUE(
      contains(html, "<td>report</td><td>report</td><td><span class=\"badge na\">hit</span>"));
  // `wmgeom export` writes report.html with notes in place of the run's data.
  r = run_cli({"export", (dir / "p.toml").string(), "report", (dir / "x").string(), "--cache-dir",
               (dir / "c").string()},
              report_registry());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "x" / "report.html"));
  EXPECT_TRUE(fs::exists(dir / "x" / "html.npy"));
}

TEST(Report, KeyDependsOnParametersAndInputs) {
  auto key = [](const std::vector<std::string>& sets) {
    Diagnostics diags;
    auto plan = make_plan_from_text("p.toml", kPipeline, sets, report_registry(), diags);
    EXPECT_TRUE(plan) << diags.format_all();
    return plan->instances[plan->select("report").at(0)].key;
  };
  const std::string base = key({});
  EXPECT_NE(key({"stage.report.title=other"}), base);
  EXPECT_NE(key({"stage.report.max_models=2"}), base);
  EXPECT_NE(key({"stage.report.thumbnail=40"}), base);
  EXPECT_EQ(key({}), base);
}

// ------------------------------------------------------- headless browser

std::string find_chromium() {
  if (const char* env = std::getenv("WMGEOM_CHROMIUM"); env && *env) return env;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  for (const char* name :
       {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}) {
    std::size_t start = 0;
    while (start <= p.size()) {
      std::size_t end = p.find(':', start);
      fs::path candidate =
          fs::path(p.substr(start, end == std::string::npos ? std::string::npos : end - start)) /
          name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  return "";
}

int shell(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Report, OpensInHeadlessChromium) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) {
    GTEST_SKIP() << "chromium is not installed (scripts/bootstrap installs the Debian package "
                    "`chromium`; or set "
                    "WMGEOM_CHROMIUM): the headless-browser check of report.html was NOT run";
  }
  TempDir dir;
  Made r = run_report(full_inputs());
  RunSummary run;
  run.seconds = 1.0;
  run.instances.push_back({.instance = "report", .type = "report", .cache = CacheStatus::kMiss});
  write_file(dir / "report.html",
             report::fill_placeholders(
                 r.html, report::profile_table_html(run),
                 report::pipeline_html("p.toml", "[pipeline]\nname = \"x\"\n", {}, {"torch 2"})));
  const std::string flags =
      "--headless=new --no-sandbox --disable-gpu --no-first-run --hide-scrollbars "
      "--user-data-dir='" +
      (dir / "profile").string() + "'";
  const std::string url = "'file://" + (dir / "report.html").string() + "'";
  const int code = shell(
      "timeout 60 '" + chromium + "' " + flags + " --enable-logging=stderr --v=0 --dump-dom " +
      url + " > '" + (dir / "dom.html").string() + "' 2> '" + (dir / "stderr.txt").string() + "'");
  ASSERT_EQ(code, 0) << read_file(dir / "stderr.txt");

  // Every figure drew something (the page's own load check), and the page logged nothing.
  const std::string dom = read_file(dir / "dom.html");
  const int figures = r.report.info["figures"].get<int>();
  ASSERT_GT(figures, 10);
  EXPECT_TRUE(contains(
      dom, "data-figures-ok=\"" + std::to_string(figures) + "/" + std::to_string(figures) + "\""))
      << dom.substr(0, 400);
  EXPECT_TRUE(contains(dom, "data-figures-bad=\"\""));
  std::istringstream err(read_file(dir / "stderr.txt"));
  for (std::string line; std::getline(err, line);) {
    EXPECT_FALSE(contains(line, "CONSOLE") || contains(line, "Uncaught")) << line;
  }

  // A screenshot a person can look at (with the page, kept in $WMGEOM_REPORT_KEEP if set).
  const fs::path png = dir / "report.png";
  ASSERT_EQ(
      shell("timeout 60 '" + chromium + "' " + flags + " --window-size=1400,2400 --screenshot='" +
            png.string() + "' " + url + " > /dev/null 2>&1"),
      0);
  ASSERT_TRUE(fs::exists(png));
  EXPECT_GT(fs::file_size(png), 20000u);
  cv::Mat shot = cv::imread(png.string(), cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(shot.empty());
  EXPECT_EQ(shot.cols, 1400);
  cv::Scalar mean, sd;
  cv::meanStdDev(shot, mean, sd);
  EXPECT_GT(sd[0], 20.0) << "the screenshot is nearly uniform";
  if (const char* keep = std::getenv("WMGEOM_REPORT_KEEP"); keep && *keep) {
    fs::create_directories(keep);
    for (const char* f : {"report.html", "report.png", "dom.html"})
      fs::copy_file(dir / f, fs::path(keep) / f, fs::copy_options::overwrite_existing);
  }
}

}  // namespace
}  // namespace wmgeom::testing
