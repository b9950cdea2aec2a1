#include "core/array.h"

#include <cstring>
#include <new>
#include <numeric>

#include "core/error.h"

namespace wmgeom {

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kU8:
      return "uint8";
    case DType::kI32:
      return "int32";
    case DType::kI64:
      return "int64";
    case DType::kF16:
      return "float16";
    case DType::kF32:
      return "float32";
    case DType::kF64:
      return "float64";
  }
  return "?";
}

DType dtype_from_name(std::string_view name) {
  for (DType d : {DType::kU8, DType::kI32, DType::kI64, DType::kF16, DType::kF32, DType::kF64}) {
    if (dtype_name(d) == name) return d;
  }
  throw Error("unknown dtype \"" + std::string(name) + "\"");
}

std::string_view npy_descr(DType dtype) {
  switch (dtype) {
    case DType::kU8:
      return "|u1";
    case DType::kI32:
      return "<i4";
    case DType::kI64:
      return "<i8";
    case DType::kF16:
      return "<f2";
    case DType::kF32:
      return "<f4";
    case DType::kF64:
      return "<f8";
  }
  return "?";
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kU8:
      return 1;
    case DType::kF16:
      return 2;
    case DType::kI32:
    case DType::kF32:
      return 4;
    case DType::kI64:
    case DType::kF64:
      return 8;
  }
  return 0;
}

namespace {
constexpr std::size_t kAlign = 64;

std::shared_ptr<std::byte[]> allocate(std::size_t bytes, bool zero = true) {
  // Aligned so that stages may view the buffer as a tensor.
  std::size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  if (rounded == 0) rounded = kAlign;
  auto* p = static_cast<std::byte*>(::operator new(rounded, std::align_val_t(kAlign)));
  if (zero) std::memset(p, 0, rounded);
  return std::shared_ptr<std::byte[]>(
      p, [](std::byte* q) { ::operator delete(q, std::align_val_t(kAlign)); });
}
}  // namespace

std::optional<std::uint64_t> checked_nbytes(DType dtype, const std::vector<std::int64_t>& shape) {
  // Non-zero dimensions first: every partial product in numel() is at most
  // their product, so a zero dimension late in the shape cannot hide an overflow.
  std::uint64_t elements = 1;
  bool zero = false;
  for (std::int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (d == 0) {
      zero = true;
    } else if (__builtin_mul_overflow(elements, static_cast<std::uint64_t>(d), &elements) ||
               elements > static_cast<std::uint64_t>(INT64_MAX)) {
      return std::nullopt;
    }
  }
  std::uint64_t bytes = 0;
  if (!zero && __builtin_mul_overflow(elements, dtype_size(dtype), &bytes)) return std::nullopt;
  return bytes;
}

Array::Array(DType dtype, std::vector<std::int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  for (auto d : shape_) {
    if (d < 0) throw Error("negative dimension in array shape");
  }
  buf_ = allocate(nbytes());
}

Array Array::uninitialized(DType dtype, std::vector<std::int64_t> shape) {
  Array a;
  a.dtype_ = dtype;
  a.shape_ = std::move(shape);
  for (auto d : a.shape_) {
    if (d < 0) throw Error("negative dimension in array shape");
  }
  a.buf_ = allocate(a.nbytes(), false);
  return a;
}

std::int64_t Array::numel() const {
  return std::accumulate(shape_.begin(), shape_.end(), std::int64_t{1}, std::multiplies<>());
}

void Array::check_type(DType wanted) const {
  if (!buf_) throw Error("access to an empty array");
  if (wanted != dtype_) {
    throw Error("array of " + std::string(dtype_name(dtype_)) + " accessed as " +
                std::string(dtype_name(wanted)));
  }
}

std::string Array::describe() const {
  std::string s(dtype_name(dtype_));
  s += "[";
  for (std::size_t i = 0; i < shape_.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape_[i]);
  }
  return s + "]";
}

Array Array::clone() const {
  if (!buf_) return {};
  Array out(dtype_, shape_);
  std::memcpy(out.raw(), raw(), nbytes());
  return out;
}

Array Array::reshaped(std::vector<std::int64_t> shape) const {
  Array out = *this;
  out.shape_ = std::move(shape);
  if (out.numel() != numel()) {
    throw Error("cannot reshape " + describe() + " to " + out.describe());
  }
  return out;
}

}  // namespace wmgeom
