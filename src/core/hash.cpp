#include "core/hash.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include <sys/stat.h>
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
namespace fs = std::filesystem;

void hash_file(XXH3_state_t* state, const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path.string() + ": cannot read");
  std::vector<char> buf(1 << 16);
  while (f) {
    f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    XXH3_128bits_update(state, buf.data(), static_cast<std::size_t>(f.gcount()));
  }
}

// Every file a stage reading the folder sees, by the name it sees it under,
// sorted: folder symlinks are followed as the stages follow them (a ShapeNet
// category linked in from elsewhere), a link back to a folder above it is
// not (a cycle); hidden files and folders are not data (hidden_name).
std::vector<fs::path> folder_files(const fs::path& path) {
  std::vector<fs::path> files;
  std::vector<fs::path> chain{fs::canonical(path)};  // the folders above, canonical
  const auto options = fs::directory_options::follow_directory_symlink;
  for (auto it = fs::recursive_directory_iterator(path, options);
       it != fs::recursive_directory_iterator(); ++it) {
    chain.resize(static_cast<std::size_t>(it.depth()) + 1);
    if (hidden_name(it->path())) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_directory()) {
      const fs::path real = fs::canonical(it->path());
      if (std::find(chain.begin(), chain.end(), real) != chain.end()) {
        it.disable_recursion_pending();
      } else {
        chain.push_back(real);
      }
    } else if (it->is_regular_file()) {
      // (fs::relative would resolve a link into a name outside the folder)
      files.push_back(it->path().lexically_relative(path));
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The stamp of one file (links followed, as the reads follow them); false
// if it cannot be stat'ed.
bool stamp_file(const fs::path& file, const std::string& name, ContentStamp::File& out) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return false;
  out.name = name;
  out.size = static_cast<std::uintmax_t>(st.st_size);
  out.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  out.inode = static_cast<std::uint64_t>(st.st_ino);
  return true;
}

std::string shown(const ContentStamp& stamp, const std::string& name) {
  return name.empty() ? stamp.path.string() : (stamp.path / name).string();
}
}  // namespace

bool hidden_name(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.' && name != "." && name != "..";
}

std::string hash_path_content(const fs::path& path, ContentStamp* stamp) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(path.string() + ": does not exist");
  if (stamp) *stamp = ContentStamp{path, {}};
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  try {
    if (fs::is_directory(path)) {
      for (const auto& rel : folder_files(path)) {
        // Name, NUL, size, then the bytes: no two folders read alike
        // (without the size, a file "a" of "b\0x" read as files "a", "b").
        std::string name = rel.generic_string();
        if (stamp) {
          ContentStamp::File f;
          if (!stamp_file(path / rel, name, f))
            throw InputError((path / rel).string() + ": cannot read");
          stamp->files.push_back(f);
        }
        XXH3_128bits_update(state, name.data(), name.size() + 1);
        const std::uint64_t size = fs::file_size(path / rel);
        XXH3_128bits_update(state, &size, sizeof size);
        hash_file(state, path / rel);
      }
    } else {
      if (stamp) {
        ContentStamp::File f;
        if (!stamp_file(path, "", f)) throw InputError(path.string() + ": cannot read");
        stamp->files.push_back(f);
      }
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

std::string content_changed(const ContentStamp& stamp) {
  std::error_code ec;
  const bool single = stamp.files.size() == 1 && stamp.files[0].name.empty();
  if (!fs::exists(stamp.path, ec)) return stamp.path.string() + " was removed";
  if (single != !fs::is_directory(stamp.path, ec))
    return stamp.path.string() + " was replaced (a file by a folder, or a folder by a file)";
  std::vector<std::string> names;
  if (single) {
    names.emplace_back();
  } else {
    try {
      for (const auto& rel : folder_files(stamp.path)) names.push_back(rel.generic_string());
    } catch (const std::exception& e) {
      return stamp.path.string() + " cannot be listed any more (" + e.what() + ")";
    }
  }
  std::map<std::string, const ContentStamp::File*> before;
  for (const auto& f : stamp.files) before[f.name] = &f;
  std::set<std::string> all(names.begin(), names.end());
  for (const auto& [name, f] : before) all.insert(name);
  const std::set<std::string> now_there(names.begin(), names.end());
  for (const auto& name : all) {  // the first difference by name
    auto it = before.find(name);
    if (it == before.end()) return shown(stamp, name) + " was added";
    ContentStamp::File now;
    const fs::path file = single ? stamp.path : stamp.path / name;
    if (now_there.count(name) == 0 || !stamp_file(file, name, now))
      return shown(stamp, name) + " was removed";
    if (!(now == *it->second)) return shown(stamp, name) + " was modified";
  }
  return "";
}

}  // namespace wmgeom
