#include "core/artifacts.h"

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/format.h"

namespace wmgeom {
namespace {

// Shape checks with messages that name the artifact and the field.
class Check {
 public:
  explicit Check(const Artifact& a, const char* kind) : a_(a), kind_(kind) {
    if (a.kind != kind) {
      throw Error(std::string("expected a ") + kind + " artifact, got " + a.kind);
    }
  }
  Array get(const std::string& name, DType dtype, std::size_t ndim) const {
    const Array& x = a_.array(name);
    if (x.dtype() != dtype || x.ndim() != ndim) {
      throw Error(std::string(kind_) + "." + name + ": expected " + std::string(dtype_name(dtype)) +
                  " with " + std::to_string(ndim) + " dimensions, found " + x.describe());
    }
    return x;
  }
  Array optional(const std::string& name, DType dtype, std::size_t ndim) const {
    return a_.has(name) ? get(name, dtype, ndim) : Array();
  }
  void leading(const Array& x, const std::string& name, std::int64_t n) const {
    if (!x.empty() && x.dim(0) != n) {
      throw Error(std::string(kind_) + "." + name + ": expected " + std::to_string(n) +
                  " rows, found " + x.describe());
    }
  }
  void range(const Array& x, const std::string& name, std::int64_t hi) const {
    for (auto v : x.values<std::int32_t>()) {
      if (v < 0 || v >= hi) {
        throw Error(std::string(kind_) + "." + name + ": value " + std::to_string(v) +
                    " outside [0, " + std::to_string(hi) + ")");
      }
    }
  }
  template <typename T>
  T meta(const std::string& key) const {
    if (!a_.meta.contains(key))
      throw Error(std::string(kind_) + ": metadata lacks \"" + key + "\"");
    return a_.meta.at(key).get<T>();
  }

