// The one list of every stage type. Add a line here when you add a stage.
#include "register_all.h"

#include "graph/registry.h"

namespace wmgeom {

void register_all(StageRegistry& registry) { (void)registry; }

}  // namespace wmgeom
