#include "core/format.h"

#include <fmt/format.h>

namespace wmgeom {

std::string format_seconds(double s) {
  if (s < 1) return fmt::format("{:.0f} ms", s * 1000);
  if (s < 60) return fmt::format("{:.1f} s", s);
  return fmt::format("{} min {:02d} s", static_cast<int>(s / 60), static_cast<int>(s) % 60);
}

std::string format_bytes(double b) {
  static const char* const units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} {}", b, units[u]) : fmt::format("{:.1f} {}", b, units[u]);
}

std::string format_fixed(double v, int digits) { return fmt::format("{:.{}f}", v, digits); }

std::string format_general(double v, int digits) { return fmt::format("{:.{}g}", v, digits); }

std::string format_percent(double fraction, int digits) {
  return fmt::format("{:.{}f}%", 100.0 * fraction, digits);
}

}  // namespace wmgeom
