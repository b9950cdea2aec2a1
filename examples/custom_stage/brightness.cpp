#include "brightness.h"

#include "core/artifacts.h"

namespace example {

void BrightnessStage::validate(const wmgeom::Params& params, wmgeom::ParamIssues& issues) const {
  // Plan-time checks that involve more than one key (single-key types and
  // ranges are already enforced by the schema).
  if (params.s("channel") == "all" && params.b("per_channel_table")) {
    issues.error("per_channel_table", "expected false when channel = \"all\"");
  }
}

wmgeom::Artifact BrightnessStage::run(const wmgeom::Params& params, const wmgeom::StageInputs& inputs,
                                      wmgeom::RunContext& ctx) const {
  auto s = inputs.get<wmgeom::StimulusSet>("stimuli");
  const std::int64_t n = s.size(), pixels = s.images.dim(2) * s.images.dim(3);
  const std::uint8_t* px = s.images.data<std::uint8_t>();
  const std::string& channel = params.s("channel");
  std::vector<double> mean(static_cast<std::size_t>(n));
  std::vector<std::string> category(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    double sum = 0;
    int c0 = channel == "all" ? 0 : channel == "red" ? 0 : channel == "green" ? 1 : 2;
    int c1 = channel == "all" ? 3 : c0 + 1;
    for (int c = c0; c < c1; ++c) {
      const std::uint8_t* plane = px + (i * 3 + c) * pixels;
      for (std::int64_t k = 0; k < pixels; ++k) sum += plane[k];
    }
    mean[static_cast<std::size_t>(i)] = sum / static_cast<double>(pixels * (c1 - c0)) / 255.0;
    category[static_cast<std::size_t>(i)] = s.category_names[static_cast<std::size_t>(s.category.data<std::int32_t>()[i])];
    ctx.progress(i + 1, n);
  }
  wmgeom::AnalysisResult r;
  r.params = {{"channel", channel}};
  wmgeom::Table t;
  t.add("category", category);
  t.add("brightness", mean);
  r.tables["brightness"] = t;
  return r.to_artifact();
}

}  // namespace example
