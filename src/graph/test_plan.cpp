// Plans: sweep expansion and propagation, cache-key sensitivity, known answers.
#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "config/diagnostics.h"
#include "config/schema.h"
#include "core/error.h"
#include "graph/plan.h"
#include "graph/registry.h"
#include "test_stages.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

const StageRegistry& registry() { return test_registry(); }

Plan plan_of(const std::string& text, const std::vector<std::string>& sets = {},
             const std::string& file = "/tmp/p.toml") {
  Diagnostics d;
  auto p = make_plan_from_text(file, text, sets, registry(), d);
  if (!p) throw std::runtime_error(d.format_all());
  return *p;
}

std::string key_of(const Plan& p, const std::string& name) {
  auto sel = p.select(name);
  if (sel.size() != 1) throw std::runtime_error("not one instance: " + name);
  return p.instances[sel[0]].key;
}

const char* kChain = R"([pipeline]
name = "t"
seed = 5

[stage.a]
type = "source"
n = 3
value = 0.5

[stage.b]
type = "scale"
x = "a"
factor = 3.0
)";

TEST(Plan, SweepExpandsAndPropagatesToSingleInputs) {
  Plan p = plan_of(R"([pipeline]
name = "t"
[stage.a]
type = "source"
sweep = { n = [1, 2], value = [0.5, 1.5] }
[stage.b]
type = "scale"
x = "a"
[stage.total]
type = "sum"
xs = ["a", "b"]
)");
  std::vector<std::string> names;
  for (const auto& i : p.instances) names.push_back(i.name);
  std::vector<std::string> want = {"a[n=1,value=0.5]", "a[n=1,value=1.5]", "a[n=2,value=0.5]",
                                   "a[n=2,value=1.5]", "b[n=1,value=0.5]", "b[n=1,value=1.5]",
                                   "b[n=2,value=0.5]", "b[n=2,value=1.5]", "total"};
  EXPECT_EQ(names, want);
  EXPECT_EQ(p.instances.back().inputs.size(), 8u);  // many-port: every instance of a and b
  EXPECT_EQ(p.instances[0].params.i("n"), 1);
  EXPECT_DOUBLE_EQ(p.instances[1].params.f("value"), 1.5);
  // b[n=2,value=1.5] reads a[n=2,value=1.5]
  EXPECT_EQ(p.instances[p.instances[7].inputs[0].upstream].name, "a[n=2,value=1.5]");
}

TEST(Plan, MatchingSweepLabelsZipInsteadOfMultiplying) {
  Plan p = plan_of(R"([pipeline]
name = "t"
[stage.a]
type = "source"
sweep = { seed = [1, 2, 3] }
[stage.b]
type = "scale"
x = "a"
sweep = { factor = [2.0, 3.0] }
[stage.c]
type = "sum"
xs = "b"
sweep = { seed = [2] }
)");
  EXPECT_EQ(p.select("a").size(), 3u);
  EXPECT_EQ(p.select("b").size(), 6u);
  auto c = p.select("c");
  ASSERT_EQ(c.size(), 1u);
  // c[seed=2] receives only the b instances whose inherited seed is 2.
  EXPECT_EQ(p.instances[c[0]].inputs.size(), 2u);
  for (const auto& e : p.instances[c[0]].inputs) {
    EXPECT_NE(p.instances[e.upstream].name.find("seed=2"), std::string::npos);
  }
}

