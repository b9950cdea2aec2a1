#include "analyze/settings.h"

#include <algorithm>
#include <map>
#include <set>

namespace wmgeom {

namespace analyze {

bool verdicts_required(const std::string& value, const std::string& key) {
  enum class Verdicts { kWhenTestable, kRequired };
  static constexpr Choice<Verdicts> kVerdicts[] = {{Verdicts::kWhenTestable, "when_testable"},
                                                   {Verdicts::kRequired, "required"}};
  return parse_choice(kVerdicts, value, key) == Verdicts::kRequired;
}

std::vector<std::string> unlike_parameters(const Params& a, const Params& b) {
  // The parameters of one analysis alone, by the analysis that reads them.
  static const std::map<std::string, std::string> kOneAnalysis = {
      {"random_directions", "orthogonality"},
      {"causal_sds", "causal"},
      {"causal_dose", "causal"},
      {"causal_frame", "causal"},
      {"rsa_permutations", "rsa"},
      {"bootstrap", "dimensionality"}};
  static const std::set<std::string> kNever = {"analyses", "threads", "alpha", "min_seeds",
                                               "verdicts"};
  auto runs = [](const Params& p, const std::string& analysis) {
    const auto& list = p.strings("analyses");
    return std::find(list.begin(), list.end(), analysis) != list.end();
  };
  std::vector<std::string> unlike;
  for (const auto& [name, value] : a.all()) {
    if (kNever.count(name) || !b.has(name) || b.get(name) == value) continue;
    if (auto it = kOneAnalysis.find(name);
        it != kOneAnalysis.end() && !(runs(a, it->second) && runs(b, it->second)))
      continue;
    unlike.push_back(name + " (" + format_value(value) + " vs " + format_value(b.get(name)) + ")");
  }
  return unlike;
}

}  // namespace analyze

AnalyzeSettings AnalyzeSettings::from_params(const Params& p) {
  AnalyzeSettings s;
  s.analyses = p.strings("analyses");
  s.features = p.strings("features");
  s.frames = p.ints("frames");
  s.space = parse_choice(analyze::kSpaces, p.s("space"), "analyze.space");
  s.decoder = p.s("decoder");
  s.c = p.f("c");
  s.folds = static_cast<int>(p.i("folds"));
  s.cv = parse_choice(analyze::kCvs, p.s("cv"), "analyze.cv");
  s.permutations = static_cast<int>(p.i("permutations"));
  s.max_iter = static_cast<int>(p.i("max_iter"));
  s.null_shuffles = static_cast<int>(p.i("null_shuffles"));
  s.image_bootstraps = static_cast<int>(p.i("image_bootstraps"));
  s.random_directions = static_cast<int>(p.i("random_directions"));
  s.pca_dims = static_cast<int>(p.i("pca_dims"));
  s.ortho_space = parse_choice(analyze::kOrthoPreps, p.s("ortho_space"), "analyze.ortho_space");
  s.causal_sds = p.floats("causal_sds");
  s.causal_dose = p.f("causal_dose");
  s.causal_frame = static_cast<int>(p.i("causal_frame"));
  s.rsa_permutations = static_cast<int>(p.i("rsa_permutations"));
  s.bootstrap = static_cast<int>(p.i("bootstrap"));
  s.alpha = p.f("alpha");
  s.min_seeds = static_cast<int>(p.i("min_seeds"));
  s.verdicts_required = analyze::verdicts_required(p.s("verdicts"), "analyze.verdicts");
  s.seed = static_cast<std::uint64_t>(p.i("seed"));
  s.device = p.s("device");
  s.threads = static_cast<int>(p.i("threads"));
  return s;
}

}  // namespace wmgeom
