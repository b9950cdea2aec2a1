// The one list of every stage type (DESIGN.md: explicit registration).
#pragma once

namespace wmgeom {
class StageRegistry;
void register_all(StageRegistry& registry);
}  // namespace wmgeom
