#include "report/report.h"

#include <cstdio>
#include <fstream>
#include <set>

#include <opencv2/core/version.hpp>

#include "core/artifacts.h"
#include "core/error.h"
#include "core/format.h"
#include "core/instance_name.h"
#include "report/data.h"
#include "report/sections.h"
#include "report/svg.h"

#ifndef WMGEOM_VERSION
#define WMGEOM_VERSION "unknown"
#endif

namespace wmgeom {
namespace {

std::string replace_all(std::string s, const std::string& what, const std::string& with) {
  for (std::size_t at = s.find(what); at != std::string::npos;
       at = s.find(what, at + with.size())) {
    s.replace(at, what.size(), with);
  }
  return s;
}

void write_text(const std::filesystem::path& file, const std::string& text) {
  if (!file.parent_path().empty()) std::filesystem::create_directories(file.parent_path());
  std::ofstream f(file, std::ios::binary);
  f << text;
  if (!f) throw Error("cannot write " + file.string());
}

}  // namespace

std::string ReportStage::key_extras_of(const report::ReportOptions&) const {
  return std::string("opencv=") + CV_VERSION;
}

Artifact ReportStage::compute(const report::ReportOptions& o, const StageInputs& inputs,
                              RunContext& ctx) const {
  report::ReportData data = report::gather(inputs);
  Report r;
  r.title = o.title;
  r.html = report::build_html(data, o, r.info);
  for (const auto& s : r.info["sections"]) {
    if (!s["drawn"].get<bool>())
      ctx.info("section \"" + s["title"].get<std::string>() +
               "\" omitted: " + s["note"].get<std::string>());
  }
  ctx.set_items(r.info["figures"].get<std::int64_t>());
  return r.to_artifact();
}

void ReportStage::export_extras(const Artifact& artifact, const std::filesystem::path& dir) const {
  Report r = Report::from_artifact(artifact);
  const std::string later =
      "<p class=\"note\">Available in the report that <code>wmgeom run</code> writes to its "
      "output folder (wmgeom-out/&lt;pipeline&gt;/report.html).</p>";
  write_text(dir / "report.html", report::fill_placeholders(r.html, later, later));
}

std::vector<std::filesystem::path> ReportStage::after_run(
    const Artifact& artifact, const RunSummary& run, const std::string& instance,
    const std::filesystem::path& out_dir) const {
  int reports = 0;
  for (const auto& i : run.instances) reports += i.type == type() && part_of_run(i.cache);
  Report r = Report::from_artifact(artifact);
  const std::filesystem::path file =
      out_dir / (reports <= 1 ? std::string("report.html")
                              : "report-" + instance_folder_name(instance) + ".html");
  write_text(file, report::fill_placeholders(
                       r.html, report::profile_table_html(run),
                       report::pipeline_html(run.file, run.text, run.overrides, run.versions())));
  return {file};
}

namespace report {

std::string profile_table_html(const RunSummary& run) {
  bool jobs = false;  // a cluster run: each instance's job, node and queue wait
  for (const auto& st : run.instances) jobs = jobs || !st.job.id.empty();
  std::string h =
      "<table class=\"profile\"><thead><tr><th>stage</th><th>type</th><th>cache</th><th>seconds "
      "(this run)</th>"
      "<th>compute seconds</th><th>items</th><th>items/s</th><th>bytes</th>" +
      std::string(jobs ? "<th>job</th><th>node</th><th>queue wait (s)</th>" : "") +
      "</tr></thead><tbody>";
  for (const auto& st : run.instances) {
    const char* badge = st.cache == CacheStatus::kMiss ? "yes"
                        : st.cache == CacheStatus::kFailed || st.cache == CacheStatus::kCancelled
                            ? "no"
                            : "na";
    const double rate = st.items_per_s();
    h += "<tr><td>" + escape(st.instance) + "</td><td>" + escape(st.type) +
         "</td><td><span class=\"badge " + badge + "\">" + to_string(st.cache) +
         "</span></td><td class=\"num\">" + format_fixed(st.seconds, 3) +
         "</td><td class=\"num\">" + format_fixed(st.compute_seconds, 3) +
         "</td><td class=\"num\">" + format_fixed(static_cast<double>(st.items), 0) + " " +
         escape(st.items_unit) + "</td><td class=\"num\">" +
         (rate > 0 ? format_fixed(rate, 1) : "") + "</td><td class=\"num\">" +
         format_bytes(static_cast<double>(st.bytes)) + "</td>";
    if (jobs) {
      h += "<td>" + escape(st.job.id) + "</td><td>" + escape(st.job.node) +
           "</td><td class=\"num\">" +
           (st.job.id.empty() ? "" : format_fixed(st.job.queue_seconds, 1)) + "</td>";
    }
    h += "</tr>";
  }
  h += "</tbody><tfoot><tr><th colspan=\"3\">whole run</th><td class=\"num\">" +
       format_fixed(run.seconds, 3) + "</td><td colspan=\"" + std::string(jobs ? "7" : "4") +
       "\"></td></tr></tfoot>";
  return h + "</table>";
}

std::string pipeline_html(const std::string& file, const std::string& text,
                          const std::vector<std::string>& overrides,
                          const std::vector<std::string>& versions) {
  std::string h = "<h3>Versions</h3><table><tbody><tr><th>wmgeom</th><td>" +
                  escape(WMGEOM_VERSION) + "</td></tr>";
  for (const auto& v : versions) h += "<tr><th>cache keys</th><td>" + escape(v) + "</td></tr>";
  h += "</tbody></table><h3>Pipeline file: " + escape(file) + "</h3>";
  if (!overrides.empty()) {
    h += "<p class=\"caption\">Overrides on the command line:";
    for (const auto& o : overrides) h += " <code>--set " + escape(o) + "</code>";
    h += "</p>";
  }
  return h + "<pre>" + escape(text) + "</pre>";
}

std::string fill_placeholders(std::string html, const std::string& profile,
                              const std::string& pipeline) {
  return replace_all(replace_all(std::move(html), kProfilePlaceholder, profile),
                     kPipelinePlaceholder, pipeline);
}

}  // namespace report
}  // namespace wmgeom
