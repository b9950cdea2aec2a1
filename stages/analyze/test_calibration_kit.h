// What the calibration tests of the findings share (test_calibration.cpp,
// test_calibration_geometry.cpp, test_calibration_causal.cpp): one analysis
// of planted state sets, the scenario a test runs (its name, kind, effect
// scale and seeds, as stages/analyze/calibrate.py reads them), and the count
// of verdicts over draws with its Clopper-Pearson interval.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "analyze/analyses.h"
#include "analyze/analyze.h"
#include "analyze/calibration.h"
#include "analyze/synthetic.h"
#include "core/artifacts.h"
#include "decoders/linear.h"
#include "nets/wm_model.h"
#include "stage_kit.h"
#include "testing.h"

namespace wmgeom::testing {

inline constexpr int kDraws = 40;

// How many of `draws` draws a test held (or a sub-test passed).
struct Count {
  int held = 0;
  int draws = 0;
};
// The bounds, for the draws actually run: at most 5% + 2 standard errors
// of a proportion at 5% (4 of 40, 9 of 100, 63 of 1,000: more draws, a
// tighter bound, rather than 4 of 40 rescaled, which let 11 of 100 pass),
// and power at least 0.9 (36 of 40, 90 of 100).
inline int max_false_positives(int draws) {
  return static_cast<int>(std::floor(0.05 * draws + 2.0 * std::sqrt(0.05 * 0.95 * draws)));
}
inline int min_true_positives(int draws) { return static_cast<int>(std::ceil(0.9 * draws - 1e-9)); }
inline ::testing::AssertionResult within_false_positive_bound(const Count& c) {
  if (c.draws > 0 && c.held <= max_false_positives(c.draws)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << c.held << " of " << c.draws << " draws held, above " << max_false_positives(c.draws)
         << " (5% + 2 SE of that many draws)";
}
inline ::testing::AssertionResult reaches_power(const Count& c) {
  if (c.draws > 0 && c.held >= min_true_positives(c.draws)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << c.held << " of " << c.draws << " draws held, below "
                                       << min_true_positives(c.draws) << " (power 0.9)";
}

inline const std::string kUpstream =
    "[stage.img]\ntype = \"render\"\n[stage.cnn]\ntype = \"features\"\nstimuli = \"img\"\n"
    "[stage.tasks]\ntype = \"tasks\"\nstimuli = \"img\"\n"
    "[stage.net]\ntype = \"train\"\nfeatures = \"cnn\"\ntasks = \"tasks\"\n"
    "[stage.up]\ntype = \"capture\"\nmodel = \"net\"\ntasks = \"tasks\"\nfeatures = \"cnn\"\n";

inline AnalysisResult run_analysis(const std::vector<StateSet>& sets, const std::string& body,
                                   std::uint64_t seed) {
  AnalyzeStage stage;
  Params p =
      stage_params(real_registry(), "analyze",
                   body + "\nseed = " + std::to_string(seed) + "\nstates = [\"up\"]\n" + kUpstream);
  StageInputs in;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    in.add("states", InputItem{"m" + std::to_string(i),
                               {},
                               std::make_shared<const Artifact>(sets[i].to_artifact())});
  }
  TempDir dir;
  RunContext ctx("analyze", dir / "work", 1);
  return AnalysisResult::from_artifact(stage.run(p, in, ctx));
}

// The effect scale of every calibration scenario (env
// WMGEOM_CALIBRATION_SCALE, default 1): each power scenario's planted effect
// is multiplied by it (0: the null with the same structure), so that
// stages/analyze/calibrate.py traces power curves at 0, 0.25, 0.5, 1 and 2
// times a realistic effect (sized from the study's measured effects; each
// generator says from which). Null and adversarial-null scenarios ignore it.
inline double effect_scale() {
  const char* env = std::getenv("WMGEOM_CALIBRATION_SCALE");
  return env != nullptr && *env != '\0' ? std::atof(env) : 1.0;
}

// Replicates per configuration in the scenarios built on the study's design
// (pipelines/study.toml: 6 seeds per configuration since issue 20, chosen
// from these scenarios' power; env WMGEOM_CALIBRATION_SEEDS overrides it, so
// that a user can ask how power grows with seeds).
inline constexpr int kStudySeeds = 6;
inline int calibration_seeds(int default_seeds = kStudySeeds) {
  const char* env = std::getenv("WMGEOM_CALIBRATION_SEEDS");
  return env != nullptr && std::atoi(env) > 1 ? std::atoi(env) : default_seeds;
}

inline int calibration_draws(int default_draws = kDraws) {
  const char* env = std::getenv("WMGEOM_CALIBRATION_DRAWS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : default_draws;
}

// A calibration scenario as calibrate.py reads it: its name (the test's),
// its kind (power, null, adversarial-null), the effect scale it ran at (0
// for the nulls) and the seeds per replicate group of its design.
struct Scenario {
  std::string name;
  std::string kind;
  double scale = 1.0;
  int seeds = kStudySeeds;
};

// The line calibrate.py parses (one per scenario run): "[ calibration ]
// finding F scenario NAME kind KIND scale S seeds R: held in k of n draws (rate r,
// Clopper-Pearson 95% lo-hi); <verdict counts>". `what` says what is counted
// ("held": the finding's verdict; "passed": one sub-test).
inline void print_calibration(const std::string& finding, const Scenario& sc, int held, int draws,
                              const std::map<std::string, int>& verdicts,
                              const std::string& what = "held") {
  const auto [lo, hi] = analyze::stats::clopper_pearson(held, draws);
  std::cout << "[ calibration ] finding " << finding;
  if (!sc.name.empty()) {
    std::cout << " scenario " << sc.name << " kind " << sc.kind << " scale " << sc.scale
              << " seeds " << sc.seeds;
  }
  std::cout << ": " << what << " in " << held << " of " << draws << " draws (rate " << std::fixed
            << std::setprecision(3) << double(held) / draws << ", Clopper-Pearson 95% " << lo << "-"
            << hi << ");";
  for (const auto& [verdict, count] : verdicts) std::cout << " " << verdict << " " << count;
  std::cout << std::defaultfloat << "\n";
}

// How many of kDraws draws give verdict "held" for `finding`. With
// WMGEOM_CALIBRATION_DRAWS=N it runs N draws instead (the README's
// calibration table: 100) and returns the count scaled to kDraws, so the
// bounds below read the same; the raw count and its Clopper-Pearson interval
// are printed either way, with the scenario's name, kind and scale when given.
// `default_draws`: the draws without WMGEOM_CALIBRATION_DRAWS (kDraws, or
// the 100 for a null whose rate is near 5%: 40 draws cannot tell 5%
// from 12%).
inline Count held_count(const std::string& finding, const Scenario& scenario,
                        const std::string& body,
                        const std::function<std::vector<StateSet>(std::uint64_t)>& draw,
                        int default_draws = kDraws) {
  int held = 0;
  std::map<std::string, int> verdicts;
  std::vector<double> effects;
  std::map<std::string, std::vector<double>> test_effects, test_statistics;
  const int draws = calibration_draws(default_draws);
  for (int d = 0; d < draws; ++d) {
    const std::uint64_t seed = 1000 + static_cast<std::uint64_t>(d) * 7919;
    AnalysisResult r = run_analysis(draw(seed), body, seed);
    const auto& f = r.findings.at(finding);
    EXPECT_NE(f.at("verdict"), "not testable") << f.dump(2);
    // Every decided verdict carries its declared test, n, CI and p (SCIENCE.md section 6).
    EXPECT_FALSE(f.at("test").get<std::string>().empty()) << f.dump(2);
    // n: one sample's size, or each group's for a two-sample test.
    const auto& n = f.at("n");
    EXPECT_TRUE(
        (n.is_number() && n.get<double>() >= 2) ||
        (n.is_array() && !n.empty() &&
         std::all_of(n.begin(), n.end(),
                     [](const auto& k) { return k.is_number() && k.template get<double>() >= 2; })))
        << f.dump(2);
    EXPECT_TRUE(f.at("ci").is_array() && f.at("ci").size() == 2) << f.dump(2);
    EXPECT_TRUE(f.at("p").is_number() && f.at("p").get<double>() >= 0 &&
                f.at("p").get<double>() <= 1)
        << f.dump(2);
    if (d == 0 && std::getenv("WMGEOM_TEST_VERBOSE") != nullptr) {
      std::cerr << f.dump(2) << "\n";
      for (const auto& [name, table] : r.tables) {
        if (name != "orthogonality_summary") continue;
        for (const auto& [column, values] : table.numeric) {
          std::cerr << column << ":";
          for (double v : values) std::cerr << " " << v;
          std::cerr << "\n";
        }
      }
    }
    held += f.at("verdict") == "held";
    verdicts[f.at("verdict").get<std::string>()] += 1;
    // WMGEOM_CALIBRATION_EFFECTS: the decisive test's effect per draw and
    // their mean (how a generator's planted effect compares with the study's).
    if (std::getenv("WMGEOM_CALIBRATION_EFFECTS") != nullptr && f.at("effect").is_number()) {
      effects.push_back(f.at("effect").get<double>());
      std::cerr << "draw " << d << ": effect " << effects.back() << "\n";
      for (const auto& t : f.at("tests")) {
        const std::string name =
            t.at("name").get<std::string>() + " [" + t.value("test", std::string("?")) + "]";
        if (t.at("effect").is_number()) test_effects[name].push_back(t.at("effect").get<double>());
        if (t.contains("statistic") && t.at("statistic").is_number())
          test_statistics[name].push_back(t.at("statistic").get<double>());
      }
    }
    if (std::getenv("WMGEOM_TEST_FAILS") != nullptr && f.at("verdict") != "held") {
      for (const auto& t : f.at("tests")) {
        if (!t.at("passed").get<bool>())
          std::cerr << t.at("name") << " effect " << t.at("effect") << " p " << t.at("p") << "\n";
      }
      if (f.contains("reason")) std::cerr << f.at("reason") << "\n";
    }
  }
  // The observed rate with its exact 95% interval, for the README's
  // calibration table (ctest -V or the test's own output shows it).
  print_calibration(finding, scenario, held, draws, verdicts);
  if (!effects.empty()) {
    std::cerr << "mean decisive effect " << analyze::stats::mean(effects) << " (SD over draws "
              << analyze::stats::sd(effects) << ", " << effects.size() << " draws)\n";
    for (const auto& [name, v] : test_effects) {
      std::cerr << "  mean effect of test \"" << name << "\": " << analyze::stats::mean(v)
                << " (SD " << analyze::stats::sd(v) << ")";
      // The test statistic's median over draws: how a planted effect
      // compares with the study's in units of its own spread (the study's
      // findings.json gives each test's statistic).
      if (auto it = test_statistics.find(name); it != test_statistics.end()) {
        std::vector<double> t = it->second;
        std::sort(t.begin(), t.end());
        std::cerr << ", median statistic " << t[t.size() / 2];
      }
      std::cerr << "\n";
    }
  }
  return {held, draws};
}

// The scenario of the running test: its gtest name, `kind`, the scale
// (effect_scale() for power scenarios, 0 for the nulls) and `seeds`, the
// replicates per group its generator builds (the label calibration.json and
// each finding's trust sentence carry: pass the generator's own count).
inline Scenario this_scenario(const std::string& kind, int seeds = calibration_seeds()) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return Scenario{info != nullptr ? info->name() : "unnamed", kind,
                  kind == "power" ? effect_scale() : 0.0, seeds};
}

// Power is asserted at the realistic effect (scale 1) and above; below it
// the count is a point of the power curve (printed, tabled), not a bound.
inline bool power_asserted() { return effect_scale() >= 1.0; }

inline torch::Tensor noise(const synth::Trials& t, int units) {
  return torch::randn({t.m, t.frames, units}, torch::kFloat64);
}

// One configuration's replicates on the real N-back sampler's trials (loc-1
// and loc-2, `per_task` trials each, `frames` frames, 4 views): `seeds`
// GRU-labelled models, model k's trials drawn with seed * 31 + k, its states
// [m, frames, units] from `states` (drawing from torch's generator, seeded
// with `seed` once, before the first model).
inline std::vector<StateSet> sampled_replicates(
    std::uint64_t seed, int seeds, int per_task, int frames,
    const std::function<torch::Tensor(const synth::Trials&)>& states) {
  std::vector<StateSet> out;
  torch::manual_seed(static_cast<std::int64_t>(seed));
  for (int k = 0; k < seeds; ++k) {
    synth::Trials t = synth::sampled_trials({"loc-1", "loc-2"}, per_task, frames, 4,
                                            seed * 31 + static_cast<std::uint64_t>(k));
    torch::Tensor h = states(t);
    out.push_back(synth::stateset(t, h, "gru", k));
  }
  return out;
}

}  // namespace wmgeom::testing
