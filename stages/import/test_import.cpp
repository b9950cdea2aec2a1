// The import stage: the stage kit, export -> import -> export round trips
// (planted and captured states), HDF5 against NPY, dtypes converted, the
// cache key following the files, the folder only read, and every bad input
// (exit 2 naming the file, the array and what was expected).
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <random>

#include "core/artifacts.h"
#include "core/hash.h"
#include "core/npy.h"
#include "stage_kit.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kFrames = 5, kUnits = 8;

// A planted state set: tasks loc-1 and id-2 over 16 images (4 locations x 4
// identities, two per category), M trials of 5 frames, targets by each
// task's N-back rule, random states and logits.
StateSet planted(std::int64_t m = 24, std::uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  StateSet s;
  s.model = {{"rnn", "mine"}, {"tasks", {"loc-1", "id-2"}}, {"seed", 3}, {"hidden", kUnits}};
  s.hidden = Array::zeros<float>({m, kFrames, kUnits});
  s.logits = Array::zeros<float>({m, kFrames, 3});
  for (auto* a : {&s.hidden, &s.logits}) {
    for (float& v : a->values<float>()) v = normal(rng);
  }
  for (auto* a : {&s.targets, &s.stimulus, &s.location, &s.category, &s.identity, &s.view})
    *a = Array::zeros<std::int32_t>({m, kFrames});
  s.task = Array::zeros<std::int32_t>({m});
  s.split = Array::zeros<std::int32_t>({m});
  for (std::int64_t i = 0; i < m; ++i) {
    const int task = static_cast<int>(i % 2), n = task == 0 ? 1 : 2;
    s.task.data<std::int32_t>()[i] = task;
    s.split.data<std::int32_t>()[i] = static_cast<std::int32_t>(i / 2 % 2);
    for (std::int64_t t = 0; t < kFrames; ++t) {
      const std::int64_t f = i * kFrames + t;
      const auto image = static_cast<std::int32_t>(rng() % 16);
      s.stimulus.data<std::int32_t>()[f] = image;
      s.location.data<std::int32_t>()[f] = image % 4;
      s.identity.data<std::int32_t>()[f] = image / 4;
      s.category.data<std::int32_t>()[f] = image / 8;
      const auto* feature =
          task == 0 ? s.location.data<std::int32_t>() : s.identity.data<std::int32_t>();
      s.targets.data<std::int32_t>()[f] = t < n ? 0 : feature[f] == feature[f - n] ? 2 : 1;
    }
  }
  return s;
}

std::string pipeline_text(const std::string& path, const std::string& extra = "") {
  return "[pipeline]\nname = \"i\"\nseed = 1\n\n[stage.mine]\ntype = \"import\"\npath = \"" + path +
         "\"\n" + extra;
}

// Every file of a folder, by name, as bytes.
std::map<std::string, std::string> files_of(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out[e.path().filename()] = read_file(e.path());
  return out;
}

// Imports `source` through the engine (a pipeline in `run`'s folder).
StateSet import_through_engine(InProcess& run, const fs::path& source,
                               const std::string& extra = "") {
  return run.get_as<StateSet>(pipeline_text(source.string(), extra), "mine");
}

void expect_same_states(const StateSet& a, const StateSet& b) {
  EXPECT_EQ(a.model, b.model);
  const auto x = a.to_artifact(), y = b.to_artifact();
  ASSERT_EQ(x.arrays.size(), y.arrays.size());
  for (const auto& [name, arr] : x.arrays) {
    ASSERT_TRUE(y.has(name)) << name;
    EXPECT_EQ(arr.describe(), y.array(name).describe()) << name;
    EXPECT_TRUE(std::equal(arr.bytes().begin(), arr.bytes().end(), y.array(name).bytes().begin()))
        << name;
  }
}

TEST(Import, PassesTheStageKit) {
  TempDir dir;
  export_artifact(planted().to_artifact(), dir / "states");
  expect_stage_kit({pipeline_text((dir / "states").string()),
                    "mine",
                    {{"path", "a folder of states: another one would be another model"}},
                    {{"format", "\"npy\""}}});
}

