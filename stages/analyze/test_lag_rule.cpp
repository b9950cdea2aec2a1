// The lag rule (issue 20 item 3 and its leftovers): labels N frames apart
// agree about half the time in an N-back task, so a decoder scored at a
// frame a positive multiple of N from the stimulus it decodes is scored on
// the trials whose labels differ, over the classes other than the one shown
// there (hard non-matches' kin included), in every table; on states of the
// real N-back sampler.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <set>

#include "analyze/analyses.h"
#include "analyze/analyze.h"
#include "analyze/procrustes.h"
#include "analyze/synthetic.h"
#include "analyze/table_schema.h"
#include "analyze/test_analyze_fixture.h"
#include "config/diagnostics.h"
#include "core/artifacts.h"
#include "core/error.h"
#include "core/npy.h"
#include "graph/fit.h"
#include "graph/plan.h"
#include "graph/registry.h"
#include "nets/torch_util.h"
#include "stage_kit.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

// Whether a row scores its decoder at a frame whose lag from the decoded
// stimulus is a positive multiple of the task's N.
bool at_lag_kn(const Table& t, std::size_t i, const char* frame_column) {
  const int lag = static_cast<int>(t.numeric.at(frame_column)[i] - t.numeric.at("stim_frame")[i]);
  return lag > 0 && lag % n_of(t.text.at("task")[i]) == 0;
}

// The frames the lag rule reads for a fit at train frame t scored at u
// (README "Correlated labels at lags kN"): u, and u - (t - s) (the stimulus
// at the same elapsed time as s at t), those at a lag from s that is a
// positive multiple of the task's N (either side of s).
std::set<int> read_frames(const Table& tb, std::size_t i, const char* train, const char* test) {
  const int s = static_cast<int>(tb.numeric.at("stim_frame")[i]),
            t = static_cast<int>(tb.numeric.at(train)[i]),
            u = static_cast<int>(tb.numeric.at(test)[i]), n = n_of(tb.text.at("task")[i]);
  std::set<int> out;
  for (int r : {u, u - (t - s)}) {
    if (r >= 0 && r != s && std::abs(r - s) % n == 0) out.insert(r);
  }
  return out;
}

