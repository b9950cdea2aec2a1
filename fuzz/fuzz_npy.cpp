// fuzz_npy: the bytes as an .npy file read by read_npy (core/npy.h: what the
// stages and `wmgeom export` readers use). Contract: a malformed or
// unsupported file throws wmgeom::InputError naming the file; an array that
// reads back writes (write_npy) and reads again to the same dtype, shape and
// bytes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/error.h"
#include "core/npy.h"
#include "fuzz_util.h"

using namespace wmgeom;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::fs::path dir = fuzz::scratch_dir("npy");
  const auto in = dir / "in.npy";
  fuzz::write_file(in, data, size);
  Array a;
  try {
    a = read_npy(in);
  } catch (const InputError& e) {
    WMGEOM_FUZZ_CHECK(std::string_view(e.what()).find(in.string()) != std::string_view::npos);
    return 0;
  }
  const auto out = dir / "out.npy";
  write_npy(out, a);
  const Array b = read_npy(out);
  WMGEOM_FUZZ_CHECK(b.dtype() == a.dtype());
  WMGEOM_FUZZ_CHECK(b.shape() == a.shape());
  WMGEOM_FUZZ_CHECK(b.nbytes() == a.nbytes());
  WMGEOM_FUZZ_CHECK(a.nbytes() == 0 || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
  return 0;
}
