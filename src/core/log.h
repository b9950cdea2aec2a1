// A small thread-safe logger: messages to a terminal stream (stderr) and,
// once open_file() is called, to a log file as well (timestamped). A program
// that embeds the engine (the Python module, python/) gives it a sink
// instead of the terminal: each message at or above the level, whole, with
// its level (Python's `logging` there).
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
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
  // Messages at or above the level go to `sink` (called under the logger's
  // lock, from any thread) instead of the terminal stream; the log file is
  // unchanged. An empty function restores the terminal.
  using Sink = std::function<void(Level, const std::string&)>;
  void set_sink(Sink sink) {
    std::lock_guard lk(mu_);
    sink_ = std::move(sink);
  }

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
  Sink sink_;
  std::ofstream file_;
  std::filesystem::path file_path_;
  std::mutex mu_;
};

}  // namespace wmgeom
