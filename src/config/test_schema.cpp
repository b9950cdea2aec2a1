#include <gtest/gtest.h>

#include "config/schema.h"
#include "core/error.h"
#include "graph/registry.h"
#include "test_stages.h"

namespace wmgeom {
namespace {

TEST(Schema, ParsesEveryField) {
  StageSchema s = parse_schema(R"(
[stage]
type = "demo"
version = 4
output = "Numbers"
items = "things"
doc = "A demo."
[input.a]
kind = "Numbers"
many = true
max_instances = 1
hint = "Read {stage} in a reduce."
doc = "In."
[param.k]
type = "list<int>"
default = [1, 2]
min = 0
max = 9
min_items = 1
max_items = 4
doc = "K."
[param.seed]
type = "int"
default_from = "pipeline.seed"
doc = "Seed."
[param.t]
type = "int"
default = 0
hashed = false
doc = "Threads."
)",
                               "demo.toml");
  EXPECT_EQ(s.type, "demo");
  EXPECT_EQ(s.version, 4);
  EXPECT_EQ(s.items, "things");
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_TRUE(s.inputs[0].many);
  EXPECT_EQ(s.inputs[0].max_instances, 1);
  EXPECT_EQ(s.inputs[0].hint, "Read {stage} in a reduce.");
  ASSERT_NE(s.param("k"), nullptr);
  EXPECT_EQ(s.param("k")->expectation(), "expected a list of 1 to 4 integers in [0, 9]");
  EXPECT_TRUE(s.param("seed")->default_from_seed);
  EXPECT_FALSE(s.param("seed")->required());
  EXPECT_FALSE(s.param("t")->hashed);
  std::string doc = describe_schema(s);
  EXPECT_NE(doc.find("k (list<int>) = [1, 2]"), std::string::npos) << doc;
  EXPECT_NE(doc.find("[not in cache key]"), std::string::npos);
}

TEST(Schema, MalformedSchemasFailLoudly) {
  auto bad = [](const std::string& text, const std::string& what) {
    try {
      parse_schema(text, "x.toml");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  bad("[stage]\nversion = 1\n", "stage.type: missing");
  bad("[stage]\ntype = \"x\"\n[param.a]\ntype = \"integer\"\ndoc = \"d\"\n",
      "unknown parameter type");
  bad("[stage]\ntype = \"x\"\n[param.a]\ntype = \"int\"\ndefault = \"s\"\ndoc = \"d\"\n",
      "param.a.default");
  bad("[stage]\ntype = \"x\"\n[param.a]\ntype = \"int\"\ndefault = 50\nmax = 10\ndoc = \"d\"\n",
      "param.a.default");
  bad("[stage]\ntype = \"x\"\n[param.a]\ntype = \"int\"\ndefault = 1\n", "doc string");
  bad("[stage]\ntype = \"x\"\n[param.a]\ntype = \"int\"\ndefualt = 1\ndoc = \"d\"\n",
      "param.a.defualt: unknown schema key");
  bad("[stage]\ntype = \"x\"\n[input.a]\nmany = true\n", "input.a.kind: missing");
  bad("[stage]\ntype = \"x\"\n[input.a]\nkind = \"N\"\nmax_instances = 1\n",
      "input.a.max_instances: only a `many` port");
  bad("[stage]\ntype = \"x\"\n[input.a]\nkind = \"N\"\nmany = true\nmax_instances = 0\n",
      "input.a.max_instances: expected an integer >= 1");
  // used_when names another string parameter with choices, values among
  // them, and needs a default.
  const std::string mode =
      "[stage]\ntype = \"x\"\n[param.mode]\ntype = \"string\"\ndefault = \"a\"\nchoices = "
      "[\"a\", \"b\"]\ndoc = \"d\"\n[param.p]\ntype = \"int\"\ndoc = \"d\"\n";
  bad(mode + "default = 1\nused_when = { nope = [\"a\"] }\n",
      "param.p.used_when.nope: must name another string parameter with choices");
  bad(mode + "default = 1\nused_when = { mode = [\"c\"] }\n",
      "param.p.used_when.mode: \"c\" is not one of mode's choices");
  bad(mode + "default = 1\nused_when = { mode = [] }\n", "a non-empty list of strings");
  bad(mode + "default = 1\nused_when = \"mode\"\n", "param.p.used_when: expected one parameter");
  bad(mode + "used_when = { mode = [\"b\"] }\n", "param.p.used_when: needs a default");
  const StageSchema ok = parse_schema(mode + "default = 1\nused_when = { mode = [\"b\"] }\n", "x");
  EXPECT_EQ(ok.param("p")->used_when, "mode");
  EXPECT_EQ(ok.param("p")->used_values, (std::vector<std::string>{"b"}));
  EXPECT_NE(describe_schema(ok).find("[read only when mode is b]"), std::string::npos);
}

TEST(Registry, DuplicateAndMismatchedTypesAreErrors) {
  StageRegistry r;
  testing::register_test_stages(r);
  EXPECT_THROW(testing::register_test_stages(r), Error);
  EXPECT_NE(r.find("source"), nullptr);
  EXPECT_EQ(r.find("nope"), nullptr);
}

TEST(Registry, RealStagesHaveValidEmbeddedSchemas) {
  // Every stage schema (stages/<type>/schema.toml) parses, and every registered type has one.
  StageRegistry r;
  testing::register_test_stages(r);
  for (const auto& t : r.types()) EXPECT_FALSE(r.find(t)->schema.doc.empty()) << t;
}

}  // namespace
}  // namespace wmgeom
