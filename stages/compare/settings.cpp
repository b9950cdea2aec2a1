#include "compare/settings.h"

#include "core/choices.h"

namespace wmgeom::compare {

Settings Settings::from_params(const Params& p) {
  static constexpr Choice<Space> kSpaces[] = {{Space::kImageMeans, "image_means"},
                                              {Space::kStates, "states"}};
  static constexpr Choice<Metric> kMetrics[] = {{Metric::kProcrustes, "procrustes"},
                                                {Metric::kCka, "cka"}};
  static constexpr Choice<By> kBy[] = {{By::kRnn, "rnn"}, {By::kGroup, "group"}};
  Settings s;
  s.space = parse_choice(kSpaces, p.s("space"), "compare.space");
  s.metric = parse_choice(kMetrics, p.s("metric"), "compare.metric");
  s.by = parse_choice(kBy, p.s("by"), "compare.by");
  s.frames = p.ints("frames");
  s.permutations = p.i("permutations");
  s.alpha = p.f("alpha");
  s.seed = static_cast<std::uint64_t>(p.i("seed"));
  return s;
}

}  // namespace wmgeom::compare
