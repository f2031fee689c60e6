#include "hbone/route.h"

#include <gtest/gtest.h>

#include <map>

namespace ambit::hbone {
namespace {

using identity::SpiffeId;

class FakeLookup : public DestinationLookup {
 public:
  std::optional<ServiceTarget> FindService(const net::SocketAddress& vip) const override {
    auto it = services.find(vip);
    if (it == services.end()) return std::nullopt;
    return it->second;
  }
  std::optional<WorkloadTarget> FindWorkload(const net::IpAddress& ip) const override {
    auto it = workloads.find(ip);
    if (it == workloads.end()) return std::nullopt;
    return it->second;
  }
  std::map<net::SocketAddress, ServiceTarget> services;
  std::map<net::IpAddress, WorkloadTarget> workloads;
};

net::SocketAddress Addr(const char* s) { return *net::SocketAddress::Parse(s); }
net::IpAddress Ip(const char* s) { return *net::IpAddress::Parse(s); }

class RouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lookup.workloads.emplace(server_a.ip, server_a);
    lookup.workloads.emplace(server_b.ip, server_b);
    lookup.workloads.emplace(legacy.ip, legacy);
    lookup.services.emplace(Addr("10.96.0.20:80"),
                            ServiceTarget{"echo.default.svc.cluster.local",
                                          {{server_a, 8080}, {server_b, 8080}},
                                          {SpiffeId("cluster.local", "default", "echo-extra")}});
    lookup.services.emplace(Addr("10.96.0.30:80"),
                            ServiceTarget{"legacy.legacy.svc.cluster.local", {{legacy, 9090}}, {}});
    lookup.services.emplace(Addr("10.96.0.40:80"), ServiceTarget{"empty.default.svc.cluster.local", {}, {}});
  }
  FakeLookup lookup;
  WorkloadTarget server_a{Ip("10.0.1.1"), SpiffeId("cluster.local", "default", "echo"), true};
  WorkloadTarget server_b{Ip("10.0.1.2"), SpiffeId("cluster.local", "default", "echo-v2"), true};
  WorkloadTarget legacy{Ip("10.0.2.1"), SpiffeId("cluster.local", "legacy", "default"), false};
};

TEST_F(RouteTest, ServiceVipGoesOverHboneToAnEndpointTargetPort) {
  RouteDecision d = DecideRoute(Addr("10.96.0.20:80"), lookup, /*pick=*/1);
  ASSERT_EQ(d.kind, RouteDecision::Kind::kHbone);
  EXPECT_EQ(d.next_hop.ToString(), "10.0.1.2:15008");
  EXPECT_EQ(d.connect_target.ToString(), "10.0.1.2:8080");
  EXPECT_EQ(d.service_hostname, "echo.default.svc.cluster.local");
  ASSERT_EQ(d.expected_identities.size(), 2u);
  EXPECT_EQ(d.expected_identities[0], server_b.identity);
  EXPECT_EQ(d.expected_identities[1], SpiffeId("cluster.local", "default", "echo-extra"));
  EXPECT_EQ(DecideRoute(Addr("10.96.0.20:80"), lookup, 2).next_hop.ToString(), "10.0.1.1:15008");
}

TEST_F(RouteTest, PodIpInTheMeshGoesOverHboneToThatPort) {
  RouteDecision d = DecideRoute(Addr("10.0.1.1:8080"), lookup, 0);
  ASSERT_EQ(d.kind, RouteDecision::Kind::kHbone);
  EXPECT_EQ(d.connect_target.ToString(), "10.0.1.1:8080");
  EXPECT_EQ(d.expected_identities, std::vector<SpiffeId>{server_a.identity});
  EXPECT_TRUE(d.service_hostname.empty());
}

TEST_F(RouteTest, DestinationsOutsideTheMeshArePassthrough) {
  RouteDecision svc = DecideRoute(Addr("10.96.0.30:80"), lookup, 0);
  EXPECT_EQ(svc.kind, RouteDecision::Kind::kPassthrough);
  EXPECT_EQ(svc.next_hop.ToString(), "10.0.2.1:9090");
  RouteDecision pod = DecideRoute(Addr("10.0.2.1:22"), lookup, 0);
  EXPECT_EQ(pod.kind, RouteDecision::Kind::kPassthrough);
  EXPECT_EQ(pod.next_hop.ToString(), "10.0.2.1:22");
  RouteDecision external = DecideRoute(Addr("93.184.216.34:443"), lookup, 0);
  EXPECT_EQ(external.kind, RouteDecision::Kind::kPassthrough);
  EXPECT_EQ(external.next_hop.ToString(), "93.184.216.34:443");
  EXPECT_TRUE(external.expected_identities.empty());
}

TEST_F(RouteTest, ServiceWithoutEndpointsIsRejected) {
  RouteDecision d = DecideRoute(Addr("10.96.0.40:80"), lookup, 0);
  EXPECT_EQ(d.kind, RouteDecision::Kind::kReject);
  EXPECT_NE(d.reason.find("no healthy endpoint"), std::string::npos);
}

TEST_F(RouteTest, HbonePortIsConfigurable) {
  RouteDecision d = DecideRoute(Addr("10.0.1.1:8080"), lookup, 0, RouteOptions{40000});
  EXPECT_EQ(d.next_hop.ToString(), "10.0.1.1:40000");
}

}  // namespace
}  // namespace ambit::hbone
