#include "nets/torchscript.h"

#include "core/error.h"

namespace wmgeom::nets {

namespace {
std::string first_line(const std::string& s) {
  auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}
}  // namespace

ScriptedExtractor::ScriptedExtractor(const std::string& path, const std::string& layer)
    : path_(path), layer_(layer) {
  try {
    module_ = torch::jit::load(path, torch::kCPU);
  } catch (const std::exception& e) {
    throw InputError(path + ": not a loadable TorchScript module (" + first_line(e.what()) + ")");
  }
  module_.eval();
  if (!layer.empty()) {
    auto names = children();
    if (std::find(names.begin(), names.end(), layer) == names.end()) {
      std::string all;
      for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
      throw InputError(
          path + ": no layer \"" + layer +
          "\"; the module's top-level children are: " + (all.empty() ? "(none)" : all));
    }
  }
}

std::vector<std::string> ScriptedExtractor::children() const {
  std::vector<std::string> out;
  for (const auto& c : module_.named_children()) out.push_back(c.name);
  return out;
}

void ScriptedExtractor::to(const torch::Device& device) { module_.to(device); }

torch::Tensor ScriptedExtractor::forward(const torch::Tensor& x) {
  try {
    if (layer_.empty()) {
      torch::jit::IValue out = module_.forward({x});
      if (!out.isTensor()) throw InputError(path_ + ": forward() does not return a tensor");
      return out.toTensor();
    }
    torch::Tensor y = x;
    for (auto c : module_.named_children()) {
      y = c.value.forward({y}).toTensor();
      if (c.name == layer_) break;
    }
    return y;
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(path_ + ": the module rejected images of shape [" + std::to_string(x.size(0)) +
                     ", " + std::to_string(x.size(1)) + ", " + std::to_string(x.size(2)) + ", " +
                     std::to_string(x.size(3)) + "]: " + first_line(e.what()) +
                     " (check input_size, the channel count and layer)");
  }
}

}  // namespace wmgeom::nets
