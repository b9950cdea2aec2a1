#include "cache/cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <signal.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <span>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include <oneapi/tbb/parallel_for.h>
#include <zstd.h>

#include "core/error.h"
#include "core/hash.h"

namespace wmgeom {
namespace fs = std::filesystem;

namespace {

std::string now_iso() {
  std::time_t t = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&t, &utc);  // thread-safe: stores run concurrently
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

// Writes every part into a new file with write(2), so that a failure says
// why (errno): a full disk or quota names the cache folder.
void write_parts(const fs::path& path, const std::vector<std::span<const char>>& parts,
                 const fs::path& root) {
  auto fail = [&](int err) {
    std::string m = "cache: cannot write " + path.string() + ": " + std::strerror(err);
    if (err == ENOSPC || err == EDQUOT) {
      m += " (the disk holding the cache " + root.string() +
           " is full: free space there or use another --cache-dir; nothing of this entry was kept)";
    }
    throw Error(m);
  };
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(errno);
  for (const auto& part : parts) {
    std::size_t done = 0;
    while (done < part.size()) {
      const ::ssize_t n = ::write(fd, part.data() + done, part.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int err = n < 0 ? errno : ENOSPC;
        ::close(fd);
        fail(err);
      }
      done += static_cast<std::size_t>(n);
    }
  }
  if (::close(fd) != 0) fail(errno);
}

void write_bytes(const fs::path& path, const char* data, std::size_t size, const fs::path& root) {
  write_parts(path, {std::span<const char>(data, size)}, root);
}

bool read_bytes(const fs::path& path, std::vector<char>& out) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return false;
  auto size = f.tellg();
  if (size < 0) return false;
  out.resize(static_cast<std::size_t>(size));
  f.seekg(0);
  f.read(out.data(), size);
  return static_cast<bool>(f);
}

EntryInfo info_from(const nlohmann::json& body, const fs::path& dir);

// Parses manifest.json and checks its checksum and the types of the fields
// info_from reads; "" on success.
std::string read_manifest(const fs::path& dir, nlohmann::json& body) {
  std::vector<char> bytes;
  if (!read_bytes(dir / "manifest.json", bytes)) return "manifest.json is missing or unreadable";
  nlohmann::json doc = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("body") ||
      !doc.contains("checksum")) {
    return "manifest.json is not valid";
  }
  body = doc["body"];
  std::string dump = body.dump();
  if (hash64_hex(std::as_bytes(std::span(dump.data(), dump.size()))) != doc["checksum"]) {
    return "manifest.json checksum mismatch";
  }
  if (!body.is_object()) return "manifest.json is not valid";
  if (const auto f = body.find("format"); f == body.end() || *f != Cache::kFormat)
    return "unsupported entry format";
  // An entry is found by its folder's name: a manifest recording another key
  // is another entry's, copied or moved here, and must not be served as this
  // one (neither load nor verify could tell from the checksums, which only
  // say the files are intact).
  if (const auto k = body.find("key");
      k == body.end() || !k->is_string() || k->get<std::string>() != dir.filename().string())
    return "manifest.json records another key than its folder's (an entry moved or copied here)";
  try {
    (void)info_from(body, dir);
  } catch (const nlohmann::json::exception&) {
    return "manifest.json is not valid";
  } catch (const std::domain_error&) {
    return "manifest.json is not valid";
  }
  return "";
}

// An integer field (absent: `fallback`). Anything but a JSON integer throws
// std::domain_error: a float, even one that looks whole, could be out of
// range, and converting it would be undefined (scripts/fuzz found "bytes":
// 1e64).
template <typename T>
T integer_field(const nlohmann::json& j, const char* key, T fallback) {
  const auto it = j.find(key);
  if (it == j.end()) return fallback;
  const bool ok = std::is_unsigned_v<T> ? it->is_number_unsigned() : it->is_number_integer();
  if (!ok)
    throw std::domain_error(std::string("manifest field ") + key + " is not a fitting integer");
  return it->get<T>();
}