TEST(Import, ExportImportExportIsBitIdentical) {
  TempDir dir;
  export_artifact(planted().to_artifact(), dir / "first");
  InProcess run;
  const StateSet imported = import_through_engine(run, dir / "first");
  expect_same_states(imported, planted());
  export_artifact(imported.to_artifact(), dir / "second");
  const auto first = files_of(dir / "first"), second = files_of(dir / "second");
  ASSERT_EQ(first.size(), second.size());
  for (const auto& [name, bytes] : first) EXPECT_EQ(bytes, second.at(name)) << name;
}

// The same for a capture's states: render -> features -> tasks -> train ->
// capture, exported, imported, exported again.
TEST(Import, CapturedStatesRoundTripBitIdentically) {
  const std::string text =
      "[pipeline]\nname = \"c\"\nseed = 4\n\n"
      "[stage.stimuli]\ntype = \"render\"\ncategories = 2\nidentities_per_category = 2\n"
      "views = 4\nimage_size = 32\nholdout_views = [2]\n\n"
      "[stage.cnn]\ntype = \"features\"\nstimuli = \"stimuli\"\nmodel = \"random\"\n"
      "input_size = 32\n\n"
      "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"stimuli\"\ntasks = [\"loc-1\", \"id-2\"]\n"
      "eval_trials_per_task = 16\n\n"
      "[stage.net]\ntype = \"train\"\nfeatures = \"cnn\"\ntasks = \"tasks\"\nrnn = \"lstm\"\n"
      "hidden = 8\nconv_channels = 4\nembed = 8\nbatch_size = 8\nsteps = 20\neval_every = 20\n"
      "device = \"cpu\"\n\n"
      "[stage.states]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\nfeatures = "
      "\"cnn\"\n";
  InProcess run;
  const auto captured = run.get(text, "states");
  export_artifact(*captured, run.dir / "first");
  const StateSet imported = import_through_engine(run, run.dir / "first");
  EXPECT_FALSE(imported.cell.empty());  // an LSTM's cell states come along
  export_artifact(imported.to_artifact(), run.dir / "second");
  const auto first = files_of(run.dir / "first"), second = files_of(run.dir / "second");
  EXPECT_EQ(first.size(), second.size());
  for (const auto& [name, bytes] : first) EXPECT_EQ(bytes, second.at(name)) << name;
}

// numpy's defaults (int64 labels, float64 states) are converted to the
// StateSet's int32 and float32; optional arrays may be left out.
TEST(Import, NumpyDefaultDtypesAndOptionalArrays) {
  TempDir dir;
  const StateSet s = planted();
  export_artifact(s.to_artifact(), dir / "states");
  Array hidden64(DType::kF64, s.hidden.shape());
  for (std::int64_t i = 0; i < s.hidden.numel(); ++i)
    hidden64.data<double>()[i] = s.hidden.data<float>()[i];
  write_npy(dir / "states/hidden.npy", hidden64);
  Array task64(DType::kI64, s.task.shape());
  for (std::int64_t i = 0; i < s.task.numel(); ++i)
    task64.data<std::int64_t>()[i] = s.task.data<std::int32_t>()[i];
  write_npy(dir / "states/task.npy", task64);
  for (const char* optional : {"logits.npy", "split.npy"}) fs::remove(dir / "states" / optional);
  // An index that no longer describes the files is an error; without one, the files decide.
  nlohmann::json doc = nlohmann::json::parse(read_file(dir / "states/meta.json"));
  doc.erase("arrays");
  write_file(dir / "states/meta.json", doc.dump());
  InProcess run;
  const StateSet got = import_through_engine(run, dir / "states");
  EXPECT_TRUE(got.logits.empty());
  EXPECT_TRUE(got.split.empty());
  EXPECT_EQ(got.task.dtype(), DType::kI32);
  EXPECT_EQ(got.hidden.dtype(), DType::kF32);
  EXPECT_EQ(got.hidden.shape(), s.hidden.shape());
  EXPECT_EQ(got.task.shape(), s.task.shape());
  EXPECT_TRUE(std::equal(got.hidden.bytes().begin(), got.hidden.bytes().end(),
                         s.hidden.bytes().begin(), s.hidden.bytes().end()));
  EXPECT_TRUE(std::equal(got.task.bytes().begin(), got.task.bytes().end(), s.task.bytes().begin(),
                         s.task.bytes().end()));
}

