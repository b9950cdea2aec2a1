// The stage kit: the checks every stage passes, called in one line from the
// stage's own tests (stages/<type>/test_<type>.cpp):
//
//   TEST(Capture, PassesTheStageKit) { expect_stage_kit({kTiny, "states"}); }
//
// Given a tiny pipeline and the name of the stage under test, it checks
//   0. typed settings (core/stage.h, StageWith): the stage has them, its
//      settings parser reads every schema parameter (and nothing else), and
//      moving any parameter as in 1 changes the parsed settings, so each
//      parameter is a field of the struct (or decides one);
//   1. keys, driven by the stage's schema: every parameter is perturbed
//      according to its type (a number moved inside its range, a flag flipped,
//      another choice, a list changed); a hashed one must change the cache key
//      of every instance of the stage, an unhashed one (threads, device
//      placement) must leave every key alone. A parameter the kit cannot
//      perturb in this pipeline (a path, a value the stage's cross-checks
//      refuse) must be named in `not_perturbed` with the reason, and a name
//      there that the kit could perturb is an error too, so the list stays
//      exact; `values` supplies another value where the type gives none;
//   2. determinism: the stage's first instance computed three times from the
//      same cached inputs (at 1, 1 and 2 threads) gives the same artifact,
//      byte for byte: kind, every array's dtype, shape and bytes, metadata;
//   3. the plan's size estimate (Stage::estimate), where the stage gives
//      one, is the computed artifact's size within 25% (+ 64 kB).
// Failures are gtest failures (non-fatal) naming the parameter or array.
#pragma once

#include <map>
#include <string>

#include "graph/registry.h"

namespace wmgeom::testing {

struct KitCase {
  std::string pipeline;  // a whole pipeline file's text; small enough to run three times
  std::string stage;     // the [stage.NAME] under test
  // parameter -> why the kit cannot perturb it in this pipeline
  std::map<std::string, std::string> not_perturbed = {};
  // parameter -> another valid value (TOML) where its schema type gives the
  // kit none (a string with a grammar: device = "cpu")
  std::map<std::string, std::string> values = {};
  const StageRegistry* registry = nullptr;  // nullptr: the real stages
};

void expect_stage_kit(const KitCase& c);

// The parts, for the kit's own tests.
void expect_settings_follow_schema(const KitCase& c);
void expect_keys_follow_schema(const KitCase& c);
void expect_deterministic(const KitCase& c);

}  // namespace wmgeom::testing
