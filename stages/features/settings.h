// The features stage's parameters as typed values
// (stages/features/schema.toml is the single source of names, types, ranges
// and defaults: the fields have no defaults of their own and are set only
// by from_params).
#pragma once

#include <cstdint>
#include <string>

#include "core/params.h"

namespace wmgeom {

// Where the feature maps come from.
enum class FeatureModel { kBuiltin, kTorchScript, kRandom };

struct FeaturesSettings {
  FeatureModel model{};
  std::string model_name;  // as written: "builtin" | "torchscript" | "random"
  std::string path;        // TorchScript module (resolved), "" otherwise
  std::string layer;       // its submodule, "" for its output
  int input_size{};        // 0: the stimuli's own size
  std::string normalize;   // nets::normalize_images' mode
  int threads{};           // LibTorch's width while the built-in CNN trains (hashed)
  bool float16{};          // the bank's dtype: float16, else float32
  int width{};
  int blocks{};
  int epochs{};
  int batch_size{};
  double lr{};
  double weight_decay{};
  int shift{};
  double brightness{};
  std::uint64_t seed{};
  std::string device;
  int inference_batch{};

  static FeaturesSettings from_params(const Params& p);
  bool operator==(const FeaturesSettings&) const = default;
};

}  // namespace wmgeom
