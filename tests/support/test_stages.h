// Small stage types for engine tests (no science): `source` makes numbers,
// `scale` multiplies them, `sum` adds many inputs, `text`/`needs_text` test
// port kinds, `kitchen` declares every parameter type. Every stage also takes
// instrumentation parameters (not hashed): sleep_ms, counter (a file that gets
// one line per computation), fail, resource, events (start/end lines), and
// barrier_dir + barrier_peers (wait until N instances are running at once).
#pragma once

namespace wmgeom {
class StageRegistry;
namespace testing {
void register_test_stages(StageRegistry& registry);
}  // namespace testing
}  // namespace wmgeom
