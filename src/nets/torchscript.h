// A user's TorchScript module as a feature extractor. With `layer` empty the
// module's forward() output is the feature map; otherwise `layer` names a
// top-level child and the children are applied in registration order up to
// and including it. That is exact for torchvision ResNets and VGG-style nets
// (e.g. layer = "layer4" of a ResNet-50 gives its 2048x7x7 map at 224 px);
// for other architectures, export a module whose forward returns the map.
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

namespace wmgeom::nets {

class ScriptedExtractor {
 public:
  // Throws wmgeom::InputError naming the file if it cannot be loaded, and
  // naming the available children if `layer` is not one of them.
  ScriptedExtractor(const std::string& path, const std::string& layer);
  // Throws wmgeom::InputError (e.g. wrong channel count or image size) with
  // what the module said.
  torch::Tensor forward(const torch::Tensor& x);
  std::vector<std::string> children() const;
  void to(const torch::Device& device);

 private:
  std::string path_;
  std::string layer_;
  torch::jit::script::Module module_;
};

}  // namespace wmgeom::nets
