// core/format.h: numbers as people read them, and as printf would print them
// (the CSV exports and the report's figures compare against printf's forms).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "core/format.h"

namespace wmgeom {
namespace {

std::string printf_g(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

TEST(Format, GeneralMatchesPrintf) {
  for (double v :
       {0.0, 1.0, -2.5, 0.123456789012, 1e-7, 123456789.0, 1.0 / 3.0, 2e300, -0.000123}) {
    for (int digits : {3, 4, 6, 10})
      EXPECT_EQ(format_general(v, digits), printf_g(v, digits)) << v << " " << digits;
  }
  EXPECT_EQ(format_general(0.1234567, 4), "0.1235");
  EXPECT_EQ(format_general(std::nan(""), 10), "nan");
  EXPECT_EQ(format_general(INFINITY, 10), "inf");
}

TEST(Format, FixedPercentSecondsBytes) {
  EXPECT_EQ(format_fixed(3.14159, 3), "3.142");
  EXPECT_EQ(format_fixed(-0.04, 1), "-0.0");
  EXPECT_EQ(format_percent(0.87, 0), "87%");
  EXPECT_EQ(format_percent(0.875, 1), "87.5%");
  EXPECT_EQ(format_percent(1.0, 0), "100%");
  EXPECT_EQ(format_seconds(0.85), "850 ms");
  EXPECT_EQ(format_seconds(12.34), "12.3 s");
  EXPECT_EQ(format_seconds(245), "4 min 05 s");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1.2e6), "1.2 MB");
}

}  // namespace
}  // namespace wmgeom
