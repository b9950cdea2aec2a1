// Content hashing (xxHash XXH3). Keys are 128-bit (32 hex digits); blob
// checksums are 64-bit (16 hex digits). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace wmgeom {

std::string hash128_hex(std::string_view text);
std::string hash64_hex(std::span<const std::byte> bytes);
// A file's bytes, or for a directory the sorted relative paths and contents of
// every regular file below it. Throws wmgeom::InputError if unreadable.
std::string hash_path_content(const std::filesystem::path& path);

}  // namespace wmgeom
