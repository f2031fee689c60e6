#include "hbone/connect_request.h"

#include <gtest/gtest.h>

namespace ambit::hbone {
namespace {

const net::IpAddress kLocal = *net::IpAddress::Parse("10.0.0.7");

h2::Headers Connect(std::string authority) {
  return {{":method", "CONNECT"}, {":authority", std::move(authority)}};
}

int StatusOf(const ConnectDecision& d) {
  if (const auto* r = std::get_if<RejectedConnect>(&d)) return r->status;
  return 200;
}

TEST(DecideConnect, AcceptsConnectToTheLocalAddressWithParsedHeaders) {
  h2::Headers h = Connect("10.0.0.7:8080");
  h.push_back({"forwarded", "for=\"10.0.0.9:41234\";host=echo.default.svc.cluster.local"});
  h.push_back({"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"});
  h.push_back({"baggage", "k8s.namespace.name=default"});
  ConnectDecision d = DecideConnect(h, {kLocal});
  ASSERT_EQ(StatusOf(d), 200);
  const auto& a = std::get<AcceptedConnect>(d);
  EXPECT_EQ(a.target.ToString(), "10.0.0.7:8080");
  ASSERT_TRUE(a.forwarded_for.has_value());
  EXPECT_EQ(a.forwarded_for->ToString(), "10.0.0.9:41234");
  EXPECT_EQ(a.forwarded_host, "echo.default.svc.cluster.local");
  EXPECT_EQ(a.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00");
  EXPECT_EQ(a.baggage, "k8s.namespace.name=default");
}

TEST(DecideConnect, NonConnectMethodIs400) {
  EXPECT_EQ(StatusOf(DecideConnect({{":method", "GET"}, {":authority", "10.0.0.7:80"}}, {kLocal})), 400);
  EXPECT_EQ(StatusOf(DecideConnect({{":authority", "10.0.0.7:80"}}, {kLocal})), 400);
}

TEST(DecideConnect, MissingOrUnparsableAuthorityIs400) {
  EXPECT_EQ(StatusOf(DecideConnect({{":method", "CONNECT"}}, {kLocal})), 400);
  for (const char* bad : {"", "10.0.0.7", "10.0.0.7:99999", "[10.0.0.7]:80", "fd00::1:80", "a b:80", ":80"}) {
    EXPECT_EQ(StatusOf(DecideConnect(Connect(bad), {kLocal})), 400) << bad;
  }
}

TEST(DecideConnect, HostnameAuthorityIs503) {
  EXPECT_EQ(StatusOf(DecideConnect(Connect("echo.default.svc.cluster.local:80"), {kLocal})), 503);
}

TEST(DecideConnect, TargetIpOtherThanTheLocalOneIs400) {
  EXPECT_EQ(StatusOf(DecideConnect(Connect("10.0.0.8:8080"), {kLocal})), 400);
  EXPECT_EQ(StatusOf(DecideConnect(Connect("[fd00::7]:8080"), {kLocal})), 400);
}

TEST(DecideConnect, SelfCallPortsAre503) {
  for (const char* a : {"10.0.0.7:15001", "10.0.0.7:15006", "10.0.0.7:15008"}) {
    EXPECT_EQ(StatusOf(DecideConnect(Connect(a), {kLocal})), 503) << a;
  }
}

TEST(DecideConnect, Ipv6TargetsAreBracketed) {
  const auto local6 = *net::IpAddress::Parse("fd00::7");
  ConnectDecision d = DecideConnect(Connect("[fd00::7]:443"), {local6});
  ASSERT_EQ(StatusOf(d), 200);
  EXPECT_EQ(std::get<AcceptedConnect>(d).target.port(), 443);
}

TEST(DecideConnect, MalformedOptionalHeadersAreIgnored) {
  h2::Headers h = Connect("10.0.0.7:80");
  h.push_back({"forwarded", "for=unknown"});
  h.push_back({"traceparent", "00-00000000000000000000000000000000-b7ad6b7169203331-00"});
  ConnectDecision d = DecideConnect(h, {kLocal});
  ASSERT_EQ(StatusOf(d), 200);
  EXPECT_FALSE(std::get<AcceptedConnect>(d).forwarded_for.has_value());
  EXPECT_TRUE(std::get<AcceptedConnect>(d).traceparent.empty());
}

TEST(Traceparent, ValidatesTheW3cShape) {
  EXPECT_TRUE(IsValidTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
  EXPECT_FALSE(IsValidTraceparent("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"));
  EXPECT_FALSE(IsValidTraceparent("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
  EXPECT_FALSE(IsValidTraceparent("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"));
  EXPECT_FALSE(IsValidTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331"));
}

}  // namespace
}  // namespace ambit::hbone
