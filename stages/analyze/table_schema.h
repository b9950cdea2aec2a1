// The analyze stage's tables, declared in stages/analyze/tables.toml (the
// single source of their names, writers and columns; compiled into the
// binary). Each per-model analysis's rows are checked against it as soon as
// the analysis has run, and the findings stage checks the tables it merges.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/artifacts.h"

namespace wmgeom::analyze {

class TableBuilder;

struct ColumnSpec {
  std::string name;
  bool text = false;  // a text column; otherwise numeric (double, NaN where undefined)
  std::string about;  // its meaning in this table
};

struct TableSpec {
  std::string name;
  std::string analysis;  // the per-model analysis that writes it (analyze.cpp's kPerModel names)
  std::string about;
  std::vector<ColumnSpec> columns;  // in order
};

// Parses a tables.toml text (`where` names it in errors). Throws Error naming
// the key when it is malformed: a table without `analysis` or `columns`, a
// column not declared under [column], a type other than "number" or "text".
std::map<std::string, TableSpec> parse_table_specs(std::string_view toml, const std::string& where);

// The declared tables (the embedded stages/analyze/tables.toml), parsed once.
const std::map<std::string, TableSpec>& table_specs();

// Checks the tables that the per-model analysis `analysis` just wrote: each
// is declared as written by it, and every row has exactly the declared
// columns, in order, with their types. A mismatch is a bug of ours (Error,
// naming the table and the column), never the user's input.
void check_tables(const std::map<std::string, TableBuilder>& tables, const std::string& analysis);

// Checks a built table of an analysis result against its declaration (the
// findings stage, on results it did not compute). `what` names the result in
// the error: InputError, since a result of another wmgeom version is input.
void check_table(const std::string& name, const Table& table, const std::string& what);

}  // namespace wmgeom::analyze
