#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "core/npy.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

TEST(Array, ZerosShapeAndTypedAccess) {
  Array a = Array::zeros<float>({2, 3});
  EXPECT_EQ(a.numel(), 6);
  EXPECT_EQ(a.nbytes(), 24u);
  EXPECT_EQ(a.describe(), "float32[2, 3]");
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.raw()) % 64, 0u);
  for (float v : a.values<float>()) EXPECT_EQ(v, 0.f);
  EXPECT_THROW(a.data<double>(), Error);
}

TEST(Array, CopiesShareCloneDoesNot) {
  Array a = Array::from_vector<std::int32_t>({1, 2, 3});
  Array b = a;
  Array c = a.clone();
  a.data<std::int32_t>()[0] = 9;
  EXPECT_EQ(b.data<std::int32_t>()[0], 9);
  EXPECT_EQ(c.data<std::int32_t>()[0], 1);
  EXPECT_THROW(a.reshaped({2, 2}), Error);
  EXPECT_EQ(a.reshaped({3, 1}).describe(), "int32[3, 1]");
}

TEST(Npy, RoundTripEveryDtype) {
  TempDir dir;
  for (DType d : {DType::kU8, DType::kI32, DType::kI64, DType::kF16, DType::kF32, DType::kF64}) {
    Array a(d, {3, 5, 2});
    for (std::size_t i = 0; i < a.nbytes(); ++i) a.raw()[i] = static_cast<std::byte>(i * 7 + 1);
    auto path = dir / (std::string(dtype_name(d)) + ".npy");
    write_npy(path, a);
    // numpy requires the data offset to be a multiple of 64.
    std::string bytes = read_file(path);
    std::size_t header =
        10 + static_cast<unsigned char>(bytes[8]) + (static_cast<unsigned char>(bytes[9]) << 8);
    EXPECT_EQ(header % 64, 0u);
    EXPECT_NE(bytes.find(std::string("'descr': '") + std::string(npy_descr(d)) + "'"),
              std::string::npos);
    EXPECT_NE(bytes.find("'shape': (3, 5, 2)"), std::string::npos);
    Array b = read_npy(path);
    EXPECT_EQ(b.dtype(), d);
    EXPECT_EQ(b.shape(), a.shape());
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0);
  }
}

TEST(Npy, OneDimensionalShapeHasTrailingComma) {
  TempDir dir;
  write_npy(dir / "v.npy", Array::from_vector<double>({1.0, 2.0}));
  EXPECT_NE(read_file(dir / "v.npy").find("'shape': (2,)"), std::string::npos);
}

TEST(Npy, RejectsGarbageAndTruncation) {
  TempDir dir;
  write_file(dir / "bad.npy", "not numpy at all");
  EXPECT_THROW(read_npy(dir / "bad.npy"), InputError);
  write_npy(dir / "t.npy", Array::zeros<float>({100}));
  std::string bytes = read_file(dir / "t.npy");
  write_file(dir / "t.npy", bytes.substr(0, bytes.size() - 10));
  EXPECT_THROW(read_npy(dir / "t.npy"), InputError);
}

// Found by fuzz/fuzz_npy: a header length beyond the file left a buffer of
// NULs that std::regex matched by recursion, one frame per character, until
// the stack overflowed; a long header in a file that has it did the same.
// Shapes beyond int64 or whose size overflows reached std::stoll's
// out_of_range, a signed overflow in Array::numel, and a huge allocation. All are InputErrors
// naming the file.
TEST(Npy, HostileHeadersAreInputErrors) {
  TempDir dir;
  auto expect_input_error = [&](const std::string& name, const std::string& bytes) {
    SCOPED_TRACE(name);
    write_file(dir / name, bytes);
    try {
      read_npy(dir / name);
      ADD_FAILURE() << "no error";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  };
  // The fuzzer's input: version 1, header length 0x9376, 26 bytes of header.
  expect_input_error("crash.npy",
                     std::string("\x93NUMPY\x01\x00v\x93NUMPY\x00{'descr': '3)$\x01\x00v } ", 36));
  auto npy = [](const std::string& dict) {
    std::string out("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(dict.size() & 0xff);
    out += static_cast<char>(dict.size() >> 8);
    return out + dict;
  };
  expect_input_error("long.npy",
                     npy("{'descr': '" + std::string(60000, 'x') + "', 'shape': (1,), }"));
  expect_input_error(
      "digits.npy",
      npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }"));
  expect_input_error(
      "huge.npy",
      npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"));
  // A zero dimension after an overflowing product (numel() multiplies in order).
  expect_input_error(
      "zero.npy",
      npy("{'descr': '<u1', 'fortran_order': False, 'shape': (38974105025856, 444444, 0), }"));
  expect_input_error("big.npy",
                     npy("{'descr': '<u1', 'fortran_order': False, 'shape': (1099511627776,), }"));
  expect_input_error("v2.npy", std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f{}", 14));
}

}  // namespace
}  // namespace wmgeom::testing
