// Numbers as people read them, for logs, tables and reports (fmt).
#pragma once

#include <string>

namespace wmgeom {

std::string format_seconds(double s);         // "850 ms", "12.3 s", "4 min 05 s"
std::string format_bytes(double b);           // "1.2 MB"
std::string format_fixed(double v, int digits);  // "3.142" for (3.14159, 3)

}  // namespace wmgeom