// A list of integers (absent: empty), each checked as integer_field checks
// one: a float item such as 1e58 would be undefined to convert.
template <typename T>
std::vector<T> integer_list(const nlohmann::json& j, const char* key) {
  std::vector<T> out;
  const auto it = j.find(key);
  if (it == j.end()) return out;
  if (!it->is_array())
    throw std::domain_error(std::string("manifest field ") + key + " is not a list");
  for (const auto& x : *it) {
    const bool ok = std::is_unsigned_v<T> ? x.is_number_unsigned() : x.is_number_integer();
    if (!ok)
      throw std::domain_error(std::string("manifest field ") + key +
                              " holds an item that is not a fitting integer");
    out.push_back(x.get<T>());
  }
  return out;
}

// Throws nlohmann::json::exception or std::domain_error when a field has
// the wrong type (read_manifest checks that it does not).
EntryInfo info_from(const nlohmann::json& body, const fs::path& dir) {
  EntryInfo e;
  e.key = body.value("key", "");
  e.stage = body.value("stage", "");
  e.type = body.value("type", "");
  e.kind = body.value("kind", "");
  e.created = body.value("created", "");
  e.seconds = body.value("seconds", 0.0);
  e.items = integer_field(body, "items", std::int64_t{0});
  e.bytes = integer_field(body, "bytes", std::uint64_t{0});
  if (const auto arrays = body.find("arrays"); arrays != body.end()) {
    for (const auto& a : *arrays) e.stored += integer_field(a, "stored", std::uint64_t{0});
  }
  e.dir = dir;
  return e;
}

// A read-only mapping of a whole file (no copy into a zeroed buffer).
class MappedFile {
 public:
  explicit MappedFile(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return;
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return;
    size_ = static_cast<std::size_t>(st.st_size);
    ok_ = true;
    if (size_ == 0) return;
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd_, 0);
    if (p == MAP_FAILED) {
      ok_ = false;
      return;
    }
    data_ = static_cast<const char*>(p);
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  bool ok() const { return ok_; }
  const char* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  int fd_ = -1;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
  bool ok_ = false;
};

// Loads (out != null) or checks the arrays of an entry; "" on success.
// Every size is checked before it is used: the shape against "bytes" before
// anything is allocated, each frame against the file and its zstd header
// (fuzz_cache found the unchecked versions).
// A blob's name as store() writes it ("0.zst", "1.zst", ...): a manifest
// naming anything else (a path out of the entry, "../../etc/passwd") is damaged.
bool blob_name_ok(const std::string& file) {
  const auto dot = file.find('.');
  return dot != std::string::npos && dot > 0 && dot <= 9 && file.substr(dot) == ".zst" &&
         file.find_first_not_of("0123456789") == dot;
}