// States with a random code per image shown now and nothing per feature,
// on the real sampler's trials: at u - s = kN the label at u agrees with the
// label at s about half the time, so a decoder that reads the image at u
// (memorised at s, or learnt at u) scored on the label at s was above its
// permutation null (labels permuted by the image at s: no such agreement).
// Scored on trials whose labels differ, over the classes other than the
// label at u, every such cross-temporal and Procrustes row is at chance; a
// 2-class feature has no score there. Positive control: a memory code of the
// stimulus one frame back (in units of its own) is still read at lag 1.
TEST(Analyze, LagRuleScoresDifferTrialsAtLagsThatAreMultiplesOfN) {
  const std::string body =
      "analyses = [\"cross_temporal\", \"procrustes\"]\nfeatures = [\"loc\", \"cat\"]\n"
      "frames = [0, 1]\nfolds = 4\npermutations = 10";
  double ct_leak = 0, pr_leak = 0;
  const int draws = 2;
  for (int d = 0; d < draws; ++d) {
    Analysis r = analyze(
        {image_coded({"loc-1", "loc-2"}, 256, 4, 130 + static_cast<std::uint64_t>(d), 3.0, 0.0)},
        body);
    const Table& ct = r.result.tables.at("cross_temporal");
    const Table& pr = r.result.tables.at("procrustes");
    auto feature_is = [](const Table& t, std::size_t i, const char* f) {
      return t.text.at("feature")[i] == f;
    };
    ct_leak += above_chance(ct,
                            [&](std::size_t i) {
                              // (rows read back at s from a lag kN have no score)
                              return feature_is(ct, i, "loc") &&
                                     !read_frames(ct, i, "train_frame", "test_frame").empty() &&
                                     std::isfinite(ct.numeric.at("accuracy")[i]);
                            }) /
               draws;
    pr_leak += above_chance(pr,
                            [&](std::size_t i) {
                              return feature_is(pr, i, "loc") &&
                                     pr.text.at("test")[i] == "fitted" && at_lag_kn(pr, i, "frame");
                            }) /
               draws;
    for (const Table* t : {&ct, &pr}) {
      const char* train = t == &ct ? "train_frame" : "frame";
      const char* frame = t == &ct ? "test_frame" : "frame";
      for (std::size_t i = 0; i < t->rows(); ++i) {
        const auto read = read_frames(*t, i, train, frame);
        const bool lag = !read.empty(), two = feature_is(*t, i, "cat");
        // Read back at s from a fit at a lag kN: no score (version 14).
        const bool back_at_s = t == &ct &&
                               t->numeric.at("test_frame")[i] == t->numeric.at("stim_frame")[i] &&
                               at_lag_kn(*t, i, "train_frame");
        EXPECT_EQ(scoring_of(*t, i), back_at_s ? "none" : !lag ? "all" : two ? "none" : "differ");
        if ((lag && two) || back_at_s) {
          EXPECT_TRUE(std::isnan(t->numeric.at("accuracy")[i]));
          EXPECT_EQ(t->numeric.at("n_total")[i], 0.0);
        } else if (lag && read.size() == 1) {
          EXPECT_NEAR(t->numeric.at("chance")[i], 1.0 / 3.0, 1e-12);
        } else if (lag) {
          // Two frames read: 1/3 where their labels agree, 1/2 where not.
          EXPECT_GT(t->numeric.at("chance")[i], 1.0 / 3.0);
          EXPECT_LT(t->numeric.at("chance")[i], 0.5);
        }
      }
    }
  }
  EXPECT_NEAR(ct_leak, 0.0, 0.05) << "cross-temporal rows at lags kN read the image shown there";
  EXPECT_NEAR(pr_leak, 0.0, 0.05) << "Procrustes targets at lags kN read the image shown there";

  // Positive control: the location shown one frame back, in a memory code.
  synth::Trials t = synth::sampled_trials({"loc-1", "loc-2"}, 256, 4, 4, 140);
  const int units = 32;
  torch::Tensor images = torch::randn({t.images(), units}, torch::kFloat64) * 3.0;
  torch::Tensor mem = torch::zeros({synth::kLocations, units}, torch::kFloat64);
  mem.narrow(1, units / 2, units / 2).copy_(synth::code(synth::kLocations, units / 2, 5.0));
  torch::Tensor h = torch::randn({t.m, t.frames, units}, torch::kFloat64) * 0.3;
  for (int f = 0; f < t.frames; ++f) {
    h.select(1, f) += images.index_select(0, t.stimulus.select(1, f));
    if (f > 0) h.select(1, f) += synth::lookup(mem, t.loc, f - 1);
  }
  Analysis r = analyze({synth::stateset(t, h, "gru", 140)}, body);
  const Table& ct = r.result.tables.at("cross_temporal");
  auto one_back = [&](std::size_t i) {
    return ct.text.at("task")[i] == "loc-1" && ct.text.at("feature")[i] == "loc" &&
           ct.numeric.at("test_frame")[i] == ct.numeric.at("stim_frame")[i] + 1 &&
           ct.numeric.at("train_frame")[i] == ct.numeric.at("test_frame")[i];
  };
  EXPECT_GT(above_chance(ct, one_back), 0.45) << "a memory of s at s + 1 is read on differ trials";
  const Table& pr = r.result.tables.at("procrustes");
  EXPECT_GT(above_chance(pr,
                         [&](std::size_t i) {
                           return pr.text.at("task")[i] == "loc-1" &&
                                  pr.text.at("feature")[i] == "loc" &&
                                  pr.text.at("test")[i] == "fitted" &&
                                  pr.numeric.at("frame")[i] == pr.numeric.at("stim_frame")[i] + 1;
                         }),
            0.45);
}

