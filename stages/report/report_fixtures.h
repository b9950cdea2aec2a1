// Synthetic inputs for the report stage's tests: an AnalysisResult with
// every table of the analyze stage's contract and findings.json, a trained
// model's curves, a small stimulus set, a registry with a stand-in analysis
// stage, and running the report stage on them. Used by test_report*.cpp.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/artifacts.h"
#include "core/stage.h"
#include "graph/registry.h"
#include "testing.h"

namespace wmgeom::testing::report_fixtures {

namespace fs = std::filesystem;
using Cell = std::variant<double, std::string>;
using Cells = std::vector<std::pair<std::string, Cell>>;

// Builds a Table row by row.
class Rows {
 public:
  void row(const std::vector<std::pair<std::string, Cell>>& cells) {
    for (const auto& [name, cell] : cells) {
      if (std::find(order_.begin(), order_.end(), name) == order_.end()) order_.push_back(name);
      if (std::holds_alternative<double>(cell))
        num_[name].push_back(std::get<double>(cell));
      else
        txt_[name].push_back(std::get<std::string>(cell));
    }
  }
  Table table() const {
    Table t;
    for (const auto& c : order_) {
      if (num_.count(c))
        t.add(c, num_.at(c));
      else
        t.add(c, txt_.at(c));
    }
    return t;
  }

 private:
  std::vector<std::string> order_;
  std::map<std::string, std::vector<double>> num_;
  std::map<std::string, std::vector<std::string>> txt_;
};

inline const std::vector<std::string> kFeatures = {"loc", "cat", "id"};
inline const std::vector<std::string> kTasks = {"loc-1", "cat-1", "id-1"};
double chance_of(const std::string& f);
// The relevance of `feature` in `task` as the analyze stage names it.
std::string relevance(const std::string& task, const std::string& feature);
// The columns every accuracy row of the analyze stage ends with (5 folds, 20
// image-level permutations).
Cells accuracy_cells(double acc, const std::string& feature, double n = 200.0);
Cells concat(Cells a, const Cells& b);
// Every table of the AnalysisResult contract (stages/analyze, issue 11 "Honest
// findings"), a few rows each, and findings.json with each verdict.
AnalysisResult synthetic_analysis(const std::string& model, const std::string& rnn, int frames = 4);
TrainedModel synthetic_model(const std::string& rnn);
// 2 categories x 2 identities x 3 views x 4 locations, 32 px, a coloured block per image.
StimulusSet synthetic_stimuli();
// The report stage and a stand-in analysis stage (fake_analysis) returning
// synthetic_analysis(model).
const StageRegistry& report_registry();
InputItem item(const std::string& name, const Artifact& a);
struct Made {
  Report report;
  std::string html;
};
Made run_report(const StageInputs& in, const std::string& params = "");
// A compare stage's result (model_pairs, model_mds) for four models.
AnalysisResult synthetic_comparison();
// A recordings stage's result: three models against recordings over 3 frames.
AnalysisResult synthetic_recordings();
// Analysis, comparison, model and stimuli: every section can be drawn.
StageInputs full_inputs();
std::size_t count(const std::string& s, const std::string& what);
bool contains(const std::string& s, const std::string& what);

}  // namespace wmgeom::testing::report_fixtures