 private:
  const Artifact& a_;
  const char* kind_;
};

void put(Artifact& a, const std::string& name, const Array& x) {
  if (!x.empty()) a.arrays[name] = x;
}

// One array of a typed view: its name in the artifact, member, dtype, rank,
// whether it may be absent, and its row group (arrays of one group >= 0 share
// their first dimension; -1: no check). A field is named once, here, for
// both directions.
template <typename T>
struct Field {
  const char* name;
  Array T::*member;
  DType dtype;
  std::size_t ndim;
  bool required;
  int rows;
};

template <typename T, std::size_t N>
void put_fields(Artifact& a, const T& obj, const Field<T> (&fields)[N]) {
  for (const auto& f : fields) put(a, f.name, obj.*f.member);
}

// A kind's artifact: its fields' arrays (absent ones left out) and metadata.
template <typename T, std::size_t N>
Artifact make_artifact(const char* kind, const T& obj, const Field<T> (&fields)[N],
                       nlohmann::json meta) {
  Artifact a{kind, {}, std::move(meta)};
  put_fields(a, obj, fields);
  return a;
}

// Reads every field, then checks each row group against its first present array.
template <typename T, std::size_t N>
void get_fields(const Check& c, T& obj, const Field<T> (&fields)[N]) {
  for (const auto& f : fields) {
    obj.*f.member =
        f.required ? c.get(f.name, f.dtype, f.ndim) : c.optional(f.name, f.dtype, f.ndim);
  }
  for (const auto& f : fields) {
    for (const auto& ref : fields) {
      if (ref.rows != f.rows || f.rows < 0 || (obj.*ref.member).empty()) continue;
      c.leading(obj.*f.member, f.name, (obj.*ref.member).dim(0));
      break;
    }
  }
}

}  // namespace

// ---- StimulusSet ----
constexpr Field<StimulusSet> kStimulusFields[] = {
    {"images", &StimulusSet::images, DType::kU8, 4, true, 0},
    {"location", &StimulusSet::location, DType::kI32, 1, true, 0},
    {"category", &StimulusSet::category, DType::kI32, 1, true, 0},
    {"identity", &StimulusSet::identity, DType::kI32, 1, true, 0},
    {"view", &StimulusSet::view, DType::kI32, 1, true, 0},
    {"split", &StimulusSet::split, DType::kI32, 1, true, 0}};

Artifact StimulusSet::to_artifact() const {
  return make_artifact(kKind, *this, kStimulusFields,
                       {{"category_names", category_names},
                        {"identity_names", identity_names},
                        {"identity_category", identity_category},
                        {"n_locations", n_locations},
                        {"n_views", n_views},
                        {"info", info}});
}

StimulusSet StimulusSet::from_artifact(const Artifact& a) {
  Check c(a, kKind);
  StimulusSet s;
  get_fields(c, s, kStimulusFields);
  if (s.images.dim(1) != 3)
    throw Error("StimulusSet.images: expected 3 channels, found " + s.images.describe());
  s.category_names = c.meta<std::vector<std::string>>("category_names");
  s.identity_names = c.meta<std::vector<std::string>>("identity_names");
  s.identity_category = c.meta<std::vector<std::int32_t>>("identity_category");
  s.n_locations = c.meta<std::int32_t>("n_locations");
  s.n_views = c.meta<std::int32_t>("n_views");
  s.info = a.meta.value("info", nlohmann::json::object());
  if (s.identity_category.size() != s.identity_names.size()) {
    throw Error("StimulusSet: identity_category and identity_names differ in length");
  }
  c.range(s.location, "location", s.n_locations);
  c.range(s.category, "category", static_cast<std::int64_t>(s.category_names.size()));
  c.range(s.identity, "identity", static_cast<std::int64_t>(s.identity_names.size()));
  c.range(s.view, "view", s.n_views);
  c.range(s.split, "split", 2);
  return s;
}

// ---- FeatureBank ----
Artifact FeatureBank::to_artifact() const {
  Artifact a{kKind, {}, {}};
  put(a, "features", features);
  for (const auto& [k, v] : extra) put(a, "extra." + k, v);
  a.meta = {{"extractor", extractor}};
  return a;
}

FeatureBank FeatureBank::from_artifact(const Artifact& a) {
  Check c(a, kKind);
  FeatureBank f;
  const Array& x = a.array("features");
  if ((x.dtype() != DType::kF16 && x.dtype() != DType::kF32) || x.ndim() != 4) {
    throw Error("FeatureBank.features: expected float16/float32 [N, C, h, w], found " +
                x.describe());
  }
  f.features = x;
  for (const auto& [k, v] : a.arrays) {
    if (k.rfind("extra.", 0) == 0) f.extra[k.substr(6)] = v;
  }
  f.extractor = a.meta.value("extractor", nlohmann::json::object());
  return f;
}

// ---- TrialSet ----
// Trials (rows group 0) and, optionally, the stimulus table (group 1).
constexpr Field<TrialSet> kTrialFields[] = {
    {"stimuli", &TrialSet::stimuli, DType::kI32, 2, true, 0},
    {"task", &TrialSet::task, DType::kI32, 1, true, 0},
    {"targets", &TrialSet::targets, DType::kI32, 2, true, 0},
    {"split", &TrialSet::split, DType::kI32, 1, true, 0},
    {"stimulus_location", &TrialSet::stimulus_location, DType::kI32, 1, false, 1},
    {"stimulus_category", &TrialSet::stimulus_category, DType::kI32, 1, false, 1},
    {"stimulus_identity", &TrialSet::stimulus_identity, DType::kI32, 1, false, 1},
    {"stimulus_split", &TrialSet::stimulus_split, DType::kI32, 1, false, 1},
    {"stimulus_view", &TrialSet::stimulus_view, DType::kI32, 1, false, 1}};

Artifact TrialSet::to_artifact() const {
  nlohmann::json t = nlohmann::json::array();
  for (const auto& d : tasks) t.push_back({{"name", d.name}, {"feature", d.feature}, {"n", d.n}});
  return make_artifact(kKind, *this, kTrialFields,
                       {{"tasks", t},
                        {"trial_length", trial_length},
                        {"match_prob", match_prob},
                        {"hard_nonmatch", hard_nonmatch},
                        {"task_cue", task_cue},
                        {"info", info}});
}

TrialSet TrialSet::from_artifact(const Artifact& a) {
  Check c(a, kKind);
  TrialSet s;
  for (const auto& t : a.meta.at("tasks")) {
    s.tasks.push_back({t.at("name").get<std::string>(), t.at("feature").get<std::string>(),
                       t.at("n").get<std::int32_t>()});
  }
  s.trial_length = c.meta<std::int32_t>("trial_length");
  s.match_prob = c.meta<double>("match_prob");
  s.hard_nonmatch = c.meta<double>("hard_nonmatch");  // since tasks stage version 3
  s.task_cue = c.meta<std::string>("task_cue");
  s.info = a.meta.value("info", nlohmann::json::object());
  get_fields(c, s, kTrialFields);
  if (s.stimuli.dim(1) != s.trial_length) {
    throw Error("TrialSet.stimuli: expected " + std::to_string(s.trial_length) + " frames, found " +
                s.stimuli.describe());
  }
  c.range(s.task, "task", static_cast<std::int64_t>(s.tasks.size()));
  c.range(s.targets, "targets", 3);
  c.range(s.split, "split", 2);
  return s;
}

// ---- TrainedModel ----
// The curves, optional (a model may be recorded without them); the
// hard-non-match ones (newer models) have one row per evaluation, as the steps.
constexpr Field<TrainedModel> kCurveFields[] = {
    {"curve_step", &TrainedModel::curve_step, DType::kI64, 1, false, 0},
    {"curve_loss", &TrainedModel::curve_loss, DType::kF32, 1, false, -1},
    {"curve_train_acc", &TrainedModel::curve_train_acc, DType::kF32, 2, false, -1},
    {"curve_val_acc", &TrainedModel::curve_val_acc, DType::kF32, 2, false, -1},
    {"curve_train_hard_acc", &TrainedModel::curve_train_hard_acc, DType::kF32, 2, false, 0},
    {"curve_val_hard_acc", &TrainedModel::curve_val_hard_acc, DType::kF32, 2, false, 0}};

Artifact TrainedModel::to_artifact() const {
  Artifact a = make_artifact(kKind, *this, kCurveFields, {{"config", config}});
  for (const auto& [k, v] : weights) put(a, "weight." + k, v);
  return a;
}

TrainedModel TrainedModel::from_artifact(const Artifact& a) {
  Check c(a, kKind);
  TrainedModel m;
  m.config = a.meta.value("config", nlohmann::json::object());
  for (const auto& [k, v] : a.arrays) {
    if (k.rfind("weight.", 0) == 0) m.weights[k.substr(7)] = v;
  }
  get_fields(c, m, kCurveFields);
  return m;
}

// ---- StateSet ----
// Every array has one row per trial.
constexpr Field<StateSet> kStateFields[] = {
    {"hidden", &StateSet::hidden, DType::kF32, 3, true, 0},
    {"cell", &StateSet::cell, DType::kF32, 3, false, 0},
    {"logits", &StateSet::logits, DType::kF32, 3, false, 0},
    {"targets", &StateSet::targets, DType::kI32, 2, true, 0},
    {"task", &StateSet::task, DType::kI32, 1, true, 0},
    {"stimulus", &StateSet::stimulus, DType::kI32, 2, true, 0},
    {"location", &StateSet::location, DType::kI32, 2, true, 0},
    {"category", &StateSet::category, DType::kI32, 2, true, 0},
    {"identity", &StateSet::identity, DType::kI32, 2, true, 0},
    {"view", &StateSet::view, DType::kI32, 2, true, 0},
    {"split", &StateSet::split, DType::kI32, 1, false, 0},
    {"perceptual", &StateSet::perceptual, DType::kF32, 3, false, 0},
    {"embedding", &StateSet::embedding, DType::kF32, 3, false, 0}};

Artifact StateSet::to_artifact() const {
  return make_artifact(kKind, *this, kStateFields, {{"model", model}});
}

StateSet StateSet::from_artifact(const Artifact& a) {
  Check c(a, kKind);
  StateSet s;
  s.model = a.meta.value("model", nlohmann::json::object());
  get_fields(c, s, kStateFields);
  return s;
}

std::string replicate_group(const nlohmann::json& model,
                            const std::vector<std::pair<std::string, std::string>>& labels) {
  if (model.contains("group") && model["group"].is_string())
    return "group " + model["group"].get<std::string>();
  nlohmann::json group = model.is_object() ? model : nlohmann::json::object();
  for (const char* outcome : {"seed", "split", "steps", "stopped_early"}) group.erase(outcome);
  for (const auto& [key, value] : labels) {
    if (key != "seed") group["sweep " + key] = value;
  }
  return group.dump();
}

// ---- Table / AnalysisResult ----
void Table::add(const std::string& column, std::vector<double> values) {
  if (numeric.count(column) == 0 && text.count(column) == 0) columns.push_back(column);
  numeric[column] = std::move(values);
}

void Table::add(const std::string& column, std::vector<std::string> values) {
  if (numeric.count(column) == 0 && text.count(column) == 0) columns.push_back(column);
  text[column] = std::move(values);
}

std::size_t Table::rows() const {
  if (!numeric.empty()) return numeric.begin()->second.size();
  if (!text.empty()) return text.begin()->second.size();
  return 0;
}

Artifact AnalysisResult::to_artifact() const {
  Artifact a{kKind, {}, {}};
  for (const auto& [k, v] : arrays) put(a, "array." + k, v);
  nlohmann::json tables_meta = nlohmann::json::object();
  for (const auto& [name, t] : tables) {
    std::size_t rows = t.rows();
    nlohmann::json text = nlohmann::json::object();
    for (const auto& col : t.columns) {
      if (auto it = t.numeric.find(col); it != t.numeric.end()) {
        if (it->second.size() != rows) throw Error("table " + name + ": ragged column " + col);
        a.arrays["table." + name + "." + col] = Array::from_vector(it->second);
      } else {
        const auto& v = t.text.at(col);
        if (v.size() != rows) throw Error("table " + name + ": ragged column " + col);
        text[col] = v;
      }
    }
    tables_meta[name] = {{"columns", t.columns}, {"rows", rows}, {"text", text}};
  }
  a.meta = {{"params", params}, {"tables", tables_meta}, {"findings", findings}};
  return a;
}

AnalysisResult AnalysisResult::from_artifact(const Artifact& a) {
  Check c(a, kKind);
  AnalysisResult r;
  r.params = a.meta.value("params", nlohmann::json::object());
  r.findings = a.meta.value("findings", nlohmann::json::object());
  for (const auto& [k, v] : a.arrays) {
    if (k.rfind("array.", 0) == 0) r.arrays[k.substr(6)] = v;
  }
  const nlohmann::json tables = a.meta.value("tables", nlohmann::json::object());
  for (const auto& [name, tm] : tables.items()) {
    Table t;
    for (const auto& col : tm.at("columns")) {
      std::string cname = col.get<std::string>();
      if (tm.at("text").contains(cname)) {
        t.add(cname, tm.at("text").at(cname).get<std::vector<std::string>>());
      } else {
        auto span = a.array("table." + name + "." + cname).values<double>();
        t.add(cname, std::vector<double>(span.begin(), span.end()));
      }
    }
    r.tables[name] = std::move(t);
  }
  return r;
}

// ---- Report ----
Artifact Report::to_artifact() const {
  Artifact a{kKind, {}, {}};
  Array bytes(DType::kU8, {static_cast<std::int64_t>(html.size())});
  std::copy(html.begin(), html.end(), reinterpret_cast<char*>(bytes.data<std::uint8_t>()));
  a.arrays["html"] = bytes;
  a.meta = {{"title", title}, {"info", info}};
  return a;
}

Report Report::from_artifact(const Artifact& a) {
  Check c(a, kKind);
  Report r;
  Array bytes = c.get("html", DType::kU8, 1);
  const auto* p = reinterpret_cast<const char*>(bytes.data<std::uint8_t>());
  r.html.assign(p, p + bytes.numel());
  r.title = a.meta.value("title", std::string());
  r.info = a.meta.value("info", nlohmann::json::object());
  return r;
}

namespace {
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}
}  // namespace

