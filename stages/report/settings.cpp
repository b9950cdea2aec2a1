#include "report/settings.h"

namespace wmgeom::report {

ReportOptions ReportOptions::from_params(const Params& p) {
  ReportOptions o;
  o.title = p.s("title");
  o.max_models = static_cast<int>(p.i("max_models"));
  o.sheet_identities = static_cast<int>(p.i("sheet_identities"));
  o.sheet_views = static_cast<int>(p.i("sheet_views"));
  o.thumb = static_cast<int>(p.i("thumbnail"));
  return o;
}

}  // namespace wmgeom::report
