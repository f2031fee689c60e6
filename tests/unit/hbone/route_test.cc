#include "hbone/route.h"

#include <gtest/gtest.h>

#include <map>

namespace ambit::hbone {
namespace {

using identity::SpiffeId;

class FakeLookup : public DestinationLookup {
 public:
  std::optional<ServiceTarget> FindService(const net::SocketAddress& vip, std::uint64_t pick) const override {
    last_pick = pick;
    auto it = services.find(vip);
    if (it == services.end()) return std::nullopt;
    return it->second;
  }
  std::optional<WorkloadTarget> FindWorkload(const net::IpAddress& ip) const override {
    auto it = workloads.find(ip);
    if (it == workloads.end()) return std::nullopt;
    return it->second;
  }
  std::optional<WaypointTarget> FindWaypoint(const WaypointRef& ref) const override {
    auto it = waypoints.find(ref.service_key.empty() ? ref.address->ToString() : ref.service_key);
    if (it == waypoints.end()) return std::nullopt;
    return it->second;
  }
  std::map<net::SocketAddress, ServiceTarget> services;
  std::map<net::IpAddress, WorkloadTarget> workloads;
  std::map<std::string, WaypointTarget> waypoints;  // by service key or address text
  mutable std::optional<std::uint64_t> last_pick;  // what the last FindService was given
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

TEST_F(RouteTest, TheLookupGetsThePickAndMayReturnOnlyTheEndpointItChose) {
  // A lookup that chose for itself returns one endpoint: that one is taken,
  // whatever the pick (pick % 1 == 0).
  lookup.services.emplace(Addr("10.96.0.50:80"),
                          ServiceTarget{"one.default.svc.cluster.local", {{server_b, 8080}}, {}});
  RouteDecision d = DecideRoute(Addr("10.96.0.50:80"), lookup, /*pick=*/12345);
  ASSERT_EQ(d.kind, RouteDecision::Kind::kHbone);
  EXPECT_EQ(d.next_hop.ToString(), "10.0.1.2:15008");
  EXPECT_EQ(lookup.last_pick, std::optional<std::uint64_t>(12345));
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

class WaypointRouteTest : public RouteTest {
 protected:
  void SetUp() override {
    RouteTest::SetUp();
    lookup.waypoints.emplace(
        kWaypointKey, WaypointTarget{{wp_a, wp_b}, 15008, {SpiffeId("cluster.local", "default", "wp-extra")}});
    lookup.waypoints.emplace(kIdleKey, WaypointTarget{{}, 15008, {}});
    ServiceTarget bound{"bound.default.svc.cluster.local", {{server_a, 8080}}, {}};
    bound.waypoint = WaypointRef{kWaypointKey, std::nullopt, 15008};
    lookup.services.emplace(Addr("10.96.0.50:80"), bound);
    ServiceTarget idle{"idle.default.svc.cluster.local", {{server_b, 8080}}, {}};
    idle.waypoint = WaypointRef{kIdleKey, std::nullopt, 15008};
    lookup.services.emplace(Addr("10.96.0.60:80"), idle);
    ServiceTarget missing{"missing.default.svc.cluster.local", {{server_b, 8080}}, {}};
    missing.waypoint = WaypointRef{"default/nowhere.default.svc.cluster.local", std::nullopt, 15008};
    lookup.services.emplace(Addr("10.96.0.70:80"), missing);
    ServiceTarget empty_bound{"empty-bound.default.svc.cluster.local", {}, {}};
    empty_bound.waypoint = WaypointRef{kWaypointKey, std::nullopt, 15008};
    lookup.services.emplace(Addr("10.96.0.80:80"), empty_bound);
    WorkloadTarget pod = pod_with_waypoint;
    pod.waypoint = WaypointRef{kWaypointKey, std::nullopt, 15008};
    lookup.workloads.emplace(pod.ip, pod);
  }
  static constexpr const char* kWaypointKey = "default/waypoint.default.svc.cluster.local";
  static constexpr const char* kIdleKey = "default/idle-wp.default.svc.cluster.local";
  WorkloadTarget wp_a{Ip("10.0.3.1"), SpiffeId("cluster.local", "default", "waypoint"), true};
  WorkloadTarget wp_b{Ip("10.0.3.2"), SpiffeId("cluster.local", "default", "waypoint"), true};
  WorkloadTarget pod_with_waypoint{Ip("10.0.1.9"), SpiffeId("cluster.local", "default", "db"), true};
};

TEST_F(WaypointRouteTest, ServiceWithAWaypointGoesToItKeepingTheVipAsAuthority) {
  RouteDecision d = DecideRoute(Addr("10.96.0.50:80"), lookup, /*pick=*/1);
  ASSERT_EQ(d.kind, RouteDecision::Kind::kHbone);
  EXPECT_TRUE(d.via_waypoint);
  EXPECT_EQ(d.next_hop.ToString(), "10.0.3.2:15008");
  EXPECT_EQ(d.connect_target.ToString(), "10.96.0.50:80");
  EXPECT_EQ(d.service_hostname, "bound.default.svc.cluster.local");
  // The waypoint's identity and its Service's SANs, not the endpoint's.
  EXPECT_EQ(d.expected_identities,
            (std::vector<SpiffeId>{wp_b.identity, SpiffeId("cluster.local", "default", "wp-extra")}));
  EXPECT_EQ(DecideRoute(Addr("10.96.0.50:80"), lookup, 2).next_hop.ToString(), "10.0.3.1:15008");
}

TEST_F(WaypointRouteTest, BoundServiceWithoutEndpointsStillGoesToTheWaypoint) {
  RouteDecision d = DecideRoute(Addr("10.96.0.80:80"), lookup, 0);
  ASSERT_EQ(d.kind, RouteDecision::Kind::kHbone);
  EXPECT_TRUE(d.via_waypoint);
  EXPECT_EQ(d.connect_target.ToString(), "10.96.0.80:80");
}

TEST_F(WaypointRouteTest, PodIpWithAWorkloadWaypointGoesToIt) {
  RouteDecision d = DecideRoute(Addr("10.0.1.9:5432"), lookup, 0);
  ASSERT_EQ(d.kind, RouteDecision::Kind::kHbone);
  EXPECT_TRUE(d.via_waypoint);
  EXPECT_EQ(d.next_hop.ToString(), "10.0.3.1:15008");
  EXPECT_EQ(d.connect_target.ToString(), "10.0.1.9:5432");
  EXPECT_TRUE(d.service_hostname.empty());
}

TEST_F(WaypointRouteTest, MissingOrIdleWaypointIsBypassed) {
  for (const char* vip : {"10.96.0.60:80", "10.96.0.70:80"}) {
    RouteDecision d = DecideRoute(Addr(vip), lookup, 0);
    ASSERT_EQ(d.kind, RouteDecision::Kind::kHbone) << vip;
    EXPECT_FALSE(d.via_waypoint) << vip;
    EXPECT_EQ(d.next_hop.ToString(), "10.0.1.2:15008") << vip;
    EXPECT_EQ(d.connect_target.ToString(), "10.0.1.2:8080") << vip;
  }
}

TEST_F(WaypointRouteTest, TrafficFromTheWaypointItselfGoesDirect) {
  RouteOptions from_waypoint;
  from_waypoint.source_ip = wp_b.ip;
  RouteDecision d = DecideRoute(Addr("10.96.0.50:80"), lookup, 0, from_waypoint);
  ASSERT_EQ(d.kind, RouteDecision::Kind::kHbone);
  EXPECT_FALSE(d.via_waypoint);
  EXPECT_EQ(d.connect_target.ToString(), "10.0.1.1:8080");
  EXPECT_EQ(d.expected_identities.front(), server_a.identity);
  // Another source still goes through it.
  RouteOptions from_client;
  from_client.source_ip = Ip("10.0.9.9");
  EXPECT_TRUE(DecideRoute(Addr("10.96.0.50:80"), lookup, 0, from_client).via_waypoint);
}

TEST_F(WaypointRouteTest, WaypointsOffRoutesToTheEndpoint) {
  RouteOptions off;
  off.use_waypoints = false;
  RouteDecision svc = DecideRoute(Addr("10.96.0.50:80"), lookup, 0, off);
  EXPECT_FALSE(svc.via_waypoint);
  EXPECT_EQ(svc.connect_target.ToString(), "10.0.1.1:8080");
  RouteDecision pod = DecideRoute(Addr("10.0.1.9:5432"), lookup, 0, off);
  EXPECT_FALSE(pod.via_waypoint);
  EXPECT_EQ(pod.next_hop.ToString(), "10.0.1.9:15008");
  // Without waypoints, a bound service with no endpoints is rejected as usual.
  EXPECT_EQ(DecideRoute(Addr("10.96.0.80:80"), lookup, 0, off).kind, RouteDecision::Kind::kReject);
}

TEST_F(WaypointRouteTest, WaypointPortZeroFallsBackToTheConfiguredHbonePort) {
  lookup.waypoints[kWaypointKey].hbone_port = 0;
  RouteOptions options;
  options.hbone_port = 40000;
  EXPECT_EQ(DecideRoute(Addr("10.96.0.50:80"), lookup, 0, options).next_hop.ToString(),
            "10.0.3.1:40000");
}

// Fail closed: destinations marked waypoint_required are refused rather
// than sent direct when their waypoint has no ready pod.
TEST_F(WaypointRouteTest, RequiredWaypointWithoutReadyPodsIsRefusedNotBypassed) {
  for (const char* vip : {"10.96.0.60:80", "10.96.0.70:80"}) {  // idle; unknown waypoint
    lookup.services[Addr(vip)].waypoint_required = true;
    RouteDecision d = DecideRoute(Addr(vip), lookup, 0);
    EXPECT_EQ(d.kind, RouteDecision::Kind::kReject) << vip;
    EXPECT_TRUE(d.waypoint_unavailable) << vip;
    EXPECT_NE(d.reason.find("requires its waypoint"), std::string::npos) << d.reason;
    // With fail-open, Istio's fallback: direct to the endpoint.
    RouteOptions open;
    open.waypoint_fail_open = true;
    RouteDecision direct = DecideRoute(Addr(vip), lookup, 0, open);
    EXPECT_EQ(direct.kind, RouteDecision::Kind::kHbone) << vip;
    EXPECT_FALSE(direct.via_waypoint);
    EXPECT_FALSE(direct.waypoint_unavailable);
  }
  // A required waypoint that is up is used as usual.
  lookup.services[Addr("10.96.0.50:80")].waypoint_required = true;
  EXPECT_TRUE(DecideRoute(Addr("10.96.0.50:80"), lookup, 0).via_waypoint);
}

TEST_F(WaypointRouteTest, RequiredWaypointAppliesToPodIpsAndToDestinationsWithoutOne) {
  WorkloadTarget pod = pod_with_waypoint;
  pod.ip = Ip("10.0.1.10");
  pod.waypoint = WaypointRef{kIdleKey, std::nullopt, 15008};
  pod.waypoint_required = true;
  lookup.workloads.emplace(pod.ip, pod);
  RouteDecision d = DecideRoute(Addr("10.0.1.10:5432"), lookup, 0);
  EXPECT_EQ(d.kind, RouteDecision::Kind::kReject);
  EXPECT_TRUE(d.waypoint_unavailable);
  // Marked but naming no waypoint: refused as well (never reached direct).
  lookup.services[Addr("10.96.0.20:80")].waypoint_required = true;
  RouteDecision none = DecideRoute(Addr("10.96.0.20:80"), lookup, 0);
  EXPECT_EQ(none.kind, RouteDecision::Kind::kReject);
  EXPECT_NE(none.reason.find("none is bound"), std::string::npos) << none.reason;
}

TEST_F(WaypointRouteTest, RequiredWaypointStillLetsTheWaypointItselfThrough) {
  lookup.services[Addr("10.96.0.50:80")].waypoint_required = true;
  RouteOptions from_waypoint;
  from_waypoint.source_ip = wp_a.ip;
  RouteDecision d = DecideRoute(Addr("10.96.0.50:80"), lookup, 0, from_waypoint);
  EXPECT_EQ(d.kind, RouteDecision::Kind::kHbone);
  EXPECT_FALSE(d.via_waypoint);
  RouteOptions relay;
  relay.use_waypoints = false;  // the waypoint's own relay
  EXPECT_EQ(DecideRoute(Addr("10.96.0.50:80"), lookup, 0, relay).kind, RouteDecision::Kind::kHbone);
}

}  // namespace
}  // namespace ambit::hbone

namespace ambit::hbone {
namespace {

TEST(RouteHostname, AnEndpointKnownOnlyByNameIsResolvedByTheCaller) {
  FakeLookup lookup;
  WorkloadTarget by_name{net::IpAddress(), identity::SpiffeId("cluster.local", "shop", "default"), false};
  by_name.hostname = "backend.example.net";
  lookup.services.emplace(*net::SocketAddress::Parse("240.240.0.1:443"),
                          ServiceTarget{"ext.example", {{by_name, 8443}}, {}});
  RouteDecision d = DecideRoute(*net::SocketAddress::Parse("240.240.0.1:443"), lookup, 0);
  EXPECT_EQ(d.kind, RouteDecision::Kind::kPassthrough);
  EXPECT_EQ(d.resolve_hostname, "backend.example.net");
  EXPECT_EQ(d.next_hop.port(), 8443);
  EXPECT_EQ(d.service_hostname, "ext.example");
  // Endpoints with an address need no resolution.
  lookup.services.clear();
  WorkloadTarget by_ip{*net::IpAddress::Parse("10.0.0.9"), identity::SpiffeId("cluster.local", "shop", "default"),
                       false};
  lookup.services.emplace(*net::SocketAddress::Parse("240.240.0.1:443"),
                          ServiceTarget{"ext.example", {{by_ip, 8443}}, {}});
  EXPECT_TRUE(DecideRoute(*net::SocketAddress::Parse("240.240.0.1:443"), lookup, 0).resolve_hostname.empty());
}

}  // namespace
}  // namespace ambit::hbone
