#include "recordings/source.h"

#include <cmath>
#include <set>
#include <utility>

#include "core/error.h"
#include "core/npy.h"
#include "import/states.h"

namespace wmgeom::recordings {

namespace fs = std::filesystem;

namespace {

bool is_int(DType d) { return d == DType::kU8 || d == DType::kI32 || d == DType::kI64; }
bool is_float(DType d) { return d == DType::kF32 || d == DType::kF64; }

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void check(const imports::Inventory& inv, const std::function<void(const std::string&)>& problem) {
  const auto& doc = inv.document;
  const std::string& mw = inv.meta_where;
  if (!doc.is_object() || !doc.contains("kind") || doc["kind"] != "Recordings") {
    problem(
        mw + ": expected {\"kind\": \"Recordings\", \"meta\": {...}}" +
        (doc.is_object() && doc.contains("kind") ? " (kind is " + doc["kind"].dump() + ")" : ""));
  }
  const std::set<std::string> known = {"image", "frame", "responses", "rdms"};
  for (const auto& [name, e] : inv.arrays) {
    if (!known.count(name))
      problem(e.where + ": unknown array (expected image, frame, and responses or rdms)");
  }
  std::int64_t k = -1;
  if (auto it = inv.arrays.find("image"); it == inv.arrays.end()) {
    problem(inv.source.string() + ": array image is missing (int [K], the image id per condition)");
  } else if (!is_int(it->second.dtype) || it->second.shape.size() != 1) {
    problem(it->second.where + ": expected an int array of shape [K], found " +
            std::string(dtype_name(it->second.dtype)) + " " + shape_text(it->second.shape));
  } else {
    k = it->second.shape[0];
    if (k < 4)
      problem(it->second.where + ": " + std::to_string(k) + " conditions; RSA needs at least 4");
  }
  if (auto it = inv.arrays.find("frame"); it != inv.arrays.end()) {
    if (!is_int(it->second.dtype) || it->second.shape != std::vector<std::int64_t>{k})
      problem(it->second.where + ": expected an int array of shape [" + std::to_string(k) +
              "] (one frame per condition), found " + std::string(dtype_name(it->second.dtype)) +
              " " + shape_text(it->second.shape));
  }
  const auto responses = inv.arrays.find("responses"), rdms = inv.arrays.find("rdms");
  const bool has_r = responses != inv.arrays.end(), has_d = rdms != inv.arrays.end();
  if (has_r == has_d) {
    problem(inv.source.string() +
            ": expected exactly one of responses (float [S, K, U]) and rdms " +
            "(float [S, K, K]), found " + (has_r ? "both" : "neither"));
    return;
  }
  const imports::Entry& e = has_r ? responses->second : rdms->second;
  const bool shape_ok = e.shape.size() == 3 && e.shape[0] >= 1 && e.shape[1] == k &&
                        e.shape[2] >= (has_r ? 2 : 0) && (has_r || e.shape[2] == k);
  if (!is_float(e.dtype) || !shape_ok) {
    problem(e.where + ": expected a float array of shape " +
            (has_r ? "[S, " + std::to_string(k) + ", U] (U >= 2 units)"
                   : "[S, " + std::to_string(k) + ", " + std::to_string(k) + "]") +
            ", found " + std::string(dtype_name(e.dtype)) + " " + shape_text(e.shape));
    return;
  }
  if (doc.is_object() && doc.contains("meta") && doc["meta"].is_object() &&
      doc["meta"].contains("subjects")) {
    const auto& s = doc["meta"]["subjects"];
    bool ok = s.is_array() && static_cast<std::int64_t>(s.size()) == e.shape[0];
    if (ok)
      for (const auto& x : s) ok = ok && x.is_string();
    if (!ok)
      problem(mw + ": meta.subjects must list " + std::to_string(e.shape[0]) +
              " subject names (one per row of " + e.where + ")");
  }
}

Array read(const imports::Inventory& inv, const std::string& name) {
  const auto& e = inv.arrays.at(name);
  return inv.format == imports::Format::kHdf5 ? imports::hdf5_read(inv.source, name)
                                              : read_npy(e.where);
}

std::vector<std::int32_t> ints(const Array& a, const std::string& where) {
  std::vector<std::int32_t> out;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    std::int64_t v = a.dtype() == DType::kU8    ? a.data<std::uint8_t>()[i]
                     : a.dtype() == DType::kI32 ? a.data<std::int32_t>()[i]
                                                : a.data<std::int64_t>()[i];
    if (v < 0 || v > 2147483647)
      throw InputError(where + ": entry " + std::to_string(i) + " is " + std::to_string(v) +
                       "; expected an id >= 0");
    out.push_back(static_cast<std::int32_t>(v));
  }
  return out;
}

double value(const Array& a, std::int64_t i) {
  return a.dtype() == DType::kF64 ? a.data<double>()[i] : a.data<float>()[i];
}

}  // namespace