std::string read_arrays(const fs::path& dir, const nlohmann::json& body, Artifact* out) {
  const auto arrays = body.find("arrays");
  if (arrays == body.end() || !arrays->is_array()) return "manifest.json has no array table";
  for (const auto& a : *arrays) {
    if (!a.is_object()) return "manifest.json has an invalid array entry";
    std::string name = a.value("name", "");
    std::string file = a.value("file", "");
    if (!blob_name_ok(file))
      return "manifest.json names a blob \"" + file + "\" that is not one of its own";
    std::string what = "blob " + file + " (\"" + name + "\")";
    std::vector<std::int64_t> shape = integer_list<std::int64_t>(a, "shape");
    std::vector<std::uint64_t> frames = integer_list<std::uint64_t>(a, "frames");
    std::vector<std::string> sums = a.value("xxh3", std::vector<std::string>{});
    std::uint64_t chunk = integer_field(a, "chunk", std::uint64_t{0});
    DType dtype;
    try {
      dtype = dtype_from_name(a.value("dtype", ""));
    } catch (const Error&) {
      return "array \"" + name + "\" has an unknown dtype";
    }
    const auto checked = checked_nbytes(dtype, shape);
    if (!checked) return "array \"" + name + "\": invalid shape";
    const std::uint64_t nbytes = *checked;
    if (nbytes != integer_field(a, "bytes", std::uint64_t{0}))
      return "array \"" + name + "\": size disagrees with shape";
    if (chunk == 0 || chunk > Cache::kChunk || frames.size() != (nbytes + chunk - 1) / chunk ||
        sums.size() != frames.size()) {
      return what + ": frame table is invalid";
    }
    MappedFile f(dir / file);
    if (!f.ok()) return what + " is missing";
    std::uint64_t expected = integer_field(a, "stored", std::uint64_t{0});
    if (f.size() != expected) {
      return what + " is truncated: " + std::to_string(f.size()) + " bytes, expected " +
             std::to_string(expected);
    }
    std::vector<std::uint64_t> offsets(frames.size() + 1, 0);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      if (frames[i] > f.size() - offsets[i])
        return what + ": frame sizes disagree with the file size";
      offsets[i + 1] = offsets[i] + frames[i];
      const std::size_t len = std::min<std::uint64_t>(chunk, nbytes - i * chunk);
      if (ZSTD_getFrameContentSize(f.data() + offsets[i], frames[i]) != len) {
        return what + " frame " + std::to_string(i) + " is not a valid zstd frame";
      }
    }
    if (offsets.back() != f.size()) return what + ": frame sizes disagree with the file size";
    Array arr = Array::uninitialized(dtype, shape);
    std::vector<std::string> errors(frames.size());
    tbb::parallel_for(std::size_t{0}, frames.size(), [&](std::size_t i) {
      std::size_t begin = i * chunk;
      std::size_t len = std::min<std::size_t>(chunk, nbytes - begin);
      const char* src = f.data() + offsets[i];
      std::size_t got = ZSTD_decompress(arr.raw() + begin, len, src, frames[i]);
      if (ZSTD_isError(got) || got != len) {
        errors[i] =
            what + " frame " + std::to_string(i) + " does not decompress" +
            (ZSTD_isError(got) ? std::string(": ") + ZSTD_getErrorName(got) : std::string());
      } else if (hash64_hex({arr.raw() + begin, len}) != sums[i]) {
        errors[i] = what + " frame " + std::to_string(i) + " checksum mismatch";
      }
    });
    for (const auto& e : errors) {
      if (!e.empty()) return e;
    }
    if (out) out->arrays[name] = std::move(arr);
  }
  return "";
}

std::atomic<std::uint64_t> g_tmp_counter{0};

}  // namespace

