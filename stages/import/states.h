// Reading another model's states (the import stage's contract). A source is
// a folder in `wmgeom export`'s layout for a StateSet (meta.json + one NPY
// file per array) or one HDF5 file with the same array names as datasets and
// the meta.json document as the root attribute `meta`. Reading goes in three
// steps, so that most mistakes are found at plan time:
//
//   inventory       meta.json and every array's dtype and shape (headers only)
//   check_inventory the structure: kind, the model's fields, required and
//                   unknown arrays, dtypes, ranks, shapes that agree
//   read_states     the data, converted to the StateSet's dtypes, then
//   check_contents  the values: finite states, labels in range, tasks that
//                   match the task ids, one set of attributes per image, and
//                   targets that follow each task's N-back rule
//
// Every problem is a wmgeom::InputError (exit 2) naming the file, the array
// (or meta key) and what was expected. Nothing is written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/array.h"
#include "core/artifacts.h"
#include "import/settings.h"

namespace wmgeom::imports {

// One array the layout knows: its StateSet field, whether it holds floats
// (stored float32) or labels (stored int32), its dimensions as documented
// (M trials, T frames, H units...), and whether a source must have it.
struct ArraySpec {
  const char* name;
  bool floating;
  const char* dims;  // "M,T,H": M and T are shared by every array, H by hidden and cell
  bool required;
  const char* what;
};
// The layout's arrays, in the README's order.
const std::vector<ArraySpec>& layout();

// An array as a source stores it.
struct Entry {
  DType dtype{};
  std::vector<std::int64_t> shape;
  std::string where;  // "DIR/hidden.npy" or "FILE:/hidden", for messages
};

struct Inventory {
  std::filesystem::path source;
  Format format = Format::kNpy;
  nlohmann::json document;  // {"kind", "meta": {"model": {...}}, "arrays"?}
  std::string meta_where;   // "DIR/meta.json" or "FILE: attribute meta"
  std::map<std::string, Entry> arrays;
};

// kAuto resolved: a folder is NPY, a file is HDF5. Throws InputError when the
// path's kind and an explicit format disagree.
Format format_of(const std::filesystem::path& path, Format format);

// Reads meta.json (or the HDF5 attribute) and every array's header. Throws
// InputError for a source that cannot be read at all.
Inventory inventory(const std::filesystem::path& path, Format format);

// Calls `problem` once per structural problem (an empty run: none).
void check_inventory(const Inventory& inv, const std::function<void(const std::string&)>& problem);

// The data as a StateSet (meta.model verbatim; floats as float32, labels as
// int32). Requires a clean check_inventory; throws InputError for a value
// that does not fit its dtype (a label beyond int32).
StateSet read_states(const Inventory& inv);

// Throws InputError for the first value that contradicts the layout.
void check_contents(const StateSet& states, const Inventory& inv);

// HDF5 (states_hdf5.cpp): the same three reads for one file.
Inventory hdf5_inventory(const std::filesystem::path& file);
Array hdf5_read(const std::filesystem::path& file, const std::string& name);

}  // namespace wmgeom::imports
