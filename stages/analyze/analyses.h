// Internals of the analyze stage: the data of one model, the settings, the
// shared cross-validated decoder families, and one function per analysis.
// Each analysis appends rows to the result's tables; findings.cpp reads the
// tables back. Everything here is deterministic given the settings' seed.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "analyze/settings.h"
#include "analyze/stats.h"
#include "core/artifacts.h"
#include "core/choices.h"
#include "decoders/linear.h"
#include "nback/sampler.h"
#include "nets/wm_model.h"

namespace wmgeom::analyze {

// One StateSet, as tensors.
struct ModelData {
  std::string name;    // the capture instance, e.g. "states[rnn=gru]"
  std::string source;  // the states' cache key (InputItem::key; empty for inputs built in memory):
                       // what the model's own Monte Carlo draws are seeded by (else its name)
  std::string rnn;     // "rnn" | "gru" | "lstm"
  std::string regime;  // "STSF" | "STMF" | "MTMF"
  std::string group;   // replicate group (JSON): the configuration without seed, split and training
                      // outcomes (steps, stopped_early), plus the sweep labels but the seed; models
                      // differing only by seed are replicates
  std::int64_t seed = 0;
  bool seed_known = true;  // false: neither the model nor its sweep labels name a seed (imports)
  std::vector<nback::Task> tasks;
  nlohmann::json config;
  torch::Tensor states;      // float64 [M, T, H]: the decoded space (hidden or cell)
  torch::Tensor hidden;      // float32 [M, T, H]
  torch::Tensor cell;        // float32 [M, T, H] or undefined
  torch::Tensor perceptual;  // float32 [M, T, D] or undefined
  torch::Tensor embedding;   // float32 [M, T, E] or undefined
  torch::Tensor logits;      // float32 [M, T, 3] as captured, or undefined
  torch::Tensor targets;     // long [M, T]
  torch::Tensor task;        // long [M]
  torch::Tensor stimulus;  // long [M, T]: the image shown at each frame (the unit of grouped folds)
  torch::Tensor split;  // long [M]: kSplitTrain / kSplitValidation, or undefined (old state sets)
  std::map<std::string, torch::Tensor> labels;  // feature ("loc", "cat", "id") -> long [M, T]
  nets::WmModel* model =
      nullptr;          // for causal: the network that produced these states; may be null
  std::string network;  // for causal: the train instance it came from ("" when unknown)

  std::int64_t frames() const { return states.size(1); }
  torch::Tensor rows_of_task(std::size_t k) const;  // long [n]
  // The seed of this model's own draws of chance (label permutations and
  // shuffles, null rotations, null directions) from `seed`, a seed shared by
  // every model (per family, cell or task): its states' cache key mixed in,
  // else its name (version 13; orthogonality's since version 11). Draws that
  // follow the images (folds, image bootstraps) stay shared: every model sees
  // the same images, and a comparison between models is then paired.
  std::uint64_t own_seed(std::uint64_t seed) const;
};

// The schema's choices as enums (Cv, Space, OrthoPrep): analyze/settings.h.

// Initialised to stages/analyze/schema.toml's defaults (the single source; the
// stage fills every field from its parameters, tests start from these).
struct Settings {
  std::set<std::string> analyses;
  std::vector<std::string> features;
  std::vector<int> frames;                      // stimulus frames analysed
  std::map<std::string, std::int64_t> classes;  // feature -> number of values
  decoders::Options options{.model = decoders::Model::kSvm,
                            .c = 1.0,
                            .max_iter = 1000};  // the decoding model (schema defaults)
  int folds = 5;
  Cv cv = Cv::kGrouped;   // grouped: folds grouped by the image at the decoded frame; views: fit on
                          // training views, test on novel views
  int permutations = 20;  // label permutations behind every empirical chance level
  std::uint64_t seed = 0;
  int null_shuffles = 10;
  int image_bootstraps = 50;  // orthogonality: Poisson bootstrap resamples of images (finding 3's
                              // image variance; 0: none)
  int random_directions = 1000;
  int pca_dims = 0;  // orthogonality: both spaces projected to this many PCs (0: the RNN's size)
  OrthoPrep ortho_space = OrthoPrep::kStandardize;  // orthogonality: preparation before the PCA
  std::vector<double> causal_sds;  // causal: shift sizes in SDs of the states' projection on the
                                   // direction (the dose-response, descriptive)
  double causal_dose = 5.0;        // causal: the declared test's one dose (SDs)
  int causal_frame = 0;            // causal: the declared test's stimulus frame s (probe at s + N)
  int rsa_permutations = 1000;
  int bootstrap = 100;
  double alpha = 0.05;  // findings: the level of every declared test
  int min_seeds = 3;  // findings: seeds per replicate group (configuration minus seed) below which
                      // a verdict is not testable
  Space space = Space::kHidden;        // the RNN state decoded
  torch::Device device = torch::kCPU;  // where decoders are fitted (results come back to the CPU)