TEST(Plan, ZippedSweepsPairValuesIndexByIndex) {
  Plan p = plan_of(R"([pipeline]
name = "t"
[stage.a]
type = "source"
sweep = { zip = { n = [1, 2, 3], value = [0.5, 1.5, 2.5] }, seed = [7, 8] }
[stage.b]
type = "scale"
x = "a"
)");
  // Names list the sweep's keys in order (a TOML table's keys sort; the zip
  // group stands where "zip" sorts).
  std::set<std::string> names;
  for (std::size_t i : p.select("a")) names.insert(p.instances[i].name);
  // 3 pairs x 2 seeds, not 3 x 3 x 2.
  std::set<std::string> want = {"a[seed=7,n=1,value=0.5]", "a[seed=8,n=1,value=0.5]",
                                "a[seed=7,n=2,value=1.5]", "a[seed=8,n=2,value=1.5]",
                                "a[seed=7,n=3,value=2.5]", "a[seed=8,n=3,value=2.5]"};
  EXPECT_EQ(names, want);
  for (std::size_t i : p.select("a")) {
    const auto& in = p.instances[i];
    EXPECT_DOUBLE_EQ(in.params.f("value"), static_cast<double>(in.params.i("n")) - 0.5) << in.name;
  }
  // Downstream stages follow the pairs, as they follow any sweep.
  EXPECT_EQ(p.select("b").size(), 6u);
  // Two zip groups multiply each other; a key zipped once is one axis.
  Plan q = plan_of(R"([pipeline]
name = "t"
[stage.a]
type = "source"
sweep = { zip = [{ n = [1, 2] }, { value = [0.5, 1.5], seed = [3, 4] }] }
)");
  names.clear();
  for (const auto& i : q.instances) names.insert(i.name);
  want = {"a[n=1,seed=3,value=0.5]", "a[n=1,seed=4,value=1.5]", "a[n=2,seed=3,value=0.5]",
          "a[n=2,seed=4,value=1.5]"};
  EXPECT_EQ(names, want);
  // The same instances, so the same keys, as an ordinary sweep gives for them.
  Plan r = plan_of(R"([pipeline]
name = "t"
[stage.a]
type = "source"
sweep = { n = [2], value = [1.5], seed = [4] }
)");
  for (const auto& i : q.instances) {
    if (i.name == "a[n=2,seed=4,value=1.5]") {
      EXPECT_EQ(r.instances[0].key, i.key);
    }
  }
}

// A `many` port given as { each = ... }: one instance per upstream instance
// (the map of a map-reduce: one analysis per model), each reading only its
// own; a plain many port still receives every instance.
TEST(Plan, EachExpandsAManyPortPerUpstreamInstance) {
  Plan p = plan_of(R"([pipeline]
name = "t"
[stage.a]
type = "source"
sweep = { seed = [1, 2, 3] }
[stage.b]
type = "source"
sweep = { n = [4, 5] }
[stage.per]
type = "sum"
xs = { each = ["a", "b"] }
[stage.all]
type = "sum"
xs = "per"
)");
  std::vector<std::string> names;
  for (std::size_t i : p.select("per")) {
    const auto& in = p.instances[i];
    names.push_back(in.name);
    ASSERT_EQ(in.inputs.size(), 1u) << in.name;
    // It reads the upstream instance whose labels it carries.
    const std::string up = p.instances[in.inputs[0].upstream].name;
    const std::string stage = up.substr(0, up.find('['));
    EXPECT_EQ(up.substr(up.find('[')),
              in.name.substr(in.name.find('['), up.size() - stage.size() - 1) + "]")
        << in.name << " reads " << up;
    EXPECT_NE(in.name.find("xs=" + stage + "]"), std::string::npos) << in.name << " reads " << up;
  }
  // Over several stages, the stage read is a label (PORT=STAGE), so that
  // instances of two stages with the same sweep labels stay apart.
  EXPECT_EQ(names,
            (std::vector<std::string>{"per[seed=1,xs=a]", "per[seed=2,xs=a]", "per[seed=3,xs=a]",
                                      "per[n=4,xs=b]", "per[n=5,xs=b]"}));
  // The reduce: a plain many port gathers all five.
  auto all = p.select("all");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(p.instances[all[0]].inputs.size(), 5u);
  // Two stages whose instances share labels stay apart.
  Plan twins = plan_of(R"([pipeline]
name = "t"
[stage.a]
type = "source"
sweep = { seed = [1] }
[stage.b]
type = "source"
sweep = { seed = [1] }
[stage.per]
type = "sum"
xs = { each = ["a", "b"] }
)");
  EXPECT_EQ(twins.select("per").size(), 2u);
  // The same key as the one-input sum it equals (labels are not hashed).
  Plan q = plan_of(R"([pipeline]
name = "t"
[stage.a]
type = "source"
sweep = { seed = [2] }
[stage.per]
type = "sum"
xs = "a"
)");
  for (std::size_t i : p.select("per")) {
    if (p.instances[i].name == "per[seed=2,xs=a]") {
      EXPECT_EQ(p.instances[i].key, q.instances[q.select("per").front()].key);
    }
  }
}

