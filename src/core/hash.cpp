#include "core/hash.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <vector>

#include <xxhash.h>

#include "core/error.h"

namespace wmgeom {

std::string hash128_hex(std::string_view text) {
  XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

std::string hash64_hex(std::span<const std::byte> bytes) {
  XXH64_hash_t h = XXH3_64bits(bytes.data(), bytes.size());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

namespace {
void hash_file(XXH3_state_t* state, const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path.string() + ": cannot read");
  std::vector<char> buf(1 << 16);
  while (f) {
    f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    XXH3_128bits_update(state, buf.data(), static_cast<std::size_t>(f.gcount()));
  }
}
}  // namespace

std::string hash_path_content(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(path.string() + ": does not exist");
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  try {
    if (fs::is_directory(path)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::recursive_directory_iterator(path)) {
        if (e.is_regular_file()) files.push_back(fs::relative(e.path(), path));
      }
      std::sort(files.begin(), files.end());
      for (const auto& rel : files) {
        std::string name = rel.generic_string();
        XXH3_128bits_update(state, name.data(), name.size() + 1);
        hash_file(state, path / rel);
      }
    } else {
      hash_file(state, path);
    }
  } catch (...) {
    XXH3_freeState(state);
    throw;
  }
  XXH128_hash_t h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

}  // namespace wmgeom
