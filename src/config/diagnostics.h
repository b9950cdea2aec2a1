// Plan-time diagnostics: every problem in a pipeline file is collected, then
// printed as "FILE:LINE:COL: error: KEY.PATH: what was expected, what was
// found", sorted by position. Not thread-safe (plan time is single-threaded).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wmgeom {

struct SourcePos {
  std::string file;
  std::int64_t line = 0;
  std::int64_t col = 0;
  std::string str() const;  // "file:line:col" (or "file" when line is 0)
};

struct Diagnostic {
  SourcePos pos;
  std::string key;  // "stage.gru.hidden"; may be empty
  std::string message;
  std::string format() const;
};

class Diagnostics {
 public:
  void error(const SourcePos& pos, const std::string& key, const std::string& message);
  bool ok() const { return items_.empty(); }
  const std::vector<Diagnostic>& all() const { return items_; }
  // One line per diagnostic, sorted by file, line, column.
  std::string format_all() const;

 private:
  std::vector<Diagnostic> items_;
};

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b);
// The closest candidate within a small distance, or "".
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace wmgeom
