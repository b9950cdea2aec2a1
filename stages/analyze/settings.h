// The analyze stage's parameters as typed values (stages/analyze/schema.toml
// is the single source of names, types, ranges and defaults: the fields of
// AnalyzeSettings have no defaults of their own and are set only by
// from_params). No LibTorch here: analyze.h, which the executable's stage
// registration includes, includes this. The analyses' working settings
// (analyze::Settings, analyses.h) are made from these and bound to the
// state sets at run time (frames, classes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/choices.h"
#include "core/params.h"

namespace wmgeom {
namespace analyze {

// The schema's string choices (cv, space, ortho_space) as enums, one table each.
enum class Cv { kGrouped, kViews };
enum class Space { kHidden, kCell };
inline constexpr Choice<Cv> kCvs[] = {{Cv::kGrouped, "grouped"}, {Cv::kViews, "views"}};
inline constexpr Choice<Space> kSpaces[] = {{Space::kHidden, "hidden"}, {Space::kCell, "cell"}};
// Orthogonality: how each space is prepared before the PCA whose scores the
// normals are fitted on (SCIENCE.md 4.3; stages/analyze/README.md).
//   standardize: each unit z-scored over the fitted trials, then PCA (the
//                paper's pipeline; invariant to per-unit and global scales,
//                not to rotations of the units);
//   raw:         PCA of the states as they are (invariant to rotations, not
//                to scale: C acts on the scores' scale);
//   whitened:    raw PCA, each PC standardised by the decoder and the normals
//                mapped back by w / sd (version 5; measures the spectrum, not
//                the class geometry: kept for comparison only).
enum class OrthoPrep { kStandardize, kRaw, kWhitened };
inline constexpr Choice<OrthoPrep> kOrthoPreps[] = {{OrthoPrep::kStandardize, "standardize"},
                                                    {OrthoPrep::kRaw, "raw"},
                                                    {OrthoPrep::kWhitened, "whitened"}};

// verdicts = "required" (true) or "when_testable" (false); `key` names the
// parameter in the error for another value.
bool verdicts_required(const std::string& value, const std::string& key);

// Where two analyze instances' results could not be merged by one findings
// stage (its plan-time check, FindingsStage::check_inputs_of): the
// parameters, in schema name order, that differ between `a` and `b` and
// that the numbers of an analysis both run depend on, each as "name (A vs
// B)". Compared: every parameter an analysis records in its result (which
// the findings stage compares again at run time, orthogonality's included
// for every analysis), and seed, max_iter and device, which change every
// decoder. The parameters of one analysis alone (random_directions:
// orthogonality; causal_*: causal; rsa_permutations: rsa; bootstrap:
// dimensionality) only where both run it. Never: analyses, threads, and
// alpha, min_seeds and verdicts (the findings stage decides with its own).
std::vector<std::string> unlike_parameters(const Params& a, const Params& b);

}  // namespace analyze

struct AnalyzeSettings {
  std::vector<std::string> analyses;  // as listed
  std::vector<std::string> features;
  std::vector<std::int64_t> frames;  // as listed; empty: every frame of the trial
  analyze::Space space{};
  std::string decoder;  // decoders::kModels' name ("svm", "logistic")
  double c{};
  int folds{};
  analyze::Cv cv{};
  int permutations{};
  int max_iter{};
  int null_shuffles{};
  int image_bootstraps{};
  int random_directions{};
  int pca_dims{};
  analyze::OrthoPrep ortho_space{};
  std::vector<double> causal_sds;
  double causal_dose{};
  int causal_frame{};
  int rsa_permutations{};
  int bootstrap{};
  double alpha{};
  int min_seeds{};
  bool verdicts_required{};  // verdicts = "required"
  std::uint64_t seed{};
  std::string device;
  int threads{};  // 0: the run's width for this instance

  static AnalyzeSettings from_params(const Params& p);
  bool operator==(const AnalyzeSettings&) const = default;
};

}  // namespace wmgeom
