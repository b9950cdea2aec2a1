#include "capture/settings.h"

#include "core/artifacts.h"
#include "core/choices.h"

namespace wmgeom {

CaptureSettings CaptureSettings::from_params(const Params& p) {
  static constexpr Choice<int> kSplits[] = {
      {kSplitValidation, "validation"}, {kSplitTrain, "train"}, {-1, "both"}};
  CaptureSettings s;
  s.split = p.s("split");
  s.split_code = parse_choice(kSplits, s.split, "capture.split");
  s.perceptual = p.b("perceptual");
  s.batch = p.i("batch");
  s.threads = static_cast<int>(p.i("threads"));
  s.device = p.s("device");
  return s;
}

}  // namespace wmgeom