// ---- The lag rule in every table (issue 20 leftovers) ----

// The decoding table (t = u: finding 1's cells) follows the lag rule too: a
// decoder of s fitted at t can read the image shown at t, whose label
// agrees with the label at s about half the time when t - s is a multiple of
// N. A random code per image shown now and none per feature, on the real
// sampler's trials: those rows were scored on every held-out trial and were
// above their empirical chance; under the rule (`scoring` differ, or none
// for 2 categories) they are at chance, and every decoding row equals the
// cross-temporal row of the same fit at its own frame.
TEST(Analyze, DecodingTableFollowsTheLagRule) {
  const std::string body =
      "analyses = [\"decoding\", \"cross_temporal\"]\nfeatures = [\"loc\", \"cat\"]\n"
      "frames = [0, 1]\nfolds = 4\npermutations = 10";
  double lag = 0, other = 0;
  const int draws = 2;
  for (int d = 0; d < draws; ++d) {
    Analysis r = analyze(
        {image_coded({"loc-1", "loc-2"}, 256, 4, 170 + static_cast<std::uint64_t>(d), 3.0, 0.0)},
        body);
    const Table& dt = r.result.tables.at("decoding");
    const Table& ct = r.result.tables.at("cross_temporal");
    EXPECT_TRUE(dt.text.count("scoring"));
    auto loc = [&](std::size_t i) { return dt.text.at("feature")[i] == "loc"; };
    lag +=
        above_chance(dt, [&](std::size_t i) { return loc(i) && at_lag_kn(dt, i, "test_frame"); }) /
        draws;
    other += above_chance(dt,
                          [&](std::size_t i) {
                            return loc(i) && !at_lag_kn(dt, i, "test_frame") &&
                                   dt.numeric.at("test_frame")[i] > dt.numeric.at("stim_frame")[i];
                          }) /
             draws;
    std::map<std::tuple<std::string, std::string, double, double>, std::size_t> diagonal;
    for (std::size_t i = 0; i < ct.rows(); ++i) {
      if (ct.numeric.at("train_frame")[i] != ct.numeric.at("test_frame")[i]) continue;
      diagonal[{ct.text.at("task")[i], ct.text.at("feature")[i], ct.numeric.at("stim_frame")[i],
                ct.numeric.at("test_frame")[i]}] = i;
    }
    for (std::size_t i = 0; i < dt.rows(); ++i) {
      const bool at_lag = at_lag_kn(dt, i, "test_frame");
      EXPECT_EQ(scoring_of(dt, i), !at_lag ? "all" : loc(i) ? "differ" : "none");
      const std::size_t j =
          diagonal.at({dt.text.at("task")[i], dt.text.at("feature")[i],
                       dt.numeric.at("stim_frame")[i], dt.numeric.at("test_frame")[i]});
      EXPECT_EQ(scoring_of(ct, j), scoring_of(dt, i));
      for (const char* c : {"accuracy", "chance", "chance_empirical", "n_total"}) {
        const double a = dt.numeric.at(c)[i], b = ct.numeric.at(c)[j];
        EXPECT_TRUE((std::isnan(a) && std::isnan(b)) || a == b) << c << " " << a << " " << b;
      }
    }
  }
  std::cout << "[ measured ] decoding rows above empirical chance: at lags kN " << lag
            << ", other lags " << other << "\n";
  EXPECT_NEAR(lag, 0.0, 0.05) << "decoding rows at lags kN read the image shown there";
  EXPECT_NEAR(other, 0.0, 0.05);
}

