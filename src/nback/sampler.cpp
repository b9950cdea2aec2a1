#include "nback/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

#include "core/error.h"
#include "core/random.h"

namespace wmgeom::nback {
namespace {

// Counter-based randomness (core/random.h): every trial owns a stream seeded
// by a hash of its coordinates, so no draw depends on which thread made which
// trial first.
using random::hash_combine;
using random::hash_string;
using random::mix64;

// Domain tags keep streamed training batches and evaluation sets apart even
// for equal (seed, index) pairs.
constexpr std::uint64_t kBatchTag = hash_string("wmgeom.nback.batch");
constexpr std::uint64_t kPerTaskTag = hash_string("wmgeom.nback.per_task");

__extension__ typedef unsigned __int128 U128;

// A SplitMix64 sequence owned by one trial.
class Stream {
 public:
  explicit Stream(std::uint64_t key) : state_(key) {}
  std::uint64_t next() { return mix64(state_ += 0x9e3779b97f4a7c15ULL); }
  // Uniform in [0, n), n > 0, without modulo bias (Lemire's multiply-shift
  // with rejection): thousands-of-trials tests must see exact uniformity.
  std::uint64_t below(std::uint64_t n) {
    U128 m = static_cast<U128>(next()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<U128>(next()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }
  // True with probability p: exactly never for p = 0 and always for p = 1.
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }

 private:
  std::uint64_t state_;
};

std::string split_name(std::int32_t split) {
  return split == kSplitTrain        ? "training"
         : split == kSplitValidation ? "validation"
                                     : "split " + std::to_string(split);
}

std::string plural_of(Feature f) {
  switch (f) {
    case Feature::kLocation:
      return "locations";
    case Feature::kCategory:
      return "categories";
    case Feature::kIdentity:
      return "identities";
  }
  return "values";
}

[[noreturn]] void bad_name(const std::string& name) {
  throw InputError("expected task names loc|cat|id-N with N >= 1, found \"" + name + "\"");
}

}  // namespace

Task parse_task(const std::string& name) {
  const auto dash = name.find('-');
  if (dash == std::string::npos) bad_name(name);
  const std::string feature = name.substr(0, dash);
  const std::string digits = name.substr(dash + 1);
  Task t;
  t.name = name;
  if (feature == "loc") {
    t.feature = Feature::kLocation;
  } else if (feature == "cat") {
    t.feature = Feature::kCategory;
  } else if (feature == "id") {
    t.feature = Feature::kIdentity;
  } else {
    bad_name(name);
  }
  // Digits only, no leading zero: one spelling per task, so that "loc-01"
  // cannot sneak in as a duplicate of "loc-1".
  if (digits.empty() || digits.size() > 9 || digits[0] == '0' ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    bad_name(name);
  }
  t.n = static_cast<std::int32_t>(std::stol(digits));
  return t;
}

std::vector<Task> parse_tasks(const std::vector<std::string>& names) {
  std::vector<Task> tasks;
  tasks.reserve(names.size());
  for (const auto& name : names) tasks.push_back(parse_task(name));
  return tasks;
}

std::string feature_name(Feature f) {
  switch (f) {
    case Feature::kLocation:
      return "loc";
    case Feature::kCategory:
      return "cat";
    case Feature::kIdentity:
      return "id";
  }
  return "?";
}

std::optional<Feature> parent_feature(Feature f) {
  if (f == Feature::kIdentity) return Feature::kCategory;
  return std::nullopt;
}

std::int32_t cue_dim(const std::vector<Task>& tasks, const std::string& kind) {
  if (kind == kCueOneHot) return static_cast<std::int32_t>(tasks.size());
  if (kind == kCueFeatureN) {
    std::int32_t max_n = 0;
    for (const auto& t : tasks) max_n = std::max(max_n, t.n);
    return 3 + max_n;
  }
  throw InputError("expected task_cue \"onehot\" or \"feature+n\", found \"" + kind + "\"");
}

std::vector<std::int32_t> cue_slots(const std::vector<Task>& tasks, const std::string& kind,
                                    std::size_t task) {
  const std::int32_t dim = cue_dim(tasks, kind);  // validates kind
  (void)dim;
  if (kind == kCueOneHot) return {static_cast<std::int32_t>(task)};
  const Task& t = tasks.at(task);
  return {static_cast<std::int32_t>(t.feature), 3 + t.n - 1};
}

std::vector<std::string> cue_slot_names(const std::vector<Task>& tasks, const std::string& kind) {
  const std::int32_t dim = cue_dim(tasks, kind);
  std::vector<std::string> names;
  if (kind == kCueOneHot) {
    for (const auto& t : tasks) names.push_back(t.name);
    return names;
  }
  names = {"loc", "cat", "id"};
  for (std::int32_t n = 1; n <= dim - 3; ++n) names.push_back("n=" + std::to_string(n));
  return names;
}

// ---- StimulusTable ----
std::int32_t StimulusTable::attribute(Feature f, std::int64_t stimulus) const {
  const auto i = static_cast<std::size_t>(stimulus);
  switch (f) {
    case Feature::kLocation:
      return location[i];
    case Feature::kCategory:
      return category[i];
    case Feature::kIdentity:
      return identity[i];
  }
  return -1;
}

namespace {
std::vector<std::int32_t> copy_column(const Array& a) {
  const auto v = a.values<std::int32_t>();
  return {v.begin(), v.end()};
}
}  // namespace

StimulusTable StimulusTable::from(const StimulusSet& s) {
  return {copy_column(s.location), copy_column(s.category), copy_column(s.identity),
          copy_column(s.split)};
}

StimulusTable StimulusTable::from(const TrialSet& t) {
  if (t.stimulus_location.empty() || t.stimulus_category.empty() || t.stimulus_identity.empty() ||
      t.stimulus_split.empty()) {
    throw InputError(
        "the TrialSet carries no stimulus table (stimulus_location/category/identity/split); "
        "it was made by an older tasks stage: re-run it");
  }
  return {copy_column(t.stimulus_location), copy_column(t.stimulus_category),
          copy_column(t.stimulus_identity), copy_column(t.stimulus_split)};
}

// ---- Sampler ----
Sampler::Sampler(StimulusTable table, std::vector<Task> tasks, std::int32_t trial_length,
                 double match_prob, std::int32_t split, double hard_nonmatch)
    : table_(std::move(table)),
      tasks_(std::move(tasks)),
      length_(trial_length),
      match_prob_(match_prob),
      hard_nonmatch_(hard_nonmatch),
      split_(split) {
  if (tasks_.empty()) throw InputError("expected at least one task, found none");
  if (!(match_prob_ >= 0.0 && match_prob_ <= 1.0)) {
    throw InputError("expected match_prob in [0, 1], found " + std::to_string(match_prob_));
  }
  if (!(hard_nonmatch_ >= 0.0 && hard_nonmatch_ <= 1.0)) {
    throw InputError("expected hard_nonmatch in [0, 1], found " + std::to_string(hard_nonmatch_));
  }
  const Task* longest = &tasks_.front();
  for (const auto& t : tasks_) {
    if (t.n < 1)
      throw InputError("task \"" + t.name + "\": expected N >= 1, found " + std::to_string(t.n));
    if (t.n > longest->n) longest = &t;
  }
  if (length_ <= longest->n) {
    throw InputError("expected trial_length > " + std::to_string(longest->n) +
                     " (the largest N, task \"" + longest->name + "\"), found " +
                     std::to_string(length_));
  }
  const std::size_t n = table_.split.size();
  if (table_.location.size() != n || table_.category.size() != n || table_.identity.size() != n) {
    throw InputError("stimulus table columns differ in length");
  }
  if (n > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    throw InputError("more stimuli than int32 indices can address: " + std::to_string(n));
  }

  for (std::size_t i = 0; i < n; ++i) {
    if (table_.split[i] == split_) split_rows_.push_back(static_cast<std::int32_t>(i));
  }
  if (split_rows_.empty()) {
    throw InputError("the stimulus set has no " + split_name(split_) + "-split images (split " +
                     std::to_string(split_) +
                     "); check holdout_views/holdout_every/holdout_identities of the render stage");
  }

  // Per feature, the split's rows sorted (stably) by value: the rows with
  // value v are the range [begin[v], begin[v] + count[v]) and the rows
  // without it are everything else, so both a match and a non-match draw
  // are one uniform index, with memory O(rows) rather than O(rows x values).
  for (int fi = 0; fi < 3; ++fi) {
    const auto f = static_cast<Feature>(fi);
    Groups& g = groups_[fi];
    std::int32_t max_value = -1;
    for (auto row : split_rows_) {
      const std::int32_t v = table_.attribute(f, row);
      if (v < 0) {
        throw InputError("stimulus " + std::to_string(row) + " has a negative " + feature_name(f) +
                         " value (" + std::to_string(v) + ")");
      }
      max_value = std::max(max_value, v);
    }
    g.count.assign(static_cast<std::size_t>(max_value) + 1, 0);
    for (auto row : split_rows_) ++g.count[static_cast<std::size_t>(table_.attribute(f, row))];
    g.begin.assign(g.count.size(), 0);
    for (std::size_t v = 1; v < g.count.size(); ++v) g.begin[v] = g.begin[v - 1] + g.count[v - 1];
    g.order.resize(split_rows_.size());
    std::vector<std::int64_t> next = g.begin;
    for (auto row : split_rows_) {
      g.order[static_cast<std::size_t>(
          next[static_cast<std::size_t>(table_.attribute(f, row))]++)] = row;
    }
    g.distinct = static_cast<std::int32_t>(
        std::count_if(g.count.begin(), g.count.end(), [](std::int64_t c) { return c > 0; }));
  }
  for (const auto& t : tasks_) {
    const Groups& g = groups_[static_cast<int>(t.feature)];
    if (g.distinct < 2) {
      throw InputError("task \"" + t.name + "\" needs at least 2 " + plural_of(t.feature) +
                       " among the " + split_name(split_) +
                       "-split stimuli to make non-match "
                       "trials, found " +
                       std::to_string(g.distinct));
    }
    if (parent_feature(t.feature)) build_nested(t.feature);
  }
}

void Sampler::build_nested(Feature f) {
  Nested& n = nested_[static_cast<int>(f)];
  if (n.built) return;
  const Feature pf = *parent_feature(f);
  const Groups& g = groups_[static_cast<int>(f)];
  const Groups& pg = groups_[static_cast<int>(pf)];
  n.parent.assign(g.count.size(), -1);
  for (auto row : split_rows_) {
    const auto v = static_cast<std::size_t>(table_.attribute(f, row));
    const std::int32_t p = table_.attribute(pf, row);
    if (n.parent[v] >= 0 && n.parent[v] != p) {
      throw InputError("stimulus " + std::to_string(row) + ": " + feature_name(f) + " " +
                       std::to_string(v) + " appears under " + feature_name(pf) + " " +
                       std::to_string(n.parent[v]) + " and " + std::to_string(p) +
                       "; a value must belong to one " + feature_name(pf) +
                       " for hard non-matches");
    }
    n.parent[v] = p;
  }
  // Parent ranges come from the parent's own grouping; inside a parent's
  // range the values are laid out in ascending order, each value's rows in
  // the order of g.order (ascending row), so the layout is deterministic.
  n.pbegin = pg.begin;
  n.pcount = pg.count;
  n.vbegin.assign(g.count.size(), 0);
  std::vector<std::int64_t> next = n.pbegin;
  for (std::size_t v = 0; v < g.count.size(); ++v) {
    if (g.count[v] == 0) continue;
    auto& cursor = next[static_cast<std::size_t>(n.parent[v])];
    n.vbegin[v] = cursor;
    cursor += g.count[v];
  }
  n.order.resize(split_rows_.size());
  for (std::size_t v = 0; v < g.count.size(); ++v) {
    std::copy_n(g.order.begin() + g.begin[v], g.count[v], n.order.begin() + n.vbegin[v]);
  }
  n.built = true;
}

double Sampler::hard_coverage(std::size_t task) const {
  const Task& t = tasks_.at(task);
  if (!parent_feature(t.feature)) return std::numeric_limits<double>::quiet_NaN();
  const Groups& g = groups_[static_cast<int>(t.feature)];
  const Nested& n = nested_[static_cast<int>(t.feature)];
  std::int64_t covered = 0;
  for (std::size_t v = 0; v < g.count.size(); ++v) {
    if (g.count[v] == 0) continue;
    if (n.pcount[static_cast<std::size_t>(n.parent[v])] > g.count[v]) covered += g.count[v];
  }
  return static_cast<double>(covered) / static_cast<double>(split_rows_.size());
}

void Sampler::fill_trial(std::uint64_t key, std::size_t task, std::int32_t* stimuli,
                         std::int32_t* targets) const {
  Stream rng(key);
  const Task& t = tasks_[task];
  const Groups& g = groups_[static_cast<int>(t.feature)];
  const Nested& nested = nested_[static_cast<int>(t.feature)];
  // No coin at all for tasks without a parent or at share 0: their streams
  // stay those of a sampler without hard non-matches.
  const bool hard = nested.built && hard_nonmatch_ > 0.0;
  const auto rows = static_cast<std::uint64_t>(split_rows_.size());
  for (std::int32_t f = 0; f < length_; ++f) {
    if (f < t.n) {
      stimuli[f] = split_rows_[rng.below(rows)];
      targets[f] = kNoAction;
      continue;
    }
    const std::int32_t wanted = table_.attribute(t.feature, stimuli[f - t.n]);
    const auto v = static_cast<std::size_t>(wanted);
    const auto same = static_cast<std::uint64_t>(g.count[v]);
    if (rng.chance(match_prob_)) {
      stimuli[f] = g.order[static_cast<std::size_t>(g.begin[v]) + rng.below(same)];
    } else if (hard && rng.chance(hard_nonmatch_) &&
               nested.pcount[static_cast<std::size_t>(nested.parent[v])] > g.count[v]) {
      // Same parent, other value: an index into the parent's range without
      // the value's own rows. (Where the parent holds no other value, the
      // coin is spent and the frame falls through to an ordinary non-match.)
      const auto p = static_cast<std::size_t>(nested.parent[v]);
      std::uint64_t k = rng.below(static_cast<std::uint64_t>(nested.pcount[p]) - same);
      if (k >= static_cast<std::uint64_t>(nested.vbegin[v] - nested.pbegin[p])) k += same;
      stimuli[f] = nested.order[static_cast<std::size_t>(nested.pbegin[p]) + k];
    } else {
      // An index into "every row but the group": skip over the group's range.
      std::uint64_t k = rng.below(rows - same);
      if (k >= static_cast<std::uint64_t>(g.begin[v])) k += same;
      stimuli[f] = g.order[static_cast<std::size_t>(k)];
    }
    // From the stimuli, not from the coin: a target can never disagree with them.
    targets[f] = table_.attribute(t.feature, stimuli[f]) == wanted ? kMatch : kNonMatch;
  }
}

std::vector<std::uint8_t> hard_nonmatch_mask(const StimulusTable& table,
                                             const std::vector<Task>& tasks, const Batch& b) {
  std::vector<std::uint8_t> mask(b.stimuli.size(), 0);
  const auto length = static_cast<std::size_t>(b.length);
  for (std::int64_t i = 0; i < b.trials; ++i) {
    const Task& t = tasks.at(static_cast<std::size_t>(b.task[static_cast<std::size_t>(i)]));
    const auto parent = parent_feature(t.feature);
    if (!parent) continue;
    const std::int32_t* stim = &b.stimuli[static_cast<std::size_t>(i) * length];
    for (std::int32_t f = t.n; f < b.length; ++f) {
      mask[static_cast<std::size_t>(i) * length + static_cast<std::size_t>(f)] =
          table.attribute(t.feature, stim[f]) != table.attribute(t.feature, stim[f - t.n]) &&
          table.attribute(*parent, stim[f]) == table.attribute(*parent, stim[f - t.n]);
    }
  }
  return mask;
}

namespace {
Batch empty_batch(std::int64_t trials, std::int32_t length) {
  if (trials < 0) throw Error("nback::Sampler: negative trial count " + std::to_string(trials));
  Batch b;
  b.trials = trials;
  b.length = length;
  b.stimuli.resize(static_cast<std::size_t>(trials * length));
  b.targets.resize(static_cast<std::size_t>(trials * length));
  b.task.resize(static_cast<std::size_t>(trials));
  return b;
}
}  // namespace

Batch Sampler::batch(std::uint64_t seed, std::uint64_t batch_index, std::int64_t trials) const {
  Batch b = empty_batch(trials, length_);
  const std::uint64_t base = hash_combine(
      hash_combine(hash_combine(mix64(seed), kBatchTag), static_cast<std::uint64_t>(split_)),
      batch_index);
  const std::uint64_t k = tasks_.size();
  for (std::int64_t i = 0; i < trials; ++i) {
    const auto task = static_cast<std::size_t>((static_cast<std::uint64_t>(i) + batch_index) % k);
    const auto row = static_cast<std::size_t>(i);
    b.task[row] = static_cast<std::int32_t>(task);
    fill_trial(hash_combine(base, static_cast<std::uint64_t>(i)), task, &b.stimuli[row * length_],
               &b.targets[row * length_]);
  }
  return b;
}

Batch Sampler::per_task(std::uint64_t seed, std::int64_t per_task) const {
  Batch b = empty_batch(per_task * static_cast<std::int64_t>(tasks_.size()), length_);
  const std::uint64_t base =
      hash_combine(hash_combine(mix64(seed), kPerTaskTag), static_cast<std::uint64_t>(split_));
  for (std::size_t task = 0; task < tasks_.size(); ++task) {
    // Keyed by the task's name, not its position: "loc-1" gets the same
    // evaluation trials in every task list, so single- and multi-task
    // models are compared on identical trials.
    const std::uint64_t task_base = hash_combine(base, hash_string(tasks_[task].name));
    for (std::int64_t j = 0; j < per_task; ++j) {
      const auto row = static_cast<std::size_t>(static_cast<std::int64_t>(task) * per_task + j);
      b.task[row] = static_cast<std::int32_t>(task);
      fill_trial(hash_combine(task_base, static_cast<std::uint64_t>(j)), task,
                 &b.stimuli[row * length_], &b.targets[row * length_]);
    }
  }
  return b;
}

}  // namespace wmgeom::nback
