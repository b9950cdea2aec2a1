// The built-in perceptual CNN: a compact ResNet. A stride-2 3x3 stem, then
// `blocks` residual stages (BasicBlock, stride 2, channels doubling from
// `width`). The output of the last stage is the feature map the RNNs see
// (input/2^(blocks+1) on a side: 7x7 for 112 px and 3 blocks). Three linear
// heads train it: category and identity from globally pooled channels (so
// the map codes them alike at every location), location from the flattened
// map (so location, a spatial property, stays in it).
//
// Initialisation draws only from the generator it is given, so two stages
// building CNNs concurrently stay deterministic.
#pragma once

#include <torch/torch.h>

namespace wmgeom::nets {

struct CnnConfig {
  int input_size = 112;
  int width = 32;
  int blocks = 3;
  int categories = 4;
  int identities = 8;
  int locations = 4;
};

class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int in, int out, int stride);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, down_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, down_bn_{nullptr};
};
TORCH_MODULE(BasicBlock);

struct CnnHeads {
  torch::Tensor category, identity, location;
};

class BuiltinCnnImpl : public torch::nn::Module {
 public:
  explicit BuiltinCnnImpl(const CnnConfig& config);
  // [B, 3, S, S] normalised images -> [B, C, h, w] feature maps.
  torch::Tensor features(const torch::Tensor& x);
  CnnHeads heads(const torch::Tensor& features);
  // Kaiming-normal convolutions, unit BatchNorm, uniform linear layers.
  void initialise(at::Generator& gen);
  std::vector<std::int64_t> feature_shape() const { return feature_shape_; }  // {C, h, w}
  const CnnConfig& config() const { return config_; }

 private:
  CnnConfig config_;
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  torch::nn::Sequential stages_{nullptr};
  torch::nn::Linear cat_{nullptr}, id_{nullptr}, loc_{nullptr};
  std::vector<std::int64_t> feature_shape_;
};
TORCH_MODULE(BuiltinCnn);

// Images uint8 [B, 3, H, W] -> float [B, 3, size, size], scaled to [0, 1],
// resized (area when shrinking, bilinear when enlarging; size 0 keeps H) and
// normalised ("imagenet": ImageNet mean/std, "unit": [0, 1]).
torch::Tensor prepare_images(const torch::Tensor& images_u8, int size,
                             const std::string& normalize);
// Images in [0, 1] -> normalised as `normalize` says ("imagenet" or "unit").
torch::Tensor normalize_images(const torch::Tensor& x_unit, const std::string& normalize);

}  // namespace wmgeom::nets
