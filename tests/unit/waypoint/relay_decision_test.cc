#include "waypoint/relay_decision.h"

#include <gtest/gtest.h>

#include <map>

#include "hbone/connect_headers.h"

namespace ambit::waypoint {
namespace {

using hbone::RouteDecision;
using hbone::ServiceTarget;
using hbone::WaypointRef;
using hbone::WaypointTarget;
using hbone::WorkloadTarget;
using identity::SpiffeId;

net::SocketAddress Addr(const char* s) { return *net::SocketAddress::Parse(s); }
net::IpAddress Ip(const char* s) { return *net::IpAddress::Parse(s); }

constexpr char kMe[] = "shop/waypoint.shop.svc.cluster.local";
constexpr char kOther[] = "shop/other-wp.shop.svc.cluster.local";

class FakeLookup : public hbone::DestinationLookup {
 public:
  std::optional<ServiceTarget> FindService(const net::SocketAddress& vip, std::uint64_t /*pick*/) const override {
    auto it = services.find(vip);
    if (it == services.end()) return std::nullopt;
    return it->second;
  }
  std::optional<WorkloadTarget> FindWorkload(const net::IpAddress& ip) const override {
    auto it = workloads.find(ip);
    if (it == workloads.end()) return std::nullopt;
    return it->second;
  }
  // The waypoint is known and ready: a relay must still never go back to it.
  std::optional<WaypointTarget> FindWaypoint(const WaypointRef&) const override {
    return WaypointTarget{{WorkloadTarget{Ip("10.0.9.1"), SpiffeId("cluster.local", "shop", "waypoint"), true}},
                          15008, {}};
  }
  std::map<net::SocketAddress, ServiceTarget> services;
  std::map<net::IpAddress, WorkloadTarget> workloads;
};

h2::Headers Connect(const char* authority) {
  hbone::ConnectRequest r;
  r.target = Addr(authority);
  r.downstream = Addr("10.0.0.5:41000");
  r.service_host = "cart.shop.svc.cluster.local";
  return hbone::BuildConnectHeaders(r);
}

class RelayDecisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WorkloadTarget cart1{Ip("10.0.1.1"), SpiffeId("cluster.local", "shop", "cart"), true};
    WorkloadTarget cart2{Ip("10.0.2.1"), SpiffeId("cluster.local", "shop", "cart"), true};
    WorkloadTarget legacy{Ip("10.0.3.1"), SpiffeId("cluster.local", "shop", "legacy"), false};
    ServiceTarget cart{"cart.shop.svc.cluster.local", {{cart1, 8080}, {cart2, 8080}}, {}};
    cart.waypoint = WaypointRef{kMe, std::nullopt, 15008};
    services.emplace(Addr("10.96.0.1:80"), cart);
    ServiceTarget elsewhere{"pay.shop.svc.cluster.local", {{cart1, 9000}}, {}};
    elsewhere.waypoint = WaypointRef{kOther, std::nullopt, 15008};
    services.emplace(Addr("10.96.0.2:80"), elsewhere);
    services.emplace(Addr("10.96.0.3:80"), ServiceTarget{"plain.shop.svc.cluster.local", {{cart1, 9000}}, {}});
    ServiceTarget empty{"empty.shop.svc.cluster.local", {}, {}};
    empty.waypoint = WaypointRef{kMe, std::nullopt, 15008};
    services.emplace(Addr("10.96.0.4:80"), empty);
    ServiceTarget old{"old.shop.svc.cluster.local", {{legacy, 7000}}, {}};
    old.waypoint = WaypointRef{kMe, std::nullopt, 15008};
    services.emplace(Addr("10.96.0.5:80"), old);
    WorkloadTarget bound_pod = cart2;
    bound_pod.waypoint = WaypointRef{kMe, std::nullopt, 15008};
    lookup.workloads.emplace(cart1.ip, cart1);
    lookup.workloads.emplace(bound_pod.ip, bound_pod);
    WorkloadTarget by_address{Ip("10.0.4.1"), SpiffeId("cluster.local", "shop", "db"), true};
    by_address.waypoint = WaypointRef{"", Ip("10.0.9.1"), 15008};
    lookup.workloads.emplace(by_address.ip, by_address);
    lookup.services = services;
    self.service_key = kMe;
    self.addresses = {Ip("10.0.9.1")};
  }
  std::map<net::SocketAddress, ServiceTarget> services;
  FakeLookup lookup;
  WaypointSelf self;
};

TEST_F(RelayDecisionTest, BoundServiceIsRelayedToAnEndpointNotBackToTheWaypoint) {
  RelayDecision d = DecideRelay(Connect("10.96.0.1:80"), lookup, self, /*pick=*/1);
  auto* relay = std::get_if<RelayRoute>(&d);
  ASSERT_NE(relay, nullptr) << std::get<RelayRefusal>(d).reason;
  EXPECT_EQ(relay->route.kind, RouteDecision::Kind::kHbone);
  EXPECT_FALSE(relay->route.via_waypoint);
  EXPECT_EQ(relay->route.next_hop.ToString(), "10.0.2.1:15008");
  EXPECT_EQ(relay->route.connect_target.ToString(), "10.0.2.1:8080");
  EXPECT_EQ(relay->route.expected_identities,
            std::vector<SpiffeId>{SpiffeId("cluster.local", "shop", "cart")});
  EXPECT_EQ(relay->route.service_hostname, "cart.shop.svc.cluster.local");
  EXPECT_EQ(relay->target.ToString(), "10.96.0.1:80");
  EXPECT_EQ(relay->destination, "service cart.shop.svc.cluster.local");
  ASSERT_TRUE(relay->request.forwarded_for.has_value());
  EXPECT_EQ(relay->request.forwarded_for->ToString(), "10.0.0.5:41000");
}

