// Error types. Exit codes: 0 ok, 1 run-time failure (wmgeom::Error),
// 2 invalid input (wmgeom::InputError: a bad file, key or value that plan-time
// validation could not see, e.g. a malformed OBJ found while rendering).
#pragma once

#include <stdexcept>
#include <string>

namespace wmgeom {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
  virtual int exit_code() const { return 1; }
};

// Bad user input. The message names the file, line or key and what was expected.
class InputError : public Error {
 public:
  explicit InputError(const std::string& what) : Error(what) {}
  int exit_code() const override { return 2; }
};

// A failure inside one stage instance; carries the instance name ("gru[seed=1]").
class StageError : public Error {
 public:
  StageError(std::string stage, const std::string& what, int exit_code)
      : Error(stage + ": " + what), stage_(std::move(stage)), exit_code_(exit_code) {}
  const std::string& stage() const { return stage_; }
  int exit_code() const override { return exit_code_; }

 private:
  std::string stage_;
  int exit_code_;
};

// Thrown by RunContext::check_cancelled() when another stage failed.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

}  // namespace wmgeom