// A fit at t may read stimulus s where the state at t holds it. In a code
// per elapsed time (elapsed_blocks: block e holds the stimulus shown e
// frames ago) the same block holds at u the stimulus at r = u - (t - s),
// whose label agrees with the label at s about half the time when r - s is
// a multiple of N. Cross-temporal rows read only the label at u before:
// with a random code per image (a fit memorised the training images at s
// and reads their labels when they are shown at r: the leak of item 2) and
// with a location code (read as it is) they were above their empirical
// chance. The rule now reads r too, and those rows are at chance, as the
// planted truth says (the code of s moved). Rows with no frame read at a
// lag kN (u > s) are the image code's reference, although most images
// there were training images of the fold: a memorised image gives its own
// label, independent of the label at s, so the leak rule drops no trial in
// cross-temporal rows (README). Positive control: a code of s in units of
// its own at every later frame (a slot) is read at every u.
TEST(Analyze, LagRuleReadsTheStimulusAtTheSameElapsedTime) {
  const std::string body =
      "analyses = [\"cross_temporal\"]\nfeatures = [\"loc\"]\nframes = [0, 1]\nfolds = 4\n"
      "permutations = 10";
  auto same_elapsed = [](const Table& ct, std::size_t i) {
    const int s = static_cast<int>(ct.numeric.at("stim_frame")[i]),
              t = static_cast<int>(ct.numeric.at("train_frame")[i]),
              u = static_cast<int>(ct.numeric.at("test_frame")[i]), n = n_of(ct.text.at("task")[i]);
    const int r = u - (t - s);
    // (Read back at u = s from a fit at a lag kN: no score since version 14,
    // RowsReadBackAtTheStimulusFrameFromAFitAtALagKNHaveNoScore.)
    const bool back_at_s = u == s && (t - s) % n == 0;
    return t != s && t != u && !back_at_s && r >= 0 && r != s && std::abs(r - s) % n == 0;
  };
  auto off_diagonal = [](const Table& ct, std::size_t i) {
    return ct.numeric.at("train_frame")[i] != ct.numeric.at("test_frame")[i];
  };
  for (double image_gap : {3.0, 0.0}) {
    double read = 0, unread = 0;
    const int draws = 16;
    for (int d = 0; d < draws; ++d) {
      Analysis r =
          analyze({elapsed_blocks({"loc-1", "loc-2"}, 256, 5, 180 + static_cast<std::uint64_t>(d),
                                  image_gap, image_gap > 0 ? 0.0 : 5.0, 16, 2)},
                  body);
      const Table& ct = r.result.tables.at("cross_temporal");
      read += above_chance(ct, [&](std::size_t i) { return same_elapsed(ct, i); }) / draws;
      unread +=
          above_chance(ct,
                       [&](std::size_t i) {
                         return off_diagonal(ct, i) &&
                                read_frames(ct, i, "train_frame", "test_frame").empty() &&
                                ct.numeric.at("test_frame")[i] > ct.numeric.at("stim_frame")[i];
                       }) /
          draws;
      for (std::size_t i = 0; i < ct.rows(); ++i) {
        if (same_elapsed(ct, i)) {
          EXPECT_EQ(scoring_of(ct, i), "differ");
        }
      }
    }
    std::cout << "[ measured ] image gap " << image_gap << ": same elapsed time " << read
              << ", no frame read at a lag kN " << unread << "\n";
    if (image_gap > 0) {
      // Rows that read no frame at a lag kN are the reference: about 0.03
      // above their empirical chance here, about half of it the null's own
      // pessimism (README "Not covered"). Measured (4 draws): these rows
      // 0.061 before the rule read r, 0.029 after, the reference 0.043;
      // over 16 draws, 0.013 after and the reference 0.033, so the rows
      // must now stay below the reference itself (a leak of 0.02 fails,
      // where 4 draws and a margin of 0.01 let 0.03 through).
      EXPECT_LT(read, unread) << "the image at the same elapsed time was read as a training image";
    } else {
      EXPECT_NEAR(read, 0.0, 0.05) << "the location at the same elapsed time was read";
    }
  }
  // Positive control: a slot per stimulus frame, held at every later frame.
  synth::Trials t = synth::sampled_trials({"loc-1", "loc-2"}, 256, 5, 2, 190);
  const int units = 48;
  torch::Tensor h = torch::randn({t.m, t.frames, units}, torch::kFloat64);
  std::vector<torch::Tensor> slot;
  for (int g = 0; g < t.frames; ++g) slot.push_back(synth::code(synth::kLocations, units, 5.0));
  for (int f = 0; f < t.frames; ++f) {
    for (int g = 0; g <= f; ++g) h.select(1, f) += synth::lookup(slot[g], t.loc, g);
  }
  Analysis r = analyze({synth::stateset(t, h, "gru", 190)}, body);
  const Table& ct = r.result.tables.at("cross_temporal");
  EXPECT_GT(above_chance(ct, [&](std::size_t i) { return same_elapsed(ct, i); }), 0.4);
}

