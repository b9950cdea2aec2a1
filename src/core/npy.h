// NPY format v1.0 (numpy.lib.format): magic "\x93NUMPY", version 1.0, a
// little-endian uint16 header length, a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
// spaces and a final '\n' so that the data starts at a multiple of 64 bytes,
// then the C-order data. Only the dtypes of core/array.h are supported.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/array.h"

namespace wmgeom {

// Throws wmgeom::Error naming the file on I/O failure.
void write_npy(const std::filesystem::path& path, const Array& array);
// Throws wmgeom::InputError naming the file on a malformed or unsupported file.
Array read_npy(const std::filesystem::path& path);

// An NPY file's header: what read_npy would return, without the data (a
// plan-time look at a folder of arrays). The data's size is checked against
// the file's. Throws like read_npy.
struct NpyHeader {
  DType dtype{};
  std::vector<std::int64_t> shape;
  std::uint64_t data_offset = 0;  // where the C-order data starts
};
NpyHeader read_npy_header(const std::filesystem::path& path);

}  // namespace wmgeom
