// The stage READMEs' parameter tables against the schemas (the single source
// of every parameter): each parameter a README names exists in its stage's
// schema, and each default it states as a plain value equals the schema's.
// A README may leave parameters out (`wmgeom stages TYPE` lists them all);
// it may not contradict the schema.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "core/params.h"
#include "graph/registry.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

std::vector<std::string> split(const std::string& s, const std::string& by) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t at; (at = s.find(by, start)) != std::string::npos; start = at + by.size())
    out.push_back(s.substr(start, at - start));
  out.push_back(s.substr(start));
  return out;
}

std::string trim(std::string s) {
  const auto a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// The README's default cell as the schema's format_value would print it, or
// "" when the cell is prose or a range (not compared).
std::optional<std::string> literal(std::string cell, const Value& schema_default) {
  cell = trim(cell);
  if (auto sp = cell.find(" ("); sp != std::string::npos)
    cell = cell.substr(0, sp);  // "0 (the RNN's size)"
  if (std::holds_alternative<std::vector<std::int64_t>>(schema_default) ||
      std::holds_alternative<std::vector<double>>(schema_default) ||
      std::holds_alternative<std::vector<std::string>>(schema_default)) {
    return std::nullopt;
  }
  static const std::regex word("`([A-Za-z0-9_.-]*)`"), number("-?[0-9]+(\\.[0-9]+)?(e-?[0-9]+)?"),
      boolean("true|false");
  std::smatch m;
  if (std::regex_match(cell, m, word)) return nlohmann::json(m[1].str()).dump();
  if (std::regex_match(cell, number) || std::regex_match(cell, boolean)) return cell;
  return std::nullopt;
}

bool same(const std::string& readme, const Value& schema_default) {
  const std::string want = format_value(schema_default);
  if (readme == want) return true;
  char* end = nullptr;
  const double a = std::strtod(readme.c_str(), &end);
  if (*end != '\0') return false;
  const double b = std::strtod(want.c_str(), &end);
  return *end == '\0' && a == b;
}

TEST(Docs, StageReadmeParameterTablesAgreeWithTheSchemas) {
  const auto& registry = real_registry();
  int checked_names = 0, checked_defaults = 0;
  for (const auto& type : registry.types()) {
    const auto* entry = registry.find(type);
    std::ifstream f(std::string(WMGEOM_SOURCE_DIR) + "/stages/" + type + "/README.md");
    if (!f) continue;
    std::string line;
    int number = 0;
    bool in_parameters = false;
    while (std::getline(f, line)) {
      ++number;
      if (line.rfind("## ", 0) == 0) in_parameters = line.find("Parameters") != std::string::npos;
      if (!in_parameters || line.rfind("| `", 0) != 0) continue;
      auto cells = split(line, " | ");
      if (cells.size() < 3) continue;
      const std::string where = "stages/" + type + "/README.md:" + std::to_string(number);
      std::vector<std::string> names;
      static const std::regex name("`([a-z_0-9]+)`");
      for (std::sregex_iterator it(cells[0].begin(), cells[0].end(), name), e; it != e; ++it)
        names.push_back((*it)[1]);
      const auto defaults = split(cells[1], ", ");
      for (std::size_t i = 0; i < names.size(); ++i) {
        const ParamSpec* spec = nullptr;
        for (const auto& p : entry->schema.params) {
          if (p.name == names[i]) spec = &p;
        }
        ASSERT_NE(spec, nullptr) << where << ": parameter `" << names[i] << "` is not in stages/"
                                 << type << "/schema.toml";
        ++checked_names;
        if (!spec->default_value || defaults.size() != names.size()) continue;
        if (auto text = literal(defaults[i], *spec->default_value)) {
          EXPECT_TRUE(same(*text, *spec->default_value))
              << where << ": `" << names[i] << "` default " << *text << ", the schema says "
              << format_value(*spec->default_value);
          ++checked_defaults;
        }
      }
    }
  }
  // The check ran on real tables (six stage READMEs have one).
  EXPECT_GT(checked_names, 30);
  EXPECT_GT(checked_defaults, 20);
}

}  // namespace
}  // namespace wmgeom::testing

namespace wmgeom::testing {
namespace {

// Calls line(file, number, text) for every line of the C++ sources under
// `root` (.h, .cpp), tests and benchmarks included unless `code_only`;
// returns how many files it read.
int for_each_source_line(
    const std::filesystem::path& root, bool code_only,
    const std::function<void(const std::filesystem::path&, int, const std::string&)>& line) {
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    const auto ext = e.path().extension().string();
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || (ext != ".h" && ext != ".cpp")) continue;
    if (code_only && (name.rfind("test_", 0) == 0 || name.rfind("bench_", 0) == 0)) continue;
    ++files;
    std::ifstream f(e.path());
    std::string text;
    for (int number = 1; std::getline(f, text); ++number) line(e.path(), number, text);
  }
  return files;
}

