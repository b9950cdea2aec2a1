#include "import/states.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/hash.h"
#include "core/npy.h"
#include "nback/sampler.h"

namespace wmgeom::imports {

namespace fs = std::filesystem;

const std::vector<ArraySpec>& layout() {
  static const std::vector<ArraySpec> specs = {
      {"hidden", true, "M,T,H", true, "the state after each frame"},
      {"targets", false, "M,T", true, "0 no action, 1 non-match, 2 match"},
      {"task", false, "M", true, "index into meta.model.tasks"},
      {"stimulus", false, "M,T", true, "image id of each frame"},
      {"location", false, "M,T", true, "the image's location"},
      {"category", false, "M,T", true, "the image's category"},
      {"identity", false, "M,T", true, "the image's identity (unique across categories)"},
      {"view", false, "M,T", true, "the image's view"},
      {"cell", true, "M,T,H", false, "LSTM cell state after each frame"},
      {"logits", true, "M,T,3", false, "readout: no action, non-match, match"},
      {"split", false, "M", false, "0: the trial's images were seen in training, 1: novel views"},
      {"perceptual", true, "M,T,D", false, "the frame's input features"},
      {"embedding", true, "M,T,E", false, "the RNN's input after its front end"},
  };
  return specs;
}

namespace {

const ArraySpec* spec_of(const std::string& name) {
  for (const auto& s : layout()) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

std::vector<std::string> split_dims(const std::string& dims) {
  std::vector<std::string> out;
  std::stringstream in(dims);
  for (std::string d; std::getline(in, d, ',');) out.push_back(d);
  return out;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string names_of(bool required) {
  std::string s;
  for (const auto& a : layout()) {
    if (a.required == required) s += (s.empty() ? "" : ", ") + std::string(a.name);
  }
  return s;
}

// IEEE binary16 to float (subnormals, infinities and NaN included).
float half_to_float(Half h) {
  const std::uint32_t sign = (h.bits & 0x8000u) << 16;
  const std::uint32_t exp = (h.bits >> 10) & 0x1fu, frac = h.bits & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: frac * 2^-24
    const float v = std::ldexp(static_cast<float>(frac), -24);
    return sign ? -v : v;
  }
  std::uint32_t bits = sign | ((exp == 0x1f ? 0xffu : exp + 112u) << 23) | (frac << 13);
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

bool float_dtype(DType d) { return d == DType::kF16 || d == DType::kF32 || d == DType::kF64; }
bool int_dtype(DType d) { return d == DType::kI32 || d == DType::kI64 || d == DType::kU8; }

nlohmann::json read_json_file(const fs::path& file) {
  std::ifstream f(file);
  if (!f) throw InputError(file.string() + ": cannot open (a states folder holds meta.json)");
  try {
    return nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {  // parse_error; out_of_range: a number too large
    throw InputError(file.string() + ": not valid JSON (" + e.what() + ")");
  }
}

Inventory npy_inventory(const fs::path& dir) {
  Inventory inv;
  inv.source = dir;
  inv.format = Format::kNpy;
  inv.meta_where = (dir / "meta.json").string();
  inv.document = read_json_file(dir / "meta.json");
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".npy" || hidden_name(e.path())) continue;  // core/hash.h
    const NpyHeader h = read_npy_header(e.path());
    inv.arrays[e.path().stem().string()] = {h.dtype, h.shape, e.path().string()};
  }
  if (ec) throw InputError(dir.string() + ": cannot list (" + ec.message() + ")");
  return inv;
}

// Float arrays to float32, label arrays to int32 (range-checked).
Array convert(const Array& a, bool floating, const std::string& where) {
  if (floating) {
    if (a.dtype() == DType::kF32) return a;
    Array out(DType::kF32, a.shape());
    float* o = out.data<float>();
    if (a.dtype() == DType::kF64) {
      const double* v = a.data<double>();
      for (std::int64_t i = 0; i < a.numel(); ++i) o[i] = static_cast<float>(v[i]);
    } else {
      const Half* v = a.data<Half>();
      for (std::int64_t i = 0; i < a.numel(); ++i) o[i] = half_to_float(v[i]);
    }
    return out;
  }
  if (a.dtype() == DType::kI32) return a;
  Array out(DType::kI32, a.shape());
  std::int32_t* o = out.data<std::int32_t>();
  if (a.dtype() == DType::kU8) {
    const std::uint8_t* v = a.data<std::uint8_t>();
    for (std::int64_t i = 0; i < a.numel(); ++i) o[i] = v[i];
    return out;
  }
  const std::int64_t* v = a.data<std::int64_t>();
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    if (v[i] < std::numeric_limits<std::int32_t>::min() ||
        v[i] > std::numeric_limits<std::int32_t>::max()) {
      throw InputError(where + ": value " + std::to_string(v[i]) + " at flat index " +
                       std::to_string(i) + " does not fit int32");
    }
    o[i] = static_cast<std::int32_t>(v[i]);
  }
  return out;
}

// "trial 3, frame 2" for a flat index into an [M, T, ...] array.
std::string position(std::int64_t flat, const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  std::string s = "trial " + std::to_string(idx[0]);
  if (idx.size() > 1) s += ", frame " + std::to_string(idx[1]);
  if (idx.size() > 2) s += ", unit " + std::to_string(idx[2]);
  return s;
}

}  // namespace

Format format_of(const fs::path& path, Format format) {
  const bool dir = fs::is_directory(path);
  if (format == Format::kAuto) return dir ? Format::kNpy : Format::kHdf5;
  if (format == Format::kNpy && !dir)
    throw InputError(path.string() + ": format \"npy\" reads a folder (meta.json + NPY files)");
  if (format == Format::kHdf5 && dir)
    throw InputError(path.string() + ": format \"hdf5\" reads one HDF5 file, not a folder");
  return format;
}

Inventory inventory(const fs::path& path, Format format) {
  return format_of(path, format) == Format::kNpy ? npy_inventory(path) : hdf5_inventory(path);
}

void check_inventory(const Inventory& inv, const std::function<void(const std::string&)>& problem) {
  const nlohmann::json& doc = inv.document;
  const std::string& mw = inv.meta_where;
  if (!doc.is_object()) {
    problem(mw + ": expected a JSON object {\"kind\": \"StateSet\", \"meta\": {\"model\": {...}}}");
    return;
  }
  if (!doc.contains("kind") || doc["kind"] != StateSet::kKind) {
    problem(mw + ": \"kind\" must be \"StateSet\"" +
            (doc.contains("kind") ? " (found " + doc["kind"].dump() + ")" : " (missing)"));
  }
  const nlohmann::json* model = nullptr;
  if (doc.contains("meta") && doc["meta"].is_object() && doc["meta"].contains("model") &&
      doc["meta"]["model"].is_object()) {
    model = &doc["meta"]["model"];
  } else {
    problem(mw + ": meta.model must be an object holding at least \"tasks\" and \"rnn\"");
  }
  std::size_t n_tasks = 0;
  if (model) {
    const auto tasks = model->find("tasks");
    if (tasks == model->end() || !tasks->is_array() || tasks->empty() ||
        !std::all_of(tasks->begin(), tasks->end(), [](const auto& t) { return t.is_string(); })) {
      problem(mw + ": meta.model.tasks must be a non-empty list of task names such as \"loc-1\"");
    } else {
      try {
        const auto names = tasks->get<std::vector<std::string>>();
        nback::parse_tasks(names);
        if (std::set<std::string>(names.begin(), names.end()).size() != names.size())
          problem(mw + ": meta.model.tasks lists a task twice");
        n_tasks = names.size();
      } catch (const InputError& e) {
        problem(mw + ": meta.model.tasks: " + e.what());
      }
    }
    const auto rnn = model->find("rnn");
    if (rnn == model->end() || !rnn->is_string() || rnn->get<std::string>().empty())
      problem(mw + ": meta.model.rnn must be the architecture's label (a non-empty string)");
    if (const auto seed = model->find("seed"); seed != model->end() && !seed->is_number_integer()) {
      problem(mw + ": meta.model.seed must be an integer");
    }
    if (const auto group = model->find("group");
        group != model->end() && (!group->is_string() || group->get<std::string>().empty())) {
      problem(mw + ": meta.model.group must be a non-empty string (the configuration's name)");
    }
  }
  (void)n_tasks;

  // The arrays meta.json lists must be the files there (an export's index).
  if (doc.contains("arrays") && doc["arrays"].is_object()) {
    for (const auto& [name, e] : doc["arrays"].items()) {
      const auto it = inv.arrays.find(name);
      if (it == inv.arrays.end()) {
        problem(mw + ": arrays." + name + " is listed but " + name + " is missing");
      } else if (e.is_object() && e.contains("shape") && e.contains("dtype") &&
                 (e["shape"] != nlohmann::json(it->second.shape) ||
                  e["dtype"] != std::string(dtype_name(it->second.dtype)))) {
        problem(it->second.where + ": " + std::string(dtype_name(it->second.dtype)) + " " +
                shape_text(it->second.shape) + ", but meta.json lists " + e["dtype"].dump() + " " +
                e["shape"].dump());
      }
    }
  }
  for (const auto& [name, e] : inv.arrays) {
    if (!spec_of(name)) {
      problem(e.where + ": unknown array \"" + name + "\" (the layout's arrays: " + names_of(true) +
              "; optional: " + names_of(false) + ")");
    }
  }
  // Dimensions: M and T from the first array that has them, H from hidden.
  std::map<std::string, std::pair<std::int64_t, std::string>> sizes;  // dim -> (size, where)
  for (const auto& spec : layout()) {
    const auto it = inv.arrays.find(spec.name);
    if (it == inv.arrays.end()) {
      if (spec.required)
        problem(inv.source.string() + ": the required array \"" + spec.name + "\" (" + spec.what +
                ", [" + spec.dims + "]) is missing");
      continue;
    }
    const Entry& e = it->second;
    const bool ok_dtype = spec.floating ? float_dtype(e.dtype) : int_dtype(e.dtype);
    if (!ok_dtype) {
      problem(e.where + ": " + spec.name + " must be " +
              (spec.floating ? "float32 (or float16/float64)" : "int32 (or int64/uint8)") +
              ", found " + std::string(dtype_name(e.dtype)));
    }
    const auto dims = split_dims(spec.dims);
    if (e.shape.size() != dims.size()) {
      problem(e.where + ": " + spec.name + " must have shape [" + spec.dims + "], found " +
              shape_text(e.shape));
      continue;
    }
    for (std::size_t d = 0; d < dims.size(); ++d) {
      const std::string& dim = dims[d];
      const std::int64_t got = e.shape[d];
      if (got < 1) {
        problem(e.where + ": " + spec.name + " has an empty dimension " + dim + " " +
                shape_text(e.shape));
        continue;
      }
      if (std::isdigit(static_cast<unsigned char>(dim[0]))) {
        if (got != std::stoll(dim))
          problem(e.where + ": " + spec.name + " must have shape [" + spec.dims + "], found " +
                  shape_text(e.shape));
        continue;
      }
      if (dim == "D" || dim == "E") continue;  // their own widths
      const auto [at, fresh] = sizes.emplace(dim, std::make_pair(got, e.where));
      if (!fresh && at->second.first != got) {
        problem(e.where + ": " + spec.name + " has " + dim + " = " + std::to_string(got) + " (" +
                spec.dims + " " + shape_text(e.shape) + ") but " + at->second.second + " has " +
                dim + " = " + std::to_string(at->second.first));
      }
    }
  }
}

StateSet read_states(const Inventory& inv) {
  StateSet s;
  s.model = inv.document.at("meta").at("model");
  auto read = [&](const ArraySpec& spec) -> Array {
    const auto it = inv.arrays.find(spec.name);
    if (it == inv.arrays.end()) return {};
    const Array raw =
        inv.format == Format::kNpy ? read_npy(it->second.where) : hdf5_read(inv.source, spec.name);
    return convert(raw, spec.floating, it->second.where);
  };
  const std::map<std::string, Array*> fields = {
      {"hidden", &s.hidden},      {"cell", &s.cell},         {"logits", &s.logits},
      {"targets", &s.targets},    {"task", &s.task},         {"stimulus", &s.stimulus},
      {"location", &s.location},  {"category", &s.category}, {"identity", &s.identity},
      {"view", &s.view},          {"split", &s.split},       {"perceptual", &s.perceptual},
      {"embedding", &s.embedding}};
  for (const auto& spec : layout()) *fields.at(spec.name) = read(spec);
  return s;
}

void check_contents(const StateSet& s, const Inventory& inv) {
  auto where = [&](const char* name) { return inv.arrays.at(name).where; };
  // Finite floats.
  const std::pair<const char*, const Array*> floats[] = {{"hidden", &s.hidden},
                                                         {"cell", &s.cell},
                                                         {"logits", &s.logits},
                                                         {"perceptual", &s.perceptual},
                                                         {"embedding", &s.embedding}};
  for (const auto& [name, a] : floats) {
    if (a->empty()) continue;
    const auto v = a->values<float>();
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i])) {
        throw InputError(where(name) + ": " + name + " holds " +
                         (std::isnan(v[i]) ? "NaN" : "an infinity") + " at " +
                         position(static_cast<std::int64_t>(i), a->shape()) +
                         " (states must be finite)");
      }
    }
  }
  const auto tasks = nback::parse_tasks(s.model.at("tasks").get<std::vector<std::string>>());
  const auto n_tasks = static_cast<std::int32_t>(tasks.size());
  const std::int64_t m = s.hidden.dim(0), t_len = s.hidden.dim(1);
  auto in_range = [&](const char* name, const Array& a, std::int32_t lo, std::int32_t hi,
                      const std::string& expected) {
    if (a.empty()) return;
    const auto v = a.values<std::int32_t>();
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] < lo || v[i] > hi) {
        throw InputError(where(name) + ": " + name + " is " + std::to_string(v[i]) + " at " +
                         position(static_cast<std::int64_t>(i), a.shape()) + "; expected " +
                         expected);
      }
    }
  };
  constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();
  in_range("targets", s.targets, 0, 2, "0 (no action), 1 (non-match) or 2 (match)");
  in_range("task", s.task, 0, n_tasks - 1,
           "a task index in [0, " + std::to_string(n_tasks - 1) + "] (meta.model.tasks has " +
               std::to_string(n_tasks) + " tasks)");
  in_range("split", s.split, 0, 1, "0 (training images) or 1 (novel views)");
  for (const char* name : {"stimulus", "location", "category", "identity", "view"}) {
    const std::map<std::string, const Array*> by = {{"stimulus", &s.stimulus},
                                                    {"location", &s.location},
                                                    {"category", &s.category},
                                                    {"identity", &s.identity},
                                                    {"view", &s.view}};
    in_range(name, *by.at(name), 0, kMax, "a non-negative id");
  }

  // Every listed task has trials, and every trial is long enough for its N.
  std::vector<std::int64_t> count(tasks.size(), 0);
  const auto task = s.task.values<std::int32_t>();
  for (auto k : task) ++count[static_cast<std::size_t>(k)];
  for (std::size_t k = 0; k < tasks.size(); ++k) {
    if (count[k] == 0) {
      throw InputError(inv.meta_where + ": meta.model.tasks lists \"" + tasks[k].name +
                       "\" (index " + std::to_string(k) + ") but no trial of " + where("task") +
                       " has that index");
    }
    if (tasks[k].n >= t_len) {
      throw InputError(inv.meta_where + ": task \"" + tasks[k].name +
                       "\" needs trials longer than " + std::to_string(tasks[k].n) +
                       " frames; hidden has " + std::to_string(t_len));
    }
  }

  // One set of attributes per image, and one category per identity.
  const auto stim = s.stimulus.values<std::int32_t>();
  const std::pair<const char*, std::span<const std::int32_t>> attrs[] = {
      {"location", s.location.values<std::int32_t>()},
      {"category", s.category.values<std::int32_t>()},
      {"identity", s.identity.values<std::int32_t>()},
      {"view", s.view.values<std::int32_t>()}};
  std::map<std::int32_t, std::int64_t> first_seen;  // image id -> flat index
  std::map<std::int32_t, std::int64_t> identity_seen;
  const auto category = attrs[1].second, identity = attrs[2].second;
  for (std::int64_t i = 0; i < m * t_len; ++i) {
    const auto [at, fresh] = first_seen.emplace(stim[i], i);
    if (!fresh) {
      for (const auto& [name, v] : attrs) {
        if (v[i] != v[at->second]) {
          throw InputError(where(name) + ": image " + std::to_string(stim[i]) + " (stimulus) has " +
                           name + " " + std::to_string(v[at->second]) + " at " +
                           position(at->second, {m, t_len}) + " but " + std::to_string(v[i]) +
                           " at " + position(i, {m, t_len}) +
                           "; an image id names one image, with one set of attributes");
        }
      }
    }
    const auto [id_at, id_fresh] = identity_seen.emplace(identity[i], i);
    if (!id_fresh && category[i] != category[id_at->second]) {
      throw InputError(where("identity") + ": identity " + std::to_string(identity[i]) +
                       " is in category " + std::to_string(category[id_at->second]) + " at " +
                       position(id_at->second, {m, t_len}) + " but in category " +
                       std::to_string(category[i]) + " at " + position(i, {m, t_len}) +
                       " (identities are unique across categories)");
    }
  }

  // Targets follow the N-back rule of the trial's task.
  const auto targets = s.targets.values<std::int32_t>();
  static const char* kTargetName[] = {"no action", "non-match", "match"};
  for (std::int64_t i = 0; i < m; ++i) {
    const nback::Task& tk = tasks[static_cast<std::size_t>(task[i])];
    const auto& values = attrs[static_cast<int>(tk.feature)].second;
    for (std::int64_t t = 0; t < t_len; ++t) {
      const std::int64_t f = i * t_len + t;
      std::int32_t want = nback::kNoAction;
      if (t >= tk.n) want = values[f] == values[f - tk.n] ? nback::kMatch : nback::kNonMatch;
      if (targets[f] != want) {
        throw InputError(
            where("targets") + ": targets is " + std::to_string(targets[f]) + " (" +
            kTargetName[targets[f]] + ") at " + position(f, {m, t_len}) + ", but task " + tk.name +
            "'s rule gives " + std::to_string(want) + " (" + kTargetName[want] + ")" +
            (t >= tk.n
                 ? ": " + std::string(attrs[static_cast<int>(tk.feature)].first) + " " +
                       std::to_string(values[f]) + " here, " + std::to_string(values[f - tk.n]) +
                       " at frame " + std::to_string(t - tk.n)
                 : ": frames before N have no action"));
      }
    }
  }
}

}  // namespace wmgeom::imports
