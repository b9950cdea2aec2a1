// Typed artifacts: round trips through the generic form, validation, CSV export.
#include <gtest/gtest.h>

#include "core/artifacts.h"
#include "core/error.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

StimulusSet tiny_stimuli() {
  StimulusSet s;
  s.images = Array::zeros<std::uint8_t>({4, 3, 16, 16});
  s.location = Array::from_vector<std::int32_t>({0, 1, 0, 1});
  s.category = Array::from_vector<std::int32_t>({0, 0, 1, 1});
  s.identity = Array::from_vector<std::int32_t>({0, 0, 1, 1});
  s.view = Array::from_vector<std::int32_t>({0, 0, 0, 0});
  s.split = Array::from_vector<std::int32_t>({0, 0, 0, 1});
  s.category_names = {"chair", "car"};
  s.identity_names = {"chair-0", "car-0"};
  s.identity_category = {0, 1};
  s.n_locations = 2;
  s.n_views = 1;
  return s;
}

template <typename F>
void expect_error(F f, const std::string& substring) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning " << substring;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(substring), std::string::npos) << e.what();
  }
}

TEST(Artifacts, StimulusSetRoundTripAndValidation) {
  StimulusSet s = tiny_stimuli();
  StimulusSet t = StimulusSet::from_artifact(s.to_artifact());
  EXPECT_EQ(t.size(), 4);
  EXPECT_EQ(t.category_names, s.category_names);
  EXPECT_EQ(t.images.raw(), s.images.raw());                    // shared, not copied
  s.location = Array::from_vector<std::int32_t>({0, 1, 0, 2});  // 2 >= n_locations
  EXPECT_THROW(StimulusSet::from_artifact(s.to_artifact()), Error);
  s = tiny_stimuli();
  s.view = Array::from_vector<std::int32_t>({0, 0});
  EXPECT_THROW(StimulusSet::from_artifact(s.to_artifact()), Error);
  Artifact wrong = s.to_artifact();
  wrong.kind = "FeatureBank";
  EXPECT_THROW(StimulusSet::from_artifact(wrong), Error);
}

TEST(Artifacts, TrialSetAndStateSetRoundTrip) {
  TrialSet ts;
  ts.tasks = {{"loc-1", "loc", 1}, {"cat-2", "cat", 2}};
  ts.trial_length = 3;
  ts.stimuli = Array::zeros<std::int32_t>({2, 3});
  ts.task = Array::from_vector<std::int32_t>({0, 1});
  ts.targets = Array::zeros<std::int32_t>({2, 3});
  ts.split = Array::from_vector<std::int32_t>({0, 1});
  ts.hard_nonmatch = 0.25;
  TrialSet back = TrialSet::from_artifact(ts.to_artifact());
  EXPECT_EQ(back.tasks[1].name, "cat-2");
  EXPECT_EQ(back.tasks[1].n, 2);
  EXPECT_EQ(back.hard_nonmatch, 0.25);
  // A TrialSet from before tasks stage version 3 lacks hard_nonmatch: an
  // error naming it, never a silent default.
  Artifact old = ts.to_artifact();
  old.meta.erase("hard_nonmatch");
  try {
    TrialSet::from_artifact(old);
    ADD_FAILURE() << "no error without hard_nonmatch";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hard_nonmatch"), std::string::npos) << e.what();
  }
  ts.targets.data<std::int32_t>()[0] = 7;
  EXPECT_THROW(TrialSet::from_artifact(ts.to_artifact()), Error);

  StateSet st;
  st.hidden = Array::zeros<float>({2, 3, 8});
  st.logits = Array::zeros<float>({2, 3, 3});
  for (Array* a : {&st.targets, &st.stimulus, &st.location, &st.category, &st.identity, &st.view}) {
    *a = Array::zeros<std::int32_t>({2, 3});
  }
  st.task = Array::zeros<std::int32_t>({2});
  StateSet sb = StateSet::from_artifact(st.to_artifact());
  EXPECT_TRUE(sb.cell.empty());
  EXPECT_EQ(sb.hidden.dim(2), 8);
  st.logits = Array::zeros<float>({3, 3, 3});
  expect_error([&] { StateSet::from_artifact(st.to_artifact()); },
               "StateSet.logits: expected 2 rows");
  st.logits = Array::zeros<float>({2, 3, 3});
  st.embedding = Array::zeros<std::int32_t>({2, 3, 3});  // optional, but typed when present
  expect_error([&] { StateSet::from_artifact(st.to_artifact()); },
               "StateSet.embedding: expected float32 with 3");
}