// ------------------------------------------------------------------ HDF5

// Writes `s` as one HDF5 file: a dataset per array (hidden as float64 and
// the labels as int64 when `wide`, as h5py writes numpy's defaults), the
// meta.json document as the root attribute `meta`.
void write_h5(const StateSet& s, const fs::path& file, bool wide) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const hid_t f = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const Artifact a = s.to_artifact();
  for (const auto& [name, arr] : a.arrays) {
    std::vector<hsize_t> dims(arr.shape().begin(), arr.shape().end());
    const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    const bool f32 = arr.dtype() == DType::kF32;
    std::vector<double> d;
    std::vector<std::int64_t> l;
    const void* data = arr.raw();
    hid_t mem = f32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT32;
    if (wide && f32) {
      for (float v : arr.values<float>()) d.push_back(v);
      data = d.data();
      mem = H5T_NATIVE_DOUBLE;
    } else if (wide) {
      for (std::int32_t v : arr.values<std::int32_t>()) l.push_back(v);
      data = l.data();
      mem = H5T_NATIVE_INT64;
    }
    const hid_t set =
        H5Dcreate2(f, name.c_str(), mem, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(H5Dwrite(set, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
    H5Dclose(set);
    H5Sclose(space);
  }
  const std::string meta = nlohmann::json{{"kind", "StateSet"}, {"meta", a.meta}}.dump();
  const hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, H5T_VARIABLE);
  const hid_t scalar = H5Screate(H5S_SCALAR);
  const hid_t attr = H5Acreate2(f, "meta", str, scalar, H5P_DEFAULT, H5P_DEFAULT);
  const char* text = meta.c_str();
  ASSERT_GE(H5Awrite(attr, str, &text), 0);
  H5Aclose(attr);
  H5Sclose(scalar);
  H5Tclose(str);
  H5Fclose(f);
}

TEST(Import, HdfFilesGiveTheSameStatesAsNpyFolders) {
  TempDir dir;
  const StateSet s = planted();
  write_h5(s, dir / "states.h5", false);
  write_h5(s, dir / "wide.hdf5", true);
  InProcess run;
  expect_same_states(import_through_engine(run, dir / "states.h5"), s);
  expect_same_states(import_through_engine(run, dir / "wide.hdf5", "format = \"hdf5\"\n"), s);
}

// ------------------------------------------------------------------ the cache key and the folder

TEST(Import, TheKeyFollowsTheFilesAndTheFolderIsOnlyRead) {
  TempDir dir;
  export_artifact(planted().to_artifact(), dir / "states");
  const fs::path file = dir / "p.toml";
  const std::string text = pipeline_text("states");
  const std::string before = instance_key(file, text, "mine");
  EXPECT_EQ(instance_key(file, text, "mine"), before);
  const std::string contents = hash_path_content(dir / "states");
  write_file(file, text);
  const auto r = run_pipeline_in(file, dir.path());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(hash_path_content(dir / "states"), contents);  // only read
  // One state changed by one ulp: another key.
  StateSet s = planted();
  s.hidden.data<float>()[7] = std::nextafter(s.hidden.data<float>()[7], 1e9f);
  write_npy(dir / "states/hidden.npy", s.hidden);
  EXPECT_NE(instance_key(file, text, "mine"), before);
}

// ------------------------------------------------------------------ bad input (exit 2)

struct BadCase {
  const char* name;
  std::function<void(const fs::path&)> spoil;  // applied to an exported planted set
  std::string expect;                          // substring of stderr
  std::string extra = "";                      // more parameters of the import stage
};

template <typename T>
void edit(const fs::path& file, const std::function<void(std::span<T>)>& change) {
  Array a = read_npy(file);
  change(a.values<T>());
  write_npy(file, a);
}

void edit_meta(const fs::path& dir, const std::function<void(nlohmann::json&)>& change) {
  nlohmann::json doc = nlohmann::json::parse(read_file(dir / "meta.json"));
  change(doc);
  write_file(dir / "meta.json", doc.dump(1));
}

// Rewrites a label array as int32 (dropping meta.json's index).
void put(const fs::path& dir, const std::string& name, const Array& a) {
  write_npy(dir / (name + ".npy"), a);
  edit_meta(dir, [](nlohmann::json& d) { d.erase("arrays"); });
}

TEST(Import, BadInputExitsTwoNamingTheFileAndTheArray) {
  const std::int64_t m = 24;
  const std::vector<BadCase> cases = {
      {"missing hidden", [](const fs::path& d) { fs::remove(d / "hidden.npy"); },
       "the required array \"hidden\""},
      {"missing meta.json", [](const fs::path& d) { fs::remove(d / "meta.json"); }, "meta.json"},
      {"not JSON", [](const fs::path& d) { write_file(d / "meta.json", "{\"kind\": "); },
       "not valid JSON"},
      {"a number JSON cannot hold",
       [](const fs::path& d) { write_file(d / "meta.json", "{\"kind\": 10e999999999999}"); },
       "not valid JSON"},
      {"another kind",
       [](const fs::path& d) { edit_meta(d, [](nlohmann::json& j) { j["kind"] = "TrialSet"; }); },
       "\"kind\" must be \"StateSet\""},
      {"no task list",
       [](const fs::path& d) {
         edit_meta(d, [](nlohmann::json& j) { j["meta"]["model"].erase("tasks"); });
       },
       "meta.model.tasks must be"},
      {"a bad task name",
       [](const fs::path& d) {
         edit_meta(d, [](nlohmann::json& j) { j["meta"]["model"]["tasks"][1] = "colour-2"; });
       },
       "colour-2"},
      {"no architecture label",
       [](const fs::path& d) {
         edit_meta(d, [](nlohmann::json& j) { j["meta"]["model"].erase("rnn"); });
       },
       "meta.model.rnn"},
      {"a seed that is not an integer",
       [](const fs::path& d) {
         edit_meta(d, [](nlohmann::json& j) { j["meta"]["model"]["seed"] = "one"; });
       },
       "meta.model.seed must be an integer"},
      {"an unknown array",
       [](const fs::path& d) { fs::copy_file(d / "hidden.npy", d / "hiden.npy"); },
       "hiden.npy: unknown array"},
      {"frames that disagree",
       [m](const fs::path& d) {
         put(d, "targets", Array::zeros<std::int32_t>({m, kFrames - 1}));
       },
       "targets.npy: targets has T = 4"},
      {"trials that disagree",
       [m](const fs::path& d) { put(d, "task", Array::zeros<std::int32_t>({m + 1})); },
       "task.npy: task has M = 25"},
      {"logits without three classes",
       [m](const fs::path& d) {
         put(d, "logits", Array::zeros<float>({m, kFrames, 2}));
       },
       "logits.npy: logits must have shape [M,T,3]"},
      {"states of the wrong rank",
       [m](const fs::path& d) {
         put(d, "hidden", Array::zeros<float>({m, kFrames}));
       },
       "hidden.npy: hidden must have shape [M,T,H]"},
      {"cell states of another width",
       [m](const fs::path& d) {
         put(d, "cell", Array::zeros<float>({m, kFrames, kUnits + 1}));
       },
       "cell.npy: cell has H = 9"},
      {"integer states",
       [m](const fs::path& d) {
         put(d, "hidden", Array::zeros<std::int32_t>({m, kFrames, kUnits}));
       },
       "hidden must be float32"},
      {"an index that disagrees with a file",
       [](const fs::path& d) {
         write_npy(d / "view.npy", Array::zeros<std::int64_t>({24, kFrames}));
       },
       "but meta.json lists \"int32\""},
      {"NaN states",
       [](const fs::path& d) {
         edit<float>(d / "hidden.npy", [](std::span<float> v) { v[kUnits * 7 + 3] = NAN; });
       },
       "hidden.npy: hidden holds NaN at trial 1, frame 2, unit 3"},
      {"infinite logits",
       [](const fs::path& d) {
         edit<float>(d / "logits.npy", [](std::span<float> v) { v[0] = INFINITY; });
       },
       "logits.npy: logits holds an infinity at trial 0, frame 0"},
      {"a target out of range",
       [](const fs::path& d) {
         edit<std::int32_t>(d / "targets.npy", [](std::span<std::int32_t> v) { v[6] = 3; });
       },
       "targets.npy: targets is 3 at trial 1, frame 1; expected 0 (no action)"},
      {"a task id beyond the list",
       [](const fs::path& d) {
         edit<std::int32_t>(d / "task.npy", [](std::span<std::int32_t> v) { v[5] = 2; });
       },
       "task.npy: task is 2 at trial 5; expected a task index in [0, 1]"},
      {"a listed task without trials",
       [](const fs::path& d) {
         edit_meta(d, [](nlohmann::json& j) { j["meta"]["model"]["tasks"].push_back("cat-1"); });
       },
       "lists \"cat-1\" (index 2) but no trial"},
      {"a split out of range",
       [](const fs::path& d) {
         edit<std::int32_t>(d / "split.npy", [](std::span<std::int32_t> v) { v[0] = 2; });
       },
       "split.npy: split is 2 at trial 0"},
      {"a negative label",
       [](const fs::path& d) {
         edit<std::int32_t>(d / "view.npy", [](std::span<std::int32_t> v) { v[3] = -1; });
       },
       "view.npy: view is -1"},
      {"a label beyond int32",
       [m](const fs::path& d) {
         Array a = Array::zeros<std::int64_t>({m, kFrames});
         a.data<std::int64_t>()[4] = std::int64_t{1} << 40;
         put(d, "view", a);
       },
       "does not fit int32"},
      {"an image whose attributes change",
       [](const fs::path& d) {
         // Trial 0's frame 0 shows image X; give that one frame X's other view.
         edit<std::int32_t>(d / "view.npy", [](std::span<std::int32_t> v) { v[0] = 1; });
       },
       "(stimulus) has view"},
      {"an identity in two categories",
       [](const fs::path& d) {
         // Every frame of image 0 (identity 0) put in category 1: each image
         // stays consistent, identity 0 no longer is.
         const Array stim = read_npy(d / "stimulus.npy");
         edit<std::int32_t>(d / "category.npy", [&](std::span<std::int32_t> v) {
           for (std::size_t i = 0; i < v.size(); ++i)
             if (stim.data<std::int32_t>()[i] == 0) v[i] = 1;
         });
       },
       "identities are unique across categories"},
      {"targets against the task's rule",
       [](const fs::path& d) {
         // Trial 0 is loc-1: frame 3 flipped between match and non-match.
         edit<std::int32_t>(d / "targets.npy", [](std::span<std::int32_t> v) { v[3] = 3 - v[3]; });
       },
       "task loc-1's rule gives"},
      {"a folder read as HDF5", [](const fs::path&) {}, "format \"hdf5\" reads one HDF5 file",
       "format = \"hdf5\"\n"},
  };
  TempDir dir;
  for (const auto& c : cases) {
    const fs::path states = dir / "states";
    fs::remove_all(states);
    export_artifact(planted(m).to_artifact(), states);
    c.spoil(states);
    const fs::path file = dir / "p.toml";
    write_file(file, pipeline_text("states", c.extra));
    expect_refused(run_pipeline_in(file, dir.path()), c.name, c.expect);
  }
}

TEST(Import, BadHdfFilesExitTwoNamingTheFile) {
  TempDir dir;
  write_file(dir / "text.h5", "not hdf5 at all");
  write_h5(planted(), dir / "no_meta.h5", false);
  {
    const hid_t f = H5Fopen((dir / "no_meta.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Adelete(f, "meta");
    const hid_t g = H5Gcreate2(f, "extra", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    H5Fclose(f);
  }
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"text.h5", "text.h5: not an HDF5 file"},
      {"no_meta.h5", "no_meta.h5: the root attribute \"meta\""},
  };
  for (const auto& [name, expect] : cases) {
    const fs::path file = dir / "p.toml";
    write_file(file, pipeline_text(name));
    expect_refused(run_cli({"validate", file.string()}, real_registry()), name, expect);
  }
}

}  // namespace
}  // namespace wmgeom::testing
