// The typed artifacts of DESIGN.md: what each stage type produces. Each is a
// plain struct that converts to and from the generic Artifact (artifact.h);
// from_artifact validates shapes and ranges and throws wmgeom::Error naming
// the artifact and the field, so a stage never reads a malformed input.
//
// Arrays are shared, not copied, by both conversions.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/artifact.h"

namespace wmgeom {

// Values of StimulusSet::split and TrialSet::split.
inline constexpr std::int32_t kSplitTrain = 0;
inline constexpr std::int32_t kSplitValidation = 1;

// Images of objects and their attributes; row i of every array is stimulus i.
struct StimulusSet {
  static constexpr const char* kKind = "StimulusSet";
  Array images;    // uint8 [N, 3, S, S], RGB, channel-first
  Array location;  // int32 [N], 0..n_locations-1 (row-major over the location grid)
  Array category;  // int32 [N], 0..categories-1
  Array identity;  // int32 [N], 0..identities-1, unique across categories
  Array view;      // int32 [N], 0..n_views-1
  Array split;     // int32 [N], kSplitTrain or kSplitValidation
  std::vector<std::string> category_names;
  std::vector<std::string> identity_names;      // per global identity
  std::vector<std::int32_t> identity_category;  // identity -> category
  std::int32_t n_locations = 0;
  std::int32_t n_views = 0;
  nlohmann::json info = nlohmann::json::object();  // source, view angles, background...

  std::int64_t size() const { return images.empty() ? 0 : images.dim(0); }
  Artifact to_artifact() const;
  static StimulusSet from_artifact(const Artifact& artifact);
};

// CNN feature maps aligned with a StimulusSet: row i belongs to stimulus i.
struct FeatureBank {
  static constexpr const char* kKind = "FeatureBank";
  Array features;                                       // float16 or float32 [N, C, h, w]
  nlohmann::json extractor = nlohmann::json::object();  // model, weights hash, layer
  std::map<std::string, Array> extra;                   // e.g. the built-in CNN's training curves

  Artifact to_artifact() const;
  static FeatureBank from_artifact(const Artifact& artifact);
};

struct TaskDef {
  std::string name;     // "loc-1", "cat-2", "id-3"
  std::string feature;  // "loc" | "cat" | "id"
  std::int32_t n = 1;
};

// The task suite: task definitions, fixed evaluation trials, and the
// stimulus attribute table, so that training can sample fresh trials on the
// fly without the images.
struct TrialSet {
  static constexpr const char* kKind = "TrialSet";
  std::vector<TaskDef> tasks;
  std::int32_t trial_length = 6;
  double match_prob = 0.5;
  double hard_nonmatch =
      0.5;  // share of identity non-matches drawn same-category (src/nback/sampler.h)
  std::string task_cue = "onehot";
  Array stimuli;  // int32 [M, T], indices into the StimulusSet
  Array task;     // int32 [M], index into tasks
  Array targets;  // int32 [M, T]: 0 no-action, 1 non-match, 2 match
  Array split;    // int32 [M]: split the trial's stimuli were drawn from
  // Per stimulus of the StimulusSet (int32 [N]): its attributes and split.
  Array stimulus_location, stimulus_category, stimulus_identity, stimulus_split, stimulus_view;
  nlohmann::json info = nlohmann::json::object();

  Artifact to_artifact() const;
  static TrialSet from_artifact(const Artifact& artifact);
};

// A trained RNN: enough to rebuild it (config + weights) and its curves.
struct TrainedModel {
  static constexpr const char* kKind = "TrainedModel";
  nlohmann::json config = nlohmann::json::object();
  std::map<std::string, Array> weights;  // parameter name -> float32 values
  Array curve_step;                      // int64 [K]
  Array curve_loss;                      // float32 [K]
  Array curve_train_acc;                 // float32 [K, tasks]
  Array curve_val_acc;                   // float32 [K, tasks]
  // Accuracy on hard non-match frames (nback::hard_nonmatch_mask) of the
  // training-split and held-out evaluation trials, float32 [K, tasks]: NaN
  // for tasks whose feature has no parent (loc, cat) or without such frames.
  // Empty in models trained before train stage version 2.
  Array curve_train_hard_acc;
  Array curve_val_hard_acc;

