// fuzz_states: the bytes as a folder of another model's states, read the
// way the import stage reads it (stages/import/states.h): inventory from the
// headers, check_inventory, read_states, check_contents. The input is
// meta.json's text, then any number of sections "\n--NAME--\n" followed by
// NAME.npy's bytes (NAME: 1 to 16 of [a-z_]; other sections are skipped).
// Contract: a bad folder ends as wmgeom::InputError naming the folder or one
// of its files (never another exception, a crash or a hang); a folder that
// passes every check exports (export_artifact) and imports again to the same
// arrays, byte for byte.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/artifact.h"
#include "core/error.h"
#include "fuzz_util.h"
#include "import/states.h"

using namespace wmgeom;

namespace {

bool plain_name(std::string_view name) {
  if (name.empty() || name.size() > 16) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  return true;
}

// Reads a folder as the import stage does; throws InputError.
StateSet read_folder(const fuzz::fs::path& dir) {
  const imports::Inventory inv = imports::inventory(dir, imports::Format::kNpy);
  std::string problems;
  imports::check_inventory(inv, [&](const std::string& p) { problems += "\n  " + p; });
  if (!problems.empty()) throw InputError(dir.string() + ":" + problems);
  StateSet s = imports::read_states(inv);
  imports::check_contents(s, inv);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::fs::path scratch = fuzz::scratch_dir("states");
  const fuzz::fs::path dir = fuzz::fresh_dir(scratch, "in");
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  auto [meta, sections] = fuzz::split_once(rest, "\n--");
  fuzz::write_file(dir / "meta.json", meta);
  while (!sections.empty()) {
    auto [header, body] = fuzz::split_once(sections, "--\n");
    auto [bytes, next] = fuzz::split_once(body, "\n--");
    if (plain_name(header)) fuzz::write_file(dir / (std::string(header) + ".npy"), bytes);
    sections = next;
  }
  StateSet s;
  try {
    s = read_folder(dir);
  } catch (const InputError& e) {
    WMGEOM_FUZZ_CHECK(std::string_view(e.what()).find(dir.string()) != std::string_view::npos);
    return 0;
  }
  // What passes round-trips: exported and imported again, the same arrays.
  const fuzz::fs::path out = scratch / "out";
  std::error_code ec;
  fuzz::fs::remove_all(out, ec);
  const Artifact a = s.to_artifact();
  export_artifact(a, out);
  const Artifact b = read_folder(out).to_artifact();
  WMGEOM_FUZZ_CHECK(a.arrays.size() == b.arrays.size());
  for (const auto& [name, x] : a.arrays) {
    const auto it = b.arrays.find(name);
    WMGEOM_FUZZ_CHECK(it != b.arrays.end());
    const Array& y = it->second;
    WMGEOM_FUZZ_CHECK(x.dtype() == y.dtype() && x.shape() == y.shape());
    WMGEOM_FUZZ_CHECK(x.nbytes() == 0 || std::memcmp(x.raw(), y.raw(), x.nbytes()) == 0);
  }
  return 0;
}
