// The engine's view of a stage's torch device (a schema's `device` key),
// without LibTorch: see DeviceSupport.
#pragma once

#include <functional>
#include <string>

namespace wmgeom {

// How the engine treats a stage's torch device (a schema's `device` key),
// without knowing LibTorch: the science library that does (nets,
// nets::device_support()) fills it, and register_all installs it before the
// stages. The planner then checks the parameter (an error at its line,
// `expectation` and what was found), puts `key_extras` (LibTorch version,
// device kind) in front of the stage's own key extras, and gives the
// instance the `resource` token (one GPU job at a time per device) unless
// the stage names one itself. No stage repeats any of it.
struct DeviceSupport {
  std::string expectation;                                    // e.g. expected "auto", "cpu", ...
  std::function<bool(const std::string&)> valid;              // plan time: no device is touched
  std::function<std::string(const std::string&)> key_extras;  // lines, '\n'-separated
  std::function<std::string(const std::string&)> resource;    // "" for the CPU
};

}  // namespace wmgeom
