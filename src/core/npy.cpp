#include "core/npy.h"

#include <cstring>
#include <fstream>
#include <regex>

#include "core/error.h"

namespace wmgeom {

void write_npy(const std::filesystem::path& path, const Array& array) {
  std::string dict = "{'descr': '" + std::string(npy_descr(array.dtype())) +
                     "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < array.ndim(); ++i) {
    dict += std::to_string(array.dim(i));
    if (array.ndim() == 1 || i + 1 < array.ndim()) dict += ",";
    if (i + 1 < array.ndim()) dict += " ";
  }
  dict += "), }";
  // magic(6) + version(2) + header length(2) + dict + padding + '\n' == k * 64
  std::size_t total = 10 + dict.size() + 1;
  std::size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';

  std::ofstream f(path, std::ios::binary);
  if (!f) throw Error("cannot write " + path.string());
  const char magic[] = "\x93NUMPY\x01\x00";
  f.write(magic, 8);
  auto len = static_cast<std::uint16_t>(dict.size());
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  f.write(len_bytes, 2);
  f.write(dict.data(), static_cast<std::streamsize>(dict.size()));
  if (!array.empty()) {
    f.write(reinterpret_cast<const char*>(array.raw()),
            static_cast<std::streamsize>(array.nbytes()));
  }
  if (!f) throw Error("write failed: " + path.string());
}

Array read_npy(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path.string() + ": cannot open");
  char head[10];
  f.read(head, 10);
  if (!f || std::memcmp(head, "\x93NUMPY", 6) != 0) {
    throw InputError(path.string() + ": not an NPY file (bad magic)");
  }
  std::size_t header_len = 0;
  int major = static_cast<unsigned char>(head[6]);
  if (major == 1) {
    header_len = static_cast<unsigned char>(head[8]) | (static_cast<unsigned char>(head[9]) << 8);
  } else if (major == 2 || major == 3) {
    char more[2];
    f.read(more, 2);
    header_len = static_cast<unsigned char>(head[8]) |
                 (static_cast<unsigned char>(head[9]) << 8) |
                 (static_cast<std::size_t>(static_cast<unsigned char>(more[0])) << 16) |
                 (static_cast<std::size_t>(static_cast<unsigned char>(more[1])) << 24);
  } else {
    throw InputError(path.string() + ": unsupported NPY version " + std::to_string(major));
  }
  std::string dict(header_len, '\0');
  f.read(dict.data(), static_cast<std::streamsize>(header_len));
  std::smatch m;
  std::regex descr_re("'descr':\\s*'([^']*)'");
  std::regex order_re("'fortran_order':\\s*(True|False)");
  std::regex shape_re("'shape':\\s*\\(([^)]*)\\)");
  if (!std::regex_search(dict, m, descr_re)) throw InputError(path.string() + ": NPY header without descr");
  std::string descr = m[1];
  if (std::regex_search(dict, m, order_re) && m[1] == "True") {
    throw InputError(path.string() + ": Fortran-order NPY arrays are not supported");
  }
  if (!std::regex_search(dict, m, shape_re)) throw InputError(path.string() + ": NPY header without shape");
  std::vector<std::int64_t> shape;
  std::string dims = m[1];
  std::regex num_re("\\d+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), num_re); it != std::sregex_iterator(); ++it) {
    shape.push_back(std::stoll(it->str()));
  }
  DType dtype{};
  bool found = false;
  for (DType d : {DType::kU8, DType::kI32, DType::kI64, DType::kF16, DType::kF32, DType::kF64}) {
    if (npy_descr(d) == descr || (d == DType::kU8 && descr == "<u1")) {
      dtype = d;
      found = true;
    }
  }
  if (!found) throw InputError(path.string() + ": unsupported NPY dtype '" + descr + "'");
  Array a(dtype, shape);
  f.read(reinterpret_cast<char*>(a.raw()), static_cast<std::streamsize>(a.nbytes()));
  if (static_cast<std::size_t>(f.gcount()) != a.nbytes()) {
    throw InputError(path.string() + ": truncated NPY data");
  }
  return a;
}

}  // namespace wmgeom
