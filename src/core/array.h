// Array: a typed, shaped, contiguous (C order) buffer; the unit every artifact
// is made of. Copies share the buffer (like torch::Tensor), so passing arrays
// between stages and into the cache never copies bytes.
//
// Thread-safety: concurrent reads are safe; writing while another thread reads
// the same buffer is not. Stages write only arrays they created.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wmgeom {

enum class DType : std::uint8_t { kU8, kI32, kI64, kF16, kF32, kF64 };

// "uint8", "int32", "int64", "float16", "float32", "float64".
std::string_view dtype_name(DType dtype);
// Inverse of dtype_name; throws wmgeom::Error for an unknown name.
DType dtype_from_name(std::string_view name);
// NPY descr: "|u1", "<i4", "<i8", "<f2", "<f4", "<f8".
std::string_view npy_descr(DType dtype);
std::size_t dtype_size(DType dtype);
// The byte size of an array of `shape`, or nullopt when a dimension is
// negative or the element count would overflow int64 (Array::numel
// multiplies the dimensions in order). For shapes read from files (NPY
// headers, cache manifests), checked before anything is allocated.
std::optional<std::uint64_t> checked_nbytes(DType dtype, const std::vector<std::int64_t>& shape);

// Raw IEEE half; arithmetic happens in the stages (torch::kHalf).
struct Half {
  std::uint16_t bits;
};

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<std::uint8_t>() {
  return DType::kU8;
}
template <>
constexpr DType dtype_of<std::int32_t>() {
  return DType::kI32;
}
template <>
constexpr DType dtype_of<std::int64_t>() {
  return DType::kI64;
}
template <>
constexpr DType dtype_of<Half>() {
  return DType::kF16;
}
template <>
constexpr DType dtype_of<float>() {
  return DType::kF32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::kF64;
}

class Array {
 public:
  Array() = default;
  // Zero-filled array of the given shape; the buffer is 64-byte aligned.
  Array(DType dtype, std::vector<std::int64_t> shape);

  // Contents undefined: for buffers about to be overwritten in full (the
  // cache's decompression), where zero-filling would cost a pass over memory.
  static Array uninitialized(DType dtype, std::vector<std::int64_t> shape);

  template <typename T>
  static Array zeros(std::vector<std::int64_t> shape) {
    return Array(dtype_of<T>(), std::move(shape));
  }
  // Copies `values` into a new 1-D array.
  template <typename T>
  static Array from_vector(const std::vector<T>& values) {
    Array a(dtype_of<T>(), {static_cast<std::int64_t>(values.size())});
    if (!values.empty()) std::copy(values.begin(), values.end(), a.data<T>());
    return a;
  }

  bool empty() const { return !buf_; }
  DType dtype() const { return dtype_; }
  const std::vector<std::int64_t>& shape() const { return shape_; }
  std::int64_t dim(std::size_t i) const { return shape_.at(i); }
  std::size_t ndim() const { return shape_.size(); }
  std::int64_t numel() const;
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }

  std::byte* raw() { return buf_.get(); }
  const std::byte* raw() const { return buf_.get(); }
  std::span<const std::byte> bytes() const { return {raw(), nbytes()}; }

  // Typed access; throws wmgeom::Error if T does not match the dtype.
  template <typename T>
  T* data() {
    check_type(dtype_of<T>());
    return reinterpret_cast<T*>(buf_.get());
  }
  template <typename T>
  const T* data() const {
    check_type(dtype_of<T>());
    return reinterpret_cast<const T*>(buf_.get());
  }
  template <typename T>
  std::span<const T> values() const {
    return {data<T>(), static_cast<std::size_t>(numel())};
  }
  template <typename T>
  std::span<T> values() {
    return {data<T>(), static_cast<std::size_t>(numel())};
  }

  // "float32[4, 3, 224, 224]"
  std::string describe() const;
  // Deep copy (new buffer).
  Array clone() const;
  // Same buffer, new shape with the same element count; throws otherwise.
  Array reshaped(std::vector<std::int64_t> shape) const;

 private:
  void check_type(DType wanted) const;

  DType dtype_ = DType::kF32;
  std::vector<std::int64_t> shape_;
  std::shared_ptr<std::byte[]> buf_;
};

}  // namespace wmgeom
