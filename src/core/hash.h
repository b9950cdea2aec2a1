// Content hashing (xxHash XXH3). Keys are 128-bit (32 hex digits); blob
// checksums are 64-bit (16 hex digits). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wmgeom {

std::string hash128_hex(std::string_view text);
std::string hash64_hex(std::span<const std::byte> bytes);
// Hidden names (beginning with '.': .git, .DS_Store, an editor's swap file)
// are not data: a folder's hash skips them and every stage listing a folder
// skips them too, so that `git status` or Finder touching them neither moves
// a key nor counts as an edit of the folder.
bool hidden_name(const std::filesystem::path& p);
// A file's bytes, or for a directory the sorted relative paths and contents of
// every regular file below it but hidden ones (and none under a hidden
// folder). Throws wmgeom::InputError if unreadable.
//
// With `stamp`, also records what it read: each file's name (relative to
// `path`; "" for a single file), size, modification time and inode, taken
// before its bytes were read, so that content_changed() can tell later,
// without reading a byte again, whether the contents the hash stands for
// are still the ones on disk.
struct ContentStamp {
  std::filesystem::path path;
  struct File {
    std::string name;
    std::uintmax_t size = 0;
    std::int64_t mtime_ns = 0;
    std::uint64_t inode = 0;
    bool operator==(const File&) const = default;
  };
  std::vector<File> files;  // in the order the hash read them
};
std::string hash_path_content(const std::filesystem::path& path, ContentStamp* stamp = nullptr);
// "" when every file of the stamp is still there with its size, modification
// time and inode, and (a folder) no file was added; else what changed, e.g.
// "meshes/a.obj was modified", "a.obj was removed", "b.obj was added" (the
// first difference by name). One stat per file, no reads. A rewrite that
// keeps the size, the inode and sets the modification time back is not seen.
std::string content_changed(const ContentStamp& stamp);

}  // namespace wmgeom
