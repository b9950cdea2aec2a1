// findings.json: for each of the paper's four findings (SCIENCE.md), the
// numbers of this run that test it and whether it held. A finding that this
// run cannot test (an analysis not run, a model type absent) says so with
// held = null rather than guessing.
#include <cmath>
#include <sstream>

#include "analyze/analyses.h"

namespace wmgeom::analyze {

namespace {

// Read access to a finished table; empty when absent.
struct Reader {
  const Table* t = nullptr;
  explicit Reader(const std::map<std::string, Table>& tables, const std::string& name) {
    if (auto it = tables.find(name); it != tables.end()) t = &it->second;
  }
  std::size_t rows() const { return t ? t->rows() : 0; }
  double num(const std::string& c, std::size_t i) const { return t->numeric.at(c)[i]; }
  const std::string& txt(const std::string& c, std::size_t i) const { return t->text.at(c)[i]; }
};

std::string task_feature(const std::string& task) { return task.substr(0, task.find('-')); }

std::string fmt(double v) {
  std::ostringstream s;
  s.precision(3);
  s << v;
  return s.str();
}

nlohmann::json finding(const std::string& title, const nlohmann::json& held, nlohmann::json numbers, const std::string& detail) {
  return {{"title", title}, {"held", held}, {"numbers", std::move(numbers)}, {"detail", detail}};
}

nlohmann::json finding1(const std::map<std::string, Table>& tables, const std::vector<ModelData>& models) {
  const std::string title = "Multi-task models keep task-irrelevant features decodable (> 85%); single-task models do not";
  Reader r(tables, "decoding");
  if (r.rows() == 0) return finding(title, nullptr, nlohmann::json::object(), "not testable: the decoding analysis was not run");
  nlohmann::json numbers = nlohmann::json::object();
  std::ostringstream detail;
  bool held = true, any_irrelevant = false, any_single = false;
  for (const auto& m : models) {
    std::vector<double> rel, irr;
    for (std::size_t i = 0; i < r.rows(); ++i) {
      if (r.txt("model", i) != m.name || r.num("train_frame", i) != r.num("stim_frame", i)) continue;
      (r.num("relevant", i) != 0 ? rel : irr).push_back(r.num("accuracy", i));
    }
    if (irr.empty()) continue;
    any_irrelevant = true;
    const bool multi = m.tasks.size() > 1;
    any_single = any_single || !multi;
    numbers[m.name + ": relevant"] = mean(rel);
    numbers[m.name + ": irrelevant"] = mean(irr);
    const bool ok = multi ? mean(irr) > 0.85 : mean(irr) <= 0.85;
    held = held && ok;
    detail << m.name << " (" << m.regime << ", " << m.rnn << "): irrelevant " << fmt(mean(irr)) << ", relevant "
           << fmt(mean(rel)) << (ok ? " as predicted; " : " against the prediction; ");
  }
  if (!any_irrelevant) return finding(title, nullptr, numbers, "not testable: every decoded feature is task-relevant");
  detail << "accuracy at the encoding frame, averaged over tasks and stimulus frames.";
  if (!any_single) detail << " No single-task model in this run: only the multi-task half is tested.";
  return finding(title, held, numbers, detail.str());
}

nlohmann::json finding2(const std::map<std::string, Table>& tables, const std::vector<ModelData>& models) {
  const std::string title = "Vanilla RNNs share subspaces across tasks (generalisation near validation); GRUs and LSTMs use task-specific ones";
  Reader r(tables, "cross_task");
  if (r.rows() == 0) return finding(title, nullptr, nlohmann::json::object(), "not testable: the cross_task analysis was not run");
  nlohmann::json numbers = nlohmann::json::object();
  std::vector<double> vanilla, gated;
  std::ostringstream detail;
  for (const auto& m : models) {
    std::vector<double> val, gen;
    for (std::size_t i = 0; i < r.rows(); ++i) {
      if (r.txt("model", i) != m.name) continue;
      (r.txt("kind", i) == "validation" ? val : gen).push_back(r.num("accuracy", i));
    }
    if (gen.empty()) continue;
    double drop = mean(val) - mean(gen);
    numbers[m.name + ": validation"] = mean(val);
    numbers[m.name + ": generalisation"] = mean(gen);
    numbers[m.name + ": drop"] = drop;
    (m.rnn == "rnn" ? vanilla : gated).push_back(drop);
    detail << m.name << " (" << m.rnn << "): validation " << fmt(mean(val)) << ", generalisation " << fmt(mean(gen)) << "; ";
  }
  if (vanilla.empty() || gated.empty()) {
    return finding(title, nullptr, numbers, detail.str() + "not testable: needs multi-task vanilla RNN and GRU/LSTM models");
  }
  const bool held = mean(vanilla) < mean(gated);
  detail << "mean drop: vanilla " << fmt(mean(vanilla)) << " vs gated " << fmt(mean(gated)) << ".";
  return finding(title, held, numbers, detail.str());
}

nlohmann::json finding3(const std::map<std::string, Table>& tables) {
  const std::string title = "Most models de-orthogonalise: O(RNN) < O(perceptual) (t-test)";
  Reader r(tables, "orthogonality_test");
  if (r.rows() == 0) {
    return finding(title, nullptr, nlohmann::json::object(), "not testable: orthogonality was not run or no perceptual vectors were captured");
  }
  nlohmann::json numbers = nlohmann::json::object();
  std::size_t lower = 0;
  for (std::size_t i = 0; i < r.rows(); ++i) {
    std::string key = r.txt("model", i) + " " + r.txt("feature", i);
    numbers[key + ": O rnn"] = r.num("mean_rnn", i);
    numbers[key + ": O perceptual"] = r.num("mean_perceptual", i);
    numbers[key + ": p"] = r.num("p", i);
    lower += r.num("mean_rnn", i) < r.num("mean_perceptual", i) && r.num("p", i) < 0.05;
  }
  const bool held = 2 * lower > r.rows();
  return finding(title, held, numbers,
                 std::to_string(lower) + " of " + std::to_string(r.rows()) +
                     " (model, feature) pairs have a significantly lower index in the RNN space (Welch t-test, p < 0.05).");
}

nlohmann::json finding4(const std::map<std::string, Table>& tables) {
  const std::string title = "Memory subspaces are chronological: the encoding code is shared (H2) but not held in place (H1 fails); "
                            "rotations depend on elapsed time";
  Reader h(tables, "temporal_hypotheses"), p(tables, "procrustes");
  if (h.rows() == 0 && p.rows() == 0) {
    return finding(title, nullptr, nlohmann::json::object(), "not testable: cross_temporal and procrustes were not run");
  }
  nlohmann::json numbers = nlohmann::json::object();
  std::ostringstream detail;
  bool held = true;
  if (h.rows() > 0) {
    std::vector<double> h1, h2, val, chance;
    for (std::size_t i = 0; i < h.rows(); ++i) {
      if (task_feature(h.txt("task", i)) != h.txt("feature", i)) continue;  // the task-relevant feature
      (h.txt("hypothesis", i) == "H1_slot" ? h1 : h2).push_back(h.num("accuracy", i));
      val.push_back(h.num("validation", i));
      chance.push_back(h.num("chance", i));
    }
    if (!h1.empty()) {
      double mid = mean(chance) + 0.5 * (mean(val) - mean(chance));
      numbers["H1 slot accuracy"] = mean(h1);
      numbers["H2 shared accuracy"] = mean(h2);
      numbers["encoding validation"] = mean(val);
      numbers["chance"] = mean(chance);
      const bool h1_fails = mean(h1) < mid, h2_holds = mean(h2) >= mid;
      held = held && h1_fails && h2_holds;
      detail << "H1 " << fmt(mean(h1)) << (h1_fails ? " fails" : " holds") << ", H2 " << fmt(mean(h2))
             << (h2_holds ? " holds" : " fails") << " (halfway between chance " << fmt(mean(chance)) << " and validation "
             << fmt(mean(val)) << " is " << fmt(mid) << "). ";
    }
  }
  if (p.rows() > 0) {
    std::map<std::string, std::vector<double>> by;
    for (std::size_t i = 0; i < p.rows(); ++i) {
      if (task_feature(p.txt("task", i)) != p.txt("feature", i)) continue;
      by[p.txt("test", i)].push_back(p.num("accuracy", i));
    }
    for (const auto& [test, v] : by) numbers["procrustes " + test] = mean(v);
    if (!by["time_shifted"].empty() && !by["elapsed_shifted"].empty()) {
      const bool swap = mean(by["elapsed_shifted"]) > mean(by["time_shifted"]);
      held = held && swap;
      detail << "Procrustes: reconstructed " << fmt(mean(by["reconstructed"])) << " vs fitted " << fmt(mean(by["fitted"]))
             << "; same-elapsed-time swap " << fmt(mean(by["elapsed_shifted"])) << (swap ? " > " : " <= ")
             << "time-shifted swap " << fmt(mean(by["time_shifted"])) << ".";
    }
  }
  return finding(title, held, numbers, detail.str() + " Task-relevant features only.");
}

}  // namespace

nlohmann::json findings(const std::map<std::string, Table>& tables, const std::vector<ModelData>& models) {
  return {{"1", finding1(tables, models)}, {"2", finding2(tables, models)}, {"3", finding3(tables)}, {"4", finding4(tables)}};
}

}  // namespace wmgeom::analyze
