// Table building and the orthogonalisation index shared by the analyses
// (statistics: stats.h).
#include <algorithm>
#include <cmath>

#include <tbb/parallel_for.h>

#include "analyze/analyses.h"
#include "core/error.h"
#include "core/random.h"

namespace wmgeom::analyze {

TableBuilder& TableBuilder::add(std::vector<std::pair<std::string, Cell>> row) {
  if (!rows_.empty()) {
    const auto& first = rows_.front();
    if (row.size() != first.size()) {
      throw Error("analyze: a table row has " + std::to_string(row.size()) +
                  " columns, the first " + std::to_string(first.size()));
    }
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (row[c].first != first[c].first || row[c].second.index() != first[c].second.index()) {
        throw Error("analyze: a table row has column \"" + row[c].first +
                    "\" where the first has \"" + first[c].first + "\" (or another type)");
      }
    }
  }
  rows_.push_back(std::move(row));
  return *this;
}

std::vector<std::pair<std::string, bool>> TableBuilder::columns() const {
  std::vector<std::pair<std::string, bool>> out;
  if (rows_.empty()) return out;
  for (const auto& [name, cell] : rows_.front())
    out.emplace_back(name, std::holds_alternative<std::string>(cell));
  return out;
}

void TableBuilder::append(const TableBuilder& other) {
  for (const auto& row : other.rows_) add(row);
}

void for_each_unit(std::size_t n, const std::function<void(std::size_t, Tables&)>& unit,
                   Tables& tables) {
  std::vector<Tables> out(n);
  tbb::parallel_for(std::size_t{0}, n, [&](std::size_t i) { unit(i, out[i]); });
  for (const auto& part : out) {
    for (const auto& [name, builder] : part) tables[name].append(builder);
  }
}

std::vector<std::int64_t> to_vector(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kLong).contiguous();
  return {c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel()};
}

Table TableBuilder::build() const {
  Table t;
  if (rows_.empty()) return t;
  for (std::size_t c = 0; c < rows_.front().size(); ++c) {
    const auto& [name, first] = rows_.front()[c];
    if (std::holds_alternative<double>(first)) {
      std::vector<double> v;
      v.reserve(rows_.size());
      for (const auto& r : rows_) v.push_back(std::get<double>(r[c].second));
      t.add(name, std::move(v));
    } else {
      std::vector<std::string> v;
      v.reserve(rows_.size());
      for (const auto& r : rows_) v.push_back(std::get<std::string>(r[c].second));
      t.add(name, std::move(v));
    }
  }
  return t;
}

double orthogonality_index(const torch::Tensor& normals) {
  torch::Tensor n = torch::nn::functional::normalize(
      normals.to(torch::kFloat64), torch::nn::functional::NormalizeFuncOptions().dim(1));
  torch::Tensor cos = torch::mm(n, n.t()).abs();
  const std::int64_t k = n.size(0);
  if (k < 2) return std::nan("");
  double sum = 0;
  auto c = cos.accessor<double, 2>();
  for (std::int64_t i = 0; i < k; ++i) {
    for (std::int64_t j = i + 1; j < k; ++j) sum += 1.0 - std::min(1.0, c[i][j]);
  }
  return sum / static_cast<double>(k * (k - 1) / 2);
}

Row model_columns(const ModelData& m) {
  return {{"model", m.name}, {"rnn", m.rnn}, {"regime", m.regime}};
}

torch::Tensor ModelData::rows_of_task(std::size_t k) const {
  return task.eq(static_cast<std::int64_t>(k)).nonzero().squeeze(1);
}

std::uint64_t ModelData::own_seed(std::uint64_t seed) const {
  return random::hash_combine(seed, random::hash_string(source.empty() ? name : source));
}

}  // namespace wmgeom::analyze
