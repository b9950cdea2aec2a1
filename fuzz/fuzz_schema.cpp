// fuzz_schema: a stage schema file (stages/<type>/schema.toml grammar,
// src/config/schema.h) through parse_schema and describe_schema (what
// `wmgeom stages TYPE` prints); a schema that parses is then used to load a
// small pipeline with one stage of that type (defaults, required keys,
// default_from = "pipeline.seed", path resolution). Contract: a malformed
// schema throws wmgeom::Error naming the key, nothing else.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/diagnostics.h"
#include "config/pipeline.h"
#include "config/schema.h"
#include "core/error.h"
#include "fuzz_util.h"

using namespace wmgeom;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  StageSchema schema;
  try {
    schema = parse_schema(text, "fuzz/schema.toml");
  } catch (const Error& e) {
    WMGEOM_FUZZ_CHECK(std::string_view(e.what()).find("fuzz/schema.toml") !=
                      std::string_view::npos);
    return 0;
  }
  WMGEOM_FUZZ_CHECK(!schema.type.empty());
  const std::string doc = describe_schema(schema);
  WMGEOM_FUZZ_CHECK(!doc.empty());
  for (const auto& p : schema.params) {
    WMGEOM_FUZZ_CHECK(schema.param(p.name) != nullptr);
    (void)p.expectation();
  }

  SchemaLookup lookup{[&](std::string_view) { return &schema; }, {schema.type}};
  Diagnostics diags;
  const std::string pipeline = "[pipeline]\nname = \"fuzz\"\nseed = 7\n[stage.a]\ntype = \"any\"\n";
  PipelineSpec spec = load_pipeline("/nonexistent-wmgeom-fuzz/p.toml", pipeline, {}, lookup, diags);
  (void)diags.format_all();
  WMGEOM_FUZZ_CHECK(spec.stages.size() == 1);
  if (diags.ok()) {
    for (const auto& p : schema.params) WMGEOM_FUZZ_CHECK(spec.stages[0].params.has(p.name));
  }
  return 0;
}
