// Finding 4's swap measures of one model from a swap table's rows: the one
// pairing rule, read by the findings (finding4_chronology.cpp) and by the
// report where a result carries no findings numbers (older analyses:
// stages/report/sections/temporal.cpp). Torch-free and header-only, so the
// report (no LibTorch) includes it.
//
// Each swap is taken relative to its own target at the same cell,
// (swap - chance) / (fitted - chance) (the table's `relative`), paired by
// source cell (task, feature, source_stim, source_frame); a pair counts only
// when both targets beat the 95th percentile of their empirical chance
// (`target_above_chance`, else NaN, and the pair is excluded). The swap
// measure is the elapsed-shifted minus the `time_shifted` partner's
// relative score; rotation and its null are the elapsed-shifted minus its
// no-rotation control and its permuted-rotation null (NaN where the table
// has none).
#pragma once

#include <cmath>
#include <cstddef>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace wmgeom::analyze {

struct SwapPairs {
  std::map<std::string, std::vector<double>> accuracy;  // per test, the scored rows' accuracy
  std::vector<double> swaps, rotations, nulls;          // per usable pair
  int pairs = 0;     // cells with both swaps (usable or excluded)
  int unscored = 0;  // rows without a finite accuracy or fitted accuracy (skipped)
};

// `table`: anything with num(column, row) and txt(column, row); `rows`: the
// model's task-relevant rows (the caller's selection); `time_shifted`: the
// partner test ("time_shifted_same_cell" for the declared centroid swap since
// analyze version 10, "time_shifted" for the decoder-weight swap).
template <class Rows>
SwapPairs pair_swaps(const Rows& table, const std::vector<std::size_t>& rows,
                     const std::string& time_shifted) {
  SwapPairs out;
  std::map<std::tuple<std::string, std::string, double, double>, std::map<std::string, double>>
      cell;
  for (std::size_t i : rows) {
    if (!std::isfinite(table.num("accuracy", i)) ||
        !std::isfinite(table.num("fitted_accuracy", i))) {
      ++out.unscored;
      continue;
    }
    out.accuracy[table.txt("test", i)].push_back(table.num("accuracy", i));
    cell[{table.txt("task", i), table.txt("feature", i), table.num("source_stim", i),
          table.num("source_frame", i)}][table.txt("test", i)] =
        table.num("target_above_chance", i) > 0 ? table.num("relative", i) : NAN;
  }
  for (const auto& [key, tests] : cell) {
    auto get = [&](const std::string& test) {
      const auto it = tests.find(test);
      return it == tests.end() ? NAN : it->second;
    };
    if (!tests.count("elapsed_shifted") || !tests.count(time_shifted)) continue;
    ++out.pairs;
    const double es = get("elapsed_shifted"), ts = get(time_shifted);
    if (!std::isfinite(es) || !std::isfinite(ts)) continue;
    out.swaps.push_back(es - ts);
    out.rotations.push_back(es - get("elapsed_shifted_no_rotation"));
    out.nulls.push_back(es - get("elapsed_shifted_permuted_rotation"));
  }
  return out;
}

}  // namespace wmgeom::analyze
