// The content-addressed artifact cache (DESIGN.md "Cache").
//
// On-disk format, version 1 (like ccache, documented here as a grammar):
//   ROOT/
//     v1/KK/KEY/manifest.json   KK = first two hex digits of KEY
//     v1/KK/KEY/I.zst           array I's bytes as consecutive independent zstd frames,
//                               one per CHUNK (4 MiB) of raw bytes; I = index in "arrays"
//     tmp/KEY.PID.N/            an entry being written; renamed to v1/KK/KEY when complete
//     locks/KEY.lock            lock file: one writer per key across processes and hosts
//     work/KEY/                 a stage's scratch (checkpoints) kept across failed runs
//   manifest.json := {"body": BODY, "checksum": XXH3-64 hex of BODY serialised compactly}
//   BODY := {"format": 1, "key", "stage", "type", "kind", "params": {name: value},
//            "meta": artifact metadata,
//            "arrays": [{"name", "dtype", "shape", "file", "bytes", "stored",
//                        "chunk": CHUNK, "frames": [stored size of each frame],
//                        "xxh3": [XXH3-64 hex of each frame's raw bytes]}],
//            "created": ISO-8601 UTC, "seconds": compute wall time, "items", "bytes"}
//   "stored" is the file size.
//   Independent frames let store and load (de)compress in parallel (TBB);
//   the concatenation is still one valid zstd stream (`zstd -d` reads it).
//
// Guarantees: an entry is visible only when complete (directory rename); a
// reader verifies the manifest checksum, every file size, the zstd frame and
// the data checksum, so a truncated or corrupted entry is reported and treated
// as a miss, never used. Files are not fsync'ed: a killed process loses
// nothing, a power failure may lose the newest entries (they are recomputed).
//
// Thread-safety: all methods may be called concurrently from threads and
// processes sharing ROOT. lock() serialises writers of one key.
//
// Across hosts (a cluster's shared filesystem): lock() takes an open file
// description lock (fcntl F_OFD_SETLKW, Linux >= 3.15) on the whole lock
// file: exclusive between threads, processes and, on NFSv3 with lockd and
// NFSv4, hosts, since the Linux NFS client sends it to the server as a POSIX
// lock. The lock dies with its holder (a killed job never leaves a stale
// lock). What else is relied on: rename(2) of a directory is atomic on the
// server (an entry appears whole or not at all), and close-to-open
// consistency (a reader that opens a manifest after the rename sees the
// files written before it). Lustre needs the `flock` mount option for
// locks to work across clients; GPFS and BeeGFS honour them by default.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/artifact.h"
#include "core/run_summary.h"

namespace wmgeom {

struct EntryInfo {
  std::string key;
  std::string stage;  // instance name that produced it
  std::string type;
  std::string kind;
  std::string created;
  double seconds = 0;  // wall time of the computation
  std::int64_t items = 0;
  std::uint64_t bytes = 0;   // uncompressed array bytes
  std::uint64_t stored = 0;  // compressed bytes on disk
  std::filesystem::path dir;
};

// An instance's record of the computation a cache entry holds (seconds,
// items, bytes): what a hit, or a result computed elsewhere, reports.
void record_entry(InstanceSummary& summary, const EntryInfo& info);

// What the producer records beside the arrays.
struct StoreInfo {
  std::string stage;
  std::string type;
  nlohmann::json params = nlohmann::json::object();
  double seconds = 0;
  std::int64_t items = 0;
};

class Cache {
 public:
  static constexpr int kFormat = 1;
  static constexpr std::size_t kChunk = std::size_t{4} << 20;
  explicit Cache(std::filesystem::path root, int zstd_level = 3);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path entry_dir(const std::string& key) const;
  // True when the entry is complete: its manifest parses and every blob has
  // the size the manifest records (one stat each; checksums are checked on
  // load). An entry that fails this (a truncated or deleted blob) is
  // reported absent, so it is never counted as a hit, and `problem` (when
  // given) says what is wrong with it. A lookup only: it changes nothing on
  // disk (the executor removes a damaged entry it finds, saying so, and
  // store() replaces one in its way).
  bool contains(const std::string& key, std::string* problem = nullptr) const;
  // Loads and verifies an entry. Returns null on a miss; on a corrupt entry,
  // describes the problem in *problem, removes the entry and returns null.
  std::shared_ptr<Artifact> load(const std::string& key, std::string* problem = nullptr,
                                 EntryInfo* info = nullptr) const;
  // Writes an entry atomically. Throws wmgeom::Error on I/O failure. If the
  // key already exists the new copy is discarded.
  void store(const std::string& key, const Artifact& artifact, const StoreInfo& info) const;
  // Manifest-level information (checksum verified), or nullopt.
  std::optional<EntryInfo> info(const std::string& key) const;
  std::vector<EntryInfo> list() const;
  // Full verification: "" if the entry is intact, else what is wrong.
  std::string verify(const std::string& key) const;
  void remove(const std::string& key) const;
  std::filesystem::path work_dir(const std::string& key) const;
  // Removes temporary directories left by writers that no longer run.
  std::size_t clean_tmp() const;

  // An exclusive inter-process lock on one key, released on destruction (and
  // by the kernel if the process dies).
  class Lock {
   public:
    Lock() = default;
    explicit Lock(int fd) : fd_(fd) {}
    Lock(Lock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Lock& operator=(Lock&& o) noexcept;
    ~Lock();

   private:
    int fd_ = -1;
  };
  Lock lock(const std::string& key) const;

 private:
  std::filesystem::path root_;
  int level_;
};

// zstd-compresses one buffer at `level`; shared with the cache benchmark.
std::vector<char> zstd_compress(const std::byte* data, std::size_t size, int level);

}  // namespace wmgeom
