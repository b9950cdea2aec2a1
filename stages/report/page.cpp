// The page: every section in order, the navigation, the CSS, the browser
// load check, and the run's profile and pipeline placeholders.
#include <set>

#include "report/report.h"
#include "report/sections/common.h"

namespace wmgeom::report {

namespace {

constexpr const char* kCss = R"(
:root { color-scheme: light; }
body { font-family: system-ui, 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #1f2d3d; color: #f4f4f4; padding: 18px 28px 12px; }
header h1 { margin: 0 0 6px; font-size: 22px; }
header p { margin: 4px 0; color: #c9d3dd; font-size: 13px; }
nav { margin-top: 10px; font-size: 13px; line-height: 1.8; }
nav a { color: #9fd0ff; margin-right: 14px; text-decoration: none; white-space: nowrap; }
nav a.omitted { color: #8a99a8; }
main { padding: 8px 28px 40px; max-width: 1380px; }
section { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 6px 18px 14px; margin: 16px 0; }
section h2 { font-size: 18px; margin: 10px 0 6px; }
section h3 { font-size: 14px; margin: 14px 0 4px; }
.caption { color: #555; font-size: 13px; max-width: 1000px; margin: 4px 0 8px; }
.note { color: #777; font-size: 13px; font-style: italic; margin: 4px 0; }
.dim { color: #888; font-weight: normal; }
.figures { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: flex-start; }
figure { margin: 4px 0; overflow-x: auto; max-width: 100%; }
svg.figure { background: #fff; display: block; }
table { border-collapse: collapse; font-size: 12.5px; margin: 6px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f2f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.findings > table { width: 100%; }
.findings > table > tbody > tr > td:nth-last-child(8) { width: 24%; }
.findings > table > tbody > tr > td:last-child { width: 40%; }
.findings .why { margin: 2px 0 4px; }
.findings details { margin: 4px 0; }
.tests table { width: auto; font-size: 12px; }
.numbers { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 0 14px; }
.numbers div { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 9px; font-weight: 600; font-size: 12px; }
.badge.yes { background: #d8f0d8; color: #1d6b1d; }
.badge.no { background: #f8dada; color: #9b1c1c; }
.badge.na { background: #e8e8e8; color: #555; }
pre { background: #f5f5f5; border: 1px solid #e3e3e3; padding: 8px 10px; font-size: 12px; overflow-x: auto; }
details summary { cursor: pointer; color: #345; font-size: 13px; }
)";

// Proves in a browser that every figure drew something (see README.md, Tests):
// sets <body data-figures-ok="drawn/total" data-figures-bad="ids">.
constexpr const char* kLoadCheck = R"(<script>
window.addEventListener('load', function () {
  var figs = document.querySelectorAll('svg.figure'), ok = 0, bad = [];
  for (var i = 0; i < figs.length; i++) {
    var g = figs[i].querySelector('g.data'), b = g ? g.getBBox() : null;
    if (b && b.width > 0 && b.height > 0 && g.childElementCount > 0) ok++; else bad.push(figs[i].id);
  }
  document.body.setAttribute('data-figures-ok', ok + '/' + figs.length);
  document.body.setAttribute('data-figures-bad', bad.join(' '));
});
</script>)";

std::string section_html(const Section& s) {
  std::string h = "<section id=\"" + s.id + "\"><h2>" + escape(s.title) + "</h2>";
  if (!s.omitted.empty()) return h + note("Omitted: " + s.omitted + ".") + "</section>\n";
  return h + s.body + "</section>\n";
}

Section profile_section() {
  return {"profile", "Stage profile of this run",
          caption("Per stage instance: cache status (hit: loaded from the cache, miss: computed "
                  "now), seconds spent in "
                  "this run, items processed and throughput of the computation.") +
              kProfilePlaceholder,
          "", 0};
}

Section pipeline_section(const ReportData& d) {
  std::string params;
  for (const auto& a : d.analyses) {
    params += "<details><summary>analysis parameters: " + escape(a.instance) + "</summary><pre>" +
              escape(a.params.dump(2)) + "</pre></details>";
  }
  return {"pipeline", "Pipeline and versions", std::string(kPipelinePlaceholder) + params, "", 0};
}

std::string summary_line(const ReportData& d) {
  std::set<std::string> models;
  for (const auto& [name, t] : d.tables) {
    Columns c(t);
    for (const auto& m : distinct(c, "model")) models.insert(m);
  }
  std::string s = std::to_string(d.analyses.size()) +
                  (d.analyses.size() == 1 ? " analysis" : " analyses") + ", " +
                  std::to_string(models.size()) + (models.size() == 1 ? " model" : " models") +
                  " in the tables";
  if (!d.models.empty()) s += ", training curves of " + std::to_string(d.models.size());
  if (d.stimuli) s += ", " + std::to_string(d.stimuli->size()) + " stimuli";
  return s +
         ". Produced by wmgeom's report stage; every number is in the CSV/NPY files of `wmgeom "
         "export`.";
}

}  // namespace

std::string build_html(const ReportData& d, const ReportOptions& o, nlohmann::json& info) {
  std::vector<Section> sections = {findings_section(d, o),   stimuli_section(d, o),
                                   training_section(d, o),   decoding_section(d, o),
                                   cross_task_section(d, o), orthogonality_section(d, o),
                                   temporal_section(d, o),   causal_section(d, o),
                                   rsa_section(d, o),        dimensionality_section(d, o),
                                   models_section(d, o),     recordings_section(d, o),
                                   profile_section(),        pipeline_section(d)};
  std::string nav, body;
  int figures = 0;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : sections) {
    nav += "<a href=\"#" + s.id + "\"" +
           (s.omitted.empty() ? "" : " class=\"omitted\" title=\"omitted\"") + ">" +
           escape(s.title) + "</a> ";
    body += section_html(s);
    if (s.omitted.empty()) figures += s.figures;
    list.push_back({{"id", s.id},
                    {"title", s.title},
                    {"drawn", s.omitted.empty()},
                    {"note", s.omitted},
                    {"figures", s.omitted.empty() ? s.figures : 0}});
  }
  info = {{"sections", list}, {"figures", figures}};
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<link rel=\"icon\" href=\"data:,\"><title>" +
         escape(o.title) + "</title><style>" + kCss + "</style></head>\n<body>\n<header><h1>" +
         escape(o.title) + "</h1><p>" + escape(summary_line(d)) + "</p><nav>" + nav +
         "</nav></header>\n<main>\n" + body + "</main>\n" + kLoadCheck + "\n</body></html>\n";
}

}  // namespace wmgeom::report
