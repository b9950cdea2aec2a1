// Shared by the libFuzzer targets (fuzz/README.md): a scratch directory per
// process, file helpers, and the one way a target says "this input broke an
// invariant" (a trap, which libFuzzer reports as a crash with the input).
#pragma once

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

namespace wmgeom::fuzz {

namespace fs = std::filesystem;

// Stops the run with a message; libFuzzer saves the input as crash-*.
[[noreturn]] inline void invariant_failed(const char* what) {
  std::fprintf(stderr, "fuzz invariant failed: %s\n", what);
  std::fflush(stderr);
  __builtin_trap();
}
#define WMGEOM_FUZZ_CHECK(cond)                           \
  do {                                                    \
    if (!(cond)) ::wmgeom::fuzz::invariant_failed(#cond); \
  } while (0)

namespace detail {
inline fs::path& scratch_root() {
  static fs::path root;
  return root;
}
inline void remove_scratch() {
  std::error_code ec;
  if (!scratch_root().empty()) fs::remove_all(scratch_root(), ec);
}
}  // namespace detail

// $TMPDIR/wmgeom-fuzz.<target>.<pid>: created on the first call, reused for
// every input of this process, removed at exit. A crash (abort, no atexit)
// leaves one behind; the next process of the same target removes those of
// processes that are gone, so nothing accumulates. scripts/fuzz also points
// TMPDIR into build-fuzz/ and empties it after each target.
inline const fs::path& scratch_dir(const std::string& target) {
  fs::path& root = detail::scratch_root();
  if (!root.empty()) return root;
  const char* env = std::getenv("TMPDIR");
  fs::path base = env && *env ? fs::path(env) : fs::temp_directory_path();
  std::error_code ec;
  fs::create_directories(base, ec);
  const std::string prefix = "wmgeom-fuzz." + target + ".";
  for (const auto& e : fs::directory_iterator(base, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::error_code ignored;
      fs::remove_all(e.path(), ignored);
    }
  }
  root = base / (prefix + std::to_string(::getpid()));
  fs::remove_all(root, ec);
  fs::create_directories(root, ec);
  if (ec) {
    std::fprintf(stderr, "cannot create %s: %s\n", root.c_str(), ec.message().c_str());
    std::abort();
  }
  std::atexit(detail::remove_scratch);
  return root;
}

// An empty directory `name` under the scratch directory (emptied if present).
inline fs::path fresh_dir(const fs::path& scratch, const std::string& name) {
  fs::path d = scratch / name;
  std::error_code ec;
  fs::remove_all(d, ec);
  fs::create_directories(d, ec);
  if (ec) invariant_failed("cannot create a scratch folder");
  return d;
}

inline void write_file(const fs::path& path, const void* data, std::size_t size) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  f.close();
  if (!f) invariant_failed("cannot write a scratch file");
}
inline void write_file(const fs::path& path, std::string_view text) {
  write_file(path, text.data(), text.size());
}

inline std::string read_text(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Splits `data` at the first occurrence of `sep` (the second part is empty
// when there is none).
inline std::pair<std::string_view, std::string_view> split_once(std::string_view data,
                                                                std::string_view sep) {
  auto at = data.find(sep);
  if (at == std::string_view::npos) return {data, {}};
  return {data.substr(0, at), data.substr(at + sep.size())};
}

}  // namespace wmgeom::fuzz
