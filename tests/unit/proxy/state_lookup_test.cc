#include "proxy/state_lookup.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "state/ip_bytes.h"

namespace ambit::proxy {
namespace {

std::shared_ptr<const state::Workload> W(const std::string& name, const char* ip, bool hbone,
                                         bool healthy = true) {
  auto w = std::make_shared<state::Workload>();
  w->uid = "c//Pod/ns/" + name;
  w->name = name;
  w->ns = "ns";
  w->addresses = {*state::PackIp(ip)};
  w->tunnel_protocol = hbone ? state::TunnelProtocol::kHbone : state::TunnelProtocol::kNone;
  w->trust_domain = "cluster.local";
  w->service_account = name + "-sa";
  w->healthy = healthy;
  w->services["ns/web.ns.svc.cluster.local"] = {{80, 8080}};
  return w;
}

class StateLookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state::WorkloadState::Contents c;
    for (auto w : {W("a", "10.0.0.1", true), W("b", "10.0.0.2", false),
                   W("sick", "10.0.0.3", true, false)}) {
      c.workloads[w->uid] = w;
    }
    auto svc = std::make_shared<state::Service>();
    svc->name = "web";
    svc->ns = "ns";
    svc->hostname = "web.ns.svc.cluster.local";
    svc->vips = {{"", *state::PackIp("10.96.0.1")}};
    svc->ports = {{80, 8080}};
    svc->subject_alt_names = {"spiffe://cluster.local/ns/ns/sa/extra", "not a spiffe id"};
    c.services[svc->Key()] = svc;
    store_.Publish(std::make_shared<const state::WorkloadState>(std::move(c)));
  }
  state::StateStore store_;
};

TEST_F(StateLookupTest, FindsWorkloadsByIpWithIdentityAndProtocol) {
  StateLookup lookup(store_, 2);
  auto a = lookup.FindWorkload(*net::IpAddress::Parse("10.0.0.1"));
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->hbone);
  EXPECT_EQ(a->identity.ToString(), "spiffe://cluster.local/ns/ns/sa/a-sa");
  EXPECT_EQ(a->ip.ToString(), "10.0.0.1");
  auto b = lookup.FindWorkload(*net::IpAddress::Parse("10.0.0.2"));
  ASSERT_TRUE(b.has_value());
  EXPECT_FALSE(b->hbone);
  EXPECT_FALSE(lookup.FindWorkload(*net::IpAddress::Parse("10.0.0.9")).has_value());
}

TEST_F(StateLookupTest, ServiceVipGivesThePickedHealthyEndpointTargetPortAndExtraSans) {
  StateLookup lookup(store_, 1);
  const auto vip = *net::SocketAddress::Parse("10.96.0.1:80");
  std::set<std::string> seen;
  for (std::uint64_t pick = 0; pick < 8; ++pick) {
    auto svc = lookup.FindService(vip, pick);
    ASSERT_TRUE(svc.has_value());
    EXPECT_EQ(svc->hostname, "web.ns.svc.cluster.local");
    // Only the endpoint |pick| chose, never the whole list.
    ASSERT_EQ(svc->endpoints.size(), 1u);
    EXPECT_EQ(svc->endpoints[0].target_port, 8080);
    seen.insert(svc->endpoints[0].workload.ip.ToString());
    // The same pick gives the same endpoint.
    EXPECT_EQ(lookup.FindService(vip, pick)->endpoints[0].workload.ip, svc->endpoints[0].workload.ip);
    ASSERT_EQ(svc->extra_sans.size(), 1u);  // the unparsable SAN is dropped
    EXPECT_EQ(svc->extra_sans[0].ToString(), "spiffe://cluster.local/ns/ns/sa/extra");
  }
  // a and b are both chosen; the unhealthy one never is.
  EXPECT_EQ(seen, (std::set<std::string>{"10.0.0.1", "10.0.0.2"}));
  // A port the service does not have: known service, no endpoints.
  auto other = lookup.FindService(*net::SocketAddress::Parse("10.96.0.1:81"), 0);
  ASSERT_TRUE(other.has_value());
  EXPECT_TRUE(other->endpoints.empty());
  EXPECT_FALSE(lookup.FindService(*net::SocketAddress::Parse("10.96.0.2:80"), 0).has_value());
}

TEST_F(StateLookupTest, SeesNewSnapshots) {
  StateLookup lookup(store_, 1);
  EXPECT_TRUE(lookup.FindWorkload(*net::IpAddress::Parse("10.0.0.1")).has_value());
  store_.Publish(std::make_shared<const state::WorkloadState>());
  EXPECT_FALSE(lookup.FindWorkload(*net::IpAddress::Parse("10.0.0.1")).has_value());
  EXPECT_EQ(lookup.Hold()->workload_count(), 0u);
}

TEST(PackedIpTest, RoundTrips) {
  for (const char* text : {"10.1.2.3", "fd00::1"}) {
    auto ip = *net::IpAddress::Parse(text);
    EXPECT_EQ(IpFromPacked(PackedFromIp(ip)), ip);
    EXPECT_EQ(PackedFromIp(ip), *state::PackIp(text));
  }
}

}  // namespace
}  // namespace ambit::proxy
