// The one list of every stage type. Add a line here when you add a stage.
#include "register_all.h"

#include <memory>

#include "graph/registry.h"
#include "analyze/analyze.h"
#include "capture/capture.h"
#include "features/features.h"
#include "findings/findings_stage.h"
#include "render/render.h"
#include "report/report.h"
#include "tasks/tasks.h"
#include "train/train.h"

namespace wmgeom {

void register_all(StageRegistry& registry) {
  registry.add(std::make_unique<RenderStage>());
  registry.add(std::make_unique<FeaturesStage>());
  registry.add(std::make_unique<TasksStage>());
  registry.add(std::make_unique<TrainStage>());
  registry.add(std::make_unique<CaptureStage>());
  registry.add(std::make_unique<AnalyzeStage>());
  registry.add(std::make_unique<FindingsStage>());
  registry.add(std::make_unique<ReportStage>());
}

}  // namespace wmgeom
