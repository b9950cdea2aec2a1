#include "config/pipeline.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <utility>

#include "config/toml_value.h"
#include "core/embedded.h"
#include "core/error.h"

namespace wmgeom {

SourcePos StageDecl::where(const std::string& key) const {
  auto it = positions.find(key);
  return it == positions.end() ? pos : it->second;
}

const StageDecl* PipelineSpec::find(std::string_view name) const {
  for (const auto& s : stages) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const StageSchema& pipeline_schema() {
  static const StageSchema schema = [] {
    auto text = embedded_file("src/config/pipeline.toml");
    if (!text) throw Error("src/config/pipeline.toml is not embedded");
    return parse_schema(*text, "src/config/pipeline.toml");
  }();
  return schema;
}

namespace {

using detail::describe_node;
using detail::pos_of;

const std::regex kStageName("[A-Za-z_][A-Za-z0-9_-]*");

class Loader {
 public:
  Loader(PipelineSpec& spec, Diagnostics& diags, const SchemaLookup& schemas)
      : spec_(spec), diags_(diags), schemas_(schemas) {}

  void load(std::string_view text) {
    toml::table root;
    auto parsed = detail::parse_toml(text, spec_.file,
                                     "no stage reads one; expected KEY or stage.NAME.KEY", diags_);
    if (!parsed) return;
    root = std::move(*parsed);
    for (std::size_t i = 0; i < spec_.overrides.size(); ++i)
      apply_override(root, spec_.overrides[i], i + 1);

    for (auto&& [k, v] : root) {
      if (k != "pipeline" && k != "stage") {
        std::string hint = closest(std::string(k.str()), {"pipeline", "stage"});
        diags_.error(pos_of(k.source(), spec_.file), std::string(k.str()),
                     "unknown top-level key; expected [pipeline] or [stage.NAME]" +
                         (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
      }
    }
    load_pipeline_table(root);
    if (const toml::node* stages = root.get("stage")) {
      if (const toml::table* t = stages->as_table()) {
        for (auto&& [k, v] : *t) load_stage(k, v);
      } else {
        diags_.error(pos_of(stages->source(), spec_.file), "stage",
                     "expected tables [stage.NAME], found " + describe_node(*stages));
      }
    }
  }

 private:
  // --set KEY=VALUE: parsed as the TOML line "KEY=VALUE" (dotted keys make
  // nested tables) so that positions point into the argument itself; a value
  // that is not TOML is taken as a bare string.
  void apply_override(toml::table& root, const std::string& arg, std::size_t index) {
    std::string source = "--set[" + std::to_string(index) + "]";
    auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      diags_.error({source, 1, 1}, "",
                   "expected KEY=VALUE (e.g. stage.gru.hidden=128), found \"" + arg + "\"");
      return;
    }
    std::string key = arg.substr(0, eq);
    std::string value = arg.substr(eq + 1);
    // An instance's name (gru[rnn=gru,seed=1]) or a list item (sizes[1])
    // in the key read as a TOML parse error; an instance's '=' also splits
    // the argument early.
    if (const auto bracket = arg.find('['); bracket != std::string::npos && bracket < eq) {
      diags_.error({source, 1, static_cast<std::int64_t>(bracket) + 1}, arg.substr(0, bracket),
                   "expected stage.NAME.KEY=VALUE, which sets KEY in every instance of NAME: an "
                   "override names neither one instance of a sweep (NAME[...]) nor one item of a "
                   "list (KEY[i]); to give instances different values, sweep KEY in the pipeline "
                   "file; to change a list, give the whole list");
      return;
    }
    toml::table parsed;
    if (auto deep = detail::too_many_key_parts(arg, source)) {
      diags_.error(*deep, key,
                   detail::too_many_key_parts_message(
                       "expected stage.NAME.KEY=VALUE or pipeline.KEY=VALUE"));
      return;
    }
    try {
      parsed = toml::parse(arg, source);
    } catch (const toml::parse_error&) {
      // Digits that TOML refuses are a number too large for 64 bits, not a
      // word to take as a string.
      static const std::regex kDigits("[+-]?[0-9][0-9_]*");
      if (std::regex_match(value, kDigits) &&
          std::count_if(value.begin(), value.end(),
                        [](char ch) { return ch >= '0' && ch <= '9'; }) > 18) {
        diags_.error({source, 1, static_cast<std::int64_t>(eq) + 2}, key,
                     "expected an integer of at most 64 bits, found " + value);
        return;
      }
      try {
        parsed = toml::parse(key + "=" + nlohmann_quote(value), source);
      } catch (const toml::parse_error& e) {
        diags_.error(pos_of(e.source(), source), key,
                     "cannot parse override: " + std::string(e.description()));
        return;
      }
    }
    if (!key.starts_with("stage.") && !key.starts_with("pipeline.")) {
      diags_.error({source, 1, 1}, key, "expected a key under stage.NAME. or pipeline.");
      return;
    }
    if (key.starts_with("stage.")) {
      auto rest = key.substr(6);
      auto dot = rest.find('.');
      std::string stage = rest.substr(0, dot);
      const toml::table* stages = root["stage"].as_table();
      if (dot == std::string::npos || !stages || !stages->contains(stage)) {
        std::vector<std::string> names;
        if (stages)
          for (auto&& [k, v] : *stages) names.emplace_back(k.str());
        std::string hint = closest(stage, names);
        diags_.error({source, 1, 7}, key,
                     dot == std::string::npos
                         ? "expected stage.NAME.KEY"
                         : "no stage named \"" + stage + "\" in " + spec_.file +
                               (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
        return;
      }
    }
    merge(root, parsed);
  }

  static std::string nlohmann_quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }

  static void merge(toml::table& into, toml::table& from) {
    for (auto&& [k, v] : from) {
      toml::node* existing = into.get(k.str());
      if (existing && existing->is_table() && v.is_table()) {
        merge(*existing->as_table(), *v.as_table());
      } else {
        into.insert_or_assign(k, std::move(v));
      }
    }
  }

  void load_pipeline_table(const toml::table& root) {
    const toml::node* node = root.get("pipeline");
    const StageSchema& schema = pipeline_schema();
    if (!node) {
      diags_.error({spec_.file, 1, 1}, "pipeline",
                   "missing [pipeline] table (with at least name = \"...\")");
      return;
    }
    const toml::table* t = node->as_table();
    if (!t) {
      diags_.error(pos_of(node->source(), spec_.file), "pipeline",
                   "expected a table, found " + describe_node(*node));
      return;
    }
    Params p;
    std::map<std::string, SourcePos> positions;
    SourcePos pos = pos_of(t->source(), spec_.file);
    for (auto&& [k, v] : *t) {
      std::string key(k.str());
      const ParamSpec* ps = schema.param(key);
      if (!ps) {
        unknown_key("pipeline." + key, pos_of(k.source(), spec_.file), key, names_of(schema),
                    "[pipeline]");
        continue;
      }
      if (auto val = checked_value(*ps, v, "pipeline." + key)) p.set(key, *val);
    }
    for (const auto& ps : schema.params) {
      if (p.has(ps.name)) continue;
      if (ps.default_value)
        p.set(ps.name, *ps.default_value);
      else if (!t->get(ps.name))  // present with a wrong value: that error was given
        diags_.error(pos, "pipeline." + ps.name, "missing required key (" + ps.doc + ")");
    }
    if (p.has("name")) spec_.name = p.s("name");
    if (p.has("seed")) spec_.seed = p.i("seed");
    if (p.has("description")) spec_.description = p.s("description");
    if (p.has("name") && !std::regex_match(spec_.name, kStageName)) {
      const toml::node* name = t->get("name");
      diags_.error(name ? pos_of(name->source(), spec_.file) : pos, "pipeline.name",
                   "expected letters, digits, '_' or '-', found \"" + spec_.name + "\"");
    }
  }

  static std::vector<std::string> names_of(const StageSchema& s) {
    std::vector<std::string> out;
    for (const auto& p : s.params) out.push_back(p.name);
    for (const auto& p : s.inputs) out.push_back(p.name);
    return out;
  }

  void unknown_key(const std::string& path, const SourcePos& pos, const std::string& key,
                   std::vector<std::string> candidates, const std::string& where) {
    std::string hint = closest(key, candidates);
    diags_.error(
        pos, path,
        "unknown key for " + where + (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
  }

  std::optional<Value> checked_value(const ParamSpec& ps, const toml::node& node,
                                     const std::string& path) {
    SourcePos pos = pos_of(node.source(), spec_.file);
    auto v = detail::to_value(node, ps.type);
    if (!v) {
      diags_.error(pos, path,
                   ps.expectation() + ", found " + detail::describe_mismatch(node, ps.type));
      return std::nullopt;
    }
    if (auto e = detail::check_value(ps, *v); !e.empty()) {
      diags_.error(pos, path, ps.expectation() + ", " + e);
      return std::nullopt;
    }
    if (ps.type == ParamType::kPath) resolve_path(ps, *v, pos, path);
    return v;
  }

  void resolve_path(const ParamSpec& ps, Value& v, const SourcePos& pos, const std::string& path) {
    auto& s = std::get<std::string>(v);
    if (s.empty()) return;
    std::filesystem::path p(s);
    if (p.is_relative()) p = spec_.base_dir / p;
    p = p.lexically_normal();
    s = p.string();
    std::error_code ec;
    if (ps.must_exist && !std::filesystem::exists(p, ec)) {
      diags_.error(pos, path, "path does not exist: " + s);
    }
  }

  void load_stage(const toml::key& name_key, const toml::node& node) {
    StageDecl d;
    d.name = std::string(name_key.str());
    d.pos = pos_of(name_key.source(), spec_.file);
    std::string base = "stage." + d.name;
    if (!std::regex_match(d.name, kStageName)) {
      diags_.error(d.pos, base,
                   "stage names use letters, digits, '_' and '-' and start with a letter");
    }
    const toml::table* t = node.as_table();
    if (!t) {
      diags_.error(pos_of(node.source(), spec_.file), base,
                   "expected a table, found " + describe_node(node));
      return;
    }
    const toml::node* type = t->get("type");
    if (!type || !type->is_string()) {
      diags_.error(type ? pos_of(type->source(), spec_.file) : d.pos, base + ".type",
                   "expected a stage type name (string)" +
                       (type ? ", found " + describe_node(*type) : std::string(", missing")));
      spec_.stages.push_back(std::move(d));
      return;
    }
    d.type = type->as_string()->get();
    d.positions["type"] = pos_of(type->source(), spec_.file);
    d.schema = schemas_.find(d.type);
    if (!d.schema) {
      diags_.error(d.positions["type"], base + ".type",
                   "unknown stage type \"" + d.type + "\"" + type_hint(d.type));
      spec_.stages.push_back(std::move(d));
      return;
    }
    const StageSchema& schema = *d.schema;
    std::vector<std::string> swept;
    for (auto&& [k, v] : *t) {
      std::string key(k.str());
      std::string path = base + "." + key;
      SourcePos kpos = pos_of(k.source(), spec_.file);
      if (key == "type") continue;
      if (key == "sweep") {
        load_sweep(d, v, path, swept);
        continue;
      }
      if (const PortSpec* port = schema.port(key)) {
        d.positions[key] = pos_of(v.source(), spec_.file);
        load_port(d, *port, v, path);
        continue;
      }
      const ParamSpec* ps = schema.param(key);
      if (!ps) {
        auto candidates = names_of(schema);
        candidates.push_back("sweep");
        unknown_key(path, kpos, key, candidates, "stage type " + d.type);
        continue;
      }
      d.positions[key] = pos_of(v.source(), spec_.file);
      if (auto val = checked_value(*ps, v, path)) d.params.set(key, *val);
    }
    // A swept parameter takes its values from the sweep: a value set beside
    // it was silently replaced.
    for (const auto& key : swept) {
      if (const toml::node* fixed = t->get(key)) {
        diags_.error(pos_of(fixed->source(), spec_.file), base + "." + key,
                     "set here and swept (sweep." + key +
                         "): a swept parameter takes its values from the sweep; remove one");
      }
    }
    for (const auto& ps : schema.params) {
      if (d.params.has(ps.name)) continue;
      bool is_swept = std::find(swept.begin(), swept.end(), ps.name) != swept.end();
      if (ps.default_value) {
        Value v = *ps.default_value;
        if (ps.type == ParamType::kPath) resolve_path(ps, v, d.pos, base + "." + ps.name);
        d.params.set(ps.name, v);
      } else if (ps.default_from_seed) {
        d.params.set(ps.name, spec_.seed);
      } else if (!is_swept && !t->get(ps.name)) {  // a wrong value was reported where it is
        diags_.error(
            d.pos, base + "." + ps.name,
            "missing required parameter: " + ps.expectation().substr(9) + " (" + ps.doc + ")");
      } else {
        // The sweep supplies it; any first value keeps Params complete.
      }
    }
    for (const auto& port : schema.inputs) {
      // Present with a wrong value: that error was reported at the value.
      if (!port.optional && d.inputs.count(port.name) == 0 && !t->get(port.name)) {
        diags_.error(d.pos, base + "." + port.name,
                     "missing input: expected the name of " +
                         std::string(port.many ? "one or more stages" : "a stage") + " producing " +
                         port.kind);
      }
    }
    spec_.stages.push_back(std::move(d));
  }

  std::string type_hint(const std::string& type) {
    std::string hint = closest(type, schemas_.types);
    if (!hint.empty()) return " (did you mean \"" + hint + "\"?)";
    std::string all;
    for (const auto& t : schemas_.types) all += (all.empty() ? "" : ", ") + t;
    return "; known types: " + all;
  }

  void load_port(StageDecl& d, const PortSpec& port, const toml::node& v, const std::string& path) {
    // PORT = { each = NAMES } on a `many` port: one instance of this stage per
    // upstream instance (as a single-valued port), instead of one for all.
    if (const toml::table* t = v.as_table(); t && port.many) {
      const toml::node* each = t->get("each");
      if (!each || t->size() != 1) {
        diags_.error(pos_of(v.source(), spec_.file), path,
                     "expected { each = \"STAGE\" } or { each = [\"STAGE\", ...] } (one instance "
                     "of this stage per "
                     "upstream instance), found " +
                         describe_node(v));
        return;
      }
      load_port(d, port, *each, path + ".each");
      if (d.inputs.count(port.name)) d.each.insert(port.name);
      return;
    }
    SourcePos pos = pos_of(v.source(), spec_.file);
    std::vector<std::string> names;
    if (auto s = v.as_string()) {
      names.push_back(s->get());
    } else if (auto a = v.as_array(); a && port.many) {
      for (const auto& x : *a) {
        if (!x.is_string()) {
          diags_.error(pos_of(x.source(), spec_.file), path,
                       "expected stage names (strings), found " + describe_node(x));
          return;
        }
        names.push_back(x.as_string()->get());
      }
    } else {
      diags_.error(pos, path,
                   std::string(port.many ? "expected a stage name or a list of stage names"
                                         : "expected the name of one upstream stage") +
                       " producing " + port.kind + ", found " + describe_node(v));
      return;
    }
    if (names.empty()) {
      diags_.error(pos, path, "expected at least one upstream stage name");
      return;
    }
    d.inputs[port.name] = names;
  }

  // sweep = { PARAM = [values...], ..., zip = { PARAM = [...], PARAM = [...] } }
  // `zip` also takes a list of such tables (several groups). A zip group's
  // lists are paired index by index; the other axes multiply.
  void load_sweep(StageDecl& d, const toml::node& v, const std::string& path,
                  std::vector<std::string>& swept) {
    const toml::table* t = v.as_table();
    if (!t) {
      diags_.error(pos_of(v.source(), spec_.file), path,
                   "expected a table {key = [values...]}, found " + describe_node(v));
      return;
    }
    if (t->empty()) {
      diags_.error(pos_of(v.source(), spec_.file), path,
                   "expected at least one PARAM = [values...]; an empty sweep makes no instances");
      return;
    }
    const std::size_t first_axis = d.sweep.size();
    int groups = 0;
    for (auto&& [k, vals] : *t) {
      std::string key(k.str());
      std::string kpath = path + "." + key;
      if (key == "zip" && !d.schema->param(key)) {
        std::vector<const toml::table*> tables;
        if (const toml::table* z = vals.as_table()) {
          tables.push_back(z);
        } else if (const toml::array* zs = vals.as_array(); zs && !zs->empty()) {
          for (const auto& z : *zs) tables.push_back(z.as_table());
        }
        if (tables.empty() || std::find(tables.begin(), tables.end(), nullptr) != tables.end()) {
          diags_.error(pos_of(vals.source(), spec_.file), kpath,
                       "expected a table {PARAM = [values...], PARAM = [values...]} of lists of "
                       "one length (paired "
                       "index by index), or a list of such tables, found " +
                           describe_node(vals));
          continue;
        }
        for (std::size_t g = 0; g < tables.size(); ++g) {
          const std::string gpath =
              tables.size() > 1 ? kpath + "[" + std::to_string(g) + "]" : kpath;
          load_zip_group(d, *tables[g], gpath, groups++, swept);
        }
        continue;
      }
      load_axis(d, key, vals, pos_of(k.source(), spec_.file), kpath, -1, swept);
    }
    // Its instances: the product of the axes' lengths, a zip group counting
    // once. Capped, so that a sweep typed with one list too many is an
    // error, not minutes of planning and gigabytes of memory.
    std::size_t instances = 1;
    std::vector<int> counted;
    for (std::size_t a = first_axis; a < d.sweep.size(); ++a) {
      const SweepAxis& axis = d.sweep[a];
      if (axis.zip >= 0) {
        if (std::find(counted.begin(), counted.end(), axis.zip) != counted.end()) continue;
        counted.push_back(axis.zip);
      }
      instances = std::min<std::size_t>(instances * axis.values.size(), kMaxSweepInstances + 1);
    }
    if (instances > kMaxSweepInstances) {
      diags_.error(pos_of(v.source(), spec_.file), path,
                   "makes more than " + std::to_string(kMaxSweepInstances) +
                       " instances of this stage (the product of its lists' lengths); split "
                       "the study into several pipelines, or pair lists with zip");
    }
  }

  void load_zip_group(StageDecl& d, const toml::table& z, const std::string& path, int group,
                      std::vector<std::string>& swept) {
    if (z.empty()) {
      diags_.error(pos_of(z.source(), spec_.file), path,
                   "expected PARAM = [values...] lists to pair; this zip is empty");
      return;
    }
    const std::size_t first = d.sweep.size();
    for (auto&& [k, vals] : z) {
      load_axis(d, std::string(k.str()), vals, pos_of(k.source(), spec_.file),
                path + "." + std::string(k.str()), group, swept);
    }
    std::string lengths;
    bool equal = true;
    for (std::size_t a = first; a < d.sweep.size(); ++a) {
      lengths += (lengths.empty() ? "" : ", ") + d.sweep[a].key + " has " +
                 std::to_string(d.sweep[a].values.size());
      equal = equal && d.sweep[a].values.size() == d.sweep[first].values.size();
    }
    if (!equal) {
      diags_.error(pos_of(z.source(), spec_.file), path,
                   "the lists of a zip are paired index by index and must have one length; " +
                       lengths + " values");
      return;
    }
    // Two equal pairs would be two instances of one name and one key.
    if (first == d.sweep.size()) return;
    const auto twice =
        first_repeat(d.sweep[first].values.size(), [&](std::size_t i, std::size_t j) {
          for (std::size_t a = first; a < d.sweep.size(); ++a)
            if (!(d.sweep[a].values[i] == d.sweep[a].values[j])) return false;
          return true;
        });
    if (twice) {
      diags_.error(pos_of(z.source(), spec_.file), path,
                   "entries " + std::to_string(twice->first + 1) + " and " +
                       std::to_string(twice->second + 1) +
                       " of the zip are equal in every list: the same instance twice");
    }
  }

  // The first pair (j, i), j < i < n, that `same` says are equal, in the
  // order a reader meets the second of them: a sweep's one instance listed
  // twice. Quadratic; a sweep has at most kMaxSweepInstances values.
  template <typename Same>
  static std::optional<std::pair<std::size_t, std::size_t>> first_repeat(std::size_t n, Same same) {
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (same(i, j)) return std::make_pair(j, i);
      }
    }
    return std::nullopt;
  }

  void load_axis(StageDecl& d, const std::string& key, const toml::node& vals, const SourcePos& pos,
                 const std::string& kpath, int zip, std::vector<std::string>& swept) {
    const ParamSpec* ps = d.schema->param(key);
    if (!ps) {
      auto candidates = names_of(*d.schema);
      if (zip < 0) candidates.push_back("zip");
      unknown_key(kpath, pos, key, candidates, "a sweep of stage type " + d.type);
      return;
    }
    if (std::find(swept.begin(), swept.end(), key) != swept.end()) {
      diags_.error(
          pos, kpath,
          "\"" + key +
              "\" is swept twice in this stage (once in a zip and once outside, or in two zips)");
      return;
    }
    const toml::array* arr = vals.as_array();
    if (!arr || arr->empty()) {
      diags_.error(pos_of(vals.source(), spec_.file), kpath,
                   "expected a non-empty list of values to sweep, found " + describe_node(vals));
      return;
    }
    SweepAxis axis{key, {}, pos, zip};
    bool ok = true;
    for (const auto& x : *arr) {
      auto val = checked_value(*ps, x, kpath);
      if (!val)
        ok = false;
      else
        axis.values.push_back(*val);
    }
    if (!ok) return;
    if (zip < 0) {
      const auto twice = first_repeat(axis.values.size(), [&](std::size_t i, std::size_t j) {
        return axis.values[i] == axis.values[j];
      });
      if (twice) {
        const auto [j, i] = *twice;
        diags_.error(pos_of((*arr)[i].source(), spec_.file), kpath,
                     "the value " + format_value(axis.values[i]) + " is listed twice (items " +
                         std::to_string(j + 1) + " and " + std::to_string(i + 1) +
                         "): the same instance twice");
        return;
      }
    }
    swept.push_back(key);
    d.positions["sweep." + key] = axis.pos;
    if (!d.params.has(key)) d.params.set(key, axis.values.front());
    d.sweep.push_back(std::move(axis));
  }

  PipelineSpec& spec_;
  Diagnostics& diags_;
  const SchemaLookup& schemas_;
};

}  // namespace

PipelineSpec load_pipeline(const std::string& file, std::string_view text,
                           const std::vector<std::string>& overrides, const SchemaLookup& schemas,
                           Diagnostics& diags) {
  PipelineSpec spec;
  spec.file = file;
  spec.text = std::string(text);
  spec.overrides = overrides;
  std::error_code ec;
  auto abs = std::filesystem::absolute(file, ec);
  spec.base_dir =
      file.starts_with("embedded:") ? std::filesystem::current_path() : abs.parent_path();
  Loader(spec, diags, schemas).load(text);
  return spec;
}

PipelineSpec load_pipeline_file(const std::string& file, const std::vector<std::string>& overrides,
                                const SchemaLookup& schemas, Diagnostics& diags) {
  std::string text;
  if (file == "embedded:quickstart") {
    text = std::string(*embedded_file("pipelines/quickstart.toml"));
  } else {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) {  // opens, and reads as an empty file
      diags.error({file, 0, 0}, "", "is a folder; expected a pipeline file (TOML)");
      PipelineSpec spec;
      spec.file = file;
      return spec;
    }
    std::ifstream f(file, std::ios::binary);
    if (!f) {
      diags.error({file, 0, 0}, "", "cannot read pipeline file (does it exist?)");
      PipelineSpec spec;
      spec.file = file;
      return spec;
    }
    std::ostringstream ss;
    ss << f.rdbuf();
    text = ss.str();
  }
  return load_pipeline(file, text, overrides, schemas, diags);
}

}  // namespace wmgeom
