// fuzz_cache: a cache entry's manifest and blob, read by every path that
// reads an entry (cache/cache.h): contains() (the per-stage hit check: parse
// and stat), info(), verify() (`wmgeom cache verify`), load() and list().
//
// Input: FLAGS MANIFEST ["\n--blob--\n" BLOB]. MANIFEST is written as
// v1/KK/KEY/manifest.json and BLOB as 0.zst beside it. With FLAGS bit 0 set,
// MANIFEST is the manifest's BODY and the target writes
// {"body": BODY, "checksum": XXH3 of BODY}, so that inputs get past the
// checksum into the array table and the zstd frames (a fuzzer cannot forge
// a hash). Build-time seeds (fuzz_make_seeds) are real entries.
//
// Contract: whatever the entry holds, nothing throws or crashes; a damaged
// entry is reported (problem text) and never returned; contains() is a
// lookup that changes nothing on disk (the executor then removes what it
// reported), load() removes a damaged entry; an entry that verify() passes
// loads.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cache/cache.h"
#include "core/hash.h"
#include "fuzz_util.h"

using namespace wmgeom;

namespace {
const std::string kKey = "ab0123456789abcdef0123456789abcd";

struct Entry {
  std::string manifest;
  std::string_view blob;
  bool has_blob = false;
};

void put(const Cache& cache, const Entry& e) {
  const auto dir = cache.entry_dir(kKey);
  std::error_code ec;
  fuzz::fs::remove_all(dir, ec);
  fuzz::fs::create_directories(dir, ec);
  fuzz::write_file(dir / "manifest.json", e.manifest);
  if (e.has_blob) fuzz::write_file(dir / "0.zst", e.blob);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const fuzz::fs::path scratch = fuzz::scratch_dir("cache");
  const std::uint8_t flags = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto [manifest, blob] = fuzz::split_once(rest, "\n--blob--\n");
  Entry e{std::string(manifest), blob, rest.find("\n--blob--\n") != std::string_view::npos};
  if (flags & 1) {
    auto body = nlohmann::json::parse(manifest.begin(), manifest.end(), nullptr, false);
    if (!body.is_discarded()) {
      const std::string dump = body.dump();
      nlohmann::json doc = {
          {"body", body},
          {"checksum", hash64_hex(std::as_bytes(std::span(dump.data(), dump.size())))}};
      e.manifest = doc.dump(1);
    }
  }

  const Cache cache(fuzz::fresh_dir(scratch, "cache"));
  const auto dir = cache.entry_dir(kKey);

  put(cache, e);
  std::string contains_problem;
  const bool present = cache.contains(kKey, &contains_problem);
  WMGEOM_FUZZ_CHECK(present || !contains_problem.empty());
  WMGEOM_FUZZ_CHECK(fuzz::fs::exists(dir));  // a lookup removes nothing
  if (!present) {                            // what the executor does with a damaged entry it found
    cache.remove(kKey);
    WMGEOM_FUZZ_CHECK(!fuzz::fs::exists(dir));
  }

  put(cache, e);
  (void)cache.info(kKey);

  put(cache, e);
  const std::string verdict = cache.verify(kKey);

  put(cache, e);
  (void)cache.list();

  put(cache, e);
  std::string problem;
  EntryInfo info;
  auto art = cache.load(kKey, &problem, &info);
  if (art) {
    WMGEOM_FUZZ_CHECK(problem.empty());
    WMGEOM_FUZZ_CHECK(verdict.empty());
  } else {
    WMGEOM_FUZZ_CHECK(!problem.empty());
    WMGEOM_FUZZ_CHECK(!verdict.empty());
    WMGEOM_FUZZ_CHECK(!fuzz::fs::exists(dir));  // a damaged entry is removed
  }
  return 0;
}
