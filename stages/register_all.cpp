// The one list of every stage type. Add a line here when you add a stage.
#include "register_all.h"

#include <memory>

#include "analyze/analyze.h"
#include "capture/capture.h"
#include "compare/compare.h"
#include "features/features.h"
#include "findings/findings_stage.h"
#include "graph/registry.h"
#include "import/import.h"
#include "nets/device.h"
#include "recordings/recordings.h"
#include "render/render.h"
#include "report/report.h"
#include "tasks/tasks.h"
#include "train/train.h"

namespace wmgeom {

void register_all(StageRegistry& registry) {
  // Stages whose schema names a torch device (features, train, capture,
  // analyze): validated, keyed and claimed by the engine with this.
  registry.set_device_support(nets::device_support());
  registry.add(std::make_unique<RenderStage>());
  registry.add(std::make_unique<FeaturesStage>());
  registry.add(std::make_unique<TasksStage>());
  registry.add(std::make_unique<TrainStage>());
  registry.add(std::make_unique<CaptureStage>());
  registry.add(std::make_unique<ImportStage>());
  registry.add(std::make_unique<AnalyzeStage>());
  registry.add(std::make_unique<FindingsStage>());
  registry.add(std::make_unique<CompareStage>());
  registry.add(std::make_unique<RecordingsStage>());
  registry.add(std::make_unique<ReportStage>());
}

}  // namespace wmgeom