// Hard non-matches (SCIENCE.md section 6). In id-N tasks a non-match is,
// half the time, the other identity of the same category: on trials whose
// identities at s and s + N differ, the identity at s is the sibling of the
// one at s + N in about 2/3 of them (4 identities, 2 per category), not 1/3.
// A decoder that reads the stimulus shown at u in a code where siblings are
// alike (objects of one category look alike) ranks the sibling second, so
// excluding only the label at u it scored above 1/(K - 1) and above its
// empirical chance: the permuted-label fits (labels permuted by image) have
// no such preference, so the null does not absorb it. The rule excludes
// the label at u's whole category for identity (chance 1/2 here): decoding,
// cross-temporal and H1 rows are at chance, while H2 (the encoding decoder
// of s on the stimulus shown at j, in the code they share) still reads j.
// Positive control: a memory of the identity one frame back, in units of
// its own, is read.
TEST(Analyze, LagRuleExcludesTheSiblingIdentityOfHardNonMatches) {
  const std::string body =
      "analyses = [\"decoding\", \"cross_temporal\"]\nfeatures = [\"id\"]\nframes = [0, 1]\n"
      "folds = 4\npermutations = 10";
  auto states = [](std::uint64_t seed, double memory) {
    synth::Trials t = synth::sampled_trials({"id-1", "id-2"}, 256, 4, 4, seed);
    const int units = 32;
    torch::Tensor cat = synth::code(2, units / 2, 4.0),
                  id = synth::code(synth::kIdentities, units / 2, 1.5);
    torch::Tensor mem = synth::code(synth::kIdentities, units / 2, 5.0);
    torch::Tensor h = torch::randn({t.m, t.frames, units}, torch::kFloat64) * 0.5;
    for (int f = 0; f < t.frames; ++f) {
      h.select(1, f).narrow(1, 0, units / 2) +=
          synth::lookup(cat, t.cat, f) + synth::lookup(id, t.id, f);
      if (f > 0)
        h.select(1, f).narrow(1, units / 2, units / 2) += synth::lookup(mem, t.id, f - 1) * memory;
    }
    return std::make_pair(t, synth::stateset(t, h, "gru", static_cast<std::int64_t>(seed)));
  };
  // The premise: the sampler's hard non-matches.
  {
    auto [t, set] = states(200, 0.0);
    torch::Tensor a = t.id.select(1, 0), b = t.id.select(1, 1), first = t.task.eq(0);
    torch::Tensor differ = a.ne(b).logical_and(first);
    const double sibling =
        a.div(2, "floor").eq(b.div(2, "floor")).logical_and(differ).sum().item<double>() /
        differ.sum().item<double>();
    EXPECT_GT(sibling, 0.55)
        << "id-1: the sibling's share among differing identities one frame apart";
  }
  double dec = 0, ct_lag = 0, h1 = 0, h2 = 0;
  const int draws = 2;
  for (int d = 0; d < draws; ++d) {
    Analysis r = analyze({states(210 + static_cast<std::uint64_t>(d), 0.0).second}, body);
    const Table& dt = r.result.tables.at("decoding");
    const Table& ct = r.result.tables.at("cross_temporal");
    const Table& hy = r.result.tables.at("temporal_hypotheses");
    auto differ = [](const Table& tb, std::size_t i) { return scoring_of(tb, i) == "differ"; };
    dec += above_chance(dt, [&](std::size_t i) { return at_lag_kn(dt, i, "test_frame"); }) / draws;
    ct_lag +=
        above_chance(ct, [&](std::size_t i) { return at_lag_kn(ct, i, "test_frame"); }) / draws;
    h1 += above_chance(hy,
                       [&](std::size_t i) {
                         return hy.text.at("hypothesis")[i] == "H1_slot" &&
                                at_lag_kn(hy, i, "other_frame");
                       }) /
          draws;
    h2 += above_chance(hy,
                       [&](std::size_t i) {
                         return hy.text.at("hypothesis")[i] == "H2_shared" &&
                                at_lag_kn(hy, i, "other_frame");
                       }) /
          draws;
    for (const Table* tb : {&dt, &ct}) {
      for (std::size_t i = 0; i < tb->rows(); ++i) {
        if (differ(*tb, i) && read_frames(*tb, i, "train_frame", "test_frame").size() == 1) {
          EXPECT_NEAR(tb->numeric.at("chance")[i], 0.5, 1e-12);
        }
      }
    }
    for (std::size_t i = 0; i < hy.rows(); ++i) EXPECT_NEAR(hy.numeric.at("chance")[i], 0.5, 1e-12);
  }
  std::cout << "[ measured ] id rows above empirical chance: decoding " << dec
            << ", cross-temporal " << ct_lag << ", H1 " << h1 << ", H2 " << h2 << "\n";
  EXPECT_NEAR(dec, 0.0, 0.05)
      << "decoding rows at lags kN ranked the sibling of the identity shown";
  EXPECT_NEAR(ct_lag, 0.0, 0.05) << "cross-temporal rows at lags kN";
  EXPECT_NEAR(h1, 0.0, 0.06) << "H1 at lags kN";
  EXPECT_GT(h2, 0.3) << "H2 reads the stimulus at j in the encoding code it shares with s";
  // Positive control: identity s held one frame on, in a memory code.
  Analysis r = analyze({states(220, 1.0).second}, body);
  const Table& dt = r.result.tables.at("decoding");
  EXPECT_GT(above_chance(dt,
                         [&](std::size_t i) {
                           return dt.text.at("task")[i] == "id-1" &&
                                  dt.numeric.at("train_frame")[i] ==
                                      dt.numeric.at("stim_frame")[i] + 1;
                         }),
            0.3);
}