  Artifact to_artifact() const;
  static TrainedModel from_artifact(const Artifact& artifact);
};

// Hidden states of a trained model on fixed trials, with everything needed to
// analyse them without the model.
struct StateSet {
  static constexpr const char* kKind = "StateSet";
  nlohmann::json model = nlohmann::json::object();  // model config, task names
  Array hidden;                                     // float32 [M, T, H]
  Array cell;                                       // float32 [M, T, H] (LSTM only, else empty)
  Array logits;                                     // float32 [M, T, 3] (may be empty: imported)
  Array targets;                                    // int32 [M, T]
  Array task;                                       // int32 [M]
  Array stimulus;                                   // int32 [M, T]
  Array location;                                   // int32 [M, T]
  Array category;                                   // int32 [M, T]
  Array identity;                                   // int32 [M, T]
  Array view;                                       // int32 [M, T]
  Array split;  // int32 [M]: kSplitTrain or kSplitValidation, the split each trial's stimuli come
                // from (may be empty in old sets)
  Array perceptual;  // float32 [M, T, D]: the feature map as the RNN received it
  Array embedding;   // float32 [M, T, E]: after the trainable front end

  Artifact to_artifact() const;
  static StateSet from_artifact(const Artifact& artifact);
};

// The replicate group of a state set: the same configuration but for the
// seed. A captured model's configuration (train.cpp) holds the
// architecture, the tasks and the model settings, but not the seed, and two
// training outcomes that differ between seeds of one configuration (the
// steps trained before the accuracy bar stopped training, and whether it
// did); the training settings that vary within a pipeline are sweep values,
// in the instance's sweep labels. The group: `model` without seed, split,
// steps and stopped_early, plus every sweep label but the seed ("sweep
// <name>"). A state set that names its configuration (model.group, a
// string: imported states, stages/import) is grouped by that name alone:
// its configuration is what its author says, and a sweep over import paths
// must not split the seeds of one group.
std::string replicate_group(const nlohmann::json& model,
                            const std::vector<std::pair<std::string, std::string>>& labels);

// A tidy table: numeric (float64) and text columns in a fixed order.
struct Table {
  std::vector<std::string> columns;
  std::map<std::string, std::vector<double>> numeric;
  std::map<std::string, std::vector<std::string>> text;

  void add(const std::string& column, std::vector<double> values);
  void add(const std::string& column, std::vector<std::string> values);
  std::size_t rows() const;
};

// Named tables and arrays, the parameters that made them, and findings.
struct AnalysisResult {
  static constexpr const char* kKind = "AnalysisResult";
  nlohmann::json params = nlohmann::json::object();
  std::map<std::string, Table> tables;
  std::map<std::string, Array> arrays;
  nlohmann::json findings = nlohmann::json::object();

  Artifact to_artifact() const;
  static AnalysisResult from_artifact(const Artifact& artifact);
};

// A self-contained HTML document for people (the report stage). The HTML is
// stored as an array of its UTF-8 bytes so that big embedded figures stay out
// of the JSON metadata. It may hold placeholders that are filled after a run
// (report stage: kProfilePlaceholder, kPipelinePlaceholder).
struct Report {
  static constexpr const char* kKind = "Report";
  std::string html;
  std::string title;
  nlohmann::json info = nlohmann::json::object();  // sections drawn or omitted, figure count

  Artifact to_artifact() const;
  static Report from_artifact(const Artifact& artifact);
};

// Writes tables stored in an artifact (meta "tables") as DIR/<name>.csv.
void export_tables(const Artifact& artifact, const std::filesystem::path& dir);

// The files beyond the NPY arrays and meta.json that `wmgeom export` writes
// for an artifact of a given kind. Each kind that has any declares them in
// the table in artifacts.cpp, beside its definition (AnalysisResult: one CSV
// per table and findings.json); other kinds write none. The generic export
// (export_artifact) calls this and knows no kind.
void export_kind_files(const Artifact& artifact, const std::filesystem::path& dir);

}  // namespace wmgeom
