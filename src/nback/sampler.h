// The N-back tasks and the seeded trial sampler (SCIENCE.md section 2),
// shared by the `tasks` stage (fixed evaluation trials) and the `train`
// stage (training trials streamed on the fly). No LibTorch, no OpenCV.
//
// A task is feature F in {loc, cat, id} x N >= 1, named "loc-1", "cat-2",
// "id-3". In a trial of T frames the target at frame t < N is no-action (0);
// at t >= N it is match (2) if F(stim[t]) == F(stim[t-N]) else non-match (1).
// At each t >= N the stimulus is drawn, with probability match_prob, among
// the stimuli whose F equals F(stim[t-N]), otherwise among those whose F
// differs; frames t < N are drawn uniformly. Targets are computed from the
// drawn stimuli, so they never disagree with them.
//
// Hard non-matches (SCIENCE.md section 6): a feature may nest in a coarser
// parent feature (identity in category; location and category have none).
// For such a feature, each non-match frame is, with probability
// hard_nonmatch, drawn among the stimuli whose parent equals that of
// stim[t-N] but whose F differs (same category, other identity), otherwise
// among all stimuli whose F differs. Without them a category-only strategy
// passes identity tasks (~93% with 4 categories x 2 identities). Where the
// split has no such stimulus for the value at t-N (one identity of that
// category in the split, e.g. novel-identity validation with
// holdout_identities), that frame falls back to an ordinary non-match draw:
// the realised share is then below hard_nonmatch (hard_coverage() says by
// how much), never an error, because such a split is a legitimate design.
// The match coin is drawn first and unchanged, so the match rate stays
// match_prob exactly; with hard_nonmatch = 0, and for tasks whose feature has
// no parent, the random streams are those of a sampler without the option.
//
// Determinism: a trial is a pure function of (seed, batch index, trial
// index): every trial has its own counter-based random stream, so batches
// are identical whatever the thread count or the order they are made in.
// Thread-safety: a Sampler is immutable after construction; all methods are
// const and may be called concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/artifacts.h"

namespace wmgeom::nback {

enum class Feature : std::int32_t { kLocation = 0, kCategory = 1, kIdentity = 2 };

inline constexpr std::int32_t kNoAction = 0;
inline constexpr std::int32_t kNonMatch = 1;
inline constexpr std::int32_t kMatch = 2;

struct Task {
  std::string name;  // "loc-1"
  Feature feature = Feature::kLocation;
  std::int32_t n = 1;
};

// "loc-2" -> {loc, 2}. Throws wmgeom::InputError naming the task and the
// accepted form ("loc|cat|id-N", N >= 1) otherwise.
Task parse_task(const std::string& name);
std::vector<Task> parse_tasks(const std::vector<std::string>& names);
std::string feature_name(Feature f);  // "loc", "cat", "id"
// The coarser feature whose values F's values nest in: identity -> category.
// Empty for location and category.
std::optional<Feature> parent_feature(Feature f);

inline constexpr double kDefaultHardNonMatch = 0.5;

// The task cue concatenated to the visual input at every frame (SCIENCE.md
// section 2). "onehot": one slot per task, slot k = task k of the list.
// "feature+n": slots 0..2 one-hot of the feature (loc, cat, id), then slot
// 3 + N - 1 one-hot of N, for N = 1..the largest N of the list.
// Throw wmgeom::InputError for another kind.
inline constexpr const char* kCueOneHot = "onehot";
inline constexpr const char* kCueFeatureN = "feature+n";
std::int32_t cue_dim(const std::vector<Task>& tasks, const std::string& kind);
// The hot slots of task `task`'s cue (one for onehot, two for feature+n).
std::vector<std::int32_t> cue_slots(const std::vector<Task>& tasks, const std::string& kind,
                                    std::size_t task);
// A name per slot: the task names, or "loc", "cat", "id", "n=1", "n=2", ...
std::vector<std::string> cue_slot_names(const std::vector<Task>& tasks, const std::string& kind);

// Attributes of the stimuli a sampler may draw from.
struct StimulusTable {
  std::vector<std::int32_t> location, category, identity;  // per stimulus index
  std::vector<std::int32_t> split;                         // per stimulus index
  std::int32_t attribute(Feature f, std::int64_t stimulus) const;
  static StimulusTable from(const StimulusSet& s);
  static StimulusTable from(const TrialSet& t);  // the table a TrialSet carries
};

// Trials [trials, length], row-major.
struct Batch {
  std::int64_t trials = 0;
  std::int32_t length = 0;
  std::vector<std::int32_t> stimuli;  // trials * length stimulus indices
  std::vector<std::int32_t> targets;  // trials * length
  std::vector<std::int32_t> task;     // trials, index into the sampler's tasks
};

// Per frame of `b` (trials x length, row-major): 1 where the frame is a
// hard non-match of its trial's task: t >= N, F differs from frame t - N and
// F's parent is equal (an identity task's frame showing the category of
// frame t - N in another identity). Always 0 for tasks without a parent.
// Defined by the stimuli, not by how they were drawn: with hard_nonmatch = 0
// some non-matches are still hard by chance.
std::vector<std::uint8_t> hard_nonmatch_mask(const StimulusTable& table,
                                             const std::vector<Task>& tasks, const Batch& b);

class Sampler {
 public:
  // Draws only stimuli whose split == `split`. Throws wmgeom::InputError if
  // that split is empty, if trial_length <= the largest N, if a task's
  // feature has a single value in the split (no non-match possible), if
  // `tasks` is empty, if match_prob or hard_nonmatch is outside [0, 1] (the
  // message names the parameter), or if an identity of the split appears
  // under two categories (with an identity task: the parent is ambiguous).
  Sampler(StimulusTable table, std::vector<Task> tasks, std::int32_t trial_length,
          double match_prob, std::int32_t split, double hard_nonmatch = kDefaultHardNonMatch);

