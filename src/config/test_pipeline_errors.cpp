// Malformed pipelines: each case asserts exit code 2, nothing run, and a
// message substring with the file:line of the offending key (Arrow style).
#include <gtest/gtest.h>

#include "graph/registry.h"
#include "test_stages.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

const StageRegistry& registry() { return test_registry(); }

struct BadCase {
  const char* name;
  const char* toml;
  std::vector<std::string> sets;
  std::vector<std::string> expected;  // substrings of stderr
};

// ctest shows the case name, not the struct's bytes.
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

const char* kHeader = "[pipeline]\nname = \"t\"\n\n";

std::vector<BadCase> cases() {
  // Generated files, kept alive for the cases' pointers.
  auto parts = [](int n, const char* sep) {
    std::string k = "x";
    for (int i = 0; i < n; ++i) k += std::string(sep) + "a";
    return k;
  };
  static const std::string deep_key = std::string(kHeader) + parts(300, ".") + " = 1\n";
  static const std::string deep_header =
      std::string(kHeader) + "[stage.a]\ntype = \"source\"\n[" + parts(300, " . ") + "]\n";
  static const std::string deep_set = "stage.a." + parts(300, ".") + "=1";
  static const std::string huge_sweep = [] {
    std::string n, seed;
    for (int i = 1; i <= 101; ++i) n += (i > 1 ? ", " : "") + std::to_string(i);
    for (int i = 1; i <= 100; ++i) seed += (i > 1 ? ", " : "") + std::to_string(i);
    return std::string(kHeader) + "[stage.a]\ntype = \"source\"\nsweep = { n = [" + n +
           "], seed = [" + seed + "] }\n";
  }();
  return {
      // toml++ recursed once per part and overflowed the stack (a segfault).
      {"key_too_deep",
       deep_key.c_str(),
       {},
       {"p.toml:4:1: error: a key of more than 256 dotted parts"}},
      {"table_header_too_deep",
       deep_header.c_str(),
       {},
       {"p.toml:6:2: error: a key of more than 256 dotted parts"}},
      {"set_key_too_deep",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n",
       {deep_set},
       {"--set[1]:1:1: error: ", "a key of more than 256 dotted parts"}},
      {"syntax_unclosed_string",
       "[pipeline]\nname = \"t\n",
       {},
       {"p.toml:2:", "TOML syntax error"}},
      // toml++ says "cannot redefine existing integer '"nn" '" for a quoted
      // key given twice: said in our words, at the key.
      {"duplicate_quoted_key",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nn = 2\n  \"n\" = 3\n",
       {},
       {"p.toml:6:3: error: TOML syntax error: key \"n\" clashes with one already defined in this "
        "table (an "
        "integer); each key may be given once"}},
      {"duplicate_key",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nn = 2\nn = 3\n",
       {},
       {"p.toml:6:1: error: TOML syntax error: key n clashes with one already defined in this "
        "table (an "
        "integer)"}},
      {"duplicate_table",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n[stage.a]\nn = 2\n",
       {},
       {"p.toml:5:1: error: TOML syntax error: table [stage.a] is defined twice, or its name is "
        "already a table"}},
      {"duplicate_key_in_inline_table",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\nmore = { a = 1, "
       "\"a\" = 2 }\n",
       {},
       {"p.toml:6:17: error: TOML syntax error: key \"a\" clashes with one already defined in this "
        "table (an "
        "integer)"}},
      {"duplicate_key_then_comment",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nn = 2\n n = 3 # n = 4\n",
       {},
       {"p.toml:6:2: error: TOML syntax error: key n clashes with one already defined in this "
        "table (an "
        "integer)"}},
      // Columns are characters: the key is found after non-ASCII text too.
      {"duplicate_key_after_utf8",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\nmore = { s = "
       "\"\xc3\xa9\xc3\xa9\", a = 1, b = 2, a = 3 }\n",
       {},
       {"p.toml:6:34: error: TOML syntax error: key a clashes with one already defined in this "
        "table (an integer)"}},
      // toml++ names no key here, and says it right: its text stands.
      {"dotted_key_through_a_value",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nn = 2\nn.x = 1\n",
       {},
       {"p.toml:6:1: error: TOML syntax error: Error while parsing key-value pair: cannot "
        "redefine existing integer as dotted key-value pair"}},
      // A header through a key is reported by toml++ on the next line: its
      // own text stands (no key named from the wrong line).
      {"header_through_a_key",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n[stage.a.type.x]\nn = 1\n",
       {},
       {"TOML syntax error: Error while parsing table header"}},
      {"key_then_table",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nn.x = 1\nn = 2\n",
       {},
       {"p.toml:6:1: error: TOML syntax error: key n clashes with one already defined in this "
        "table (a "
        "table)"}},
      {"syntax_bad_table",
       "[pipeline]\nname = \"t\"\n[stage.a\ntype = \"source\"\n",
       {},
       {"p.toml:3:", "syntax error"}},
      {"syntax_duplicate_key",
       "[pipeline]\nname = \"t\"\nname = \"u\"\n",
       {},
       {"p.toml:3:", "syntax error"}},
      {"missing_pipeline_table",
       "[stage.a]\ntype = \"source\"\n",
       {},
       {"p.toml:1:1: error: pipeline: missing [pipeline] table"}},
      {"missing_pipeline_name",
       "[pipeline]\nseed = 1\n",
       {},
       {"p.toml:1:1: error: pipeline.name: missing required key"}},
      {"pipeline_name_not_string",
       "[pipeline]\nname = 5\n",
       {},
       {"p.toml:2:8: error: pipeline.name: expected a string", "1 error in"}},
      {"pipeline_name_bad_characters",
       "[pipeline]\nname = \"../x\"\n",
       {},
       {"p.toml:2:8: error: pipeline.name: expected letters, digits"}},
      {"unknown_top_level",
       "[pipeline]\nname = \"t\"\n[stages.a]\ntype = \"source\"\n",
       {},
       {"p.toml:3:", "stages: unknown top-level key", "did you mean \"stage\""}},
      {"unknown_pipeline_key",
       "[pipeline]\nname = \"t\"\nsed = 3\n",
       {},
       {"p.toml:3:1: error: pipeline.sed: unknown key", "did you mean \"seed\""}},
      {"pipeline_seed_type",
       "[pipeline]\nname = \"t\"\nseed = \"x\"\n",
       {},
       {"p.toml:3:8: error: pipeline.seed: expected an integer >= 0, found string \"x\""}},
      {"stage_not_table",
       "[pipeline]\nname = \"t\"\n[stage]\na = 3\n",
       {},
       {"p.toml:4:", "stage.a: expected a table, found integer 3"}},
      {"missing_type",
       "[pipeline]\nname = \"t\"\n[stage.a]\nn = 3\n",
       {},
       {"p.toml:3:", "stage.a.type: expected a stage type name (string), missing"}},
      {"unknown_type",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"sourc\"\n",
       {},
       {"p.toml:4:8: error: stage.a.type: unknown stage type \"sourc\"",
        "did you mean \"source\""}},
      {"unknown_key",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nm = 3\n",
       {},
       {"p.toml:5:1: error: stage.a.m: unknown key for stage type source", "did you mean \"n\""}},
      {"wrong_type_int",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nn = \"four\"\n",
       {},
       {"p.toml:5:5: error: stage.a.n: expected an integer in [1, 1e+06], found string \"four\""}},
      {"wrong_type_float_for_int",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nn = 2.5\n",
       {},
       {"p.toml:5:5: error: stage.a.n: expected an integer", "found float 2.5"}},
      {"int_out_of_range",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nn = 0\n",
       {},
       {"p.toml:5:5: error: stage.a.n: expected an integer in [1, 1e+06], found 0"}},
      {"float_out_of_range",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n[stage.b]\ntype = \"scale\"\nx = "
       "\"a\"\nfactor = 5000.0\n",
       {},
       {"p.toml:8:10: error: stage.b.factor: expected a finite number in [-1000, 1000], found "
        "5000"}},
      // grad_clip = inf was accepted while nan was refused: no parameter
      // means anything by an infinite number.
      {"float_infinite",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nvalue = inf\n",
       {},
       {"p.toml:5:9: error: stage.a.value: expected a finite number, found inf"}},
      {"float_minus_infinite",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nvalue = -inf\n",
       {},
       {"p.toml:5:9: error: stage.a.value: expected a finite number, found -inf"}},
      {"bool_wrong_type",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\nflag = 1\n",
       {},
       {"p.toml:6:8: error: stage.k.flag: expected a boolean (true or false), found integer 1"}},
      {"bad_choice",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\nmode = \"fats\"\n",
       {},
       {"p.toml:6:8: error: stage.k.mode: expected one of \"fast\", \"slow\", found \"fats\"",
        "did you mean \"fast\""}},
      {"list_item_range",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\nsizes = [1, 200]\n",
       {},
       {"p.toml:6:9: error: stage.k.sizes: expected a list of at least 1 integers in [1, 100], "
        "found item 200"}},
      {"list_empty",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\nsizes = []\n",
       {},
       {"p.toml:6:9: error: stage.k.sizes:", "found 0 items"}},
      {"list_wrong_item_type",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\nrates = [0.5, "
       "\"x\"]\n",
       {},
       {"p.toml:6:9: error: stage.k.rates: expected a list of finite numbers in [0, 1], found "
        "string \"x\" (item 2 of 2)"}},
      {"int_list_wrong_item_type",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\nsizes = [2, "
       "\"seven\", 3]\n",
       {},
       {"p.toml:6:9: error: stage.k.sizes: expected a list of at least 1 integers in [1, 100], "
        "found string \"seven\" (item 2 of 3)"}},
      {"list_item_a_table",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\nsizes = [{a = "
       "1}]\n",
       {},
       {"p.toml:6:9: error: stage.k.sizes:", "found a table (item 1 of 1)"}},
      {"list_string_choice",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\ntasks = [\"loc-1\", "
       "\"loc-9\"]\n",
       {},
       {"p.toml:6:9: error: stage.k.tasks:", "found item \"loc-9\""}},
      {"list_too_long",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\ntasks = [\"loc-1\", "
       "\"cat-1\", \"id-1\", \"loc-1\"]\n",
       {},
       {"p.toml:6:9: error: stage.k.tasks: expected a list of 1 to 3 strings", "found 4 items"}},
      {"missing_required_param",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\n",
       {},
       {"p.toml:3:8: error: stage.k.name: missing required parameter"}},
      {"missing_path",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\nfile = "
       "\"no/such/file.obj\"\n",
       {},
       {"p.toml:6:8: error: stage.k.file: path does not exist:", "no/such/file.obj"}},
      {"cross_param_validate",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\nlo = 0.9\nhi = "
       "0.1\n",
       {},
       {"p.toml:6:6: error: stage.k.lo: expected lo < hi"}},
      // The relation broken by a --set: reported at the file's lo, and
      // saying that hi came from the command line.
      {"cross_param_validate_by_set",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\nlo = 0.5\nhi = "
       "0.9\n",
       {"stage.k.hi=0.1"},
       {"p.toml:6:6: error: stage.k.lo: expected lo < hi, found lo = 0.5 and hi = 0.1 (set on the "
        "command line: hi by --set[1])"}},
      {"missing_input",
       "[pipeline]\nname = \"t\"\n[stage.b]\ntype = \"scale\"\n",
       {},
       {"p.toml:3:8: error: stage.b.x: missing input: expected the name of a stage producing "
        "Numbers"}},
      {"unknown_input",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n[stage.b]\ntype = \"scale\"\nx = "
       "\"aa\"\n",
       {},
       {"p.toml:7:5: error: stage.b.x: no stage named \"aa\"", "did you mean \"a\""}},
      {"input_not_string",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n[stage.b]\ntype = \"scale\"\nx = "
       "3\n",
       {},
       {"p.toml:7:5: error: stage.b.x: expected the name of one upstream stage producing Numbers, "
        "found integer 3",
        "1 error in"}},  // not also "missing input": it is there, of the wrong type
      {"single_port_given_list",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n[stage.b]\ntype = \"scale\"\nx = "
       "[\"a\", \"a\"]\n",
       {},
       {"p.toml:7:5: error: stage.b.x: expected the name of one upstream stage"}},
      {"port_kind_mismatch",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n[stage.b]\ntype = "
       "\"needs_text\"\ntext = \"a\"\n",
       {},
       {"p.toml:7:8: error: stage.b.text: expected a stage producing Text, but \"a\" (type source) "
        "produces Numbers"}},
      {"cycle_two",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"scale\"\nx = \"b\"\n[stage.b]\ntype = "
       "\"scale\"\nx = \"a\"\n",
       {},
       {"p.toml:", "inputs form a cycle"}},
      {"cycle_self",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"scale\"\nx = \"a\"\n",
       {},
       {"p.toml:5:5: error: stage.a.x: inputs form a cycle: a <- a"}},
      {"sweep_not_table",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nsweep = [1, 2]\n",
       {},
       {"p.toml:5:9: error: stage.a.sweep: expected a table"}},
      {"sweep_unknown_key",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nsweep = { sed = [1, 2] }\n",
       {},
       {"p.toml:5:11: error: stage.a.sweep.sed: unknown key", "did you mean \"seed\""}},
      {"sweep_bad_value",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nsweep = { n = [2, -1] }\n",
       {},
       {"p.toml:5:19: error: stage.a.sweep.n: expected an integer in [1, 1e+06], found -1"}},
      {"sweep_empty",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nsweep = { n = [] }\n",
       {},
       {"p.toml:5:15: error: stage.a.sweep.n: expected a non-empty list"}},
      {"sweep_zip_unequal",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nsweep = { zip = { n = [1, 2, 3], "
       "value = [0.5, 1.5] } }\n",
       {},
       {"p.toml:5:17: error: stage.a.sweep.zip: the lists of a zip are paired index by index and "
        "must have one length; n has 3, value has 2 values"}},
      {"sweep_table_empty",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nsweep = {}\n",
       {},
       {"p.toml:5:9: error: stage.a.sweep: expected at least one PARAM = [values...]"}},
      {"sweep_zip_empty",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nsweep = { zip = {} }\n",
       {},
       {"p.toml:5:17: error: stage.a.sweep.zip: expected PARAM = [values...] lists to pair"}},
      {"sweep_value_twice",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nsweep = { n = [2, 3, 2] }\n",
       {},
       {"p.toml:5:22: error: stage.a.sweep.n: the value 2 is listed twice (items 1 and 3): the "
        "same instance twice"}},
      {"sweep_zip_pair_twice",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nsweep = { zip = { n = [1, 2, 1], "
       "value = [0.5, 1.5, 0.5] } }\n",
       {},
       {"p.toml:5:17: error: stage.a.sweep.zip: entries 1 and 3 of the zip are equal in every "
        "list"}},
      {"sweep_and_fixed",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nn = 3\nsweep = { n = [1, 2] }\n",
       {},
       {"p.toml:5:5: error: stage.a.n: set here and swept (sweep.n)"}},
      {"sweep_too_many_instances",
       huge_sweep.c_str(),
       {},
       {"p.toml:6:9: error: stage.a.sweep: makes more than 10000 instances of this stage"}},
      {"sweep_zip_not_table",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nsweep = { zip = [1, 2] }\n",
       {},
       {"p.toml:5:17: error: stage.a.sweep.zip: expected a table {PARAM = [values...], PARAM = "
        "[values...]}"}},
      {"sweep_zip_unknown_key",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nsweep = { zip = { n = [1], valeu = "
       "[0.5] } }\n",
       {},
       {"p.toml:5:28: error: stage.a.sweep.zip.valeu: unknown key", "did you mean \"value\""}},
      {"sweep_twice",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nsweep = { n = [1, 2], zip = { n = "
       "[3, 4], value = [0.5, 1.5] } }\n",
       {},
       {"p.toml:5:31: error: stage.a.sweep.zip.n: \"n\" is swept twice"}},
      {"sweep_zip_second_group",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nsweep = { zip = [{ n = [1] }, { "
       "value = [0.5, 1.5], seed = [1] }] }\n",
       {},
       {"p.toml:5:31: error: stage.a.sweep.zip[1]: the lists of a zip",
        "seed has 1, value has 2 values"}},
      {"each_not_each",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n[stage.s]\ntype = \"sum\"\nxs = { "
       "all = \"a\" }\n",
       {},
       {"p.toml:7:6: error: stage.s.xs: expected { each = \"STAGE\" } or { each = [\"STAGE\", ...] "
        "}"}},
      {"each_on_single_port",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n[stage.b]\ntype = \"scale\"\nx = { "
       "each = \"a\" }\n",
       {},
       {"p.toml:7:5: error: stage.b.x: expected the name of one upstream stage"}},
      {"each_unknown_stage",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n[stage.s]\ntype = \"sum\"\nxs = { "
       "each = \"aa\" }\n",
       {},
       {"stage.s.xs: no stage named \"aa\"", "did you mean \"a\""}},
      {"each_stage_twice",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nsweep = { seed = [1] "
       "}\n[stage.s]\ntype = \"sum\"\nxs = { each = [\"a\", \"a\"] }\n",
       {},
       {"stage.s.xs: each: \"a[seed=1]\" and \"a[seed=1]\" have the same sweep labels"}},
      {"bad_stage_name",
       "[pipeline]\nname = \"t\"\n[stage.\"my stage\"]\ntype = \"source\"\n",
       {},
       {"p.toml:3:", "stage names use letters"}},
      {"set_bad_value",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n",
       {"stage.a.n=-3"},
       {"--set[1]:1:", "stage.a.n: expected an integer in [1, 1e+06], found -3"}},
      {"set_unknown_stage",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n",
       {"stage.b.n=3"},
       {"--set[1]:1:7: error: stage.b.n: no stage named \"b\""}},
      {"set_unknown_key",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n",
       {"stage.a.nn=3"},
       {"--set[1]:1:", "stage.a.nn: unknown key", "did you mean \"n\""}},
      {"set_no_equals",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n",
       {"stage.a.n"},
       {"--set[1]:1:1: error: expected KEY=VALUE"}},
      {"set_wrong_root",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n",
       {"foo.a=1"},
       {"--set[1]:1:1: error: foo.a: expected a key under stage.NAME. or pipeline."}},
      {"set_integer_too_large",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n",
       {"stage.a.n=99999999999999999999"},
       {"--set[1]:1:11: error: stage.a.n: expected an integer of at most 64 bits, found "
        "99999999999999999999"}},
      {"set_bare_string_for_int",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\n",
       {"stage.a.n=many"},
       {"--set[1]:1:", "stage.a.n: expected an integer", "found string \"many\""}},
      {"set_one_instance",
       "[pipeline]\nname = \"t\"\n[stage.a]\ntype = \"source\"\nsweep = { n = [1, 2] }\n",
       {"stage.a[n=1].value=0.5"},
       {"--set[1]:1:8: error: stage.a: expected stage.NAME.KEY=VALUE, which sets KEY in every "
        "instance of NAME: an override names neither one instance of a sweep"}},
      {"set_one_list_item",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\n",
       {"stage.k.sizes[1]=5"},
       {"--set[1]:1:14: error: stage.k.sizes: expected stage.NAME.KEY=VALUE",
        "to change a list, "
        "give the whole list"}},
      // A --set the broken relation does not name is not blamed.
      {"cross_param_validate_other_set",
       "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\nlo = 0.5\nhi = "
       "0.1\n",
       {"stage.k.mode=\"slow\""},
       {"p.toml:6:6: error: stage.k.lo: expected lo < hi, found lo = 0.5 and hi = 0.1\n"}},
  };
}

class PipelineErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(PipelineErrors, ExitTwoWithLocatedMessage) {
  const BadCase& c = GetParam();
  TempDir dir;
  std::string file = (dir / "p.toml").string();
  write_file(file, c.toml);
  std::vector<std::string> args = {
      "run", file, "--cache-dir", (dir / "cache").string(), "--out", (dir / "out").string()};
  for (const auto& s : c.sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  CliResult r = run_cli(args, registry());
  EXPECT_EQ(r.code, 2) << r.err;
  for (const auto& e : c.expected)
    EXPECT_NE(r.err.find(e), std::string::npos) << "missing: " << e << "\nstderr:\n" << r.err;
  EXPECT_NE(r.err.find("nothing was run"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "cache" / "v1"))
      << "a stage ran on an invalid pipeline";
  // `validate` reports the same, with the same exit code.
  args[0] = "validate";
  args.erase(args.begin() + 2, args.begin() + 6);
  CliResult v = run_cli(args, registry());
  EXPECT_EQ(v.code, 2);
  EXPECT_EQ(v.err, r.err);
}

INSTANTIATE_TEST_SUITE_P(Cases, PipelineErrors, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(PipelineErrorsAll, EveryProblemIsReportedInOnePass) {
  TempDir dir;
  std::string file = (dir / "p.toml").string();
  write_file(file,
             "[pipeline]\nname = \"t\"\n"
             "[stage.a]\ntype = \"source\"\nn = 0\nvalu = 2\n"  // lines 3-6
             "[stage.b]\ntype = \"scale\"\nx = \"nope\"\n"      // lines 7-9
             "[stage.c]\ntype = \"kitchen\"\nmode = \"x\"\n");  // lines 10-12
  CliResult r = run_cli({"validate", file}, registry());
  EXPECT_EQ(r.code, 2);
  for (const char* e : {"p.toml:5:5: error: stage.a.n", "p.toml:6:1: error: stage.a.valu",
                        "p.toml:9:5: error: stage.b.x", "p.toml:12:8: error: stage.c.mode",
                        "p.toml:10:8: error: stage.c.name", "5 errors"}) {
    EXPECT_NE(r.err.find(e), std::string::npos) << "missing: " << e << "\n" << r.err;
  }
}

TEST(PipelineErrorsAll, MissingFile) {
  CliResult r = run_cli({"validate", "/no/such/pipeline.toml"}, registry());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("/no/such/pipeline.toml: error: cannot read pipeline file"),
            std::string::npos)
      << r.err;
  // A folder opens and reads as an empty file: it was "missing [pipeline] table".
  TempDir dir;
  r = run_cli({"validate", dir.path().string()}, registry());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(dir.path().string() + ": error: is a folder; expected a pipeline file"),
            std::string::npos)
      << r.err;
}

TEST(PipelineErrorsAll, OnlyUnknownStage) {
  TempDir dir;
  std::string file = (dir / "p.toml").string();
  write_file(file, std::string(kHeader) + "[stage.a]\ntype = \"source\"\n");
  CliResult r = run_cli({"run", file, "--only", "zz", "--cache-dir", (dir / "c").string(), "--out",
                         (dir / "o").string()},
                        registry());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no stage or instance named \"zz\""), std::string::npos) << r.err;
  // One message for every command that names a stage (Plan::unknown_selection):
  // run --only, export and explain say the same, with the closest name.
  const std::string want =
      "error: no stage or instance named \"b\" in " + file + " (did you mean \"a\"?; stages: a)";
  const std::vector<std::vector<std::string>> commands = {
      {"run", file, "--only", "b", "--cache-dir", (dir / "c").string(), "--out",
       (dir / "o").string()},
      {"export", file, "b", (dir / "x").string(), "--cache-dir", (dir / "c").string()},
      {"cache", "explain", file, "b", "--cache-dir", (dir / "c").string()}};
  for (const auto& args : commands) {
    CliResult typo = run_cli(args, registry());
    EXPECT_EQ(typo.code, 2) << args[0];
    EXPECT_NE(typo.err.find(want), std::string::npos) << args[0] << ": " << typo.err;
  }
}

TEST(PipelineErrorsAll, UnknownCliOptionIsUsageError) {
  CliResult r = run_cli({"run", "--frobnicate"}, registry());
  EXPECT_EQ(r.code, 2);
}

}  // namespace
}  // namespace wmgeom::testing