void check_structure(const fs::path& path, imports::Format format,
                     const std::function<void(const std::string&)>& problem) {
  check(imports::inventory(path, format), problem);
}

Source read_source(const fs::path& path, imports::Format format) {
  const imports::Inventory inv = imports::inventory(path, format);
  std::string problems;
  check(inv, [&](const std::string& p) { problems += "\n  " + p; });
  if (!problems.empty()) throw InputError("recordings: " + path.string() + ":" + problems);
  Source s;
  s.image = ints(read(inv, "image"), inv.arrays.at("image").where);
  if (inv.arrays.count("frame")) s.frame = ints(read(inv, "frame"), inv.arrays.at("frame").where);
  const std::int64_t k = s.conditions();
  std::set<std::pair<std::int32_t, std::int32_t>> seen;
  for (std::int64_t c = 0; c < k; ++c) {
    const auto key = std::pair{s.image[static_cast<std::size_t>(c)],
                               s.frame.empty() ? 0 : s.frame[static_cast<std::size_t>(c)]};
    if (!seen.insert(key).second)
      throw InputError(inv.arrays.at("image").where + ": condition " + std::to_string(c) +
                       " repeats image " + std::to_string(key.first) +
                       (s.frame.empty() ? "" : " at frame " + std::to_string(key.second)) +
                       "; each condition must be named once (average repeats beforehand)");
  }
  s.from_responses = inv.arrays.count("responses") > 0;
  const std::string name = s.from_responses ? "responses" : "rdms";
  const std::string& where = inv.arrays.at(name).where;
  const Array a = read(inv, name);
  const std::int64_t subjects = a.dim(0), width = a.dim(2);
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    if (!std::isfinite(value(a, i)))
      throw InputError(where + ": entry " + std::to_string(i) + " is not finite (NaN or infinite)");
  }
  const auto& meta = inv.document["meta"];
  for (std::int64_t sub = 0; sub < subjects; ++sub) {
    s.subjects.push_back(meta.is_object() && meta.contains("subjects")
                             ? meta["subjects"][static_cast<std::size_t>(sub)].get<std::string>()
                             : "subject" + std::to_string(sub));
    Matrix m(k, width);
    for (std::int64_t c = 0; c < k; ++c)
      for (std::int64_t u = 0; u < width; ++u) m(c, u) = value(a, (sub * k + c) * width + u);
    if (s.from_responses) {
      for (std::int64_t c = 0; c < k; ++c) {
        if (m.row(c).maxCoeff() == m.row(c).minCoeff())
          throw InputError(where + ": subject " + std::to_string(sub) + ", condition " +
                           std::to_string(c) +
                           ": the same response in every unit (a correlation distance needs a "
                           "pattern that varies)");
      }
      s.rdms.push_back(correlation_rdm(m));
      s.units = width;
    } else {
      Vector v(k * (k - 1) / 2);
      Eigen::Index n = 0;
      const double scale = std::max(1e-300, m.cwiseAbs().maxCoeff());
      for (std::int64_t i = 0; i < k; ++i) {
        if (std::abs(m(i, i)) > 1e-6 * scale)
          throw InputError(where + ": subject " + std::to_string(sub) + ": diagonal entry " +
                           std::to_string(i) + " is " + std::to_string(m(i, i)) +
                           "; an RDM's diagonal is zero");
        for (std::int64_t j = i + 1; j < k; ++j) {
          if (std::abs(m(i, j) - m(j, i)) > 1e-6 * scale)
            throw InputError(where + ": subject " + std::to_string(sub) + ": entries (" +
                             std::to_string(i) + ", " + std::to_string(j) + ") and (" +
                             std::to_string(j) + ", " + std::to_string(i) +
                             ") differ; an RDM is symmetric");
          v[n++] = 0.5 * (m(i, j) + m(j, i));
        }
      }
      s.rdms.push_back(v);
    }
  }
  return s;
}

}  // namespace wmgeom::recordings
