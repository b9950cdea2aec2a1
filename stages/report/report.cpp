#include "report/report.h"

#include <cstdio>
#include <fstream>
#include <set>

#include <opencv2/core/version.hpp>

#include "core/artifacts.h"
#include "core/error.h"
#include "graph/executor.h"
#include "graph/plan.h"
#include "graph/progress.h"
#include "report/data.h"
#include "report/sections.h"
#include "report/svg.h"

#ifndef WMGEOM_VERSION
#define WMGEOM_VERSION "unknown"
#endif

namespace wmgeom {
namespace {

std::string fixed(double v, int prec) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

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

// "analysis[rnn=gru,seed=1]" -> "analysis.rnn=gru.seed=1" (as `wmgeom export` names folders).
std::string file_safe(const std::string& name) {
  std::string s;
  for (char c : name) {
    if (c == '[' || c == ',')
      s += '.';
    else if (c == ']')
      continue;
    else if (c == '/' || c == '\\' || c == ' ')
      s += '_';
    else
      s += c;
  }
  return s;
}

}  // namespace

std::string ReportStage::key_extras(const Params& params) const {
  return std::string("opencv=") + CV_VERSION;
}

Artifact ReportStage::run(const Params& p, const StageInputs& inputs, RunContext& ctx) const {
  report::ReportData data = report::gather(inputs);
  report::ReportOptions o;
  o.title = p.s("title");
  o.max_models = static_cast<int>(p.i("max_models"));
  o.sheet_identities = static_cast<int>(p.i("sheet_identities"));
  o.sheet_views = static_cast<int>(p.i("sheet_views"));
  o.thumb = static_cast<int>(p.i("thumbnail"));
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

namespace report {

std::string profile_table_html(const nlohmann::json& run) {
  auto num = [](const nlohmann::json& j, const char* key) {
    return j.is_object() && j.contains(key) && j.at(key).is_number() ? j.at(key).get<double>()
                                                                     : -1.0;
  };
  auto str = [](const nlohmann::json& j, const char* key) {
    return j.is_object() && j.contains(key) && j.at(key).is_string() ? j.at(key).get<std::string>()
                                                                     : std::string();
  };
  std::string h =
      "<table class=\"profile\"><thead><tr><th>stage</th><th>type</th><th>cache</th><th>seconds "
      "(this run)</th>"
      "<th>compute seconds</th><th>items</th><th>items/s</th><th>bytes</th></tr></thead><tbody>";
  const nlohmann::json stages =
      run.is_object() && run.contains("stages") ? run.at("stages") : nlohmann::json::array();
  for (const auto& st : stages) {
    const double sec = num(st, "seconds"), comp = num(st, "compute_seconds"),
                 items = num(st, "items"), rate = num(st, "items_per_s"), bytes = num(st, "bytes");
    const std::string cache = str(st, "cache");
    h += "<tr><td>" + escape(str(st, "stage")) + "</td><td>" + escape(str(st, "type")) +
         "</td><td><span class=\"badge " +
         (cache == "miss"                             ? "yes"
          : cache == "failed" || cache == "cancelled" ? "no"
                                                      : "na") +
         "\">" + escape(cache) + "</span></td><td class=\"num\">" +
         (sec >= 0 ? fixed(sec, 3) : "") + "</td><td class=\"num\">" +
         (comp >= 0 ? fixed(comp, 3) : "") + "</td><td class=\"num\">" +
         (items >= 0 ? fixed(items, 0) + " " + escape(str(st, "items_unit")) : "") +
         "</td><td class=\"num\">" + (rate > 0 ? fixed(rate, 1) : "") + "</td><td class=\"num\">" +
         (bytes >= 0 ? format_bytes(bytes) : "") + "</td></tr>";
  }
  h += "</tbody>";
  if (double total = num(run, "seconds"); total >= 0) {
    h += "<tfoot><tr><th colspan=\"3\">whole run</th><td class=\"num\">" + fixed(total, 3) +
         "</td><td colspan=\"4\"></td></tr></tfoot>";
  }
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

std::vector<std::filesystem::path> write_run_reports(const Plan& plan, Executor& exec,
                                                     const nlohmann::json& run,
                                                     const std::filesystem::path& out_dir,
                                                     int threads) {
  std::vector<std::size_t> reports;
  for (std::size_t i = 0; i < plan.instances.size(); ++i) {
    if (plan.instances[i].entry->schema.output == Report::kKind) reports.push_back(i);
  }
  // Library versions and devices, as the stages put them in their cache keys.
  std::set<std::string> versions;
  for (const auto& inst : plan.instances) {
    std::size_t at = 0;
    while ((at = inst.key_text.find("\nextra ", at)) != std::string::npos) {
      std::size_t end = inst.key_text.find('\n', at + 1);
      versions.insert(inst.key_text.substr(
          at + 7, end == std::string::npos ? std::string::npos : end - at - 7));
      at = end == std::string::npos ? inst.key_text.size() : end;
    }
  }
  const std::string profile = profile_table_html(run);
  const std::string pipeline = pipeline_html(plan.spec.file, plan.spec.text, plan.spec.overrides,
                                             {versions.begin(), versions.end()});
  std::map<std::string, std::string> status;
  if (run.contains("stages")) {
    for (const auto& st : run.at("stages")) status[st.value("stage", "")] = st.value("cache", "");
  }
  std::vector<std::filesystem::path> written;
  for (std::size_t i : reports) {
    const Instance& inst = plan.instances[i];
    const std::string& s = status[inst.name];
    if (s != "hit" && s != "miss") continue;  // not part of this run
    Report r = Report::from_artifact(*exec.materialize(i, threads));
    std::filesystem::path file =
        out_dir / (reports.size() == 1 ? std::string("report.html")
                                       : "report-" + file_safe(inst.name) + ".html");
    write_text(file, fill_placeholders(r.html, profile, pipeline));
    written.push_back(file);
  }
  return written;
}

}  // namespace report
}  // namespace wmgeom
