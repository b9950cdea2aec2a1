// Which `temporal_hypotheses` rows finding 4's H2 sub-test averages: the one
// rule, read by the findings (finding4_chronology.cpp) and by the report
// where a result carries no findings numbers
// (stages/report/sections/temporal.cpp). Torch-free and header-only, as
// swap_pairs.h.
//
// H2 scores the encoding decoder of stimulus s (fitted at frame s) on the
// state at a later frame j against the label at j. Where s >= N (the task's
// N) the decoder has learned to read the memory of s - N, s - 2N, ... (their
// labels agree with the label at s about half the time), and at j the same
// weights read the memory of j - N, j - 2N, ..., whose labels agree with the
// label at j: H2 rises with no code shared by s and j (the memory echo;
// stages/analyze/README.md). At s < N no earlier stimulus's label agrees
// with s's, so no echo of any order: those rows alone enter the test (since
// analyze version 15). Rows with s >= N stay in the table.
#pragma once

#include <cstdlib>
#include <string>

namespace wmgeom::analyze {

// The N of a task named "<feature>-<N>" ("loc-2" -> 2); 1 where the name
// has no such suffix (the strictest: only s = 0 is tested).
inline int task_n_back(const std::string& task) {
  const auto dash = task.rfind('-');
  if (dash == std::string::npos || dash + 1 >= task.size()) return 1;
  char* end = nullptr;
  const long n = std::strtol(task.c_str() + dash + 1, &end, 10);
  return (end != nullptr && *end == '\0' && n >= 1) ? static_cast<int>(n) : 1;
}

// Whether an H2 row at stimulus frame `stim_frame` of `task` is in the test.
inline bool h2_row_tested(double stim_frame, const std::string& task) {
  return stim_frame < static_cast<double>(task_n_back(task));
}

}  // namespace wmgeom::analyze
