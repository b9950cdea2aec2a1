#include "findings/settings.h"

#include "analyze/settings.h"

namespace wmgeom {

FindingsSettings FindingsSettings::from_params(const Params& p) {
  FindingsSettings s;
  s.alpha = p.f("alpha");
  s.min_seeds = static_cast<int>(p.i("min_seeds"));
  s.verdicts_required = analyze::verdicts_required(p.s("verdicts"), "findings.verdicts");
  return s;
}

}  // namespace wmgeom
