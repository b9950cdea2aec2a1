#include "analyze/analyze.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>

#include <tbb/task_arena.h>

#include "analyze/analyses.h"
#include "analyze/table_schema.h"
#include "core/artifacts.h"
#include "core/format.h"
#include "core/instance_name.h"
#include "nets/torch_util.h"

namespace wmgeom {

using analyze::ModelData;
using analyze::Settings;

namespace {

const std::map<std::string, std::string> kFeatureColumn = {
    {"loc", "location"}, {"cat", "category"}, {"id", "identity"}};

std::string regime_of(const std::vector<nback::Task>& tasks) {
  if (tasks.size() == 1) return "STSF";
  for (const auto& t : tasks) {
    if (t.n != tasks.front().n) return "MTMF";
  }
  return "STMF";
}

std::string safe_name(const std::string& s) {
  std::string out;
  for (char c : s)
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  return out;
}

ModelData load(const InputItem& item, const Settings& s) {
  StateSet ss = StateSet::from_artifact(*item.artifact);
  ModelData m;
  m.name = item.instance;
  m.source = item.key;
  m.config = ss.model;
  m.rnn = ss.model.value("rnn", "?");
  m.tasks = nback::parse_tasks(ss.model.value("tasks", std::vector<std::string>{}));
  m.regime = regime_of(m.tasks);
  m.hidden = nets::view(ss.hidden);
  if (!ss.cell.empty()) m.cell = nets::view(ss.cell);
  if (s.space == analyze::Space::kCell && !m.cell.defined()) {
    throw InputError("analyze: space = \"cell\" needs LSTM cell states, but " + m.name + " is a " +
                     m.rnn + " (no cell states); use space = \"hidden\"");
  }
  m.states = (s.space == analyze::Space::kCell ? m.cell : m.hidden).to(torch::kFloat64);
  if (!ss.perceptual.empty()) m.perceptual = nets::view(ss.perceptual);
  if (!ss.embedding.empty()) m.embedding = nets::view(ss.embedding);
  if (!ss.logits.empty()) m.logits = nets::view(ss.logits);
  m.targets = nets::view(ss.targets).to(torch::kLong);
  m.task = nets::view(ss.task).to(torch::kLong);
  m.stimulus = nets::view(ss.stimulus).to(torch::kLong);
  if (!ss.split.empty()) m.split = nets::view(ss.split).to(torch::kLong);
  // Replicates: the same configuration but for the seed (replicate_group,
  // core/artifacts.h); the seed from the model or its sweep label.
  m.seed = ss.model.value("seed", std::int64_t{0});
  m.seed_known = ss.model.contains("seed");
  for (const auto& [key, value] : item.labels) {
    if (key == "seed" && !ss.model.contains("seed")) {
      try {
        m.seed = std::stoll(value);
        m.seed_known = true;
      } catch (const std::exception&) {
        m.seed = 0;
      }
    }
  }
  m.group = replicate_group(ss.model, item.labels);
  const std::map<std::string, const Array*> columns = {
      {"loc", &ss.location}, {"cat", &ss.category}, {"id", &ss.identity}};
  for (const auto& [feature, column] : columns) {
    if (column->empty()) continue;
    torch::Tensor v = nets::view(*column).to(torch::kLong);
    if (v.numel() > 0 && v.min().item<std::int64_t>() >= 0) m.labels[feature] = v;
  }
  return m;
}

// How far `net`, run on the captured embeddings of the first trials of `m`,
// is from the captured hidden states and logits: the larger of the two
// relative RMS differences (0 for the network that produced them, up to
// rounding and the device's arithmetic; of order 1 for another network).
double replay_error(const ModelData& m, nets::WmModel& net) {
  torch::NoGradGuard no_grad;
  const std::int64_t b = std::min<std::int64_t>(64, m.embedding.size(0));
  nets::WmStates st = nets::step_states(net, m.embedding.narrow(0, 0, b).to(torch::kFloat32));
  auto relative = [](const torch::Tensor& got, const torch::Tensor& want) {
    torch::Tensor g = got.to(torch::kFloat64), w = want.to(torch::kFloat64);
    const double scale = w.pow(2).mean().sqrt().item<double>();
    return (g - w).pow(2).mean().sqrt().item<double>() / std::max(scale, 1e-12);
  };
  double err = relative(st.hidden, m.hidden.narrow(0, 0, b));
  if (m.logits.defined()) err = std::max(err, relative(st.logits, m.logits.narrow(0, 0, b)));
  return err;
}

// The relative replay error below which a network is the one that produced
// a state set (captures on a GPU with TF32 arithmetic differ from a CPU
// replay by ~1e-3; another seed's network by ~1).
constexpr double kReplayTolerance = 0.05;

}  // namespace

void AnalyzeStage::check(const AnalyzeSettings& settings, ParamIssues& issues) const {
  std::set<std::int64_t> seen;
  for (auto f : settings.frames) {
    if (!seen.insert(f).second)
      issues.error("frames", "frame " + std::to_string(f) + " is listed twice");
  }
  const auto& a = settings.analyses;
  if (std::set<std::string>(a.begin(), a.end()).size() != a.size())
    issues.error("analyses", "an analysis is listed twice");
  const auto& f = settings.features;
  if (std::set<std::string>(f.begin(), f.end()).size() != f.size())
    issues.error("features", "a feature is listed twice");
}

void AnalyzeStage::check_inputs_of(const AnalyzeSettings& settings, const PlanInputs& inputs,
                                   ParamIssues& issues) const {
  // A frame beyond the trial was refused only when the analysis ran, after
  // every training and capture upstream: the state sets' estimates carry
  // their trial length, so it is refused at plan time where they know it.
  const auto it = inputs.find("states");
  if (it == inputs.end()) return;
  const bool causal = std::find(settings.analyses.begin(), settings.analyses.end(), "causal") !=
                      settings.analyses.end();
  for (const PlanInput& in : it->second) {
    const std::int64_t frames =
        in.estimate != nullptr && in.estimate->known ? in.estimate->dim("frames") : -1;
    if (frames < 0) continue;
    // Not naming the instance: one line for every model of a sweep.
    const std::string trial =
        " is beyond the trial (" + std::to_string(frames) + " frames, numbered from 0)";
    for (auto f : settings.frames) {
      if (f >= frames) issues.error("frames", "frame " + std::to_string(f) + trial);
    }
    if (causal && settings.causal_frame >= frames)
      issues.error("causal_frame", "frame " + std::to_string(settings.causal_frame) + trial);
    return;  // one trial length for all (checked when they are loaded)
  }
}

std::vector<std::filesystem::path> AnalyzeStage::after_run(
    const Artifact& artifact, const RunSummary& run, const std::string& instance,
    const std::filesystem::path& out_dir) const {
  // A per-model analysis read by a findings stage writes nothing (its
  // findings, one model's, decide nothing): the findings stage writes for
  // all the models it merges.
  return write_analysis_outputs(artifact, run, instance, out_dir);
}

std::vector<std::filesystem::path> write_analysis_outputs(const Artifact& artifact,
                                                          const RunSummary& run,
                                                          const std::string& instance,
                                                          const std::filesystem::path& out_dir) {
  const auto suffix = findings_suffix(run, instance);
  if (!suffix) return {};
  return write_findings_and_tables(artifact, out_dir / ("findings" + *suffix + ".json"),
                                   out_dir / ("tables" + *suffix));
}

std::optional<std::string> findings_suffix(const RunSummary& run, const std::string& instance) {
  auto read_by_another_result = [&](const std::string& name) {
    for (const auto& i : run.instances) {
      if (i.kind == AnalysisResult::kKind && part_of_run(i.cache) && i.instance != name &&
          std::find(i.inputs.begin(), i.inputs.end(), name) != i.inputs.end()) {
        return true;
      }
    }
    return false;
  };
  if (read_by_another_result(instance)) return std::nullopt;
  int writers = 0;
  for (const auto& i : run.instances) {
    writers += i.kind == AnalysisResult::kKind && part_of_run(i.cache) &&
               !read_by_another_result(i.instance);
  }
  return writers <= 1 ? "" : "-" + instance_folder_name(instance);
}

std::vector<std::filesystem::path> write_findings_and_tables(const Artifact& artifact,
                                                             const std::filesystem::path& findings,
                                                             const std::filesystem::path& tables) {
  std::error_code ec;
  std::filesystem::remove_all(tables, ec);  // no table left from an earlier run
  std::filesystem::create_directories(tables, ec);
  if (ec) throw Error("cannot create " + tables.string() + ": " + ec.message());
  export_tables(artifact, tables);
  {
    // What `wmgeom export` writes as meta.json, less the tables' own
    // description (their CSVs are here) and the arrays (not written here).
    const nlohmann::json doc = {
        {"kind", artifact.kind},
        {"meta", {{"params", artifact.meta.value("params", nlohmann::json::object())}}}};
    std::ofstream f(tables / "meta.json");
    f << doc.dump(2) << "\n";
    if (!f) throw Error("cannot write " + (tables / "meta.json").string());
  }
  const std::filesystem::path tmp = findings.string() + ".tmp";
  {
    std::ofstream f(tmp);
    f << (artifact.meta.contains("findings") ? artifact.meta.at("findings")
                                             : nlohmann::json::object())
             .dump(2)
      << "\n";
    if (!f) throw Error("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, findings, ec);
  if (ec) throw Error("cannot write " + findings.string() + ": " + ec.message());
  return {findings, tables};
}

// One model's analyses run in parallel units, so CPUs help (threads, or 4
// when the run decides); a study model's states and decoders take about 1 GB
// and a paper-scale model's about 40 GB (estimate() above: the fit check
// refuses what cannot fit), so 8 GB is the request for study-scale models;
// one multi-task model takes about a minute on 2 cores (README, "How one
// model's analysis grows": about 4 min at the paper's scale), so 3 hours
// leaves room.
Resources AnalyzeStage::resources_of(const AnalyzeSettings& settings) const {
  Resources r;
  r.cpus = settings.threads > 0 ? settings.threads : 4;
  r.mem_mb = 8000;
  r.minutes = 180;
  return r;
}

Artifact AnalyzeStage::compute(const AnalyzeSettings& settings, const StageInputs& inputs,
                               RunContext& ctx) const {
  // Parallelism comes from TBB (decoders in parallel); LibTorch runs at the
  // process's default intra-op width, 1 (nets/threads.h): its OpenMP threads
  // would only spin between the many small tensor ops.
  // The work fans out in the calling arena (the executor's, ctx.threads()
  // wide), where the executor's waiting thread helps; a nested arena gets
  // no second thread while the executor waits (measured: analyze on one
  // core after the trainings, 212 s instead of 108 s). Only a narrower
  // `threads` gets an arena of its own.
  const int threads = settings.threads > 0 ? settings.threads : ctx.threads();
  if (threads >= ctx.threads()) return run_in_arena(settings, inputs, ctx);
  tbb::task_arena arena(std::max(1, threads));
  return arena.execute([&] { return run_in_arena(settings, inputs, ctx); });
}

namespace {

// The analyses' working settings from the stage's (what does not depend on
// the inputs; classes and frames are bound to the state sets next).
Settings analysis_settings(const AnalyzeSettings& a) {
  Settings s;
  s.analyses.insert(a.analyses.begin(), a.analyses.end());
  s.features = a.features;
  s.options.model = parse_choice(decoders::kModels, a.decoder, "analyze.decoder");
  s.options.c = a.c;
  s.options.max_iter = a.max_iter;
  s.folds = a.folds;
  s.seed = a.seed;
  s.cv = a.cv;
  s.permutations = a.permutations;
  s.null_shuffles = a.null_shuffles;
  s.image_bootstraps = a.image_bootstraps;
  s.random_directions = a.random_directions;
  s.pca_dims = a.pca_dims;
  s.ortho_space = a.ortho_space;
  s.causal_sds = a.causal_sds;
  s.causal_dose = a.causal_dose;
  s.causal_frame = a.causal_frame;
  s.rsa_permutations = a.rsa_permutations;
  s.bootstrap = a.bootstrap;
  s.alpha = a.alpha;
  s.min_seeds = a.min_seeds;
  s.space = a.space;
  s.device = nets::resolve_device(a.device);
  return s;
}

// Before anything is fitted: the state sets agree (trial length, attribute
// value sets, perceptual vectors), the features and frames exist, every
// class has its folds, and verdicts = "required" has its seeds. Binds the
// settings' classes and frames to the state sets.
void check_and_bind(const AnalyzeSettings& settings, const std::vector<ModelData>& models,
                    Settings& s) {
  const ModelData& first = models.front();
  for (const auto& m : models) {
    if (m.frames() != first.frames()) {
      throw InputError("analyze: state sets of different trial lengths in one analysis: " +
                       first.name + " has " + std::to_string(first.frames()) + " frames, " +
                       m.name + " has " + std::to_string(m.frames()));
    }
    for (const auto& feature : s.features) {
      if (m.labels.count(feature) == 0) {
        throw InputError("analyze: feature \"" + feature + "\" (" + kFeatureColumn.at(feature) +
                         ") is not in the stimuli of " + m.name +
                         "; decode only features the stimulus set records (parameter features)");
      }
    }
    if (m.perceptual.defined() != first.perceptual.defined() ||
        (m.perceptual.defined() && m.perceptual.size(2) != first.perceptual.size(2))) {
      throw InputError("analyze: " + first.name + " and " + m.name +
                       " differ in their perceptual vectors (captured from different feature "
                       "banks, or perceptual = false in one)");
    }
  }
  for (const auto& feature : s.features) {
    for (const auto& m : models) {
      std::int64_t k = m.labels.at(feature).max().item<std::int64_t>() + 1;
      std::int64_t k0 = first.labels.at(feature).max().item<std::int64_t>() + 1;
      if (k != k0) {
        throw InputError("analyze: " + first.name + " and " + m.name +
                         " come from different stimulus sets (" + feature + " has " +
                         std::to_string(k0) + " vs " + std::to_string(k) + " values)");
      }
      s.classes[feature] = k;
    }
  }
  const std::int64_t frames = first.frames();
  if (settings.frames.empty()) {
    for (int t = 0; t < frames; ++t) s.frames.push_back(t);
  } else {
    for (auto t : settings.frames) {
      if (t >= frames) {
        throw InputError("analyze: parameter frames: frame " + std::to_string(t) +
                         " is beyond the trial (" + std::to_string(frames) +
                         " frames, numbered from 0)");
      }
      s.frames.push_back(static_cast<int>(t));
    }
  }
  for (const auto& m : models) analyze::check_folds(m, s);
  if (settings.verdicts_required) {
    // Every replicate group (a configuration minus its seed: architecture,
    // regime, tasks and training settings) needs min_seeds seeds, or the
    // findings that use it cannot be decided.
    analyze::require_seeds(models, s.min_seeds, "analyze",
                           "train more seeds of that configuration (sweep = { seed = [...] })");
  }
}

// The causal probe runs each state set on the network that produced it
// (see below); `loaded` keeps those networks alive.
void match_networks(const StageInputs& inputs, std::vector<ModelData>& models, const Settings& s,
                    std::vector<std::unique_ptr<nets::WmModel>>& loaded, RunContext& ctx) {
  const std::int64_t frames = models.front().frames();
  if (!inputs.has("models")) {
    throw InputError(
        "analyze: the causal analysis runs each RNN on from shifted states and needs the trained "
        "models: "
        "add models = [\"<train stage>\"] to the analyze stage, or drop \"causal\" from analyses");
  }
  if (s.causal_frame >= frames) {
    throw InputError("analyze: parameter causal_frame: frame " + std::to_string(s.causal_frame) +
                     " is beyond the trial (" + std::to_string(frames) +
                     " frames, numbered from 0)");
  }
  // Each state set runs on exactly the network that produced it. The
  // trained models' configurations hold no seed (train.cpp), so seeds of
  // one configuration that trained for the same number of steps have equal
  // configurations; a match by configuration alone picked the last of them
  // for every seed's states. Among the models of the same configuration,
  // the network is the one that reproduces the captured states: run on
  // the captured embeddings of the first trials, its hidden states and
  // logits must equal the captured ones (kReplayTolerance).
  std::vector<TrainedModel> trained;
  for (const auto& t : inputs.many("models"))
    trained.push_back(TrainedModel::from_artifact(*t.artifact));
  const auto& items_m = inputs.many("models");
  loaded.resize(trained.size());
  for (auto& m : models) {
    nlohmann::json want = m.config;
    want.erase("split");
    if (m.config.value("layers", 1) != 1) {
      throw InputError("analyze: the causal analysis supports one-layer RNNs; " + m.name + " has " +
                       std::to_string(m.config.value("layers", 1)) + " layers");
    }
    if (!m.embedding.defined())
      throw InputError("analyze: causal needs the captured embeddings of " + m.name);
    int candidates = 0;
    double best = INFINITY;
    std::size_t best_i = 0;
    for (std::size_t i = 0; i < trained.size(); ++i) {
      if (trained[i].config != want) continue;
      ++candidates;
      if (!loaded[i])
        loaded[i] = std::make_unique<nets::WmModel>(
            nets::load_model(trained[i].config, trained[i].weights, torch::kCPU));
      const double err = replay_error(m, *loaded[i]);
      if (err < best) best = err, best_i = i;
    }
    if (candidates == 0) {
      throw InputError("analyze: no trained model in input models matches the states of " + m.name +
                       " (connect the train stages whose models were captured)");
    }
    if (!(best <= kReplayTolerance)) {
      throw InputError("analyze: none of the " + std::to_string(candidates) +
                       " trained model(s) of the configuration of " + m.name +
                       " reproduces its captured states (smallest relative difference " +
                       format_fixed(best, 3) +
                       "): connect the train stage whose model was captured");
    }
    m.model = loaded[best_i].get();
    m.network = items_m[best_i].instance;
    ctx.info(m.name + ": causal probe on the network of " + m.network + " (replay difference " +
             format_fixed(best, 6) + ")");
  }
}

// The per-model analyses, in the order they run, append their rows and log
// their seconds: one entry each (name as in the log, the `analyses` choice
// that turns it on, whether it reads the model's cross-validated decoder
// families, fitted once for all of them; what its output weighs, for the
// plan-time estimate). A new analysis is a function in analyses.h and a
// line here.
//
// Its weight, measured on one of the study's multi-task models
// (gated_states[rnn=gru,seed=1]: 3 features, 9 tasks, 6 frames, so 972
// (feature, task, frame, train frame) cells; 2,304 trials, hidden 128, 149
// MB of states; 2 threads; 2026-12-06), each analysis alone (`analyses =
// [X]`): its tables' numeric columns plus its metadata (text columns and the
// findings, as JSON), per 100 cells. Procrustes' 150,427 bytes are split
// between its two entries by the bytes of their own tables in the study's
// artifact of that model (procrustes 759,521, procrustes_centroids 692,777:
// numeric columns and text). Beside the tables, arrays that follow the
// trials: the folds (int32 per trial, feature and frame) where the decoder
// families are read, and `labels`, one byte per trial, feature, frame and
// label set (the true one and each shuffle) for orthogonality. The whole
// analysis of that model: 3.48 MB in memory (2.35 MB of arrays and 1.13 MB
// of metadata), estimated 3.55 MB; its two halves in the study (decoders,
// geometry) 2.80 MB and 0.69 MB, estimated 2.83 and 0.72 MB.
struct PerModel {
  const char* name;
  const char* analysis;
  bool families;
  std::int64_t bytes_per_100_cells;
  bool labels;
  void (*run)(const ModelData&, const Settings&, const analyze::Families*, analyze::Tables&,
              std::map<std::string, Array>&);
};
const PerModel kPerModel[] = {
    {"decoding", "decoding", true, 13428, false,
     [](const ModelData& m, const Settings& s, const analyze::Families* f, analyze::Tables& t,
        std::map<std::string, Array>&) { analyze::decoding(m, s, *f, t); }},
    {"cross_temporal", "cross_temporal", true, 74843, false,
     [](const ModelData& m, const Settings& s, const analyze::Families* f, analyze::Tables& t,
        std::map<std::string, Array>&) { analyze::cross_temporal(m, s, *f, t); }},
    {"cross_task", "cross_task", true, 35002, false,
     [](const ModelData& m, const Settings& s, const analyze::Families* f, analyze::Tables& t,
        std::map<std::string, Array>&) { analyze::cross_task(m, s, *f, t); }},
    {"procrustes", "procrustes", true, 78670, false,
     [](const ModelData& m, const Settings& s, const analyze::Families* f, analyze::Tables& t,
        std::map<std::string, Array>&) { analyze::procrustes(m, s, *f, t); }},
    {"procrustes_centroids", "procrustes", true, 71757, false,
     [](const ModelData& m, const Settings& s, const analyze::Families* f, analyze::Tables& t,
        std::map<std::string, Array>&) { analyze::procrustes_centroids(m, s, *f, t); }},
    // The labels (true and shuffled) behind every orthogonality index, for
    // refitting the same normals elsewhere (compare_analyze.py).
    {"orthogonality", "orthogonality", false, 10762, true,
     [](const ModelData& m, const Settings& s, const analyze::Families*, analyze::Tables& t,
        std::map<std::string, Array>& arrays) {
       arrays["ortho_labels." + safe_name(m.name)] =
           nets::to_array(analyze::orthogonality(m, s, t));
     }},
    {"causal", "causal", false, 11637, false,
     [](const ModelData& m, const Settings& s, const analyze::Families*, analyze::Tables& t,
        std::map<std::string, Array>&) { analyze::causal(m, s, t); }},
    {"rsa", "rsa", false, 1571, false,
     [](const ModelData& m, const Settings& s, const analyze::Families*, analyze::Tables& t,
        std::map<std::string, Array>&) { analyze::rsa(m, s, t); }},
    {"dimensionality", "dimensionality", false, 3476, false,
     [](const ModelData& m, const Settings& s, const analyze::Families*, analyze::Tables& t,
        std::map<std::string, Array>&) { analyze::dimensionality(m, s, t); }},
};

bool wants_families(const Settings& s) {
  return std::any_of(std::begin(kPerModel), std::end(kPerModel),
                     [&](const PerModel& a) { return a.families && s.wants(a.analysis); });
}

// One model's analyses (the map step): appends its rows to `tables` and its
// arrays to `arrays`; returns the decoders fitted for the families.
std::int64_t analyze_model(const ModelData& m, const Settings& s, analyze::Tables& tables,
                           std::map<std::string, Array>& arrays, RunContext& ctx,
                           std::int64_t& done, std::int64_t total) {
  // Seconds per analysis, one log line per model (where the time goes).
  std::string timings;
  auto t0 = std::chrono::steady_clock::now();
  auto timed = [&](const char* what) {
    auto t1 = std::chrono::steady_clock::now();
    const double sec = std::chrono::duration<double>(t1 - t0).count();
    if (sec >= 0.05)
      timings +=
          (timings.empty() ? "" : ", ") + std::string(what) + " " + format_fixed(sec, 1) + " s";
    t0 = t1;
  };
  std::int64_t fitted = 0;
  std::optional<analyze::Families> families;
  if (wants_families(s)) {
    families = analyze::fit_families(m, s, [&] {
      ctx.check_cancelled();
      ctx.progress(++done, total);
    });
    // The fold of every trial in every (feature, stimulus frame), for anyone
    // who wants to refit the same decoders elsewhere (stages/analyze/compare_analyze.py).
    torch::Tensor folds =
        torch::full({m.states.size(0), static_cast<std::int64_t>(s.features.size()), m.frames()},
                    -1, torch::kInt32);
    for (const auto& [key, f] : *families) {
      fitted += f.fit.weight.size(0) * (1 + f.permutations());
      auto fi = std::find(s.features.begin(), s.features.end(), f.feature) - s.features.begin();
      folds.select(1, fi).select(1, f.stim).index_put_({f.rows}, f.fold.to(torch::kInt32));
    }
    arrays["folds." + safe_name(m.name)] = nets::to_array(folds);
    timed("families");
  }
  for (const PerModel& a : kPerModel) {
    if (a.families && !families) continue;
    if (s.wants(a.analysis)) {
      // Each analysis's rows are checked against their declaration
      // (tables.toml) before they join the model's tables.
      analyze::Tables mine;
      a.run(m, s, families ? &*families : nullptr, mine, arrays);
      analyze::check_tables(mine, a.name);
      for (const auto& [name, rows] : mine) tables[name].append(rows);
    }
    timed(a.name);
  }
  ctx.info(m.name + ": " + timings);
  return fitted;
}

// Matrices for plotting and Python: cross-task [train task, test task] and
// cross-temporal [stimulus frame, train frame, test frame] per model and
// feature, averaged over stimulus frames / tasks; NaN where undefined.
void model_matrices(const std::vector<ModelData>& models, const Settings& s, std::int64_t frames,
                    AnalysisResult& result) {
  for (const auto& m : models) {
    const std::string model_key = safe_name(m.name);
    for (const auto& feature : s.features) {
      if (auto it = result.tables.find("cross_task"); it != result.tables.end()) {
        const Table& t = it->second;
        const std::int64_t nt = static_cast<std::int64_t>(m.tasks.size());
        torch::Tensor sum = torch::zeros({nt, nt}, torch::kFloat64),
                      count = torch::zeros({nt, nt}, torch::kFloat64);
        std::map<std::string, std::int64_t> index;
        for (std::int64_t k = 0; k < nt; ++k) index[m.tasks[k].name] = k;
        for (std::size_t r = 0; r < t.rows(); ++r) {
          if (t.text.at("model")[r] != m.name || t.text.at("feature")[r] != feature) continue;
          auto a = index.at(t.text.at("train_task")[r]), b = index.at(t.text.at("test_task")[r]);
          sum[a][b] += t.numeric.at("accuracy")[r];
          count[a][b] += 1;
        }
        result.arrays["cross_task." + model_key + "." + feature] = nets::to_array(sum / count);
      }
      if (auto it = result.tables.find("cross_temporal"); it != result.tables.end()) {
        // Each cell averages the rows of every task, and rows at lags kN are
        // scored by the lag rule (other trials, another chance): beside the
        // accuracy, the same rows' mean empirical chance and the share of
        // them scored by the rule ("differ"), so that no cell is read
        // against another's chance. Rows without a score (scoring "none")
        // are left out of all three.
        const Table& t = it->second;
        torch::Tensor sum = torch::zeros({frames, frames, frames}, torch::kFloat64),
                      count = torch::zeros_like(sum);
        torch::Tensor chance = torch::zeros_like(sum), differ = torch::zeros_like(sum);
        for (std::size_t r = 0; r < t.rows(); ++r) {
          if (t.text.at("model")[r] != m.name || t.text.at("feature")[r] != feature) continue;
          auto i = static_cast<std::int64_t>(t.numeric.at("stim_frame")[r]);
          auto j = static_cast<std::int64_t>(t.numeric.at("train_frame")[r]);
          auto k = static_cast<std::int64_t>(t.numeric.at("test_frame")[r]);
          if (!std::isfinite(t.numeric.at("accuracy")[r])) continue;
          sum[i][j][k] += t.numeric.at("accuracy")[r];
          chance[i][j][k] += t.numeric.at("chance_empirical")[r];
          differ[i][j][k] += t.text.at("scoring")[r] == "differ" ? 1.0 : 0.0;
          count[i][j][k] += 1;
        }
        result.arrays["cross_temporal." + model_key + "." + feature] = nets::to_array(sum / count);
        result.arrays["cross_temporal_chance." + model_key + "." + feature] =
            nets::to_array(chance / count);
        result.arrays["cross_temporal_differ." + model_key + "." + feature] =
            nets::to_array(differ / count);
      }
    }
  }
}

}  // namespace

// Working memory, measured on the same model as kPerModel's weights: peak
// RSS less the process and the states (335 MB), as a multiple of one state
// set: every analysis 4.7x (704 MB; the models are
// analysed in turn, so that is whatever the number of models); the four
// that read the decoder families 3.2x (478 MB; alone 1.8-2.5x); the other
// four 2.9x (425 MB; alone 1.1-1.7x). The estimate takes each with about a
// third more: 6x, 4.2x and 3.7x.
namespace {
// Working memory per state byte, in tenths: both kinds of analysis, the
// families' only, the others only.
constexpr std::int64_t kWorkingTenthsBoth = 60, kWorkingTenthsFamilies = 42,
                       kWorkingTenthsOthers = 37;
}  // namespace

SizeEstimate AnalyzeStage::estimate_of(const AnalyzeSettings& settings,
                                       const EstimateInputs& inputs) const {
  const auto it = inputs.find("states");
  if (it == inputs.end() || it->second.empty()) return {};
  const auto features = static_cast<std::int64_t>(settings.features.size());
  std::int64_t per_100_cells = 0;
  bool families = false, others = false, labels = false;
  for (const PerModel& m : kPerModel) {
    if (std::find(settings.analyses.begin(), settings.analyses.end(), m.analysis) ==
        settings.analyses.end())
      continue;
    per_100_cells += m.bytes_per_100_cells;
    labels = labels || m.labels;
    (m.families ? families : others) = true;
  }
  std::int64_t bytes = 0, largest = 0;
  for (const SizeEstimate& s : it->second) {
    const std::int64_t frames = s.dim("frames"), tasks = s.dim("tasks"), trials = s.dim("trials");
    if (!s.known || frames < 0 || tasks < 0 || trials < 0) return {};
    const std::int64_t scored =
        settings.frames.empty() ? frames : static_cast<std::int64_t>(settings.frames.size());
    bytes += features * tasks * scored * frames * per_100_cells / 100;
    if (families) bytes += trials * features * scored * 4;
    if (labels) bytes += trials * features * scored * (1 + settings.null_shuffles);
    largest = std::max(largest, s.bytes);
  }
  const std::int64_t working_tenths = families && others ? kWorkingTenthsBoth
                                      : families         ? kWorkingTenthsFamilies
                                                         : kWorkingTenthsOthers;
  SizeEstimate e;
  e.known = true;
  e.bytes = bytes;
  e.working = working_tenths * largest / 10;
  e.dims = {{"models", static_cast<std::int64_t>(it->second.size())}};
  return e;
}

Artifact AnalyzeStage::run_in_arena(const AnalyzeSettings& settings, const StageInputs& inputs,
                                    RunContext& ctx) const {
  Settings s = analysis_settings(settings);
  // Everything is checked before anything is fitted.
  const auto& items = inputs.many("states");
  std::vector<ModelData> models;
  for (const auto& item : items) models.push_back(load(item, s));
  check_and_bind(settings, models, s);
  const std::int64_t frames = models.front().frames();
  std::vector<std::unique_ptr<nets::WmModel>> loaded;  // the networks of the causal probe
  if (s.wants("causal")) match_networks(inputs, models, s, loaded, ctx);

  std::int64_t total = 0, done = 0, fitted = 0;
  if (wants_families(s)) {
    for (const auto& m : models)
      total += static_cast<std::int64_t>(m.tasks.size() * s.features.size() * s.frames.size());
  }
  analyze::Tables tables;
  // What it takes to refit the same decoders elsewhere (compare_analyze.py):
  // each model's folds and the labels behind its orthogonality indices.
  std::map<std::string, Array> refit_arrays;
  for (const auto& m : models) {
    ctx.check_cancelled();
    fitted += analyze_model(m, s, tables, refit_arrays, ctx, done, total);
  }

  AnalysisResult result;
  for (const auto& [name, builder] : tables) result.tables[name] = builder.build();
  result.arrays = refit_arrays;
  model_matrices(models, s, frames, result);
  // One model's findings: its numbers, no verdict across seeds (the
  // findings stage decides those and attaches the calibration table, so a
  // new calibration.json reruns only it, never an analysis).
  result.findings = analyze::findings(result.tables, models, s);
  result.params = {{"models", nlohmann::json::array()},
                   {"frames", s.frames},
                   {"classes", s.classes},
                   {"folds", s.cv == analyze::Cv::kViews ? 1 : s.folds},
                   {"cv", choice_name(analyze::kCvs, s.cv)},
                   {"permutations", s.permutations},
                   {"features", s.features},
                   {"null_shuffles", s.null_shuffles},
                   {"ortho_space", choice_name(analyze::kOrthoPreps, s.ortho_space)},
                   {"pca_dims", s.pca_dims},
                   {"decoder", choice_name(decoders::kModels, s.options.model)},
                   {"c", s.options.c},
                   {"space", choice_name(analyze::kSpaces, s.space)},
                   {"image_bootstraps", s.image_bootstraps}};
  if (s.wants("causal")) {
    result.params["causal_dose"] = s.causal_dose;
    result.params["causal_frame"] = s.causal_frame;
  }
  for (const auto& m : models) {
    // The group (replicates: the configuration minus the seed) lets a findings
    // stage decide across per-model analyses as this one does.
    result.params["models"].push_back(
        {{"name", m.name},
         {"rnn", m.rnn},
         {"regime", m.regime},
         {"seed", m.seed_known ? nlohmann::json(m.seed) : nlohmann::json(nullptr)},
         {"trials", m.states.size(0)},
         {"tasks", m.config.value("tasks", nlohmann::json::array())},
         {"group", m.group}});
    if (!m.network.empty()) result.params["models"].back()["network"] = m.network;
    // The states' cache key: what the model's own draws of chance are
    // seeded by (ModelData::own_seed), for a recomputation of them.
    if (!m.source.empty()) result.params["models"].back()["source"] = m.source;
  }
  // Items: every decoder fitted (cross-validated with its permutation
  // nulls, orthogonality with its nulls, causal per fold).
  if (auto it = result.tables.find("orthogonality"); it != result.tables.end()) {
    fitted += static_cast<std::int64_t>(it->second.rows()) * (1 + s.null_shuffles);
  }
  // Causal: one fit per fold per (task, stimulus frame) unit; the declared
  // frame's units are among the dose-response's when that frame is analysed.
  if (auto it = result.tables.find("causal"); it != result.tables.end()) {
    fitted += static_cast<std::int64_t>(it->second.rows() / s.causal_sds.size()) * s.folds;
  }
  if (auto it = result.tables.find("causal_test"); it != result.tables.end()) {
    if (std::find(s.frames.begin(), s.frames.end(), s.causal_frame) == s.frames.end()) {
      fitted += static_cast<std::int64_t>(it->second.rows()) * s.folds;
    }
  }
  ctx.set_items(fitted);
  return result.to_artifact();
}

}  // namespace wmgeom
