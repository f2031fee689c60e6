#include "xds/backoff.h"

#include <gtest/gtest.h>

namespace ambit::xds {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, GrowsFrom10msTo15sWithinJitter) {
  Backoff b(milliseconds(10), milliseconds(15'000), 0.2);
  int64_t nominal = 10;
  for (int i = 0; i < 20; ++i) {
    auto d = b.Next(static_cast<uint64_t>(i) * 7919);
    EXPECT_GE(d.count(), static_cast<int64_t>(nominal * 0.8) - 1) << i;
    EXPECT_LE(d.count(), std::min<int64_t>(15'000, static_cast<int64_t>(nominal * 1.2) + 1)) << i;
    nominal = std::min<int64_t>(nominal * 2, 15'000);
  }
  EXPECT_LE(b.Next(999'999).count(), 15'000);
}

TEST(Backoff, ResetStartsOver) {
  Backoff b(milliseconds(10), milliseconds(15'000), 0.0);
  b.Next(0);
  b.Next(0);
  EXPECT_EQ(b.Next(0).count(), 40);
  b.Reset();
  EXPECT_EQ(b.Next(0).count(), 10);
}

}  // namespace
}  // namespace ambit::xds
