#include "test_stages.h"

#include <chrono>
#include <fstream>
#include <thread>

#include "core/error.h"
#include "graph/registry.h"

namespace wmgeom::testing {
namespace {

constexpr const char* kInstrumentation = R"(
[param.sleep_ms]
type = "int"
default = 0
min = 0
hashed = false
doc = "Sleep this long inside run()."
[param.counter]
type = "path"
default = ""
hashed = false
doc = "Append one line per computation to this file."
[param.events]
type = "path"
default = ""
hashed = false
doc = "Append 'start NAME T' and 'end NAME T' lines (T in microseconds)."
[param.fail]
type = "bool"
default = false
hashed = false
doc = "Throw from run()."
[param.fail_input]
type = "bool"
default = false
hashed = false
doc = "Throw an InputError from run()."
[param.resource]
type = "string"
default = ""
hashed = false
doc = "Resource token name."
[param.barrier_dir]
type = "path"
default = ""
hashed = false
doc = "Directory for the concurrency barrier."
[param.barrier_peers]
type = "int"
default = 0
min = 0
hashed = false
doc = "Wait until this many instances have reached the barrier."
[param.cpus]
type = "int"
default = 1
min = 1
max = 1000000
hashed = false
doc = "CPUs a cluster job of it asks (Stage::resources); its result does not depend on them."
)";

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void append(const std::string& path, const std::string& line) {
  if (path.empty()) return;
  std::ofstream f(path, std::ios::app);
  f << line << "\n";
}

class Instrumented : public Stage {
 public:
  std::string resource(const Params& p) const override { return p.s("resource"); }
  Resources resources(const Params& p) const override {
    Resources r = Stage::resources(p);
    r.cpus = static_cast<int>(p.i("cpus"));
    r.mem_mb = 200;
    r.minutes = 10;
    return r;
  }

