#include "core/npy.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <fstream>

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

namespace {
// The value after "'KEY':" (and spaces) in an NPY header dict, or npos. A
// hand scan, not std::regex: libstdc++'s regex recurses once per matched
// character and overflows the stack on a long header (found by fuzz_npy).
std::size_t header_value(const std::string& dict, const std::string& key) {
  auto at = dict.find("'" + key + "':");
  if (at == std::string::npos) return at;
  at += key.size() + 3;
  while (at < dict.size() && (dict[at] == ' ' || dict[at] == '\t')) ++at;
  return at;
}
}  // namespace

namespace {
NpyHeader parse_header(std::ifstream& f, const std::filesystem::path& path) {
  if (!f) throw InputError(path.string() + ": cannot open");
  std::error_code ec;
  const std::uintmax_t file_size = std::filesystem::file_size(path, ec);
  if (ec) throw InputError(path.string() + ": cannot open");
  char head[10];
  f.read(head, 10);
  if (!f || std::memcmp(head, "\x93NUMPY", 6) != 0) {
    throw InputError(path.string() + ": not an NPY file (bad magic)");
  }
  std::size_t header_len = 0;
  std::size_t prefix = 10;
  int major = static_cast<unsigned char>(head[6]);
  if (major == 1) {
    header_len = static_cast<unsigned char>(head[8]) | (static_cast<unsigned char>(head[9]) << 8);
  } else if (major == 2 || major == 3) {
    char more[2] = {0, 0};
    f.read(more, 2);
    prefix = 12;
    header_len = static_cast<unsigned char>(head[8]) | (static_cast<unsigned char>(head[9]) << 8) |
                 (static_cast<std::size_t>(static_cast<unsigned char>(more[0])) << 16) |
                 (static_cast<std::size_t>(static_cast<unsigned char>(more[1])) << 24);
  } else {
    throw InputError(path.string() + ": unsupported NPY version " + std::to_string(major));
  }
  if (!f || header_len > file_size - std::min<std::uintmax_t>(file_size, prefix)) {
    throw InputError(path.string() + ": truncated NPY header");
  }
  std::string dict(header_len, '\0');
  f.read(dict.data(), static_cast<std::streamsize>(header_len));
  if (!f) throw InputError(path.string() + ": truncated NPY header");

  std::size_t at = header_value(dict, "descr");
  std::size_t close = at == std::string::npos || at >= dict.size() || dict[at] != '\''
                          ? std::string::npos
                          : dict.find('\'', at + 1);
  if (close == std::string::npos) throw InputError(path.string() + ": NPY header without descr");
  std::string descr = dict.substr(at + 1, close - at - 1);
  at = header_value(dict, "fortran_order");
  if (at != std::string::npos && dict.compare(at, 4, "True") == 0) {
    throw InputError(path.string() + ": Fortran-order NPY arrays are not supported");
  }
  at = header_value(dict, "shape");
  close = at == std::string::npos || at >= dict.size() || dict[at] != '(' ? std::string::npos
                                                                          : dict.find(')', at);
  if (close == std::string::npos) throw InputError(path.string() + ": NPY header without shape");
  std::vector<std::int64_t> shape;
  std::string dims = dict.substr(at + 1, close - at - 1);
  for (std::size_t i = 0; i < dims.size();) {
    if (!std::isdigit(static_cast<unsigned char>(dims[i]))) {
      ++i;
      continue;
    }
    std::int64_t d = 0;
    auto [end, err] = std::from_chars(dims.data() + i, dims.data() + dims.size(), d);
    if (err != std::errc()) throw InputError(path.string() + ": NPY shape dimension out of range");
    shape.push_back(d);
    i = static_cast<std::size_t>(end - dims.data());
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
  // The data's size, checked against the file before anything is allocated
  // (a header may claim any shape).
  const auto nbytes = checked_nbytes(dtype, shape);
  if (!nbytes) throw InputError(path.string() + ": NPY shape too large");
  if (*nbytes > file_size - prefix - header_len)
    throw InputError(path.string() + ": truncated NPY data");
  return {dtype, std::move(shape), prefix + header_len};
}
}  // namespace

NpyHeader read_npy_header(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path.string() + ": cannot open");
  return parse_header(f, path);
}

Array read_npy(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path.string() + ": cannot open");
  const NpyHeader h = parse_header(f, path);
  Array a(h.dtype, h.shape);
  f.read(reinterpret_cast<char*>(a.raw()), static_cast<std::streamsize>(a.nbytes()));
  if (static_cast<std::size_t>(f.gcount()) != a.nbytes()) {
    throw InputError(path.string() + ": truncated NPY data");
  }
  return a;
}

}  // namespace wmgeom
