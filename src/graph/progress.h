// Progress of one running stage on the terminal: a redrawn bar with rate and
// ETA when stderr is a terminal, otherwise a plain line at most every 10 s.
// Thread-safe (shares the Logger's mutex with log lines).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/format.h"  // format_seconds, format_bytes (used with progress lines)
#include "core/log.h"

namespace wmgeom {

class ProgressLine {
 public:
  ProgressLine(Logger& log, std::string label, std::string unit, bool tty, bool enabled);
  void update(std::int64_t done, std::int64_t total);

 private:
  Logger& log_;
  std::string label_;
  std::string unit_;
  bool tty_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace wmgeom
