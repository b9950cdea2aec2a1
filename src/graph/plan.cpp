#include "graph/plan.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <functional>
#include <map>
#include <set>

#include "core/error.h"
#include "core/hash.h"

namespace wmgeom {

std::string format_labels(const Labels& labels) {
  std::string s = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    s += (i ? "," : "") + labels[i].first + "=" + labels[i].second;
  }
  return s + "}";
}

SchemaLookup schema_lookup(const StageRegistry& registry) {
  return {[&registry](std::string_view type) -> const StageSchema* {
            const StageEntry* e = registry.find(type);
            return e ? &e->schema : nullptr;
          },
          registry.types()};
}

std::vector<std::size_t> Plan::select(const std::string& name) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < instances.size(); ++i) {
    if (instances[i].name == name || spec.stages[instances[i].decl].name == name) out.push_back(i);
  }
  return out;
}

std::string Plan::unknown_selection(const std::string& name) const {
  std::vector<std::string> names;
  std::string all;
  for (const auto& d : spec.stages) {
    names.push_back(d.name);
    all += (all.empty() ? "" : ", ") + d.name;
  }
  const std::string near = closest(name, names);
  return "no stage or instance named \"" + name + "\" in " + spec.file + " (" +
         (near.empty() ? "" : "did you mean \"" + near + "\"?; ") + "stages: " + all + ")";
}

std::vector<std::size_t> Plan::downstream_closure(const std::vector<std::size_t>& roots) const {
  std::vector<bool> in(instances.size(), false);
  for (auto r : roots) in[r] = true;
  // Instances are in topological order: one forward sweep suffices.
  for (std::size_t i = 0; i < instances.size(); ++i) {
    for (const auto& e : instances[i].inputs) {
      if (in[e.upstream]) in[i] = true;
    }
  }
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i]) out.push_back(i);
  }
  return out;
}

std::vector<std::size_t> Plan::upstream_closure(const std::vector<std::size_t>& roots) const {
  std::vector<bool> in(instances.size(), false);
  for (auto r : roots) in[r] = true;
  for (std::size_t k = instances.size(); k-- > 0;) {
    if (!in[k]) continue;
    for (const auto& e : instances[k].inputs) in[e.upstream] = true;
  }
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i]) out.push_back(i);
  }
  return out;
}

namespace {

std::string label_value(const Value& v) {
  if (auto s = std::get_if<std::string>(&v)) return *s;
  return format_value(v);
}

bool consistent(const Labels& a, const Labels& b) {
  for (const auto& [k, v] : a) {
    for (const auto& [k2, v2] : b) {
      if (k == k2 && v != v2) return false;
    }
  }
  return true;
}

Labels merge(Labels a, const Labels& b) {
  for (const auto& kv : b) {
    bool present = false;
    for (const auto& x : a) present = present || x.first == kv.first;
    if (!present) a.push_back(kv);
  }
  return a;
}

// Whether `text` has `word` as a whole word (not inside a longer name).
bool names_word(const std::string& text, const std::string& word) {
  auto part = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
  for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const std::size_t end = at + word.size();
    if ((at == 0 || !part(text[at - 1])) && (end == text.size() || !part(text[end]))) return true;
  }
  return false;
}

class ParamIssueSink : public ParamIssues {
 public:
  ParamIssueSink(const StageDecl& d, Diagnostics& diags, std::set<std::string>& seen)
      : d_(d), diags_(diags), seen_(seen) {}
  void error(const std::string& key, const std::string& message) override {
    std::string path = "stage." + d_.name + "." + key;
    if (!seen_.insert(path + "\n" + message).second) return;  // same problem in every sweep member
    SourcePos pos = d_.positions.count(key) ? d_.where(key) : d_.where("sweep." + key);
    // A relation between parameters is reported at one of them: where
    // another that the message names came from --set, the file's line
    // alone blamed the file.
    std::string from_set;
    if (pos.file.rfind("--set[", 0) != 0) {
      for (const auto& [k, p] : d_.positions) {
        if (k != key && p.file.rfind("--set[", 0) == 0 && names_word(message, k))
          from_set += (from_set.empty() ? "" : ", ") + k + " by " + p.file;
      }
    }
    diags_.error(
        pos, path,
        from_set.empty() ? message : message + " (set on the command line: " + from_set + ")");
  }