TEST(Plan, SeedDefaultsFromPipeline) {
  Plan p = plan_of(kChain);
  EXPECT_EQ(p.instances[0].params.i("seed"), 5);
  Plan q = plan_of(kChain, {"pipeline.seed=6"});
  EXPECT_EQ(q.instances[0].params.i("seed"), 6);
  EXPECT_NE(key_of(p, "a"), key_of(q, "a"));
}

TEST(Plan, KnownAnswerKey) {
  // Changing this text or hash is a cache-format change: bump "wmgeom-cache-v1".
  Plan p = plan_of(kChain);
  const Instance& a = p.instances[0];
  EXPECT_EQ(a.key_text,
            "wmgeom-cache-v1\n"
            "type source\n"
            "version 1\n"
            "param n int 3\n"
            "param seed int 5\n"
            "param value float 0.5\n");
  EXPECT_EQ(a.key, "7ad4889e2de47e1fa10290befac2779d");
  const Instance& b = p.instances[1];
  EXPECT_EQ(b.key_text,
            "wmgeom-cache-v1\n"
            "type scale\n"
            "version 1\n"
            "param factor float 3.0\n"
            "input x {} " +
                a.key + "\n");
  EXPECT_EQ(b.key, "78261423fe32e14bd6fe546489ea0517");
}

// The configuration a stage records to say what its replicates share
// (RunContext::configuration; the train stage keeps it with the model): the
// key's parameters but the seed, and its inputs' keys.
TEST(Plan, TheConfigurationIsTheKeyWithoutTheSeed) {
  Plan p = plan_of(kChain);
  const Instance& a = p.instances[0];
  EXPECT_EQ(a.configuration, (std::map<std::string, std::string>{{"n", "3"}, {"value", "0.5"}}));
  const Instance& b = p.instances[1];
  EXPECT_EQ(b.configuration,
            (std::map<std::string, std::string>{{"factor", "3.0"}, {"input x", a.key}}));
  // Another seed: another key, the same configuration.
  Plan q = plan_of(kChain, {"pipeline.seed=6"});
  EXPECT_NE(q.instances[0].key, a.key);
  EXPECT_EQ(q.instances[0].configuration, a.configuration);
}

TEST(Plan, EveryHashedParameterChangesTheKeyAndNoUnhashedOneDoes) {
  TempDir dir;
  write_file(dir / "f.txt", "one");
  std::string base =
      "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\nfile = \"f.txt\"\n";
  std::string file = (dir / "p.toml").string();
  std::string k0 = key_of(plan_of(base, {}, file), "k");
  const std::vector<std::string> hashed = {
      "stage.k.flag=true",    "stage.k.count=4",           "stage.k.lo=0.25",
      "stage.k.hi=0.75",      "stage.k.mode=slow",         "stage.k.sizes=[3]",
      "stage.k.rates=[0.25]", "stage.k.tasks=[\"cat-1\"]", "stage.k.name=y"};
  for (const auto& s : hashed) EXPECT_NE(key_of(plan_of(base, {s}, file), "k"), k0) << s;
  const std::vector<std::string> unhashed = {"stage.k.threads=8", "stage.k.sleep_ms=5",
                                             "stage.k.fail=true", "stage.k.resource=\"cuda:0\"",
                                             "stage.k.counter=\"/tmp/c\""};
  for (const auto& s : unhashed) EXPECT_EQ(key_of(plan_of(base, {s}, file), "k"), k0) << s;
  // The version in the schema and key_extras are hashed (kitchen declares both).
  EXPECT_NE(plan_of(base, {}, file).instances[0].key_text.find("version 3\n"), std::string::npos);
  EXPECT_NE(plan_of(base, {}, file).instances[0].key_text.find("extra library test 1.0\n"),
            std::string::npos);
}

TEST(Plan, FileContentIsHashedNotItsPath) {
  TempDir dir;
  write_file(dir / "f.txt", "one");
  write_file(dir / "g.txt", "one");
  std::string base = "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = \"x\"\n";
  std::string file = (dir / "p.toml").string();
  std::string kf = key_of(plan_of(base + "file = \"f.txt\"\n", {}, file), "k");
  std::string kg = key_of(plan_of(base + "file = \"g.txt\"\n", {}, file), "k");
  EXPECT_EQ(kf, kg);
  write_file(dir / "g.txt", "two");
  EXPECT_NE(key_of(plan_of(base + "file = \"g.txt\"\n", {}, file), "k"), kf);
  // Directories hash their files' names and contents.
  write_file(dir / "d" / "a" / "x.obj", "v 0 0 0");
  std::string kd = key_of(plan_of(base + "file = \"d\"\n", {}, file), "k");
  write_file(dir / "d" / "a" / "y.obj", "v 0 0 0");
  EXPECT_NE(key_of(plan_of(base + "file = \"d\"\n", {}, file), "k"), kd);
}