// src/README.md "Layers": nothing under src/ includes a header from above it
// (stages/, app/): every quoted include names a folder of src/ (core/,
// graph/, nets/, ...) or a file beside the includer. The executable's main,
// which registers the stages, lives in app/ (issue 24 item 5). Tests and
// benchmarks beside their code may cross layers (src/README.md).
TEST(Layers, SrcIncludesNothingFromAbove) {
  const std::filesystem::path src = std::filesystem::path(WMGEOM_SOURCE_DIR) / "src";
  std::set<std::string> folders;
  for (const auto& e : std::filesystem::directory_iterator(src)) {
    if (e.is_directory()) folders.insert(e.path().filename().string());
  }
  ASSERT_TRUE(folders.count("core") && folders.count("graph") && folders.count("cli"));
  static const std::regex include("^\\s*#\\s*include\\s+\"([^\"]+)\"");
  int includes = 0;
  const int files = for_each_source_line(
      src, true, [&](const std::filesystem::path& file, int number, const std::string& line) {
        std::smatch m;
        if (!std::regex_search(line, m, include)) return;
        ++includes;
        const std::string path = m[1];
        const auto slash = path.find('/');
        const bool ok = slash == std::string::npos
                            ? std::filesystem::exists(file.parent_path() / path)
                            : folders.count(path.substr(0, slash)) != 0;
        EXPECT_TRUE(ok) << file.string() << ":" << number << " includes \"" << path
                        << "\", which is not under src/ (src/README.md, Layers)";
      });
  EXPECT_GT(files, 50);
  EXPECT_GT(includes, 100);
}

// Issue 24 item 2: a stage's torch device is the engine's concern (its
// schema's `device` key, core/device.h): no stage validates, keys or claims
// it itself, so none calls the device helpers of nets/torch_util.h.
TEST(Layers, NoStageHandlesItsDeviceItself) {
  const std::filesystem::path stages = std::filesystem::path(WMGEOM_SOURCE_DIR) / "stages";
  const int files = for_each_source_line(
      stages, false, [](const std::filesystem::path& file, int number, const std::string& line) {
        for (const char* helper :
             {"valid_device_spec", "torch_key_extras", "device_resource", "kDeviceExpectation"}) {
          EXPECT_EQ(line.find(helper), std::string::npos)
              << file.string() << ":" << number << " calls " << helper
              << " (the engine handles devices: core/device.h)";
        }
      });
  EXPECT_GT(files, 40);
}

// Issue 24 item 6: a test lives beside what it tests (src/README.md,
// "Tests"): under tests/ only what tests the project as a whole.
TEST(Layers, TestsLiveBesideWhatTheyTest) {
  namespace fs = std::filesystem;
  const fs::path root = WMGEOM_SOURCE_DIR;
  const std::set<std::string> whole_project = {
      "tests/unit/test_docs.cpp", "tests/unit/test_stage_kit.cpp", "tests/chaos/test_chaos.cpp"};
  std::set<std::string> seen;
  int beside = 0;
  for (const auto& e : fs::recursive_directory_iterator(root / "tests")) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name.rfind("test_", 0) != 0 || e.path().extension() != ".cpp")
      continue;
    if (e.path().parent_path().filename() == "support")
      continue;  // the test stages (test_stages.cpp)
    const std::string rel = fs::relative(e.path(), root).string();
    seen.insert(rel);
    EXPECT_TRUE(whole_project.count(rel))
        << rel << " tests one part: move it beside that part (src/<layer>/ or "
        << "stages/<type>/), src/README.md \"Tests\"";
  }
  EXPECT_EQ(seen, whole_project);
  for (const char* top : {"src", "stages"}) {
    for (const auto& e : fs::recursive_directory_iterator(root / top)) {
      const std::string name = e.path().filename().string();
      beside +=
          e.is_regular_file() && name.rfind("test_", 0) == 0 && e.path().extension() == ".cpp";
    }
  }
  EXPECT_GE(beside, 30);
}

// Issue 24 item 1: typed settings are the stage contract. A stage reads its
// parameters in one place, its settings parser (stages/<type>/settings.cpp,
// `S::from_params`), and every hook receives the settings (StageWith<S>,
// core/stage.h): no other file of a stage's code names the type Params or
// calls a Params getter. Tests, benchmarks and test fixtures may build
// Params to call a stage.
TEST(Layers, StagesReadParametersOnlyInTheirSettingsParser) {
  const std::filesystem::path stages = std::filesystem::path(WMGEOM_SOURCE_DIR) / "stages";
  static const std::regex type("\\bParams\\b");
  static const std::regex getter("\\b(p|params)\\.(b|i|f|s|ints|floats|strings|get)\\(\"");
  int parsers = 0;
  const int files = for_each_source_line(
      stages, true, [&](const std::filesystem::path& file, int number, const std::string& line) {
        const std::string name = file.filename().string();
        if (name == "settings.cpp" && number == 1) ++parsers;
        if (name == "settings.cpp" || name == "settings.h" ||
            name.find("fixtures") != std::string::npos)
          return;
        EXPECT_FALSE(std::regex_search(line, type) || std::regex_search(line, getter))
            << file.string() << ":" << number
            << " reads parameters outside the stage's settings parser "
            << "(stages/<type>/settings.cpp; core/stage.h, StageWith): " << line;
      });
  EXPECT_GT(files, 40);
  EXPECT_GE(parsers, 8);  // one settings parser per stage type
}

}  // namespace
}  // namespace wmgeom::testing