 private:
  const StageDecl& d_;
  Diagnostics& diags_;
  std::set<std::string>& seen_;
};

struct Builder {
  PipelineSpec& spec;
  const StageRegistry& registry;
  Diagnostics& diags;
  std::map<std::string, std::size_t> by_name;

  void check_graph() {
    for (std::size_t i = 0; i < spec.stages.size(); ++i) by_name[spec.stages[i].name] = i;
    std::vector<std::string> names;
    for (const auto& d : spec.stages) names.push_back(d.name);
    for (const auto& d : spec.stages) {
      if (!d.schema) continue;
      for (const auto& [port, ups] : d.inputs) {
        const PortSpec* ps = d.schema->port(port);
        for (const auto& up : ups) {
          std::string path = "stage." + d.name + "." + port;
          auto it = by_name.find(up);
          if (it == by_name.end()) {
            std::string hint = closest(up, names);
            diags.error(d.where(port), path,
                        "no stage named \"" + up + "\" in the pipeline" +
                            (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
            continue;
          }
          const StageDecl& u = spec.stages[it->second];
          if (u.schema && u.schema->output != ps->kind) {
            diags.error(d.where(port), path,
                        "expected a stage producing " + ps->kind + ", but \"" + up + "\" (type " +
                            u.type + ") produces " +
                            (u.schema->output.empty() ? "nothing" : u.schema->output));
          }
        }
      }
    }
    find_cycles();
  }

  void find_cycles() {
    enum Color { kWhite, kGrey, kBlack };
    std::vector<Color> color(spec.stages.size(), kWhite);
    std::vector<std::size_t> stack;
    std::function<void(std::size_t)> dfs = [&](std::size_t i) {
      color[i] = kGrey;
      stack.push_back(i);
      const StageDecl& d = spec.stages[i];
      for (const auto& [port, ups] : d.inputs) {
        for (const auto& up : ups) {
          auto it = by_name.find(up);
          if (it == by_name.end()) continue;
          std::size_t j = it->second;
          if (color[j] == kGrey) {
            std::string cycle;
            auto from = std::find(stack.begin(), stack.end(), j);
            for (auto p = from; p != stack.end(); ++p) cycle += spec.stages[*p].name + " <- ";
            cycle += spec.stages[j].name;
            diags.error(d.where(port), "stage." + d.name + "." + port,
                        "inputs form a cycle: " + cycle + " (each stage reads the next)");
          } else if (color[j] == kWhite) {
            dfs(j);
          }
        }
      }
      stack.pop_back();
      color[i] = kBlack;
    };
    for (std::size_t i = 0; i < spec.stages.size(); ++i) {
      if (color[i] == kWhite) dfs(i);
    }
  }

  std::vector<std::size_t> topo_order() {
    std::vector<std::size_t> order;
    std::vector<bool> done(spec.stages.size(), false);
    std::function<void(std::size_t)> visit = [&](std::size_t i) {
      if (done[i]) return;
      done[i] = true;
      for (const auto& [port, ups] : spec.stages[i].inputs) {
        for (const auto& up : ups) visit(by_name.at(up));
      }
      order.push_back(i);
    };
    for (std::size_t i = 0; i < spec.stages.size(); ++i) visit(i);
    return order;
  }

  void expand(Plan& plan) {
    std::vector<std::vector<std::size_t>> of(spec.stages.size());
    std::set<std::string> seen_issues;
    for (std::size_t di : topo_order()) {
      const StageDecl& d = spec.stages[di];
      struct Combo {
        Labels labels;
        Params params;
        std::vector<Instance::Edge> edges;
      };
      std::vector<Combo> combos{{{}, d.params, {}}};
      // Axes in order; a zip group's axes (validated to one length) take
      // their values together, at the place of the group's first axis.
      for (std::size_t a = 0; a < d.sweep.size(); ++a) {
        const SweepAxis& axis = d.sweep[a];
        if (axis.zip >= 0 && std::any_of(d.sweep.begin(), d.sweep.begin() + a,
                                         [&](const SweepAxis& b) { return b.zip == axis.zip; }))
          continue;
        std::vector<const SweepAxis*> together;
        for (std::size_t b = a; b < d.sweep.size(); ++b) {
          if (b == a || (axis.zip >= 0 && d.sweep[b].zip == axis.zip))
            together.push_back(&d.sweep[b]);
        }
        std::size_t length = axis.values.size();  // equal in a valid zip; the shortest otherwise
        for (const SweepAxis* x : together) length = std::min(length, x->values.size());
        std::vector<Combo> next;
        for (const auto& c : combos) {
          for (std::size_t v = 0; v < length; ++v) {
            Combo n = c;
            for (const SweepAxis* x : together) {
              n.labels.emplace_back(x->key, label_value(x->values[v]));
              n.params.set(x->key, x->values[v]);
            }
            next.push_back(std::move(n));
          }
        }
        combos = std::move(next);
      }
      // Single-valued ports naming a swept stage expand this stage alongside
      // it; so does a `many` port given as { each = ... }, over every
      // instance of every stage it names.
      for (const auto& port : d.schema->inputs) {
        auto it = d.inputs.find(port.name);
        const bool each = d.each.count(port.name) != 0;
        if ((port.many && !each) || it == d.inputs.end()) continue;
        std::vector<Combo> next;
        for (const auto& c : combos) {
          for (const auto& up : it->second) {
            for (std::size_t ui : of[by_name.at(up)]) {
              if (!consistent(c.labels, plan.instances[ui].labels)) continue;
              Combo n = c;
              n.labels = merge(n.labels, plan.instances[ui].labels);
              // Over several stages, instances of each may share labels
              // (gated_states[rnn=gru,seed=1], single_states[rnn=gru,seed=1]):
              // the stage read is a label too, PORT=STAGE.
              if (each && it->second.size() > 1) n.labels.emplace_back(port.name, up);
              n.edges.push_back({port.name, ui});
              next.push_back(std::move(n));
            }
          }
        }
        if (next.empty()) {
          diags.error(d.where(port.name), "stage." + d.name + "." + port.name,
                      "no instance of \"" + it->second.front() +
                          "\" agrees with this stage's sweep labels");
          return;
        }
        if (each) {
          // Two upstream instances with the same labels would make two
          // instances of one name: refused, naming both.
          std::map<Labels, std::size_t> seen;
          for (const auto& n : next) {
            Labels key = n.labels;
            std::sort(key.begin(), key.end());
            auto [at, fresh] = seen.emplace(key, n.edges.back().upstream);
            if (!fresh) {
              diags.error(d.where(port.name), "stage." + d.name + "." + port.name,
                          "each: \"" + plan.instances[at->second].name + "\" and \"" +
                              plan.instances[n.edges.back().upstream].name +
                              "\" have the same sweep labels, so this stage would have two "
                              "instances of one name; "
                              "give their stages distinct sweep keys or values, or use two stages");
              return;
            }
          }
        }
        combos = std::move(next);
      }
      for (auto& c : combos) {
        for (const auto& port : d.schema->inputs) {
          auto it = d.inputs.find(port.name);
          if (!port.many || d.each.count(port.name) || it == d.inputs.end()) continue;
          std::int64_t count = 0;
          for (const auto& up : it->second) {
            for (std::size_t ui : of[by_name.at(up)]) {
              if (consistent(c.labels, plan.instances[ui].labels)) {
                c.edges.push_back({port.name, ui});
                ++count;
              }
            }
          }
          // A port that takes one model per instance (analyze's states) given
          // a whole sweep in one: the pre-issue-22 single-analysis shape.
          if (port.max_instances > 0 && count > port.max_instances) {
            std::string names, hint = port.hint;
            for (const auto& up : it->second) names += (names.empty() ? "\"" : ", \"") + up + "\"";
            for (auto at = hint.find("{stage}"); at != std::string::npos;
                 at = hint.find("{stage}", at + d.name.size()))
              hint.replace(at, 7, d.name);
            diags.error(d.where(port.name), "stage." + d.name + "." + port.name,
                        "[" + names + "] gives one instance of this stage " +
                            std::to_string(count) + " upstream instances, and " + d.type +
                            " takes at most " + std::to_string(port.max_instances) +
                            " per instance; write " + port.name + " = { each = [" + names +
                            "] } for one instance per upstream instance" +
                            (hint.empty() ? "" : ". " + hint));
            return;
          }
        }
        // Port order = schema order: keys must not depend on TOML key order.
        Instance inst;
        inst.decl = di;
        inst.entry = registry.find(d.type);
        inst.labels = c.labels;
        inst.params = c.params;
        inst.inputs = c.edges;
        std::stable_sort(inst.inputs.begin(), inst.inputs.end(), [&](const auto& a, const auto& b) {
          return port_index(d, a.port) < port_index(d, b.port);
        });
        inst.name = d.name;
        if (!inst.labels.empty()) {
          inst.name += "[";
          for (std::size_t k = 0; k < inst.labels.size(); ++k) {
            inst.name += (k ? "," : "") + inst.labels[k].first + "=" + inst.labels[k].second;
          }
          inst.name += "]";
        }
        ParamIssueSink sink(d, diags, seen_issues);
        const std::string& device_param = inst.entry->schema.device;
        if (!device_param.empty()) {
          // The stage's torch device: the engine's concern (core/device.h).
          const std::string& spec = inst.params.s(device_param);
          if (!registry.device_support().valid(spec)) {
            sink.error(device_param,
                       registry.device_support().expectation + ", found \"" + spec + "\"");
          }
        }
        inst.entry->stage->validate(inst.params, sink);
        inst.resource = inst.entry->stage->resource(inst.params);
        if (inst.resource.empty() && !device_param.empty() &&
            registry.device_support().valid(inst.params.s(device_param))) {
          inst.resource = registry.device_support().resource(inst.params.s(device_param));
        }
        of[di].push_back(plan.instances.size());
        plan.instances.push_back(std::move(inst));
      }
    }
  }

  // Stage::check_inputs of every instance, once the keys are known.
  void check_inputs(const Plan& plan) {
    std::set<std::string> seen_issues;
    for (const auto& inst : plan.instances) {
      PlanInputs inputs;
      for (const auto& e : inst.inputs) {
        const Instance& up = plan.instances[e.upstream];
        PlanInput in{up.name, up.entry->stage.get(), &up.params, up.key, {}, &up.estimate};
        for (const auto& r : up.inputs) {
          const Instance& read = plan.instances[r.upstream];
          in.reads[r.port].push_back({read.name, read.key});
        }
        inputs[e.port].push_back(std::move(in));
      }
      ParamIssueSink sink(spec.stages[inst.decl], diags, seen_issues);
      inst.entry->stage->check_inputs(inst.params, inputs, sink);
    }
  }

  static std::size_t port_index(const StageDecl& d, const std::string& port) {
    for (std::size_t i = 0; i < d.schema->inputs.size(); ++i) {
      if (d.schema->inputs[i].name == port) return i;
    }
    return d.schema->inputs.size();
  }

  void compute_keys(Plan& plan) {
    std::map<std::string, std::pair<std::string, std::shared_ptr<const ContentStamp>>>
        content_hashes;
    for (auto& inst : plan.instances) {
      const StageDecl& d = spec.stages[inst.decl];
      const StageSchema& schema = inst.entry->schema;
      std::string t = "wmgeom-cache-v1\n";
      t += "type " + schema.type + "\n";
      t += "version " + std::to_string(schema.version) + "\n";
      std::vector<const ParamSpec*> params;
      for (const auto& p : schema.params) params.push_back(&p);
      std::sort(params.begin(), params.end(), [](auto a, auto b) { return a->name < b->name; });
      std::string files;
      inst.configuration.clear();
      inst.content.clear();
      // The configuration: the key's lines but the seed's, by name.
      auto configure = [&](const std::string& name, const std::string& value) {
        if (name != "seed") inst.configuration[name] = value;
      };
      for (const ParamSpec* p : params) {
        if (!p->hashed) continue;
        // A parameter the stage does not read under the others' values
        // (schema `used_when`) is keyed as its default, never hashed.
        const Value& v = p->used(inst.params) ? inst.params.get(p->name) : *p->default_value;
        if (p->type == ParamType::kPath && p->hash_content) {
          const std::string& path = std::get<std::string>(v);
          if (path.empty()) {
            files += "file " + p->name + " -\n";
            configure(p->name, "-");
            continue;
          }
          auto it = content_hashes.find(path);
          if (it == content_hashes.end()) {
            try {
              auto stamp = std::make_shared<ContentStamp>();
              std::string hash = hash_path_content(path, stamp.get());
              it = content_hashes
                       .emplace(path, std::pair{std::move(hash),
                                                std::shared_ptr<const ContentStamp>(stamp)})
                       .first;
            } catch (const Error& e) {
              diags.error(d.where(p->name), "stage." + d.name + "." + p->name, e.what());
              continue;
            }
          }
          files += "file " + p->name + " " + it->second.first + "\n";
          configure(p->name, it->second.first);
          inst.content.emplace_back(p->name, it->second.second);
          continue;
        }
        t += "param " + p->name + " " + std::string(param_type_name(p->type)) + " " +
             format_value(v) + "\n";
        configure(p->name, format_value(v));
      }
      t += files;
      std::map<std::string, int> per_port;
      for (const auto& e : inst.inputs) ++per_port[e.port];
      std::map<std::string, int> seen;
      for (const auto& e : inst.inputs) {
        const Instance& up = plan.instances[e.upstream];
        t += "input " + e.port + " " + format_labels(up.labels) + " " + up.key + "\n";
        const int i = seen[e.port]++;
        configure("input " + e.port + (per_port[e.port] > 1 ? "[" + std::to_string(i) + "]" : ""),
                  up.key);
      }
      std::string extras = inst.entry->stage->key_extras(inst.params);
      if (const std::string& device_param = schema.device;
          !device_param.empty() && registry.device_support().valid(inst.params.s(device_param))) {
        const std::string device =
            registry.device_support().key_extras(inst.params.s(device_param));
        extras = extras.empty() ? device : device + "\n" + extras;
      }
      inst.extras.clear();
      std::size_t start = 0;
      while (start < extras.size()) {
        std::size_t end = extras.find('\n', start);
        if (end == std::string::npos) end = extras.size();
        if (end > start) {
          inst.extras.push_back(extras.substr(start, end - start));
          t += "extra " + inst.extras.back() + "\n";
        }
        start = end + 1;
      }
      inst.key_text = t;
      inst.key = hash128_hex(t);
    }
  }
};

// Stage::estimate in topological order, each from its inputs' estimates. A
// stage that throws (it should not, after validate) is treated as unknown.
void estimate_sizes(Plan& plan) {
  for (auto& inst : plan.instances) {
    EstimateInputs inputs;
    for (const auto& e : inst.inputs) inputs[e.port].push_back(plan.instances[e.upstream].estimate);
    try {
      inst.estimate = inst.entry->stage->estimate(inst.params, inputs);
    } catch (const std::exception&) {
      inst.estimate = SizeEstimate{};
    }
  }
}

std::atomic<std::int64_t> g_plans{0};

std::optional<Plan> finish(PipelineSpec spec, const StageRegistry& registry, Diagnostics& diags) {
  ++g_plans;
  // Graph checks run even after key errors, so that one pass reports all;
  // expansion needs every stage's parameters, so it waits for a clean load.
  bool load_ok = diags.ok();
  Plan plan;
  plan.spec = std::move(spec);
  Builder b{plan.spec, registry, diags, {}};
  b.check_graph();
  if (!load_ok || !diags.ok()) return std::nullopt;
  b.expand(plan);
  if (!diags.ok()) return std::nullopt;
  b.compute_keys(plan);
  if (!diags.ok()) return std::nullopt;
  // Estimates first: check_inputs may read the upstream shapes they carry.
  estimate_sizes(plan);
  b.check_inputs(plan);
  if (!diags.ok()) return std::nullopt;
  return plan;
}

}  // namespace

std::optional<Plan> make_plan(const std::string& file, const std::vector<std::string>& overrides,
                              const StageRegistry& registry, Diagnostics& diags) {
  PipelineSpec spec = load_pipeline_file(file, overrides, schema_lookup(registry), diags);
  if (spec.text.empty() && !diags.ok()) return std::nullopt;
  return finish(std::move(spec), registry, diags);
}

std::optional<Plan> make_plan_from_text(const std::string& file, std::string_view text,
                                        const std::vector<std::string>& overrides,
                                        const StageRegistry& registry, Diagnostics& diags) {
  return finish(load_pipeline(file, text, overrides, schema_lookup(registry), diags), registry,
                diags);
}

std::int64_t plans_made() { return g_plans.load(); }

Resources instance_resources(const Instance& inst) {
  Resources r = inst.entry->stage->resources(inst.params);
  if (inst.resource.rfind("cuda", 0) == 0) r.gpus = std::max(r.gpus, 1);
  return r;
}

}  // namespace wmgeom
