// Numbers as people read them, for logs, tables and reports (fmt).
#pragma once

#include <string>

namespace wmgeom {

std::string format_seconds(double s);            // "850 ms", "12.3 s", "4 min 05 s"
std::string format_bytes(double b);              // "1.2 MB"
std::string format_fixed(double v, int digits);  // "3.142" for (3.14159, 3)
std::string format_general(double v,
                           int digits);  // printf's %.*g: "0.1235" for (0.123456, 4), "1e-07"
std::string format_percent(double fraction,
                           int digits);  // "87%" for (0.87, 0), "87.5%" for (0.875, 1)

}  // namespace wmgeom
