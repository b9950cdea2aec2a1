// tables.toml, the declaration of the analyze stage's tables (issue 22 item
// 4): it parses, a malformed declaration names its key, and rows that differ
// from it (another column, order or type, an undeclared table, a table of
// another analysis) are refused. That every table a full analysis writes
// matches it: Analyze.ThroughTheEngineWithCausal (test_analyze.cpp).
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "analyze/analyses.h"
#include "analyze/table_schema.h"
#include "core/error.h"

namespace wmgeom::analyze {
namespace {

template <typename E = Error, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TableSchema, TheDeclarationParsesAndNamesEveryAnalysisTable) {
  const auto& specs = table_specs();
  std::set<std::string> names;
  for (const auto& [name, spec] : specs) {
    names.insert(name);
    EXPECT_FALSE(spec.about.empty()) << name;
    // Every table starts with the model's columns (model_columns).
    ASSERT_GE(spec.columns.size(), 4u) << name;
    EXPECT_EQ(spec.columns[0].name, "model");
    EXPECT_EQ(spec.columns[1].name, "rnn");
    EXPECT_EQ(spec.columns[2].name, "regime");
    for (const auto& c : spec.columns) EXPECT_FALSE(c.about.empty()) << name << "." << c.name;
  }
  EXPECT_EQ(names,
            (std::set<std::string>{"causal", "causal_test", "cross_task", "cross_temporal",
                                   "decoding", "dimensionality", "orthogonality",
                                   "orthogonality_bootstrap", "orthogonality_summary", "procrustes",
                                   "procrustes_centroids", "rsa", "temporal_hypotheses"}));
  // A table's note replaces the glossary's meaning there only.
  const auto column = [&](const std::string& table, const std::string& name) {
    for (const auto& c : specs.at(table).columns) {
      if (c.name == name) return c;
    }
    return ColumnSpec{};
  };
  EXPECT_EQ(column("orthogonality_summary", "n").about, "(task, frame) units averaged");
  EXPECT_EQ(column("decoding", "n").about, "mean number of test trials per fold");
  EXPECT_TRUE(column("decoding", "task").text);
  EXPECT_FALSE(column("decoding", "accuracy").text);
}

TEST(TableSchema, MalformedDeclarationsFailNamingTheKey) {
  const std::string glossary =
      "[column.model]\ntype = \"text\"\nabout = \"m\"\n[column.x]\ntype = \"number\"\nabout = "
      "\"x\"\n";
  const std::string table = "[table.t]\nanalysis = \"a\"\nabout = \"t\"\n";
  auto parse = [](const std::string& text) {
    return error_of([&] { parse_table_specs(text, "tables.toml"); });
  };
  EXPECT_EQ(parse(glossary + table + "columns = [\"model\", \"x\"]\n"), "(no error)");
  EXPECT_NE(parse(glossary + table + "columns = [\"model\", \"y\"]\n")
                .find("table.t.columns: column \"y\" is not declared"),
            std::string::npos);
  EXPECT_NE(parse(glossary + table + "columns = [\"model\", \"x\", \"x\"]\n")
                .find("\"x\" is listed twice"),
            std::string::npos);
  EXPECT_NE(
      parse(glossary + table + "columns = [\"model\"]\n").find("column.x is in no table's columns"),
      std::string::npos);
  EXPECT_NE(parse(glossary + "[table.t]\nabout = \"t\"\ncolumns = [\"model\", \"x\"]\n")
                .find("table.t: expected a string `analysis`"),
            std::string::npos);
  EXPECT_NE(parse(glossary + table).find("table.t: expected a non-empty array `columns`"),
            std::string::npos);
  EXPECT_NE(
      parse("[column.model]\ntype = \"int\"\nabout = \"m\"\n" + table + "columns = [\"model\"]\n")
          .find("column.model.type: expected \"number\" or \"text\", found \"int\""),
      std::string::npos);
  EXPECT_NE(parse(glossary + table + "columns = [\"model\", \"x\"]\nnotes = { y = \"?\" }\n")
                .find("table.t.notes: \"y\" is not one of its columns"),
            std::string::npos);
  EXPECT_NE(parse(glossary + table + "columns = [\"model\", \"x\"\n").find("tables.toml:"),
            std::string::npos);
}

// A row shaped like the declared decoding table, with `edit` applied.
Row decoding_row(const std::function<void(Row&)>& edit = {}) {
  Row row;
  for (const auto& c : table_specs().at("decoding").columns) {
    if (c.text) {
      row.emplace_back(c.name, std::string("x"));
    } else {
      row.emplace_back(c.name, 1.0);
    }
  }
  if (edit) edit(row);
  return row;
}

TEST(TableSchema, RowsThatDifferFromTheDeclarationAreRefused) {
  {
    Tables t;
    t["decoding"].add(decoding_row()).add(decoding_row());
    EXPECT_EQ(error_of([&] { check_tables(t, "decoding"); }), "(no error)");
    // Written by another analysis than the one that declares it.
    EXPECT_NE(error_of([&] { check_tables(t, "rsa"); })
                  .find("analysis rsa wrote table \"decoding\", which "
                        "stages/analyze/tables.toml declares as written by decoding"),
              std::string::npos);
  }
  {
    Tables t;
    t["decodings"].add(decoding_row());
    EXPECT_NE(
        error_of([&] {
          check_tables(t, "decoding");
        }).find("wrote table \"decodings\", which stages/analyze/tables.toml does not declare"),
        std::string::npos);
  }
  auto refused = [](const Row& row) {
    Tables t;
    t["decoding"].add(row);
    return error_of([&] { check_tables(t, "decoding"); });
  };
  EXPECT_NE(refused(decoding_row([](Row& r) {
              std::swap(r[3], r[4]);
            })).find("column 3 is \"feature\" where \"task\" is declared"),
            std::string::npos);
  EXPECT_NE(refused(decoding_row([](Row& r) {
              r[6].second = std::string("yes");
            })).find("column \"relevant\" holds text but is declared a number"),
            std::string::npos);
  EXPECT_NE(refused(decoding_row([](Row& r) { r.pop_back(); })).find("\"n_total\" is missing"),
            std::string::npos);
  EXPECT_NE(refused(decoding_row([](Row& r) {
              r.emplace_back("extra", 0.0);
            })).find("\"extra\" is not declared"),
            std::string::npos);
  // A later row unlike the first (same length, other names or types): the
  // builder refuses it (before, only the length was compared and such a row
  // went into the first row's columns).
  TableBuilder b;
  b.add(decoding_row());
  EXPECT_NE(error_of([&] {
              b.add(decoding_row([](Row& r) { std::swap(r[3], r[4]); }));
            }).find("column \"feature\" where the first has \"task\""),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              b.add(decoding_row([](Row& r) { r[7].second = std::string("0"); }));
            }).find("another type"),
            std::string::npos);
  EXPECT_EQ(b.rows(), 1u);
}

TEST(TableSchema, AResultOfAnotherVersionIsInputNamingIt) {
  Tables t;
  t["decoding"].add(decoding_row());
  const Table good = t["decoding"].build();
  EXPECT_EQ(
      error_of<InputError>([&] { check_table("decoding", good, "findings: analysis a[seed=1]"); }),
      "(no error)");
  Table old = good;
  old.columns.erase(old.columns.begin() + 5);  // an older analyze without "relevance"
  EXPECT_NE(
      error_of<InputError>([&] { check_table("decoding", old, "findings: analysis a[seed=1]"); })
          .find("findings: analysis a[seed=1]: table \"decoding\" differs from this wmgeom's "
                "declaration"),
      std::string::npos);
  EXPECT_NE(error_of<InputError>([&] {
              check_table("old_table", good, "findings: analysis a[seed=1]");
            }).find("table \"old_table\" is not one this wmgeom's analyze writes"),
            std::string::npos);
}

}  // namespace
}  // namespace wmgeom::analyze
