// Training curves of the connected models (train and held-out accuracy per
// task, loss).
#include "report/sections/common.h"

namespace wmgeom::report {
namespace {

int n_tasks_of(const TrainedModel& m) {
  return m.curve_val_acc.empty()
             ? (m.curve_train_acc.empty() ? 0 : static_cast<int>(m.curve_train_acc.dim(1)))
             : static_cast<int>(m.curve_val_acc.dim(1));
}

std::vector<double> column_of(const Array& a, std::int64_t col) {
  std::vector<double> out;
  if (a.empty() || a.ndim() != 2 || col >= a.dim(1)) return out;
  auto v = a.values<float>();
  for (std::int64_t k = 0; k < a.dim(0); ++k)
    out.push_back(v[static_cast<std::size_t>(k * a.dim(1) + col)]);
  return out;
}

}  // namespace

Section training_section(const ReportData& d, const ReportOptions& o) {
  Section s{"training", "Training curves", "", "", 0};
  if (d.models.empty()) {
    s.omitted = "no trained models were connected (the optional `models` port)";
    return s;
  }
  std::string body;
  int shown = 0;
  for (const auto& item : d.models) {
    if (shown >= o.max_models) break;
    const TrainedModel& m = item.model;
    std::string rnn = m.config.value("rnn", std::string());
    auto task_names = m.config.value("tasks", std::vector<std::string>{});
    const int nt = n_tasks_of(m);
    std::string head =
        "<h3>" + escape(item.instance) +
        (rnn.empty() ? ""
                     : " <span class=\"dim\">(" + escape(rnn) + ", " + std::to_string(nt) +
                           (nt == 1 ? " task" : " tasks") + ")</span>") +
        "</h3>";
    if (m.curve_step.empty() || nt == 0) {
      body += head + note("this model has no training curves");
      continue;
    }
    ++shown;
    std::vector<double> steps;
    for (auto v : m.curve_step.values<std::int64_t>()) steps.push_back(static_cast<double>(v));
    auto task_name = [&](int t) {
      return t < static_cast<int>(task_names.size()) ? task_names[t] : "task " + std::to_string(t);
    };
    LineChart train, val, loss;
    for (auto* c : {&train, &val}) {
      c->xlabel = "training step";
      c->ylabel = "accuracy";
      c->ymin = 0;
      c->ymax = 1;
      c->integer_x = true;
    }
    train.id = next_id(s);
    train.title = "train accuracy";
    train.legend = false;
    train.width = 340;
    val.id = next_id(s);
    val.title = "held-out accuracy (novel views)";
    val.width = 470;
    val.refs.push_back({0.9, "paper: > 90% held-out", "#555555", true});
    for (int t = 0; t < nt; ++t) {
      train.series.push_back(
          {task_name(t), steps, column_of(m.curve_train_acc, t), {}, {}, palette(t), false});
      val.series.push_back(
          {task_name(t), steps, column_of(m.curve_val_acc, t), {}, {}, palette(t), false});
    }
    loss.id = next_id(s);
    loss.title = "training loss";
    loss.xlabel = "training step";
    loss.ylabel = "cross-entropy";
    loss.ymin = 0;
    loss.integer_x = true;
    loss.legend = false;
    loss.width = 320;
    if (!m.curve_loss.empty()) {
      auto lv = m.curve_loss.values<float>();
      loss.series.push_back(
          {"loss", steps, std::vector<double>(lv.begin(), lv.end()), {}, {}, "#333333", false});
    }
    body += head + row_of_figures(figure(render(train)) + figure(render(val)) +
                                  (loss.series.empty() ? "" : figure(render(loss))));
    if (loss.series.empty()) --s.figures;
  }
  if (static_cast<int>(d.models.size()) > o.max_models) {
    body += note("Showing the first " + std::to_string(o.max_models) + " of " +
                 std::to_string(d.models.size()) + " models (parameter max_models).");
  }
  s.body = caption(
               "Accuracy on the decision frames of each task (colours: tasks; legend beside the "
               "held-out panel) "
               "over training, on training trials and on held-out trials with novel views. The "
               "paper's models "
               "reached &gt; 95% train and &gt; 90% held-out accuracy.") +
           body;
  return s;
}

}  // namespace wmgeom::report