TEST_F(RelayDecisionTest, BoundPodIsRelayedAsAddressed) {
  for (const char* target : {"10.0.2.1:8080", "10.0.4.1:5432"}) {
    RelayDecision d = DecideRelay(Connect(target), lookup, self, 0);
    auto* relay = std::get_if<RelayRoute>(&d);
    ASSERT_NE(relay, nullptr) << target << ": " << std::get<RelayRefusal>(d).reason;
    EXPECT_EQ(relay->route.connect_target.ToString(), target);
    EXPECT_FALSE(relay->route.via_waypoint);
  }
}

TEST_F(RelayDecisionTest, EndpointOutsideTheMeshIsPlainTcp) {
  RelayDecision d = DecideRelay(Connect("10.96.0.5:80"), lookup, self, 0);
  auto* relay = std::get_if<RelayRoute>(&d);
  ASSERT_NE(relay, nullptr);
  EXPECT_EQ(relay->route.kind, RouteDecision::Kind::kPassthrough);
  EXPECT_EQ(relay->route.next_hop.ToString(), "10.0.3.1:7000");
}

TEST_F(RelayDecisionTest, NotServedHereIs400NamingTheBinding) {
  struct Case {
    const char* target;
    const char* says;
  } cases[] = {{"10.96.0.2:80", "bound to waypoint shop/other-wp"},
               {"10.96.0.3:80", "bound to no waypoint"},
               {"10.0.1.1:8080", "bound to no waypoint"}};
  for (const auto& c : cases) {
    RelayDecision d = DecideRelay(Connect(c.target), lookup, self, 0);
    auto* refusal = std::get_if<RelayRefusal>(&d);
    ASSERT_NE(refusal, nullptr) << c.target;
    EXPECT_EQ(refusal->status, 400) << c.target;
    EXPECT_NE(refusal->reason.find(c.says), std::string::npos) << refusal->reason;
  }
}

TEST_F(RelayDecisionTest, UnknownOrEmptyIs503) {
  RelayDecision unknown = DecideRelay(Connect("10.96.7.7:80"), lookup, self, 0);
  ASSERT_TRUE(std::holds_alternative<RelayRefusal>(unknown));
  EXPECT_EQ(std::get<RelayRefusal>(unknown).status, 503);
  EXPECT_NE(std::get<RelayRefusal>(unknown).reason.find("unknown destination 10.96.7.7:80"),
            std::string::npos);
  RelayDecision empty = DecideRelay(Connect("10.96.0.4:80"), lookup, self, 0);
  ASSERT_TRUE(std::holds_alternative<RelayRefusal>(empty));
  EXPECT_EQ(std::get<RelayRefusal>(empty).status, 503);
  EXPECT_NE(std::get<RelayRefusal>(empty).reason.find("no healthy endpoint"), std::string::npos);
}

TEST_F(RelayDecisionTest, MalformedRequestsAreRefused) {
  h2::Headers get = {{":method", "GET"}, {":authority", "10.96.0.1:80"}, {":path", "/"}};
  RelayDecision d = DecideRelay(get, lookup, self, 0);
  ASSERT_TRUE(std::holds_alternative<RelayRefusal>(d));
  EXPECT_EQ(std::get<RelayRefusal>(d).status, 400);
  h2::Headers bad = {{":method", "CONNECT"}, {":authority", "not an address"}};
  d = DecideRelay(bad, lookup, self, 0);
  ASSERT_TRUE(std::holds_alternative<RelayRefusal>(d));
  EXPECT_EQ(std::get<RelayRefusal>(d).status, 400);
  // A loop into our own HBONE port.
  d = DecideRelay(Connect("10.96.0.1:15008"), lookup, self, 0);
  ASSERT_TRUE(std::holds_alternative<RelayRefusal>(d));
  EXPECT_EQ(std::get<RelayRefusal>(d).status, 503);
}

TEST(WaypointSelfTest, MatchesByServiceKeyOrOwnAddress) {
  WaypointSelf self{kMe, {Ip("10.0.9.1")}};
  EXPECT_TRUE(self.Serves(WaypointRef{kMe, std::nullopt, 15008}));
  EXPECT_FALSE(self.Serves(WaypointRef{kOther, std::nullopt, 15008}));
  EXPECT_TRUE(self.Serves(WaypointRef{"", Ip("10.0.9.1"), 15008}));
  EXPECT_FALSE(self.Serves(WaypointRef{"", Ip("10.0.9.2"), 15008}));
  EXPECT_FALSE(self.Serves(WaypointRef{"", std::nullopt, 15008}));
}

}  // namespace
}  // namespace ambit::waypoint
