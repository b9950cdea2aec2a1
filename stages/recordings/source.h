// Reading recordings (the recordings stage's input contract). A source is a
// folder (meta.json + one NPY file per array) or one HDF5 file (the same
// names as root datasets, meta.json's document as the root attribute
// `meta`), read through the import stage's readers:
//
//   meta.json   {"kind": "Recordings", "meta": {"subjects": ["s1", ...]?,
//               "source": "free text"?}}
//   image       int [K]: the image id of each condition (as the StateSets'
//               `stimulus` arrays name images)
//   frame       int [K], optional: the frame of each condition; without it
//               every condition is an image, compared at each analysed frame
//   responses   float [S, K, U]: each subject's response pattern per condition
//   rdms        float [S, K, K]: or each subject's RDM (symmetric, zero
//               diagonal; any dissimilarity, crossnobis included)
//
// Floats are float32 or float64. Exactly one of responses and rdms. Problems are wmgeom::InputError
// (exit 2) naming the file, the array and what was expected; nothing is written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "import/settings.h"
#include "recordings/rsa.h"

namespace wmgeom::recordings {

struct Source {
  std::vector<std::int32_t> image;  // per condition
  std::vector<std::int32_t> frame;  // per condition; empty: none given
  std::vector<std::string> subjects;
  std::vector<Vector> rdms;  // per subject, over PairSet::all(K)
  bool from_responses = false;
  std::int64_t units = 0;  // responses' U; 0 for RDMs
  std::int64_t conditions() const { return static_cast<std::int64_t>(image.size()); }
};

// Plan time, from meta.json and the arrays' headers: calls `problem` once
// per structural problem. Throws InputError for a source that cannot be
// read at all.
void check_structure(const std::filesystem::path& path, imports::Format format,
                     const std::function<void(const std::string&)>& problem);

// The data, checked: finite values, conditions named once, responses that
// vary across units, symmetric RDMs with a zero diagonal.
Source read_source(const std::filesystem::path& path, imports::Format format);

}  // namespace wmgeom::recordings
