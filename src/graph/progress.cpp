#include "graph/progress.h"

#include <ostream>

namespace wmgeom {

ProgressLine::ProgressLine(Logger& log, std::string label, std::string unit, bool tty, bool enabled)
    : log_(log),
      label_(std::move(label)),
      unit_(std::move(unit)),
      tty_(tty),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void ProgressLine::update(std::int64_t done, std::int64_t total) {
  if (!enabled_ || total <= 0) return;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_).count();
  bool final = done >= total;
  if (since < (tty_ ? 0.2 : 10.0) && !(final && tty_)) return;
  last_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double rate = elapsed > 0 ? done / elapsed : 0;
  double eta = rate > 0 ? (total - done) / rate : 0;
  const std::string stats = std::to_string(done) + "/" + std::to_string(total) + " " + unit_ +
                            "  " + format_fixed(rate, 1) + "/s  ETA " + format_seconds(eta);
  std::lock_guard lk(log_.mutex());
  if (tty_) {
    constexpr int kWidth = 24;
    int fill = static_cast<int>(kWidth * static_cast<double>(done) / static_cast<double>(total));
    std::string bar(static_cast<std::size_t>(fill), '=');
    bar.resize(kWidth, ' ');
    log_.term() << "\r\033[K" << label_ << " [" << bar << "] " << stats;
    log_.line_open = true;
  } else {
    log_.term() << "progress: " << label_ << " " << stats << "\n";
  }
  log_.term().flush();
}

}  // namespace wmgeom