// A parameter the stage reads only under some value of another (schema
// `used_when`) is keyed as its default otherwise: a mesh folder given to a
// procedural render is not hashed, and editing it recomputes nothing. Where
// it is read, it is keyed as any other (a value, a content hash).
TEST(Plan, AParameterTheStageDoesNotReadIsKeyedAsItsDefault) {
  TempDir dir;
  write_file(dir / "f.txt", "one");
  write_file(dir / "s.txt", "one");
  const std::string base =
      "[pipeline]\nname = \"t\"\n[stage.k]\ntype = \"kitchen\"\nname = "
      "\"x\"\nfile = \"f.txt\"\n";
  const std::string file = (dir / "p.toml").string();
  const std::string fast = key_of(plan_of(base, {}, file), "k");
  const Plan given = plan_of(base, {"stage.k.slow_file=\"s.txt\"", "stage.k.slow_count=7"}, file);
  EXPECT_EQ(key_of(given, "k"), fast) << "not read in fast mode: not keyed";
  EXPECT_NE(given.instances[0].key_text.find("file slow_file -\n"), std::string::npos);
  EXPECT_NE(given.instances[0].key_text.find("param slow_count int 1\n"), std::string::npos);
  EXPECT_EQ(given.instances[0].content.size(), 1U) << "only `file` was hashed";
  write_file(dir / "s.txt", "two");
  EXPECT_EQ(key_of(plan_of(base, {"stage.k.slow_file=\"s.txt\""}, file), "k"), fast);
  // Read in slow mode: its value and its contents are keyed.
  const std::string slow = key_of(plan_of(base, {"stage.k.mode=slow"}, file), "k");
  const std::string slow_given =
      key_of(plan_of(base, {"stage.k.mode=slow", "stage.k.slow_file=\"s.txt\""}, file), "k");
  EXPECT_NE(slow_given, slow);
  write_file(dir / "s.txt", "three");
  EXPECT_NE(key_of(plan_of(base, {"stage.k.mode=slow", "stage.k.slow_file=\"s.txt\""}, file), "k"),
            slow_given);
  EXPECT_NE(key_of(plan_of(base, {"stage.k.mode=slow", "stage.k.slow_count=7"}, file), "k"), slow);
}

TEST(Plan, KeysIgnoreKeyOrderStageNamesAndUnhashedValues) {
  Plan p = plan_of(kChain);
  Plan q = plan_of(R"([pipeline]
seed = 5
name = "other"
[stage.first]
value = 0.5
n = 3
type = "source"
tag = "not hashed"
[stage.second]
factor = 3.0
x = "first"
type = "scale"
)");
  EXPECT_EQ(key_of(p, "a"), key_of(q, "first"));
  EXPECT_EQ(key_of(p, "b"), key_of(q, "second"));
}

TEST(Plan, UpstreamChangePropagatesDownstream) {
  Plan p = plan_of(kChain);
  Plan q = plan_of(kChain, {"stage.a.n=4"});
  EXPECT_NE(key_of(p, "a"), key_of(q, "a"));
  EXPECT_NE(key_of(p, "b"), key_of(q, "b"));
  Plan r = plan_of(kChain, {"stage.b.factor=4.0"});
  EXPECT_EQ(key_of(p, "a"), key_of(r, "a"));
  EXPECT_NE(key_of(p, "b"), key_of(r, "b"));
}

TEST(Plan, SelectAndClosures) {
  Plan p = plan_of(R"([pipeline]
name = "t"
[stage.a]
type = "source"
[stage.b]
type = "scale"
x = "a"
sweep = { factor = [1.0, 2.0] }
[stage.c]
type = "sum"
xs = "b"
[stage.d]
type = "source"
)");
  EXPECT_EQ(p.select("b").size(), 2u);
  EXPECT_EQ(p.select("b[factor=2.0]").size(), 1u);
  EXPECT_TRUE(p.select("zz").empty());
  auto down = p.downstream_closure(p.select("a"));
  EXPECT_EQ(down.size(), 4u);  // a, b x2, c
  auto up = p.upstream_closure(p.select("c"));
  EXPECT_EQ(up.size(), 4u);
}

}  // namespace
}  // namespace wmgeom::testing