  const std::vector<Task>& tasks() const { return tasks_; }
  std::int32_t trial_length() const { return length_; }
  double hard_nonmatch() const { return hard_nonmatch_; }
  // The share of the split's stimuli after which a hard non-match can be
  // drawn for task `task` (their F value has a sibling: another value of the
  // same parent in the split): 1 in the paper's design, 0 with one identity
  // per category. The realised hard share is about hard_nonmatch times this.
  // NaN for a task whose feature has no parent.
  double hard_coverage(std::size_t task) const;

  // `trials` trials; trial i has task (i + batch_index) % tasks().size()
  // (balanced), and its own random stream keyed by (seed, batch_index, i).
  Batch batch(std::uint64_t seed, std::uint64_t batch_index, std::int64_t trials) const;
  // `per_task` trials of each task, task-major (for fixed evaluation sets).
  // Trial j of a task is keyed by (seed, task name, j): a task keeps its
  // trials whatever the other tasks of the list, and a larger per_task only
  // appends trials.
  Batch per_task(std::uint64_t seed, std::int64_t per_task) const;

 private:
  // The split's rows sorted by one feature's value: rows with value v are
  // order[begin[v] .. begin[v] + count[v]).
  struct Groups {
    std::vector<std::int32_t> order;
    std::vector<std::int64_t> begin, count;  // indexed by value
    std::int32_t distinct = 0;               // values present in the split
  };
  // One trial of task `task` from the stream `key`, into length_ frames.
  void fill_trial(std::uint64_t key, std::size_t task, std::int32_t* stimuli,
                  std::int32_t* targets) const;

  // For a feature with a parent: the split's rows sorted by (parent value,
  // value), so the rows of parent p are one range [pbegin[p], + pcount[p])
  // and, inside it, the rows of value v are [vbegin[v], + count[v]) (count
  // from the feature's Groups); parent[v] is v's parent value.
  struct Nested {
    std::vector<std::int32_t> order;
    std::vector<std::int64_t> pbegin, pcount;  // indexed by parent value
    std::vector<std::int64_t> vbegin;          // indexed by value
    std::vector<std::int32_t> parent;          // indexed by value, -1 if absent
    bool built = false;
  };
  void build_nested(Feature f);

  StimulusTable table_;
  std::vector<Task> tasks_;
  std::int32_t length_ = 0;
  double match_prob_ = 0.5;
  double hard_nonmatch_ = kDefaultHardNonMatch;
  std::int32_t split_ = kSplitTrain;
  std::vector<std::int32_t> split_rows_;  // stimuli of split_, ascending
  Groups groups_[3];                      // indexed by Feature
  Nested nested_[3];                      // indexed by Feature; built for features with a parent
};

}  // namespace wmgeom::nback