TEST(Artifacts, TrialSetStimulusTableRowsAgreeAmongThemselves) {
  TrialSet ts;
  ts.tasks = {{"loc-1", "loc", 1}};
  ts.trial_length = 2;
  ts.stimuli = Array::zeros<std::int32_t>({3, 2});
  ts.task = Array::zeros<std::int32_t>({3});
  ts.targets = Array::zeros<std::int32_t>({3, 2});
  ts.split = Array::zeros<std::int32_t>({3});
  // The stimulus table has its own row count (stimuli, not trials).
  for (Array* a : {&ts.stimulus_location, &ts.stimulus_category, &ts.stimulus_identity,
                   &ts.stimulus_split, &ts.stimulus_view}) {
    *a = Array::zeros<std::int32_t>({5});
  }
  EXPECT_EQ(TrialSet::from_artifact(ts.to_artifact()).stimulus_view.dim(0), 5);
  ts.stimulus_view = Array::zeros<std::int32_t>({4});
  expect_error([&] { TrialSet::from_artifact(ts.to_artifact()); },
               "TrialSet.stimulus_view: expected 5 rows");
  ts.stimulus_view = Array::zeros<std::int32_t>({5});
  ts.split = Array::zeros<std::int32_t>({2});
  expect_error([&] { TrialSet::from_artifact(ts.to_artifact()); },
               "TrialSet.split: expected 3 rows");
  Artifact missing = ts.to_artifact();
  missing.arrays.erase("task");
  expect_error([&] { TrialSet::from_artifact(missing); }, "task");
}

TEST(Artifacts, TrainedModelAndFeatureBankKeepNamedArrays) {
  TrainedModel m;
  m.config = {{"rnn", "gru"}};
  m.weights["rnn.weight_ih_l0"] = Array::zeros<float>({6, 4});
  m.curve_step = Array::from_vector<std::int64_t>({0, 10});
  TrainedModel b = TrainedModel::from_artifact(m.to_artifact());
  EXPECT_EQ(b.weights.count("rnn.weight_ih_l0"), 1u);
  EXPECT_EQ(b.config["rnn"], "gru");
  // Models from before the hard-non-match curves load with them empty.
  EXPECT_TRUE(b.curve_val_hard_acc.empty());
  m.curve_train_hard_acc = Array::zeros<float>({2, 3});
  m.curve_val_hard_acc = Array::zeros<float>({2, 3});
  TrainedModel c = TrainedModel::from_artifact(m.to_artifact());
  EXPECT_EQ(c.curve_val_hard_acc.shape(), (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(c.curve_train_hard_acc.shape(), (std::vector<std::int64_t>{2, 3}));
  m.curve_val_hard_acc = Array::zeros<float>({3, 3});  // one row per evaluation, or an error
  EXPECT_THROW(TrainedModel::from_artifact(m.to_artifact()), Error);
  FeatureBank f;
  f.features = Array(DType::kF16, {2, 4, 3, 3});
  f.extra["curve"] = Array::zeros<float>({5});
  FeatureBank g = FeatureBank::from_artifact(f.to_artifact());
  EXPECT_EQ(g.features.dtype(), DType::kF16);
  EXPECT_EQ(g.extra.count("curve"), 1u);
}

TEST(Artifacts, AnalysisResultTablesExportAsCsv) {
  AnalysisResult r;
  Table t;
  t.add("model", std::vector<std::string>{"gru", "lstm, big"});
  t.add("accuracy", std::vector<double>{0.5, 0.875});
  r.tables["decoding"] = t;
  r.arrays["matrix"] = Array::zeros<double>({2, 2});
  r.findings = {{"finding1", {{"held", true}}}};
  Artifact a = r.to_artifact();
  AnalysisResult back = AnalysisResult::from_artifact(a);
  EXPECT_EQ(back.tables["decoding"].rows(), 2u);
  EXPECT_EQ(back.tables["decoding"].columns, (std::vector<std::string>{"model", "accuracy"}));
  TempDir dir;
  export_artifact(a, dir.path());
  EXPECT_EQ(read_file(dir / "decoding.csv"), "model,accuracy\ngru,0.5\n\"lstm, big\",0.875\n");
  EXPECT_NE(read_file(dir / "findings.json").find("\"held\": true"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir / "array.matrix.npy"));
}

}  // namespace
}  // namespace wmgeom::testing
