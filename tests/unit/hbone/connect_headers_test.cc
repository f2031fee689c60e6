#include "hbone/connect_headers.h"

#include <gtest/gtest.h>

#include "hbone/connect_request.h"

namespace ambit::hbone {
namespace {

std::string Get(const h2::Headers& h, std::string_view name) {
  for (const auto& x : h) {
    if (x.name == name) return x.value;
  }
  return "<missing>";
}

TEST(BuildConnectHeaders, MatchesZtunnelFormat) {
  ConnectRequest r;
  r.target = *net::SocketAddress::Parse("10.0.0.7:8080");
  r.downstream = *net::SocketAddress::Parse("10.0.0.9:41234");
  r.service_host = "echo.default.svc.cluster.local";
  Baggage b;
  b.cluster = "Kubernetes";
  b.ns = "default";
  b.workload_type = "deployment";
  b.workload_name = "client";
  b.service_name = "client";
  b.service_version = "v1";
  r.baggage = FormatBaggage(b);
  h2::Headers h = BuildConnectHeaders(r);
  EXPECT_EQ(Get(h, ":method"), "CONNECT");
  EXPECT_EQ(Get(h, ":authority"), "10.0.0.7:8080");
  EXPECT_EQ(Get(h, "forwarded"), "for=\"10.0.0.9:41234\";host=echo.default.svc.cluster.local");
  EXPECT_EQ(Get(h, "baggage"),
            "k8s.cluster.name=Kubernetes,k8s.namespace.name=default,k8s.deployment.name=client,"
            "service.name=client,service.version=v1");
  EXPECT_TRUE(IsValidTraceparent(Get(h, "traceparent"))) << Get(h, "traceparent");
  EXPECT_EQ(Get(h, "traceparent").substr(0, 3), "00-");
  EXPECT_EQ(Get(h, "traceparent").substr(52), "-00");
  // No :scheme/:path on a CONNECT.
  EXPECT_EQ(Get(h, ":path"), "<missing>");
}

TEST(BuildConnectHeaders, BracketsIpv6AndRoundTripsThroughTheServerParser) {
  ConnectRequest r;
  r.target = *net::SocketAddress::Parse("[fd00::7]:80");
  r.downstream = *net::SocketAddress::Parse("[fd00::9]:5555");
  h2::Headers h = BuildConnectHeaders(r);
  EXPECT_EQ(Get(h, ":authority"), "[fd00::7]:80");
  EXPECT_EQ(Get(h, "forwarded"), "for=\"[fd00::9]:5555\"");
  ConnectDecision d = DecideConnect(h, {*net::IpAddress::Parse("fd00::7")});
  ASSERT_TRUE(std::holds_alternative<AcceptedConnect>(d));
  EXPECT_EQ(std::get<AcceptedConnect>(d).forwarded_for, r.downstream);
  EXPECT_EQ(std::get<AcceptedConnect>(d).traceparent, Get(h, "traceparent"));
}

TEST(Traceparent, RandomIdsDiffer) {
  EXPECT_NE(RandomTraceparent(), RandomTraceparent());
  EXPECT_EQ(FormatTraceparent({0x0a, 0xf7}, {0xb7}),
            "00-0af70000000000000000000000000000-b700000000000000-00");
}

}  // namespace
}  // namespace ambit::hbone
