#include "core/duration.h"

#include <gtest/gtest.h>

namespace ambit {
namespace {

using std::chrono::seconds;

TEST(ParseDurationSeconds, ReadsGoStyleWholeSeconds) {
  EXPECT_EQ(*ParseDurationSeconds("20s"), seconds(20));
  EXPECT_EQ(*ParseDurationSeconds("30m"), seconds(1800));
  EXPECT_EQ(*ParseDurationSeconds("24h"), seconds(86400));
  EXPECT_EQ(*ParseDurationSeconds("1h30m5s"), seconds(5405));
  EXPECT_EQ(*ParseDurationSeconds("0s"), seconds(0));
}

TEST(ParseDurationSeconds, RejectsEverythingElseNamingTheText) {
  for (const char* bad : {"", "20", "s", "1.5s", "100ms", "-5s", "5x", "1s1h", "1h1h", " 5s",
                          "99999999999999999999s", "9223372036854775807h"}) {
    auto r = ParseDurationSeconds(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().ToString().find("'" + std::string(bad) + "'"), std::string::npos)
        << r.error().ToString();
  }
}

TEST(FormatDurationSeconds, RoundTrips) {
  for (int64_t s : {0, 1, 59, 60, 61, 3600, 3661, 86400, 7776000}) {
    EXPECT_EQ(*ParseDurationSeconds(FormatDurationSeconds(seconds(s))), seconds(s)) << s;
  }
  EXPECT_EQ(FormatDurationSeconds(seconds(5405)), "1h30m5s");
}

TEST(ParseWorkloadCertTtl, EnforcesTheFloorAndIstiosMaximum) {
  EXPECT_EQ(*ParseWorkloadCertTtl("10s", "--workload-cert-ttl"), seconds(10));
  EXPECT_EQ(*ParseWorkloadCertTtl("2160h", "--workload-cert-ttl"), seconds(90 * 86400));
  auto low = ParseWorkloadCertTtl("9s", "--workload-cert-ttl");
  ASSERT_FALSE(low.ok());
  EXPECT_NE(low.error().ToString().find("--workload-cert-ttl"), std::string::npos);
  EXPECT_NE(low.error().ToString().find("between 10s and 2160h"), std::string::npos);
  EXPECT_FALSE(ParseWorkloadCertTtl("2161h", "x").ok());
  auto junk = ParseWorkloadCertTtl("soon", "--workload-cert-ttl");
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.error().ToString(),
            "--workload-cert-ttl: expected a duration like 20s, 30m, 24h or 1h30m, got 'soon'");
}

}  // namespace
}  // namespace ambit