std::vector<char> zstd_compress(const std::byte* data, std::size_t size, int level) {
  std::vector<char> out(ZSTD_compressBound(size));
  std::size_t n = ZSTD_compress(out.data(), out.size(), data, size, level);
  if (ZSTD_isError(n)) throw Error(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

Cache::Cache(fs::path root, int zstd_level) : root_(std::move(root)), level_(zstd_level) {}

fs::path Cache::entry_dir(const std::string& key) const {
  return root_ / "v1" / key.substr(0, 2) / key;
}

namespace {
// Whether every blob the manifest lists is on disk with its recorded size
// (one stat per blob; the checksums stay with load and verify).
// "" when it is; otherwise what is wrong.
std::string sizes_match(const fs::path& dir) {
  std::vector<char> bytes;
  if (!read_bytes(dir / "manifest.json", bytes)) return "manifest.json is unreadable";
  const nlohmann::json doc = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("body") ||
      !doc["body"].contains("arrays")) {
    return "manifest.json is not valid";
  }
  try {
    for (const auto& a : doc["body"]["arrays"]) {
      std::error_code ec;
      const std::string file = a.value("file", "");
      if (!blob_name_ok(file))
        return "manifest.json names a blob \"" + file + "\" that is not one of its own";
      const auto size = fs::file_size(dir / file, ec);
      // (scripts/fuzz found "stored": 1.3e58, a float: undefined to convert.)
      const auto stored = integer_field(a, "stored", std::uint64_t{0});
      if (ec) return file + " is missing";
      if (size != stored)
        return file + " has " + std::to_string(size) + " bytes, its manifest says " +
               std::to_string(stored);
    }
  } catch (const nlohmann::json::exception&) {
    return "manifest.json is not valid";
  } catch (const std::domain_error&) {
    return "manifest.json is not valid";
  }
  return "";
}
}  // namespace

void record_entry(InstanceSummary& summary, const EntryInfo& info) {
  summary.compute_seconds = info.seconds;
  summary.items = info.items;
  summary.bytes = info.bytes;
}

bool Cache::contains(const std::string& key, std::string* problem) const {
  std::error_code ec;
  if (!fs::exists(entry_dir(key) / "manifest.json", ec)) return false;
  const std::string wrong = sizes_match(entry_dir(key));
  if (wrong.empty()) return true;
  if (problem) *problem = wrong;  // a truncated or missing blob is never a hit
  return false;
}

std::shared_ptr<Artifact> Cache::load(const std::string& key, std::string* problem,
                                      EntryInfo* info) const {
  fs::path dir = entry_dir(key);
  std::error_code ec;
  if (!fs::exists(dir / "manifest.json", ec))
    return nullptr;  // (not contains(): load reports what is wrong)
  nlohmann::json body;
  std::string err = read_manifest(dir, body);
  auto art = std::make_shared<Artifact>();
  if (err.empty()) {
    try {
      art->kind = body.value("kind", "");
      art->meta = body.value("meta", nlohmann::json::object());
      err = read_arrays(dir, body, art.get());
    } catch (const std::exception& e) {
      err = std::string("unreadable entry: ") + e.what();
    }
  }
  if (!err.empty()) {
    if (problem) *problem = err;
    remove(key);
    return nullptr;
  }
  if (info) *info = info_from(body, dir);
  return art;
}

void Cache::store(const std::string& key, const Artifact& artifact, const StoreInfo& si) const {
  fs::path final_dir = entry_dir(key);
  fs::path tmp = root_ / "tmp" /
                 (key + "." + std::to_string(::getpid()) + "." + std::to_string(g_tmp_counter++));
  std::error_code ec;
  fs::create_directories(tmp, ec);
  if (ec) throw Error("cache: cannot create " + tmp.string() + ": " + ec.message());
  try {
    nlohmann::json arrays = nlohmann::json::array();
    std::uint64_t total = 0;
    std::size_t i = 0;
    for (const auto& named : artifact.arrays) {
      const std::string& name = named.first;
      const Array& a = named.second;  // (not a structured binding: clang 14 cannot capture one)
      if (a.empty()) continue;
      if (!valid_array_name(name)) throw Error("cache: invalid array name \"" + name + "\"");
      std::string file = std::to_string(i++) + ".zst";
      std::size_t nbytes = a.nbytes();
      std::vector<std::vector<char>> packed((nbytes + kChunk - 1) / kChunk);
      std::vector<std::string> sums(packed.size());
      tbb::parallel_for(std::size_t{0}, packed.size(), [&](std::size_t c) {
        std::size_t begin = c * kChunk;
        std::size_t len = std::min(kChunk, nbytes - begin);
        packed[c] = zstd_compress(a.raw() + begin, len, level_);
        sums[c] = hash64_hex({a.raw() + begin, len});
      });
      std::vector<std::uint64_t> frames;
      std::uint64_t stored = 0;
      {
        std::vector<std::span<const char>> parts;
        for (const auto& p : packed) {
          parts.emplace_back(p.data(), p.size());
          frames.push_back(p.size());
          stored += p.size();
        }
        write_parts(tmp / file, parts, root_);
      }
      arrays.push_back({{"name", name},
                        {"dtype", dtype_name(a.dtype())},
                        {"shape", a.shape()},
                        {"file", file},
                        {"bytes", nbytes},
                        {"stored", stored},
                        {"chunk", kChunk},
                        {"frames", frames},
                        {"xxh3", sums}});
      total += a.nbytes();
    }
    nlohmann::json body = {{"format", kFormat},     {"key", key},
                           {"stage", si.stage},     {"type", si.type},
                           {"kind", artifact.kind}, {"params", si.params},
                           {"meta", artifact.meta}, {"arrays", arrays},
                           {"created", now_iso()},  {"seconds", si.seconds},
                           {"items", si.items},     {"bytes", total}};
    std::string dump = body.dump();
    nlohmann::json doc = {
        {"body", body},
        {"checksum", hash64_hex(std::as_bytes(std::span(dump.data(), dump.size())))}};
    std::string text = doc.dump(1);
    write_bytes(tmp / "manifest.json", text.data(), text.size(), root_);
    fs::create_directories(final_dir.parent_path(), ec);
    fs::rename(tmp, final_dir, ec);
    if (ec && !contains(key)) {  // a damaged entry in the way: replaced
      remove(key);
      fs::rename(tmp, final_dir, ec);
    }
    if (ec) {
      // Another writer got there first (ENOTEMPTY/EEXIST): keep theirs.
      if (!contains(key)) throw Error("cache: cannot move entry into place: " + ec.message());
      fs::remove_all(tmp, ec);
    }
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

std::optional<EntryInfo> Cache::info(const std::string& key) const {
  nlohmann::json body;
  fs::path dir = entry_dir(key);
  if (!contains(key) || !read_manifest(dir, body).empty()) return std::nullopt;
  return info_from(body, dir);
}

std::vector<EntryInfo> Cache::list() const {
  std::vector<EntryInfo> out;
  std::error_code ec;
  fs::path v1 = root_ / "v1";
  if (!fs::exists(v1, ec)) return out;
  for (const auto& fan : fs::directory_iterator(v1, ec)) {
    for (const auto& e : fs::directory_iterator(fan.path(), ec)) {
      nlohmann::json body;
      EntryInfo info;
      if (read_manifest(e.path(), body).empty()) {
        info = info_from(body, e.path());
      } else {
        info.key = e.path().filename().string();
        info.kind = "(corrupt)";
        info.dir = e.path();
      }
      out.push_back(info);
    }
  }
  std::sort(out.begin(), out.end(), [](const EntryInfo& a, const EntryInfo& b) {
    return std::tie(a.created, a.key) < std::tie(b.created, b.key);
  });
  return out;
}

std::string Cache::verify(const std::string& key) const {
  fs::path dir = entry_dir(key);
  nlohmann::json body;
  if (std::string err = read_manifest(dir, body); !err.empty()) return err;
  try {
    return read_arrays(dir, body, nullptr);
  } catch (const std::exception& e) {
    return std::string("unreadable entry: ") + e.what();
  }
}

void Cache::remove(const std::string& key) const {
  // Move aside first so that readers never see a half-deleted entry.
  std::error_code ec;
  fs::path dir = entry_dir(key);
  fs::path trash =
      root_ / "tmp" /
      ("removed." + key + "." + std::to_string(::getpid()) + "." + std::to_string(g_tmp_counter++));
  fs::create_directories(trash.parent_path(), ec);
  fs::rename(dir, trash, ec);
  if (!ec) fs::remove_all(trash, ec);
}

fs::path Cache::work_dir(const std::string& key) const { return root_ / "work" / key; }

std::size_t Cache::clean_tmp() const {
  std::size_t n = 0;
  std::error_code ec;
  fs::path tmp = root_ / "tmp";
  if (!fs::exists(tmp, ec)) return 0;
  for (const auto& e : fs::directory_iterator(tmp, ec)) {
    // Names are KEY.PID.N or removed.KEY.PID.N: keep those of live writers.
    std::string name = e.path().filename().string();
    std::istringstream parts(name);
    std::vector<std::string> fields;
    for (std::string f; std::getline(parts, f, '.');) fields.push_back(f);
    bool alive = false;
    if (fields.size() >= 3) {
      try {
        pid_t pid = static_cast<pid_t>(std::stol(fields[fields.size() - 2]));
        alive = pid > 0 && ::kill(pid, 0) == 0;
      } catch (...) {
      }
    }
    if (!alive) {
      fs::remove_all(e.path(), ec);
      ++n;
    }
  }
  return n;
}

Cache::Lock& Cache::Lock::operator=(Lock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

Cache::Lock::~Lock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

Cache::Lock Cache::lock(const std::string& key) const {
  fs::path dir = root_ / "locks";
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::path p = dir / (key + ".lock");
  int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cache: cannot open lock " + p.string() + ": " + std::strerror(errno));
  struct flock whole {};
  whole.l_type = F_WRLCK;
  whole.l_whence = SEEK_SET;  // l_start = l_len = 0: the whole file
  while (::fcntl(fd, F_OFD_SETLKW, &whole) != 0) {
    if (errno != EINTR) {
      ::close(fd);
      throw Error("cache: cannot lock " + p.string() + ": " + std::strerror(errno));
    }
  }
  return Lock(fd);
}

}  // namespace wmgeom