// A fit at t read back at the stimulus frame u = s, where t - s is a
// multiple of N: the folds are grouped by the image at s, and the fit at t
// learned the images shown at t, whose labels at s agree with their own half
// the time, so nearly every held-out image at s was one of its training
// images at t. On a code per image and none per feature these rows read
// 0.66-0.80 against an empirical chance of about 0.22 (the 2026-12-07 audit);
// no trial is left to score them leak-free (every image appears at t), so
// they have no score (scoring "none"). The rows read back at s from a fit at
// t - s = 1, not a multiple of 2, stay scored, at chance.
TEST(Analyze, RowsReadBackAtTheStimulusFrameFromAFitAtALagKNHaveNoScore) {
  const std::string body =
      "analyses = [\"cross_temporal\"]\nfeatures = [\"loc\"]\nframes = [0]\nfolds = "
      "4\npermutations = 10";
  Analysis r = analyze({image_coded({"loc-2"}, 384, 3, 130, 3.0, 0.0)}, body);
  const Table& ct = r.result.tables.at("cross_temporal");
  int none = 0, scored = 0;
  for (std::size_t i = 0; i < ct.rows(); ++i) {
    const double s = ct.numeric.at("stim_frame")[i], t = ct.numeric.at("train_frame")[i],
                 u = ct.numeric.at("test_frame")[i];
    if (u != s || t == s) continue;
    if (t - s == 2) {
      EXPECT_EQ(scoring_of(ct, i), "none") << "row " << i;
      EXPECT_TRUE(std::isnan(ct.numeric.at("accuracy")[i])) << "row " << i;
      ++none;
    } else {
      EXPECT_EQ(scoring_of(ct, i), "all") << "row " << i;
      EXPECT_LT(std::abs(ct.numeric.at("accuracy")[i] - ct.numeric.at("chance_empirical")[i]), 0.15)
          << "row " << i;
      ++scored;
    }
  }
  EXPECT_GT(none, 0);
  EXPECT_GT(scored, 0);
}

