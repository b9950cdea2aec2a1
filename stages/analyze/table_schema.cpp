#include "analyze/table_schema.h"

#include <set>

#include <toml++/toml.h>

#include "analyze/analyses.h"
#include "core/embedded.h"
#include "core/error.h"

namespace wmgeom::analyze {

namespace {

const char* kTablesFile = "stages/analyze/tables.toml";

std::string string_at(const toml::table& t, const std::string& key, const std::string& where) {
  const auto* v = t.get_as<std::string>(key);
  if (!v) throw Error(where + ": expected a string `" + key + "`");
  return v->get();
}

}  // namespace

std::map<std::string, TableSpec> parse_table_specs(std::string_view text,
                                                   const std::string& where) {
  toml::table root;
  try {
    root = toml::parse(text, where);
  } catch (const toml::parse_error& e) {
    throw Error(where + ":" + std::to_string(e.source().begin.line) + ": " +
                std::string(e.description()));
  }
  // The glossary: each column's type and its meaning wherever a table does
  // not give its own.
  std::map<std::string, ColumnSpec> glossary;
  const auto* columns = root["column"].as_table();
  if (!columns) throw Error(where + ": expected a [column.NAME] glossary");
  for (const auto& [key, node] : *columns) {
    const std::string name(key.str()), at = where + ": column." + name;
    const auto* c = node.as_table();
    if (!c) throw Error(at + ": expected a table with `type` and `about`");
    ColumnSpec spec;
    spec.name = name;
    const std::string type = string_at(*c, "type", at);
    if (type != "number" && type != "text")
      throw Error(at + ".type: expected \"number\" or \"text\", found \"" + type + "\"");
    spec.text = type == "text";
    spec.about = string_at(*c, "about", at);
    glossary[name] = spec;
  }
  std::map<std::string, TableSpec> out;
  const auto* tables = root["table"].as_table();
  if (!tables || tables->empty()) throw Error(where + ": expected [table.NAME] declarations");
  for (const auto& [key, node] : *tables) {
    TableSpec spec;
    spec.name = std::string(key.str());
    const std::string at = where + ": table." + spec.name;
    const auto* t = node.as_table();
    if (!t) throw Error(at + ": expected a table");
    spec.analysis = string_at(*t, "analysis", at);
    spec.about = string_at(*t, "about", at);
    const auto* list = t->get_as<toml::array>("columns");
    if (!list || list->empty()) throw Error(at + ": expected a non-empty array `columns`");
    const auto* notes = t->get_as<toml::table>("notes");
    std::set<std::string> seen;
    for (const auto& item : *list) {
      const auto* name = item.as_string();
      if (!name) throw Error(at + ".columns: expected column names (strings)");
      auto g = glossary.find(name->get());
      if (g == glossary.end())
        throw Error(at + ".columns: column \"" + name->get() + "\" is not declared under [column]");
      if (!seen.insert(name->get()).second)
        throw Error(at + ".columns: column \"" + name->get() + "\" is listed twice");
      ColumnSpec c = g->second;
      if (notes) {
        if (const auto* n = notes->get_as<std::string>(c.name)) c.about = n->get();
      }
      spec.columns.push_back(std::move(c));
    }
    if (notes) {
      for (const auto& [k, v] : *notes) {
        if (!seen.count(std::string(k.str())))
          throw Error(at + ".notes: \"" + std::string(k.str()) + "\" is not one of its columns");
      }
    }
    out[spec.name] = std::move(spec);
  }
  for (const auto& [name, c] : glossary) {
    bool used = false;
    for (const auto& [t, spec] : out) {
      for (const auto& col : spec.columns) used = used || col.name == name;
    }
    if (!used) throw Error(where + ": column." + name + " is in no table's columns");
  }
  return out;
}

const std::map<std::string, TableSpec>& table_specs() {
  static const std::map<std::string, TableSpec> specs = [] {
    const auto text = embedded_file(kTablesFile);
    if (!text) throw Error(std::string(kTablesFile) + " is not compiled into this binary");
    return parse_table_specs(*text, kTablesFile);
  }();
  return specs;
}

namespace {

std::string describe(const std::vector<std::pair<std::string, bool>>& got, const TableSpec& want) {
  for (std::size_t c = 0; c < std::max(got.size(), want.columns.size()); ++c) {
    if (c >= got.size())
      return "column " + std::to_string(c) + " \"" + want.columns[c].name + "\" is missing";
    if (c >= want.columns.size())
      return "column " + std::to_string(c) + " \"" + got[c].first + "\" is not declared";
    if (got[c].first != want.columns[c].name) {
      return "column " + std::to_string(c) + " is \"" + got[c].first + "\" where \"" +
             want.columns[c].name + "\" is declared";
    }
    if (got[c].second != want.columns[c].text) {
      return "column \"" + got[c].first + "\" holds " + (got[c].second ? "text" : "numbers") +
             " but is declared " + (want.columns[c].text ? "text" : "a number");
    }
  }
  return "";
}

}  // namespace

void check_tables(const std::map<std::string, TableBuilder>& tables, const std::string& analysis) {
  const auto& specs = table_specs();
  for (const auto& [name, builder] : tables) {
    if (builder.empty()) continue;
    auto it = specs.find(name);
    if (it == specs.end()) {
      throw Error("analyze: analysis " + analysis + " wrote table \"" + name + "\", which " +
                  kTablesFile + " does not declare");
    }
    if (it->second.analysis != analysis) {
      throw Error("analyze: analysis " + analysis + " wrote table \"" + name + "\", which " +
                  kTablesFile + " declares as written by " + it->second.analysis);
    }
    const std::string wrong = describe(builder.columns(), it->second);
    if (!wrong.empty())
      throw Error("analyze: table \"" + name + "\" (" + kTablesFile + "): " + wrong);
  }
}

void check_table(const std::string& name, const Table& table, const std::string& what) {
  const auto& specs = table_specs();
  auto it = specs.find(name);
  if (it == specs.end()) {
    throw InputError(what + ": table \"" + name + "\" is not one this wmgeom's analyze writes (" +
                     kTablesFile + "): rerun the analysis with this wmgeom");
  }
  std::vector<std::pair<std::string, bool>> got;
  for (const auto& c : table.columns) got.emplace_back(c, table.text.count(c) != 0);
  const std::string wrong = describe(got, it->second);
  if (!wrong.empty()) {
    throw InputError(what + ": table \"" + name + "\" differs from this wmgeom's declaration (" +
                     kTablesFile + "): " + wrong + "; rerun the analysis with this wmgeom");
  }
}

}  // namespace wmgeom::analyze
