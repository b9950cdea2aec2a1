#include "features/settings.h"

#include "core/choices.h"

namespace wmgeom {

FeaturesSettings FeaturesSettings::from_params(const Params& p) {
  static constexpr Choice<FeatureModel> kModels[] = {{FeatureModel::kBuiltin, "builtin"},
                                                     {FeatureModel::kTorchScript, "torchscript"},
                                                     {FeatureModel::kRandom, "random"}};
  static constexpr Choice<bool> kDtypes[] = {{false, "float32"}, {true, "float16"}};
  FeaturesSettings s;
  s.model_name = p.s("model");
  s.model = parse_choice(kModels, s.model_name, "features.model");
  s.path = p.s("path");
  s.layer = p.s("layer");
  s.input_size = static_cast<int>(p.i("input_size"));
  s.normalize = p.s("normalize");
  s.threads = static_cast<int>(p.i("threads"));
  s.float16 = parse_choice(kDtypes, p.s("dtype"), "features.dtype");
  s.width = static_cast<int>(p.i("width"));
  s.blocks = static_cast<int>(p.i("blocks"));
  s.epochs = static_cast<int>(p.i("epochs"));
  s.batch_size = static_cast<int>(p.i("batch_size"));
  s.lr = p.f("lr");
  s.weight_decay = p.f("weight_decay");
  s.shift = static_cast<int>(p.i("shift"));
  s.brightness = p.f("brightness");
  s.seed = static_cast<std::uint64_t>(p.i("seed"));
  s.device = p.s("device");
  s.inference_batch = static_cast<int>(p.i("inference_batch"));
  return s;
}

}  // namespace wmgeom
