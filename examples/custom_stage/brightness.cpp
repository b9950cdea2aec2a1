#include "brightness.h"

#include "core/artifacts.h"
#include "core/choices.h"

namespace example {

Settings Settings::from_params(const wmgeom::Params& p) {
  // One table from the schema's choices to their meaning.
  static constexpr wmgeom::Choice<int> kChannels[] = {
      {-1, "all"}, {0, "red"}, {1, "green"}, {2, "blue"}};
  Settings s;
  s.channel = p.s("channel");
  const int c = wmgeom::parse_choice(kChannels, s.channel, "brightness.channel");
  s.first_channel = c < 0 ? 0 : c;
  s.end_channel = c < 0 ? 3 : c + 1;
  s.per_channel_table = p.b("per_channel_table");
  return s;
}

void BrightnessStage::check(const Settings& s, wmgeom::ParamIssues& issues) const {
  // Plan-time checks that involve more than one key (single-key types and
  // ranges are already enforced by the schema).
  if (s.channel == "all" && s.per_channel_table) {
    issues.error("per_channel_table", "expected false when channel = \"all\"");
  }
}

wmgeom::Artifact BrightnessStage::compute(const Settings& settings,
                                          const wmgeom::StageInputs& inputs,
                                          wmgeom::RunContext& ctx) const {
  auto s = inputs.get<wmgeom::StimulusSet>("stimuli");
  const std::int64_t n = s.size(), pixels = s.images.dim(2) * s.images.dim(3);
  const std::uint8_t* px = s.images.data<std::uint8_t>();
  const int c0 = settings.first_channel, c1 = settings.end_channel;
  std::vector<double> mean(static_cast<std::size_t>(n));
  std::vector<std::string> category(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    double sum = 0;
    for (int c = c0; c < c1; ++c) {
      const std::uint8_t* plane = px + (i * 3 + c) * pixels;
      for (std::int64_t k = 0; k < pixels; ++k) sum += plane[k];
    }
    mean[static_cast<std::size_t>(i)] = sum / static_cast<double>(pixels * (c1 - c0)) / 255.0;
    category[static_cast<std::size_t>(i)] =
        s.category_names[static_cast<std::size_t>(s.category.data<std::int32_t>()[i])];
    ctx.progress(i + 1, n);
  }
  wmgeom::AnalysisResult r;
  r.params = {{"channel", settings.channel}};
  wmgeom::Table t;
  t.add("category", category);
  t.add("brightness", mean);
  r.tables["brightness"] = t;
  return r.to_artifact();
}

}  // namespace example
