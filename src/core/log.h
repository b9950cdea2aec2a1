// A small thread-safe logger: messages to a terminal stream (stderr) and,
// once open_file() is called, to a log file as well (timestamped).
#pragma once

#include <filesystem>
#include <fstream>
#include <iosfwd>
#include <mutex>
#include <string>

namespace wmgeom {

class Logger {
 public:
  enum class Level { kDebug, kInfo, kWarn, kError };
  explicit Logger(std::ostream& term, Level level = Level::kInfo) : term_(term), level_(level) {}

  void open_file(const std::filesystem::path& path);
  const std::filesystem::path& file() const { return file_path_; }
  void set_level(Level level) { level_ = level; }

  void debug(const std::string& msg) { write(Level::kDebug, msg); }
  void info(const std::string& msg) { write(Level::kInfo, msg); }
  void warn(const std::string& msg) { write(Level::kWarn, msg); }
  void error(const std::string& msg) { write(Level::kError, msg); }
  // Only to the log file (e.g. the full plan).
  void file_only(const std::string& msg);

  // For the progress display, which shares the terminal.
  std::ostream& term() { return term_; }
  std::mutex& mutex() { return mu_; }
  // Set by the progress display: a partial line that must be cleared first.
  bool line_open = false;

 private:
  void write(Level level, const std::string& msg);

  std::ostream& term_;
  Level level_;
  std::ofstream file_;
  std::filesystem::path file_path_;
  std::mutex mu_;
};

}  // namespace wmgeom
