#include "core/hash.h"

#include <algorithm>
#include <cstdint>
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
      // Every file a stage reading the folder sees: folder symlinks are
      // followed as the stages follow them (a ShapeNet category linked in
      // from elsewhere), a link back to a folder above it is not (a cycle).
      std::vector<fs::path> files;
      std::vector<fs::path> chain{fs::canonical(path)};  // the folders above, canonical
      const auto options = fs::directory_options::follow_directory_symlink;
      for (auto it = fs::recursive_directory_iterator(path, options);
           it != fs::recursive_directory_iterator(); ++it) {
        chain.resize(static_cast<std::size_t>(it.depth()) + 1);
        if (it->is_directory()) {
          const fs::path real = fs::canonical(it->path());
          if (std::find(chain.begin(), chain.end(), real) != chain.end()) {
            it.disable_recursion_pending();
          } else {
            chain.push_back(real);
          }
        } else if (it->is_regular_file()) {
          // By the name the stage sees (fs::relative would resolve a link
          // into a name outside the folder).
          files.push_back(it->path().lexically_relative(path));
        }
      }
      std::sort(files.begin(), files.end());
      for (const auto& rel : files) {
        // Name, NUL, size, then the bytes: no two folders read alike
        // (without the size, a file "a" of "b\0x" read as files "a", "b").
        std::string name = rel.generic_string();
        XXH3_128bits_update(state, name.data(), name.size() + 1);
        const std::uint64_t size = fs::file_size(path / rel);
        XXH3_128bits_update(state, &size, sizeof size);
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
