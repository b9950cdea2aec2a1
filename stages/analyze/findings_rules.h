// What the findings' tests share (findings.cpp: the contract and the
// replicate groups; finding<N>_*.cpp: one finding's declared test each).
// Private to the analyze stage's findings: not an interface.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyze/analyses.h"

namespace wmgeom::analyze::findings_detail {

using stats::Alternative;
using stats::TestResult;

// The unit of replication of every finding's test (SCIENCE.md section 6).
inline constexpr const char* kUnit = "model (seed)";

// Read access to a finished table; empty when absent.
struct Reader {
  const Table* t = nullptr;
  explicit Reader(const std::map<std::string, Table>& tables, const std::string& name) {
    if (auto it = tables.find(name); it != tables.end()) t = &it->second;
  }
  std::size_t rows() const { return t ? t->rows() : 0; }
  double num(const std::string& c, std::size_t i) const { return t->numeric.at(c)[i]; }
  const std::string& txt(const std::string& c, std::size_t i) const { return t->text.at(c)[i]; }
};

// A number with 3 significant digits.
std::string fmt(double v);
// The confidence level of every test: 1 - alpha.
double level_of(const Settings& s);
// "difference D, 95% CI [lo, +inf), p = P": the interval as the test states it.
std::string effect_text(const TestResult& t, const Settings& s,
                        const std::string& what = "difference");
// "vanilla RNN", "GRU", "LSTM" (other names as they are).
std::string rnn_label(const std::string& rnn);
// A finite number, or JSON null.
nlohmann::json number_or_null(double v);
// One test as findings.json records it (one-sided: the infinite side null).
nlohmann::json test_json(const std::string& name, const TestResult& r, Alternative alt,
                         double alpha, const std::string& unit);

// The four findings (SCIENCE.md section 5) and the causal test (4.5): each
// claim and the one test, declared before any data is seen, that decides it
// (section 6). kDeclared[k] is finding k + 1's (findings_rules.cpp).
struct Declared {
  const char* claim;
  const char* test;
};
extern const Declared kDeclared[5];

// The skeleton of a finding ("not testable" until decided), with the
// alpha and min_seeds it is decided with.
nlohmann::json finding(const Declared& d, const Settings& s);
// f, not testable for `reason`, with what to add to the pipeline.
nlohmann::json not_testable(nlohmann::json f, const std::string& reason, const std::string& add);
// f decided by `decisive` (its numbers copied to the top level).
nlohmann::json decide(nlohmann::json f, const nlohmann::json& decisive, bool held,
                      const std::string& detail);

// What a test is to its finding: kDeciding, one of the tests its verdict is
// the intersection-union of (IntersectionUnion::add takes only these), or
// kSupporting, reported beside the verdict and never read by it. findings.json
// records it per test (`deciding`, findings version 6 on), so a reader (the
// report, a reviewer's script) need not infer it from a test's name.
enum class Role { kDeciding, kSupporting };

// A test of the finding, added to f["tests"]; `passes` when it is significant
// in its declared direction.
struct Added {
  TestResult r;
  nlohmann::json json;
  bool passes;
  bool deciding;
};
Added add_test(nlohmann::json& f, const std::string& name, const TestResult& r, Alternative alt,
               const Settings& s, Role role);

// An intersection-union test: held only when every one of its tests passes
// (each at alpha, so the conjunction keeps level alpha without correction);
// the decisive test is the one with the largest p (an undefined one first).
// A test that cannot be computed (too few values) leaves the finding "not
// testable" (decide_all), never "not held": the gap checks before the tests
// (usable_gap) keep it from happening; this is the last guard.
struct IntersectionUnion {
  bool held = true;
  nlohmann::json decisive;
  double worst = -1;
  std::string undefined;  // the names of the tests that could not be computed
  int tests = 0;          // how many were added: decide_all checks findings.json agrees
  void add(const Added& a) {
    if (!a.deciding)
      throw std::logic_error("a supporting test in a verdict's intersection-union: " +
                             a.json.at("name").get<std::string>());
    ++tests;
    held = held && a.passes;
    if (!a.r.defined())
      undefined += (undefined.empty() ? "" : "; ") + a.json.at("name").get<std::string>();
    const double p = a.r.defined() ? a.r.p : INFINITY;
    if (decisive.is_null() || p > worst) {
      worst = p;
      decisive = a.json;
    }
  }
};
// f decided by the intersection-union `iut`; not testable when one of its
// tests could not be computed. Throws std::logic_error when f["tests"] marks
// other tests deciding than those `iut` took (a verdict must read exactly
// the tests findings.json calls deciding).
nlohmann::json decide_all(nlohmann::json f, const IntersectionUnion& iut,
                          const std::string& detail);

// What to add when a finding lacks replicates.
extern const std::string kSeeds;

// A replicate group: the models whose configurations differ only in the seed.
struct Group {
  std::string key;   // ModelData::group
  std::string name;  // for people (replicate_group_names)
  std::string rnn;
  bool multi = false;  // a multi-task regime (STMF or MTMF)
  std::vector<const ModelData*> models;
};

// The replicate groups of `used`: multi-task before single-task, then by
// architecture (vanilla, GRU, LSTM, others) and name.
std::vector<Group> groups_of(const std::vector<const ModelData*>& used,
                             const std::vector<ModelData>& all);
// `used` and every multi-task model of `all` not in it: the models whose
// replicate groups a finding decided by the multi-task groups tests. A
// multi-task group whose models have no rows in the finding's table is then
// a group without values (usable_gap: not testable), never left out of the
// intersection-union.
std::vector<const ModelData*> with_multi_task(std::vector<const ModelData*> used,
                                              const std::vector<ModelData>& all);
// Why a replicate test is impossible (a group under min_seeds models), or "".
std::string replicate_gap(const std::vector<Group>& groups, int min_seeds);
// Why a test of `value` across each group's seeds cannot decide: a group
// with fewer than min_seeds models whose value is finite (a model whose
// table rows gave no value, e.g. every row unscored, counts as none), or "".
// `what` names the value ("null-corrected difference"). Every deciding test
// runs only after this is empty, so that n never falls below min_seeds by
// values dropped inside the test.
std::string usable_gap(const std::vector<Group>& groups,
                       const std::map<const ModelData*, double>& value, int min_seeds,
                       const std::string& what);
// The multi-task groups among `groups`: they decide findings 3, 4 and 5.
std::vector<Group> multi_task_groups(const std::vector<Group>& groups);
// f, not testable because no multi-task model has `what` ("orthogonality
// results"): the verdict comes from the multi-task replicate groups.
nlohmann::json no_multi_task_groups(nlohmann::json f, const std::string& what);
// The finite per-model values of a group's seeds, in the group's order (a
// model without one is left out, so a test's n is the values it used).
std::vector<double> values_of(const Group& g, const std::map<const ModelData*, double>& value);

// The findings, one file each: finding1_retention.cpp, finding2_subspaces.cpp,
// finding3_orthogonality.cpp, finding4_chronology.cpp, finding5_causal.cpp.
using Tables = std::map<std::string, Table>;
nlohmann::json finding1(const Tables& tables, const std::vector<ModelData>& models,
                        const Settings& s);
nlohmann::json finding2(const Tables& tables, const std::vector<ModelData>& models,
                        const Settings& s);
nlohmann::json finding3(const Tables& tables, const std::vector<ModelData>& models,
                        const Settings& s);
nlohmann::json finding4(const Tables& tables, const std::vector<ModelData>& models,
                        const Settings& s);
nlohmann::json finding5(const Tables& tables, const std::vector<ModelData>& models,
                        const Settings& s);

}  // namespace wmgeom::analyze::findings_detail