void export_tables(const Artifact& artifact, const std::filesystem::path& dir) {
  if (!artifact.meta.contains("tables")) return;
  for (const auto& [name, tm] : artifact.meta.at("tables").items()) {
    std::ofstream f(dir / (name + ".csv"));
    const auto& columns = tm.at("columns");
    std::size_t rows = tm.at("rows").get<std::size_t>();
    std::vector<const nlohmann::json*> text_cols;
    std::vector<std::span<const double>> num_cols;
    for (std::size_t j = 0; j < columns.size(); ++j) {
      std::string col = columns[j].get<std::string>();
      f << (j ? "," : "") << csv_field(col);
      if (tm.at("text").contains(col)) {
        text_cols.push_back(&tm.at("text").at(col));
        num_cols.emplace_back();
      } else {
        text_cols.push_back(nullptr);
        num_cols.push_back(artifact.array("table." + name + "." + col).values<double>());
      }
    }
    f << "\n";
    for (std::size_t i = 0; i < rows; ++i) {
      for (std::size_t j = 0; j < columns.size(); ++j) {
        if (j) f << ",";
        if (text_cols[j]) {
          f << csv_field((*text_cols[j])[i].get<std::string>());
        } else {
          f << format_general(num_cols[j][i], 10);
        }
      }
      f << "\n";
    }
    if (!f) throw Error("cannot write " + (dir / (name + ".csv")).string());
  }
}

}  // namespace wmgeom

namespace wmgeom {

namespace {
void export_analysis_files(const Artifact& artifact, const std::filesystem::path& dir) {
  export_tables(artifact, dir);
  if (artifact.meta.contains("findings")) {
    std::ofstream f(dir / "findings.json");
    f << artifact.meta.at("findings").dump(2) << "\n";
    if (!f) throw Error("cannot write " + (dir / "findings.json").string());
  }
}

using KindFiles = void (*)(const Artifact&, const std::filesystem::path&);
const std::map<std::string, KindFiles>& kind_files() {
  static const std::map<std::string, KindFiles> table{
      {AnalysisResult::kKind, export_analysis_files}};
  return table;
}
}  // namespace

void export_kind_files(const Artifact& artifact, const std::filesystem::path& dir) {
  if (auto it = kind_files().find(artifact.kind); it != kind_files().end())
    it->second(artifact, dir);
}

}  // namespace wmgeom