// The cross-temporal arrays (NPY on export) average rows of both rules over
// tasks; beside each, `cross_temporal_chance` holds the same rows' mean
// empirical chance and `cross_temporal_differ` the share of them scored by
// the lag rule, so a cell's accuracy is read against its own chance.
TEST(Analyze, CrossTemporalArraysCarryTheirScoring) {
  const std::string body =
      "analyses = [\"cross_temporal\"]\nfeatures = [\"loc\", \"cat\"]\nframes = [0, 1]\nfolds = 4\n"
      "permutations = 5";
  Analysis r = analyze({image_coded({"loc-1", "loc-2"}, 128, 4, 230, 3.0, 4.0)}, body);
  const Table& ct = r.result.tables.at("cross_temporal");
  for (const std::string feature : {"loc", "cat"}) {
    const std::string key = "states0." + feature;
    for (const char* name :
         {"cross_temporal.", "cross_temporal_chance.", "cross_temporal_differ."}) {
      ASSERT_TRUE(r.result.arrays.count(name + key)) << name << key;
    }
    torch::Tensor acc = nets::view(r.result.arrays.at("cross_temporal." + key));
    torch::Tensor chance = nets::view(r.result.arrays.at("cross_temporal_chance." + key));
    torch::Tensor differ = nets::view(r.result.arrays.at("cross_temporal_differ." + key));
    ASSERT_EQ(acc.sizes(), chance.sizes());
    ASSERT_EQ(acc.sizes(), differ.sizes());
    std::map<std::tuple<int, int, int>, std::vector<std::size_t>> cells;
    for (std::size_t i = 0; i < ct.rows(); ++i) {
      if (ct.text.at("feature")[i] != feature || !std::isfinite(ct.numeric.at("accuracy")[i]))
        continue;
      cells[{static_cast<int>(ct.numeric.at("stim_frame")[i]),
             static_cast<int>(ct.numeric.at("train_frame")[i]),
             static_cast<int>(ct.numeric.at("test_frame")[i])}]
          .push_back(i);
    }
    int mixed = 0;
    for (const auto& [cell, rows] : cells) {
      const auto [a, b, c] = cell;
      double sa = 0, sc = 0, sd = 0;
      for (std::size_t i : rows) {
        sa += ct.numeric.at("accuracy")[i];
        sc += ct.numeric.at("chance_empirical")[i];
        sd += scoring_of(ct, i) == "differ" ? 1.0 : 0.0;
      }
      const double n = static_cast<double>(rows.size());
      EXPECT_NEAR(acc[a][b][c].item<double>(), sa / n, 1e-9);
      EXPECT_NEAR(chance[a][b][c].item<double>(), sc / n, 1e-9);
      EXPECT_NEAR(differ[a][b][c].item<double>(), sd / n, 1e-9);
      mixed += sd > 0 && sd < n;
    }
    if (feature == "loc") {
      EXPECT_GT(mixed, 0) << "loc-1 and loc-2 rows of one cell under different rules";
    }
  }
}

}  // namespace
}  // namespace wmgeom::testing
