// An example stage written outside the tree: mean brightness of every image
// of a StimulusSet, as a table (one row per image) in an AnalysisResult.
// Everything a stage needs: typed settings parsed from its parameters in
// one place (Settings::from_params), a class over them (StageWith), a schema
// (brightness.toml), and one registry.add() call (main.cpp).
#pragma once

#include "core/params.h"
#include "core/stage.h"

namespace example {

// The parameters as typed values; brightness.toml holds their defaults.
struct Settings {
  int first_channel{}, end_channel{};  // the channels averaged: [first, end)
  std::string channel;                 // as written: all | red | green | blue
  bool per_channel_table{};

  static Settings from_params(const wmgeom::Params& p);
  bool operator==(const Settings&) const = default;
};

class BrightnessStage final : public wmgeom::StageWith<Settings> {
 public:
  std::string type() const override { return "brightness"; }
  void check(const Settings& s, wmgeom::ParamIssues& issues) const override;
  wmgeom::Artifact compute(const Settings& s, const wmgeom::StageInputs& inputs,
                           wmgeom::RunContext& ctx) const override;
};

}  // namespace example
