#include "nets/cnn.h"

#include "core/error.h"

#include <cmath>

namespace wmgeom::nets {

namespace F = torch::nn::functional;

namespace {
torch::nn::Conv2d conv3x3(int in, int out, int stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}
}  // namespace

BasicBlockImpl::BasicBlockImpl(int in, int out, int stride) {
  conv1_ = register_module("conv1", conv3x3(in, out, stride));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(out));
  conv2_ = register_module("conv2", conv3x3(out, out, 1));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(out));
  if (stride != 1 || in != out) {
    down_ = register_module(
        "down", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
    down_bn_ = register_module("down_bn", torch::nn::BatchNorm2d(out));
  }
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::relu(bn1_(conv1_(x)));
  y = bn2_(conv2_(y));
  torch::Tensor skip = down_ ? down_bn_(down_(x)) : x;
  return torch::relu(y + skip);
}

BuiltinCnnImpl::BuiltinCnnImpl(const CnnConfig& c) : config_(c) {
  stem_ = register_module("stem", conv3x3(3, c.width, 2));
  stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(c.width));
  stages_ = torch::nn::Sequential();
  int in = c.width;
  for (int b = 0; b < c.blocks; ++b) {
    int out = c.width << b;
    stages_->push_back(BasicBlock(in, out, 2));
    in = out;
  }
  register_module("stages", stages_);
  int side = c.input_size;
  for (int b = 0; b < c.blocks + 1; ++b) side = (side + 1) / 2;  // stride 2, padding 1, kernel 3
  feature_shape_ = {in, side, side};
  std::int64_t flat = static_cast<std::int64_t>(in) * side * side;
  cat_ = register_module("head_category", torch::nn::Linear(in, c.categories));
  id_ = register_module("head_identity", torch::nn::Linear(in, c.identities));
  loc_ = register_module("head_location", torch::nn::Linear(flat, c.locations));
}

torch::Tensor BuiltinCnnImpl::features(const torch::Tensor& x) {
  return stages_->forward(torch::relu(stem_bn_(stem_(x))));
}

CnnHeads BuiltinCnnImpl::heads(const torch::Tensor& features) {
  // What an object is does not depend on where it is: category and identity
  // read pooled channels, so the map must code them the same at every
  // location; location reads the map itself.
  torch::Tensor pooled = features.mean({2, 3});
  return {cat_(pooled), id_(pooled), loc_(features.flatten(1))};
}

void BuiltinCnnImpl::initialise(at::Generator& gen) {
  torch::NoGradGuard no_grad;
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor& p = item.value();
    bool is_bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
    bool is_bn = name.find("bn") != std::string::npos;
    if (is_bn) {
      p.fill_(is_bias ? 0.0 : 1.0);
    } else if (p.dim() == 4) {
      double fan_out = static_cast<double>(p.size(0) * p.size(2) * p.size(3));
      p.normal_(0.0, std::sqrt(2.0 / fan_out), gen);
    } else if (p.dim() == 2) {
      double bound = 1.0 / std::sqrt(static_cast<double>(p.size(1)));
      p.uniform_(-bound, bound, gen);
    } else {
      p.zero_();
    }
  }
}

torch::Tensor prepare_images(const torch::Tensor& images_u8, int size,
                             const std::string& normalize) {
  torch::Tensor x = images_u8.to(torch::kFloat32).div_(255.0f);
  std::int64_t h = x.size(2);
  if (size > 0 && size != h) {
    if (size < h) {
      x = F::interpolate(x, F::InterpolateFuncOptions()
                                .size(std::vector<std::int64_t>{size, size})
                                .mode(torch::kArea));
    } else {
      x = F::interpolate(x, F::InterpolateFuncOptions()
                                .size(std::vector<std::int64_t>{size, size})
                                .mode(torch::kBilinear)
                                .align_corners(false));
    }
  }
  return normalize_images(x, normalize).contiguous();
}

torch::Tensor normalize_images(const torch::Tensor& x_unit, const std::string& normalize) {
  if (normalize == "unit") return x_unit;
  if (normalize != "imagenet") {
    throw Error("normalize_images: unknown normalisation \"" + normalize +
                "\" (expected \"imagenet\" or \"unit\")");
  }
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(x_unit.device());
  torch::Tensor mean = torch::tensor({0.485f, 0.456f, 0.406f}, opts).view({1, 3, 1, 1});
  torch::Tensor std = torch::tensor({0.229f, 0.224f, 0.225f}, opts).view({1, 3, 1, 1});
  return (x_unit - mean) / std;
}

}  // namespace wmgeom::nets