 protected:
  void enter(const Params& p, RunContext& ctx) const {
    append(p.s("events"), "start " + ctx.instance() + " " + std::to_string(now_us()));
    append(p.s("counter"), ctx.instance());
    if (p.i("barrier_peers") > 0) {
      namespace fs = std::filesystem;
      fs::path dir = p.s("barrier_dir");
      fs::create_directories(dir);
      std::ofstream(dir / ctx.instance()).put('x');
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (true) {
        std::int64_t n = std::distance(fs::directory_iterator(dir), fs::directory_iterator());
        if (n >= p.i("barrier_peers")) break;
        if (std::chrono::steady_clock::now() > deadline) throw Error("barrier timeout");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    if (p.i("sleep_ms") > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(p.i("sleep_ms")));
    ctx.check_cancelled();
    if (p.b("fail")) throw Error("deliberate failure");
    if (p.b("fail_input")) throw InputError("bad.obj:3: deliberate bad input");
  }
  void leave(const Params& p, RunContext& ctx) const {
    append(p.s("events"), "end " + ctx.instance() + " " + std::to_string(now_us()));
  }
  static Artifact numbers(std::vector<double> x) {
    Artifact a;
    a.kind = "Numbers";
    a.arrays["x"] = Array::from_vector(x);
    return a;
  }
};

class SourceStage final : public Instrumented {
 public:
  std::string type() const override { return "source"; }
  // n doubles; `working_mb` of pretend working memory (for the fit tests).
  SizeEstimate estimate(const Params& p, const EstimateInputs&) const override {
    SizeEstimate e;
    e.known = true;
    e.bytes = p.i("n") * 8;
    e.working = p.i("working_mb") * 1000000;
    e.dims["n"] = p.i("n");
    return e;
  }
  Artifact run(const Params& p, const StageInputs&, RunContext& ctx) const override {
    enter(p, ctx);
    std::vector<double> x(static_cast<std::size_t>(p.i("n")));
    for (std::size_t k = 0; k < x.size(); ++k)
      x[k] = p.f("value") * static_cast<double>(k + 1) + static_cast<double>(p.i("seed"));
    ctx.progress(static_cast<std::int64_t>(x.size()), static_cast<std::int64_t>(x.size()));
    leave(p, ctx);
    Artifact a = numbers(x);
    a.meta["tag"] = p.s("tag");
    return a;
  }
};

class ScaleStage final : public Instrumented {
 public:
  std::string type() const override { return "scale"; }
  SizeEstimate estimate(const Params&, const EstimateInputs& in) const override {
    SizeEstimate e = in.at("x").front();  // the same doubles, scaled
    e.working = 0;
    return e;
  }
  Artifact run(const Params& p, const StageInputs& in, RunContext& ctx) const override {
    enter(p, ctx);
    auto x = in.one("x").array("x").values<double>();
    std::vector<double> y(x.begin(), x.end());
    for (auto& v : y) v *= p.f("factor");
    ctx.set_items(static_cast<std::int64_t>(y.size()));
    leave(p, ctx);
    return numbers(y);
  }
};

class SumStage final : public Instrumented {
 public:
  std::string type() const override { return "sum"; }
  Artifact run(const Params& p, const StageInputs& in, RunContext& ctx) const override {
    enter(p, ctx);
    std::vector<double> total;
    nlohmann::json names = nlohmann::json::array(), keys = nlohmann::json::array();
    for (const auto& item : in.many("xs")) {
      auto x = item.artifact->array("x").values<double>();
      if (total.empty()) total.assign(x.size(), 0.0);
      for (std::size_t k = 0; k < x.size() && k < total.size(); ++k) total[k] += x[k];
      names.push_back(item.instance);
      keys.push_back(item.key);
    }
    leave(p, ctx);
    Artifact a = numbers(total);
    a.meta["inputs"] = names;
    a.meta["input_keys"] = keys;
    return a;
  }
};

class TextStage final : public Instrumented {
 public:
  std::string type() const override { return "text"; }
  Artifact run(const Params& p, const StageInputs&, RunContext& ctx) const override {
    enter(p, ctx);
    Artifact a;
    a.kind = "Text";
    a.meta["text"] = p.s("text");
    leave(p, ctx);
    return a;
  }
};

class NeedsTextStage final : public Instrumented {
 public:
  std::string type() const override { return "needs_text"; }
  Artifact run(const Params& p, const StageInputs& in, RunContext& ctx) const override {
    enter(p, ctx);
    Artifact a;
    a.kind = "Text";
    a.meta["text"] = in.one("text").meta.value("text", "") + "!";
    leave(p, ctx);
    return a;
  }
};

class KitchenStage final : public Instrumented {
 public:
  std::string type() const override { return "kitchen"; }
  void validate(const Params& p, ParamIssues& issues) const override {
    if (p.f("lo") >= p.f("hi")) {
      issues.error("lo", "expected lo < hi, found lo = " + format_value(p.f("lo")) +
                             " and hi = " + format_value(p.f("hi")));
    }
  }
  std::string key_extras(const Params&) const override { return "library test 1.0"; }
  Artifact run(const Params& p, const StageInputs&, RunContext& ctx) const override {
    enter(p, ctx);
    leave(p, ctx);
    Artifact a = numbers({p.f("lo"), p.f("hi")});
    return a;
  }
};

}  // namespace

void register_test_stages(StageRegistry& r) {
  std::string instr = kInstrumentation;
  r.add(std::make_unique<SourceStage>(), R"(
[stage]
type = "source"
version = 1
output = "Numbers"
items = "numbers"
doc = "Makes n numbers: value * (k + 1) + seed."
[param.n]
type = "int"
default = 4
min = 1
max = 1000000
doc = "How many numbers."
[param.working_mb]
type = "int"
default = 0
min = 0
hashed = false
doc = "Working memory the size estimate claims, in MB (plan-time fit tests)."
[param.value]
type = "float"
default = 1.0
doc = "Scale of the numbers."
[param.seed]
type = "int"
default_from = "pipeline.seed"
min = 0
doc = "Added to every number."
[param.tag]
type = "string"
default = ""
hashed = false
doc = "Not part of the key."
)" + instr,
        "tests/source.toml");
  r.add(std::make_unique<ScaleStage>(), R"(
[stage]
type = "scale"
version = 1
output = "Numbers"
items = "numbers"
doc = "Multiplies its input by factor."
[input.x]
kind = "Numbers"
doc = "Numbers to scale."
[param.factor]
type = "float"
default = 2.0
min = -1000
max = 1000
doc = "The factor."
)" + instr,
        "tests/scale.toml");
  r.add(std::make_unique<SumStage>(), R"(
[stage]
type = "sum"
version = 1
output = "Numbers"
doc = "Adds every input."
[input.xs]
kind = "Numbers"
many = true
doc = "Numbers to add."
[param.seed]
type = "int"
default_from = "pipeline.seed"
min = 0
doc = "Unused; lets tests sweep seeds."
)" + instr,
        "tests/sum.toml");
  r.add(std::make_unique<TextStage>(), R"(
[stage]
type = "text"
version = 1
output = "Text"
doc = "Makes a text artifact."
[param.text]
type = "string"
default = "hello"
doc = "The text."
)" + instr,
        "tests/text.toml");
  r.add(std::make_unique<NeedsTextStage>(), R"(
[stage]
type = "needs_text"
version = 1
output = "Text"
doc = "Reads a text artifact."
[input.text]
kind = "Text"
doc = "The text."
)" + instr,
        "tests/needs_text.toml");
  r.add(std::make_unique<KitchenStage>(), R"(
[stage]
type = "kitchen"
version = 3
output = "Numbers"
doc = "Declares every parameter type."
[param.flag]
type = "bool"
default = false
doc = "A boolean."
[param.count]
type = "int"
default = 3
min = 1
max = 10
doc = "An integer in [1, 10]."
[param.lo]
type = "float"
default = 0.0
min = 0
max = 1
doc = "A number in [0, 1]."
[param.hi]
type = "float"
default = 1.0
min = 0
max = 1
doc = "A number in [0, 1] above lo."
[param.mode]
type = "string"
default = "fast"
choices = ["fast", "slow"]
doc = "A choice."
[param.file]
type = "path"
default = ""
must_exist = true
hash_content = true
doc = "A file whose content is hashed."
[param.slow_file]
type = "path"
default = ""
must_exist = true
hash_content = true
used_when = { mode = ["slow"] }
doc = "A file read only in slow mode: hashed only then."
[param.slow_count]
type = "int"
default = 1
used_when = { mode = ["slow"] }
doc = "A number read only in slow mode: keyed as its default otherwise."
[param.sizes]
type = "list<int>"
default = [1, 2]
min = 1
max = 100
min_items = 1
doc = "A list of integers in [1, 100]."
[param.rates]
type = "list<float>"
default = [0.5]
min = 0
max = 1
doc = "A list of numbers in [0, 1]."
[param.tasks]
type = "list<string>"
default = ["loc-1"]
choices = ["loc-1", "cat-1", "id-1"]
min_items = 1
max_items = 3
doc = "A list of task names."
[param.name]
type = "string"
doc = "A required string."
[param.threads]
type = "int"
default = 0
min = 0
hashed = false
doc = "Not part of the key."
)" + instr,
        "tests/kitchen.toml");
}

}  // namespace wmgeom::testing
