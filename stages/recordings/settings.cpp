#include "recordings/settings.h"

#include "core/choices.h"

namespace wmgeom::recordings {

Settings Settings::from_params(const Params& p) {
  static constexpr Choice<imports::Format> kFormats[] = {{imports::Format::kAuto, "auto"},
                                                         {imports::Format::kNpy, "npy"},
                                                         {imports::Format::kHdf5, "hdf5"}};
  static constexpr Choice<Comparison> kComparisons[] = {
      {Comparison::kSpearman, "spearman"}, {Comparison::kWhitenedCosine, "whitened_cosine"}};
  static constexpr Choice<By> kBy[] = {
      {By::kModel, "model"}, {By::kRnn, "rnn"}, {By::kGroup, "group"}};
  Settings s;
  s.path = p.s("path");
  s.format = parse_choice(kFormats, p.s("format"), "recordings.format");
  s.comparison = parse_choice(kComparisons, p.s("comparison"), "recordings.comparison");
  s.by = parse_choice(kBy, p.s("by"), "recordings.by");
  s.frames = p.ints("frames");
  s.tasks = p.strings("tasks");
  s.bootstraps = p.i("bootstraps");
  s.permutations = p.i("permutations");
  s.alpha = p.f("alpha");
  s.seed = static_cast<std::uint64_t>(p.i("seed"));
  return s;
}

}  // namespace wmgeom::recordings
