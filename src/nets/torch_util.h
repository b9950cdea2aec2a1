// Bridges between the engine's Arrays and LibTorch, and device selection.
// Included only by translation units that already need torch.
#pragma once

#include <string>

#include <torch/torch.h>

#include "core/array.h"

namespace wmgeom::nets {

// A tensor viewing the array's buffer (no copy). The array must outlive it
// and must not be written through the view unless the stage owns it.
torch::Tensor view(const Array& array);
// Copies a contiguous CPU tensor (any device is moved to CPU first) into a new Array.
Array to_array(const torch::Tensor& tensor);

// "auto" | "cpu" | "cuda" | "cuda:N" -> a device; "auto" is CUDA when
// LibTorch has it and a GPU is present. Throws wmgeom::InputError for an
// unusable request (e.g. "cuda" without a GPU).
torch::Device resolve_device(const std::string& spec);
// Whether `spec` has the form "auto" | "cpu" | "cuda" | "cuda:N" (plan time:
// no device is touched). Stages report "expected ..." with device_expectation.
bool valid_device_spec(const std::string& spec);
inline constexpr const char* kDeviceExpectation =
    "expected \"auto\", \"cpu\", \"cuda\" or \"cuda:N\"";
// "cpu" or "cuda": part of cache keys of stages whose results depend on it.
std::string device_kind(const std::string& spec);
// The key extras of a stage whose results depend on LibTorch and the device
// kind: "torch <version>\ndevice <cpu|cuda>".
std::string torch_key_extras(const std::string& device_spec);
// Resource token for the executor: "cuda:N" for GPU work, "" for CPU.
std::string device_resource(const std::string& spec);
// device_support() (the three above, for the engine): nets/device.h.

// A CPU generator seeded deterministically; use it for every random draw so
// that concurrent stages never share torch's global generator.
at::Generator make_generator(std::uint64_t seed);

// The LibTorch version string, e.g. "1.13.0".
std::string torch_version();

}  // namespace wmgeom::nets
