// fuzz_make_seeds OUT: writes the binary seed inputs, made by our own
// writers, so that no binary seed is committed: OUT/fuzz_npy (write_npy, every
// dtype), OUT/fuzz_cache (real cache entries from Cache::store, in
// fuzz_cache's input format) and OUT/fuzz_image (cv::imwrite: PNG 8/16-bit,
// grey, alpha, JPEG) and OUT/fuzz_states (an exported StateSet and broken
// copies). Run at build time (fuzz/CMakeLists.txt).
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "cache/cache.h"
#include "core/artifact.h"
#include "core/artifacts.h"
#include "core/npy.h"
#include "fuzz_util.h"

using namespace wmgeom;
namespace fs = std::filesystem;

namespace {
Array ramp(DType dtype, std::vector<std::int64_t> shape) {
  Array a(dtype, std::move(shape));
  for (std::size_t i = 0; i < a.nbytes(); ++i) a.raw()[i] = static_cast<std::byte>(i * 37 + 11);
  return a;
}

void npy_seeds(const fs::path& out) {
  fs::create_directories(out);
  int n = 0;
  for (DType d : {DType::kU8, DType::kI32, DType::kI64, DType::kF16, DType::kF32, DType::kF64}) {
    write_npy(out / ("seed" + std::to_string(n++) + ".npy"), ramp(d, {2, 3}));
  }
  write_npy(out / "seed-1d.npy", ramp(DType::kF32, {5}));
  write_npy(out / "seed-scalar.npy", ramp(DType::kI64, {}));
  write_npy(out / "seed-empty.npy", ramp(DType::kU8, {0, 4}));
  write_npy(out / "seed-3d.npy", ramp(DType::kU8, {2, 1, 3}));
}

void cache_seeds(const fs::path& out, const fs::path& scratch) {
  fs::create_directories(out);
  const Cache cache(scratch / "cache");
  struct Case {
    std::string key;
    Artifact art;
  };
  std::vector<Case> cases;
  {
    Artifact a;
    a.kind = "Numbers";
    a.arrays["x"] = ramp(DType::kF32, {3, 4});
    a.meta = {{"note", "seed"}, {"n", 3}};
    cases.push_back({"0a" + std::string(30, '1'), a});
  }
  {
    Artifact a;
    a.kind = "StimulusSet";
    a.arrays["images"] = ramp(DType::kU8, {2, 3, 4, 4});
    a.arrays["label"] = ramp(DType::kI32, {2});
    cases.push_back({"0b" + std::string(30, '2'), a});
  }
  {
    Artifact a;
    a.kind = "Empty";
    cases.push_back({"0c" + std::string(30, '3'), a});
  }
  const std::string sep = "\n--blob--\n";
  int n = 0;
  for (const auto& c : cases) {
    cache.store(c.key, c.art, StoreInfo{"seed", "seed", {{"k", 1}}, 0.5, 3});
    const fs::path dir = cache.entry_dir(c.key);
    const std::string manifest = fuzz::read_text(dir / "manifest.json");
    const std::string blob = fs::exists(dir / "0.zst") ? fuzz::read_text(dir / "0.zst") : "";
    const auto doc = nlohmann::json::parse(manifest);
    // Flag 1: the body, checksummed by the target; flag 0: the manifest as stored.
    fuzz::write_file(out / ("seed" + std::to_string(n++)),
                     "\x01" + doc["body"].dump() + sep + blob);
    fuzz::write_file(out / ("seed" + std::to_string(n++)),
                     std::string(1, '\0') + manifest + sep + blob);
  }
}

void image_seeds(const fs::path& out, const fs::path& scratch) {
  fs::create_directories(out);
  struct Case {
    std::string name;
    cv::Mat img;
  };
  cv::Mat bgr(3, 5, CV_8UC3), grey16(4, 2, CV_16UC1), bgra(4, 4, CV_8UC4), grey(1, 1, CV_8UC1),
      wide(1, 9, CV_8UC3);
  cv::randu(bgr, 0, 255);
  cv::randu(grey16, 0, 65535);
  cv::randu(bgra, 0, 255);
  grey.setTo(200);
  cv::randu(wide, 0, 255);
  const std::vector<Case> cases = {{"bgr.png", bgr},    {"grey16.png", grey16}, {"bgra.png", bgra},
                                   {"grey1.png", grey}, {"wide.png", wide},     {"bgr.jpg", bgr}};
  for (const auto& c : cases) {
    const fs::path file = scratch / c.name;
    if (!cv::imwrite(file.string(), c.img)) fuzz::invariant_failed("imwrite failed");
    const std::string bytes = fuzz::read_text(file);
    const char ext = c.name.ends_with(".jpg") ? '\x01' : '\x00';  // fuzz_image's first byte
    fuzz::write_file(out / c.name, std::string(1, ext) + bytes);
    if (c.name == "bgr.jpg") {
      // The same JPEG with a frame header claiming 30000 x 30000: OpenCV
      // allocated 2.7 GB for it before the render stage checked headers.
      std::string huge = bytes;
      const std::size_t sof = huge.find("\xff\xc0");
      if (sof == std::string::npos || sof + 9 > huge.size())
        fuzz::invariant_failed("no baseline frame header in the JPEG seed");
      for (std::size_t at : {sof + 5, sof + 7}) {  // height, width (big-endian)
        huge[at] = static_cast<char>(30000 >> 8);
        huge[at + 1] = static_cast<char>(30000 & 0xFF);
      }
      fuzz::write_file(out / "claims_30000x30000.jpg", std::string(1, ext) + huge);
    }
  }
}
// A small StateSet that passes every import check (two tasks, targets by
// the N-back rule, optional arrays present), in fuzz_states' input format,
// and copies with one array broken in a way the checks must catch.
void states_seeds(const fs::path& out, const fs::path& scratch) {
  fs::create_directories(out);
  const std::int64_t m = 6, frames = 3, units = 4;
  StateSet s;
  s.model = {{"rnn", "mine"}, {"tasks", {"loc-1", "id-2"}}, {"seed", 1}, {"group", "g"}};
  s.hidden = Array::zeros<float>({m, frames, units});
  s.logits = Array::zeros<float>({m, frames, 3});
  for (auto* a : {&s.hidden, &s.logits}) {
    float v = -1;
    for (float& x : a->values<float>()) x = (v += 0.37f) > 1 ? (v = -1) : v;
  }
  for (auto* a : {&s.targets, &s.stimulus, &s.location, &s.category, &s.identity, &s.view})
    *a = Array::zeros<std::int32_t>({m, frames});
  s.task = Array::zeros<std::int32_t>({m});
  s.split = Array::zeros<std::int32_t>({m});
  for (std::int64_t i = 0; i < m; ++i) {
    const int task = static_cast<int>(i % 2), n = task + 1;
    s.task.data<std::int32_t>()[i] = task;
    s.split.data<std::int32_t>()[i] = static_cast<std::int32_t>(i / 2 % 2);
    for (std::int64_t t = 0; t < frames; ++t) {
      const std::int64_t f = i * frames + t;
      const auto image = static_cast<std::int32_t>((i * 5 + t * 3) % 8);
      s.stimulus.data<std::int32_t>()[f] = image;
      s.location.data<std::int32_t>()[f] = image % 4;
      s.identity.data<std::int32_t>()[f] = image / 4;
      s.category.data<std::int32_t>()[f] = image / 4;
      const auto* feature =
          task == 0 ? s.location.data<std::int32_t>() : s.identity.data<std::int32_t>();
      s.targets.data<std::int32_t>()[f] = t < n ? 0 : feature[f] == feature[f - n] ? 2 : 1;
    }
  }
  auto write = [&](const StateSet& states, const std::string& name) {
    const fs::path dir = scratch / ("states_" + name);
    fs::remove_all(dir);
    export_artifact(states.to_artifact(), dir);
    std::string bytes = fuzz::read_text(dir / "meta.json");
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() != ".npy") continue;
      bytes += "\n--" + e.path().stem().string() + "--\n" + fuzz::read_text(e.path());
    }
    fuzz::write_file(out / name, bytes);
  };
  write(s, "valid");
  StateSet nan = s;
  nan.hidden = s.hidden.clone();
  nan.hidden.data<float>()[5] = std::numeric_limits<float>::quiet_NaN();
  write(nan, "nan_state");
  StateSet rule = s;
  rule.targets = s.targets.clone();
  rule.targets.data<std::int32_t>()[frames * 2 + 2] = 2;  // a loc-1 match where none is
  write(rule, "broken_rule");
  StateSet task = s;
  task.task = s.task.clone();
  task.task.data<std::int32_t>()[0] = 7;
  write(task, "task_out_of_range");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds OUT\n");
    return 2;
  }
  const fs::path out = argv[1];
  const fs::path scratch = out / ".scratch";
  fs::remove_all(scratch);
  fs::create_directories(scratch);
  npy_seeds(out / "fuzz_npy");
  cache_seeds(out / "fuzz_cache", scratch);
  image_seeds(out / "fuzz_image", scratch);
  states_seeds(out / "fuzz_states", scratch);
  fs::remove_all(scratch);
  return 0;
}
