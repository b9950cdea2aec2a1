#include "nets/torch_util.h"

#include <algorithm>
#include <cstring>

#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"
#include "nets/device.h"

namespace wmgeom::nets {

namespace {
torch::Dtype to_torch(DType d) {
  switch (d) {
    case DType::kU8:
      return torch::kUInt8;
    case DType::kI32:
      return torch::kInt32;
    case DType::kI64:
      return torch::kInt64;
    case DType::kF16:
      return torch::kHalf;
    case DType::kF32:
      return torch::kFloat32;
    case DType::kF64:
      return torch::kFloat64;
  }
  return torch::kFloat32;
}

DType from_torch(torch::Dtype d) {
  if (d == torch::kUInt8) return DType::kU8;
  if (d == torch::kInt32) return DType::kI32;
  if (d == torch::kInt64) return DType::kI64;
  if (d == torch::kHalf) return DType::kF16;
  if (d == torch::kFloat32) return DType::kF32;
  if (d == torch::kFloat64) return DType::kF64;
  throw Error("tensor dtype has no Array equivalent");
}
}  // namespace

torch::Tensor view(const Array& array) {
  return torch::from_blob(const_cast<std::byte*>(array.raw()), array.shape(),
                          torch::TensorOptions().dtype(to_torch(array.dtype())));
}

Array to_array(const torch::Tensor& tensor) {
  torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
  std::vector<std::int64_t> shape(t.sizes().begin(), t.sizes().end());
  Array a = Array::uninitialized(from_torch(t.scalar_type()), shape);
  if (a.nbytes() > 0) std::memcpy(a.raw(), t.data_ptr(), a.nbytes());
  return a;
}

torch::Device resolve_device(const std::string& spec) {
  if (spec == "cpu") return torch::kCPU;
  bool have_cuda = torch::cuda::is_available();
  if (spec == "auto")
    return have_cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    if (!have_cuda) {
      throw InputError("device = \"" + spec +
                       "\" but this LibTorch has no CUDA device (use \"auto\" or \"cpu\")");
    }
    int index = spec == "cuda" ? 0 : std::stoi(spec.substr(5));
    if (index >= static_cast<int>(torch::cuda::device_count())) {
      throw InputError("device = \"" + spec + "\" but only " +
                       std::to_string(torch::cuda::device_count()) + " CUDA device(s) exist");
    }
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw InputError("device must be \"auto\", \"cpu\", \"cuda\" or \"cuda:N\", found \"" + spec +
                   "\"");
}

bool valid_device_spec(const std::string& spec) {
  if (spec == "auto" || spec == "cpu" || spec == "cuda") return true;
  return spec.rfind("cuda:", 0) == 0 && spec.size() > 5 &&
         std::all_of(spec.begin() + 5, spec.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string device_kind(const std::string& spec) {
  if (spec == "cpu") return "cpu";
  if (spec == "auto") return torch::cuda::is_available() ? "cuda" : "cpu";
  return "cuda";
}

std::string torch_key_extras(const std::string& device_spec) {
  return "torch " + torch_version() + "\ndevice " + device_kind(device_spec);
}

std::string device_resource(const std::string& spec) {
  if (device_kind(spec) != "cuda") return "";
  if (spec.rfind("cuda:", 0) == 0) return spec;
  return "cuda:0";
}

DeviceSupport device_support() {
  return {kDeviceExpectation, valid_device_spec, torch_key_extras, device_resource};
}

at::Generator make_generator(std::uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

std::string torch_version() { return TORCH_VERSION; }

}  // namespace wmgeom::nets