  bool wants(const std::string& analysis) const { return analyses.count(analysis) != 0; }
  double chance(const std::string& feature) const {
    return 1.0 / static_cast<double>(classes.at(feature));
  }
};

// Builds a Table row by row; the first row fixes the columns (names, order
// and types), and every later row must have the same (Error otherwise).
// The declared columns of each table: tables.toml (table_schema.h).
class TableBuilder {
 public:
  using Cell = std::variant<double, std::string>;
  TableBuilder& add(std::vector<std::pair<std::string, Cell>> row);
  Table build() const;
  bool empty() const { return rows_.empty(); }
  std::size_t rows() const { return rows_.size(); }
  // The first row's columns: name, and whether it holds text (none before it).
  std::vector<std::pair<std::string, bool>> columns() const;
  // Appends every row of `other`, in order.
  void append(const TableBuilder& other);

 private:
  std::vector<std::vector<std::pair<std::string, Cell>>> rows_;
};
using Row = std::vector<std::pair<std::string, TableBuilder::Cell>>;
// The tables of a result under construction (name -> builder); each
// analysis appends its rows.
using Tables = std::map<std::string, TableBuilder>;

// The columns every table starts with: model, rnn, regime.
Row model_columns(const ModelData& m);

// The elements of an integer tensor as int64 values, in order.
std::vector<std::int64_t> to_vector(const torch::Tensor& t);

// The cross-validated decoders of one (task, feature, stimulus frame s):
// the task's trials, the labels of the stimulus at s, folds grouped by the
// image at s (or the views split), and a fit for every (fold, train frame
// t >= s), index fold * (T - s) + (t - s). Beside them, the same decoders
// fitted on `permutations` image-level label permutations (the empirical
// chance): permutation r assigns each image at s the label of another image
// of the same task, so the null keeps the image structure and the folds.
struct Family {
  std::size_t task = 0;
  std::string feature;
  int stim = 0;
  int folds = 0;       // evaluated folds (1 for the views scheme)
  torch::Tensor rows;  // long [n]
  torch::Tensor y;     // long [n]
  torch::Tensor
      fold;  // long [n]: held out in fold q when fold == q (-1: training only, never held out)
  torch::Tensor
      images;  // long [n]: the image each trial shows at frame stim (the unit the folds group by)
  decoders::Fit fit;            // P = folds * (T - s)
  torch::Tensor preds;          // long [P, T - s, n]: each fit's predictions at every frame u >= s
  torch::Tensor null_y;         // long [R, n]: the permuted labels
  torch::Tensor null_preds;     // int16 [R, P, T - s, n]: the permuted fits' predictions
  decoders::Fit null_encoding;  // the permuted fits at t = s, index r * folds + q (cross-task and
                                // H1/H2 nulls)
  // The lag rule (README "Correlated labels at lags kN"): the labels of the
  // stimuli at r and at stim agree about half the time when |r - stim| is a
  // positive multiple of the task's N. A fit at train frame t scored at
  // frame u may read, instead of stimulus stim, the stimulus shown at u or
  // the one at the same elapsed time as stim at t (r = u - (t - stim));
  // those of them at such a lag are the frames it reads (read_frames). The
  // rule then scores it on trials whose label at stim is not kin of the
  // label at any frame read (kin: the same class, or for identity any
  // identity of the same category), with the argmax over the classes that
  // are not. differ_preds / null_differ_preds: each fit's (true, permuted)
  // argmax under the exclusion at (t, u), at index [fit, u - stim], filled
  // where the rule is "differ" (rule_at), else -1.
  int n_back = 1;     // the task's N
  torch::Tensor kin;  // long [K]: each class's kin group (identity: its category; else itself)
  torch::Tensor differ_preds;       // long [P, T - s, n]
  torch::Tensor null_differ_preds;  // int16 [R, P, T - s, n]
  std::int64_t index(int fold_index, int t, std::int64_t frames) const {
    return fold_index * (frames - stim) + (t - stim);
  }
  std::int64_t permutations() const { return null_y.defined() ? null_y.size(0) : 0; }
  bool lagged(int r) const { return r != stim && r >= 0 && std::abs(r - stim) % n_back == 0; }
  // The frames read by a fit at t scored at u whose labels correlate with
  // the label at stim (at most two: u and u - (t - stim)).
  std::vector<int> read_frames(int t, int u) const;
  // The largest kin group: the classes a single frame read excludes at most.
  std::int64_t largest_kin() const;
  // H1/H2 (version 15): the frame that the encoding fit at stim reads, at a
  // later frame j, through its weights for the memory of stim - N (which it
  // learned because that label agrees with stim's half the time): j - N, the
  // frame at the same elapsed time behind j. Only where the fit had that
  // memory to learn from (stim >= N) and j - N is a frame after stim (at
  // j - N = stim it is the stimulus itself); -1 otherwise.
  int memory_echo(int j) const { return stim >= n_back && j - n_back > stim ? j - n_back : -1; }
};

using Families = std::map<std::tuple<std::size_t, std::string, int>, Family>;

// The one leak rule (SCIENCE.md section 6): a decoder of family `f` fitted
// in fold `fold` is scored only on trials whose image at the scored frame
// was not among its training images, i.e. the images shown at frame f.stim
// by the trials fold `fold` trains on (f.fold != fold: the other folds, or
// the training-view trials under cv = "views"). `images` (long [k]) holds
// the image at the scored frame of each trial to score; returns bool [k],
// true where that image is unseen by the fold's decoders. Used wherever a
// fitted decoder is scored on other trials or frames: cross-task
// generalisation, H1/H2, cross-temporal rows and the Procrustes swaps.
// Throws InputError for a fold outside the family.
torch::Tensor unseen(const Family& f, int fold, const torch::Tensor& images);

// Checks (before anything is fitted) that grouped folds are possible: every
// class of every decoded label set has at least `folds` distinct images (or,
// for cv = "views", trials of both splits with every class in the training
// views); throws InputError naming the key, model, task, feature, frame and
// class otherwise.
void check_folds(const ModelData& m, const Settings& s);

Families fit_families(const ModelData& m, const Settings& s, const std::function<void()>& tick);

// Runs unit(i, rows) for i in [0, n) in parallel (TBB, in the stage's
// arena) and then appends each unit's rows to `tables` in order of i: the
// tables are those of a serial loop, whatever the scheduling. Units must not
// share mutable state.
void for_each_unit(std::size_t n, const std::function<void(std::size_t, Tables&)>& unit,
                   Tables& tables);

void decoding(const ModelData& m, const Settings& s, const Families& f, Tables& tables);
void cross_temporal(const ModelData& m, const Settings& s, const Families& f, Tables& tables);
void cross_task(const ModelData& m, const Settings& s, const Families& f, Tables& tables);
void procrustes(const ModelData& m, const Settings& s, const Families& f, Tables& tables);
// The swap test on class centroids (README "The centroid swap"): the
// `procrustes_centroids` table, run with `procrustes`.
void procrustes_centroids(const ModelData& m, const Settings& s, const Families& f, Tables& tables);
// Appends the orthogonality rows and per-model summary; returns the labels
// every unit fitted (uint8 [M, features, T, 1 + null_shuffles]: the true
// labels, then each image-level shuffle; 255 where a trial was not fitted),
// so that the same normals can be refitted elsewhere (compare_analyze.py).
torch::Tensor orthogonality(const ModelData& m, const Settings& s, Tables& tables);
void causal(const ModelData& m, const Settings& s, Tables& tables);
void rsa(const ModelData& m, const Settings& s, Tables& tables);
void dimensionality(const ModelData& m, const Settings& s, Tables& tables);

// The orthogonalisation index of SCIENCE.md 4.3 for class normals [K, d]:
// the mean over class pairs of 1 - |cos|.
double orthogonality_index(const torch::Tensor& normals);
// Orthogonality's two steps, used by orthogonality() and the tests.
// ortho_prepare: the states x [n, d] of the fitted trials, centred, each unit
// scaled to unit SD for kStandardize (a unit without variance stays 0), in
// coordinates of the span of the rows when d > n (an exact rotation).
torch::Tensor ortho_prepare(const torch::Tensor& x, OrthoPrep prep);
// The index of each label set ys [L, n] on prepared states z [n, d']: PCA to
// `dims` components (axes without variance score 0), one-vs-rest SVM normals
// (options.c; C is not scale-free) fitted on the PC scores as they are,
// except for kWhitened; normals of the classes `present` only. [L] indices.
std::vector<double> ortho_indices(const torch::Tensor& z, const torch::Tensor& ys,
                                  std::int64_t classes, const torch::Tensor& present,
                                  std::int64_t dims, OrthoPrep prep, decoders::Options options,
                                  torch::Device device = torch::kCPU);

// Finding 3's image bootstrap (issue 20): Poisson(1) count of image `image`
// in resample `b`, a function of (seed, b, image) alone, so that every model,
// task and frame showing an image resamples it alike (the images are one set
// shared by every model: their sampling error is common to all seeds).
int image_bootstrap_count(std::uint64_t seed, int b, std::int64_t image);
// The index of ortho_indices() on each bootstrap resample of the points: row
// i of points[b % points.size()] ([n, d'] each) taken counts[b][i] times
// (counts long [B, n]), PCA and normals refitted per resample, labels y [n].
// NaN for a resample that lost one of the classes `present`; a resample with
// fewer points than `dims` has zero PCs beyond them. [B] indices.
std::vector<double> ortho_bootstrap_indices(const std::vector<torch::Tensor>& points,
                                            const torch::Tensor& y, const torch::Tensor& counts,
                                            std::int64_t classes, const torch::Tensor& present,
                                            std::int64_t dims, OrthoPrep prep,
                                            decoders::Options options,
                                            torch::Device device = torch::kCPU);

// Matched dimensionality (issue 20): the numerical rank of prepared states
// z [n, d'] (singular values of the centred rows above 1e-9 of the largest).
// Perceptual vectors repeat per image, so their rank is the number of
// distinct images less one; the spaces are compared in min(ranks) PCs.
std::int64_t ortho_rank(const torch::Tensor& z);
// Separability (issue 20): k-fold cross-validated accuracy (folds grouped by
// image, as given) of the one-vs-rest SVMs on the top `dims` PCs of
// z + level * noise, for each level: [levels.size()] (an undefined `noise`:
// z itself). One noise draw for every level, so accuracy falls smoothly as
// the level grows.
std::vector<double> ortho_accuracy(const torch::Tensor& z, const torch::Tensor& noise,
                                   const std::vector<double>& levels, const torch::Tensor& y,
                                   const std::vector<std::int32_t>& folds, int k,
                                   std::int64_t classes, std::int64_t dims, OrthoPrep prep,
                                   decoders::Options options, torch::Device device = torch::kCPU);
// The noise level at which accuracy (`accuracy_at(i)` at increasing
// `levels`, and `start` at level 0) reaches `target`: linear between the last
// level above and the first at or below it; 0 when start <= target; the
// largest level when none gets there. Lazy: accuracy_at is called for
// i = 0, 1, ... only up to the first level at or below the target, and not at
// all when start <= target, so the levels past the match are never fitted.
double ortho_match_level(const std::vector<double>& levels,
                         const std::function<double(std::size_t)>& accuracy_at, double start,
                         double target);

// findings.json from the finished tables (SCIENCE.md sections 4 and 6):
// each finding is one declared test across model replicates (seeds), with
// its unit and n, effect and 95% CI, p, threshold and a verdict "held",
// "not held" or "not testable" (with what the pipeline lacks).
nlohmann::json findings(const std::map<std::string, Table>& tables,
                        const std::vector<ModelData>& models, const Settings& s);

// Replicate groups (SCIENCE.md section 6): models whose configurations
// differ only in the seed (ModelData::group) are replicates. For each group
// key present in `models`, a name a user understands: architecture, regime
// and task list ("GRU, multi-task MTMF (loc-1, ..., id-3)"), plus the settings
// that tell it from another group of the same architecture and tasks
// ("... with hidden = 512").
std::map<std::string, std::string> replicate_group_names(const std::vector<ModelData>& models);
// Two models of one replicate group with the same seed are one training
// captured twice (two capture stages of one train stage) or trained twice
// alike: one replicate, never two. one_training_twice says which ("" when
// none; models whose seed is unknown are not compared); findings() then
// makes every finding not testable for it, and require_distinct_seeds (the
// findings stage, before deciding) throws InputError naming both models.
std::string one_training_twice(const std::vector<ModelData>& models);
void require_distinct_seeds(const std::vector<ModelData>& models);
// verdicts = "required": throws InputError, naming the group, when a
// replicate group has fewer than `min_seeds` models; `who` starts the
// message ("analyze", "findings"), `remedy` ends it.
void require_seeds(const std::vector<ModelData>& models, int min_seeds, const std::string& who,
                   const std::string& remedy);
// verdicts_required (the `verdicts` parameter of analyze and findings): analyze/settings.h.

// "relevant" (the task's feature), "implied" (category in an identity task:
// identity determines it) or "irrelevant".
std::string relevance(const nback::Task& task, const std::string& feature);

using stats::mean;
using stats::sd;

}  // namespace wmgeom::analyze