namespace wmgeom::testing {
namespace {

// A stage that uses a device (its schema's `device` key) and keys something
// of its own; the engine does the rest (issue 24 item 2).
class OnDevice final : public Stage {
 public:
  std::string type() const override { return "ondevice"; }
  std::string key_extras(const Params&) const override { return "own extra"; }
  Artifact run(const Params&, const StageInputs&, RunContext&) const override { return {}; }
};

const char* kOnDeviceSchema = R"([stage]
type = "ondevice"
output = "Numbers"
device = "device"
doc = "A stage on a device."

[param.device]
type = "string"
default = "cpu"
hashed = false
doc = "cpu | gpuN."
)";

// A fake device support: "cpu" and "gpu<N>"; the kind keyed, "gpu<N>" claimed.
DeviceSupport fake_devices() {
  DeviceSupport d;
  d.expectation = "expected \"cpu\" or \"gpuN\"";
  d.valid = [](const std::string& s) {
    return s == "cpu" || (s.rfind("gpu", 0) == 0 && s.size() > 3);
  };
  d.key_extras = [](const std::string& s) { return "runtime 1.0\ndevice " + s.substr(0, 3); };
  d.resource = [](const std::string& s) { return s == "cpu" ? std::string() : s; };
  return d;
}

TEST(Plan, TheEngineChecksKeysAndClaimsAStagesDevice) {
  StageRegistry without;
  try {
    without.add(std::make_unique<OnDevice>(), kOnDeviceSchema, "ondevice.toml");
    ADD_FAILURE() << "a device stage was registered without device support";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("install the device support first"), std::string::npos)
        << e.what();
  }
  StageRegistry r;
  r.set_device_support(fake_devices());
  r.add(std::make_unique<OnDevice>(), kOnDeviceSchema, "ondevice.toml");
  auto plan = [&](const std::string& device, Diagnostics& d) {
    return make_plan_from_text(
        "/tmp/d.toml",
        "[pipeline]\nname = \"d\"\n\n[stage.x]\ntype = \"ondevice\"\ndevice = \"" + device + "\"\n",
        {}, r, d);
  };
  Diagnostics d;
  auto cpu = plan("cpu", d);
  ASSERT_TRUE(cpu) << d.format_all();
  // The device's key lines first, then the stage's own.
  EXPECT_EQ(cpu->instances[0].extras,
            (std::vector<std::string>{"runtime 1.0", "device cpu", "own extra"}));
  EXPECT_EQ(cpu->instances[0].resource, "");
  auto gpu = plan("gpu1", d);
  ASSERT_TRUE(gpu) << d.format_all();
  EXPECT_EQ(gpu->instances[0].resource, "gpu1");
  EXPECT_NE(gpu->instances[0].key, cpu->instances[0].key);  // the kind is keyed
  auto gpu2 = plan("gpu2", d);
  EXPECT_EQ(gpu2->instances[0].key, gpu->instances[0].key);  // the spec itself is not
  Diagnostics bad;
  EXPECT_FALSE(plan("tpu", bad));
  EXPECT_NE(bad.format_all().find("/tmp/d.toml:6:"), std::string::npos) << bad.format_all();
  EXPECT_NE(bad.format_all().find("stage.x.device: expected \"cpu\" or \"gpuN\", found \"tpu\""),
            std::string::npos)
      << bad.format_all();
}

TEST(Schema, ADeviceKeyNamesAnUnhashedStringParameter) {
  auto error = [](const std::string& text) {
    try {
      parse_schema(text, "s.toml");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  std::string ok = kOnDeviceSchema;
  EXPECT_EQ(error(ok), "");
  std::string missing = ok;
  missing.replace(missing.find("device = \"device\""), 17, "device = \"gpu\"");
  EXPECT_NE(error(missing).find("names \"gpu\", which is not a parameter"), std::string::npos)
      << error(missing);
  std::string hashed = ok;
  hashed.replace(hashed.find("hashed = false"), 14, "hashed = true");
  EXPECT_NE(error(hashed).find("must be a string with hashed = false"), std::string::npos)
      << error(hashed);
}

}  // namespace
}  // namespace wmgeom::testing
