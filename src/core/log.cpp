#include "core/log.h"

#include <chrono>
#include <ctime>
#include <ostream>

namespace wmgeom {

namespace {
std::string stamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm local{};
  localtime_r(&t, &local);  // thread-safe: stages log concurrently
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local);
  return buf;
}
const char* tag(Logger::Level l) {
  switch (l) {
    case Logger::Level::kDebug:
      return "debug";
    case Logger::Level::kInfo:
      return "info";
    case Logger::Level::kWarn:
      return "warning";
    case Logger::Level::kError:
      return "error";
  }
  return "";
}
}  // namespace

void Logger::open_file(const std::filesystem::path& path) {
  std::lock_guard lk(mu_);
  std::filesystem::create_directories(path.parent_path());
  file_.open(path, std::ios::app);
  file_path_ = path;
}

void Logger::file_only(const std::string& msg) {
  std::lock_guard lk(mu_);
  if (file_.is_open()) file_ << stamp() << " " << msg << "\n" << std::flush;
}

void Logger::write(Level level, const std::string& msg) {
  std::lock_guard lk(mu_);
  if (file_.is_open()) file_ << stamp() << " " << tag(level) << ": " << msg << "\n" << std::flush;
  if (level < level_) return;
  if (sink_) {
    sink_(level, msg);
    return;
  }
  if (line_open) {
    term_ << "\r\033[K";
    line_open = false;
  }
  if (level == Level::kInfo || level == Level::kDebug)
    term_ << msg << "\n";
  else
    term_ << tag(level) << ": " << msg << "\n";
  term_.flush();
}

}  // namespace wmgeom
