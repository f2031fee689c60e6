// Service.load_balancing in WorkloadState's pick: istiod's PreferClose /
// PreferSameNode / internalTrafficPolicy Local shapes, ranked for the client as
// ztunnel's load_balance does, checked against a reference ranking written
// straight over the Contents for randomized localities.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>

#include "state/ip_bytes.h"
#include "state/workload_state.h"

namespace ambit::state {
namespace {

std::string Ip(const std::string& text) { return PackIp(text).value(); }

const std::string kKey = "default/web.default.svc.cluster.local";

LoadBalancing PreferSameZone() {  // istiod: PreferClose, PreferSameZone
  return {{LbScope::kNetwork, LbScope::kRegion, LbScope::kZone}, LbMode::kFailover, false};
}
LoadBalancing PreferSameNode() {
  return {{LbScope::kNetwork, LbScope::kRegion, LbScope::kZone, LbScope::kSubzone, LbScope::kNode},
          LbMode::kFailover, false};
}
LoadBalancing LocalOnly() {  // internalTrafficPolicy: Local
  return {{LbScope::kNode}, LbMode::kStrict, false};
}

std::shared_ptr<Workload> Pod(const std::string& name, const std::string& ip, const std::string& node,
                              const std::string& zone, bool serves = true, bool healthy = true) {
  auto w = std::make_shared<Workload>();
  w->uid = "c//Pod/default/" + name;
  w->name = name;
  w->ns = "default";
  w->addresses = {Ip(ip)};
  w->tunnel_protocol = TunnelProtocol::kHbone;
  w->node = node;
  w->locality.region = "r";
  w->locality.zone = zone;
  if (serves) w->services[kKey] = {{80, 8080}};
  w->healthy = healthy;
  return w;
}

WorkloadState::Contents TwoNodes(std::optional<LoadBalancing> lb) {
  WorkloadState::Contents c;
  auto svc = std::make_shared<Service>();
  svc->name = "web";
  svc->ns = "default";
  svc->hostname = "web.default.svc.cluster.local";
  svc->vips = {ServiceVip{"", Ip("10.96.0.10")}};
  svc->ports = {{80, 8080}};
  svc->load_balancing = std::move(lb);
  c.services[kKey] = svc;
  for (auto w : {Pod("web-a1", "10.1.1.11", "node1", "node1"), Pod("web-a2", "10.1.1.12", "node1", "node1"),
                 Pod("web-b1", "10.1.2.11", "node2", "node2"),
                 Pod("client-1", "10.1.1.20", "node1", "node1", false),
                 Pod("client-2", "10.1.2.20", "node2", "node2", false),
                 Pod("client-3", "10.1.3.20", "node3", "node3", false)}) {
    c.workloads[w->uid] = w;
  }
  return c;
}

// The node names each client reaches over 1000 picks.
std::map<std::string, int> Reached(const WorkloadState& st, const std::string& client_ip) {
  const Workload* client = st.FindWorkloadByAddress("", Ip(client_ip));
  std::map<std::string, int> out;
  for (uint64_t r = 0; r < 1000; ++r) {
    auto ep = st.PickServiceEndpoint("", Ip("10.96.0.10"), 80, r, client);
    out[ep ? ep->workload->name : "none"]++;
  }
  return out;
}

TEST(LoadBalancing, WithoutItEveryClientSpreadsOverEveryEndpoint) {
  WorkloadState st(TwoNodes(std::nullopt));
  auto reached = Reached(st, "10.1.1.20");
  EXPECT_EQ(reached.size(), 3u);
  for (const auto& [name, n] : reached) EXPECT_GE(n, 300) << name;
}

TEST(LoadBalancing, PreferCloseStaysInTheClientsZoneAndFailsOver) {
  WorkloadState st(TwoNodes(PreferSameZone()));
  EXPECT_EQ(Reached(st, "10.1.1.20"), (std::map<std::string, int>{{"web-a1", 500}, {"web-a2", 500}}));
  EXPECT_EQ(Reached(st, "10.1.2.20"), (std::map<std::string, int>{{"web-b1", 1000}}));
  // node3's zone has none: every endpoint ranks the same (region), all are used.
  EXPECT_EQ(Reached(st, "10.1.3.20").size(), 3u);

  // node2's endpoint unhealthy: its clients fail over to node1.
  auto c = TwoNodes(PreferSameZone());
  auto sick = std::make_shared<Workload>(*c.workloads["c//Pod/default/web-b1"]);
  sick->healthy = false;
  c.workloads[sick->uid] = sick;
  WorkloadState failed_over(std::move(c));
  EXPECT_EQ(Reached(failed_over, "10.1.2.20"),
            (std::map<std::string, int>{{"web-a1", 500}, {"web-a2", 500}}));
}

TEST(LoadBalancing, PreferSameNodeRanksTheNodeAboveTheZone) {
  auto c = TwoNodes(PreferSameNode());
  // A second node in node1's zone with its own endpoint.
  auto other = Pod("web-c1", "10.1.4.11", "node4", "node1");
  c.workloads[other->uid] = other;
  auto client4 = Pod("client-4", "10.1.4.20", "node4", "node1", false);
  c.workloads[client4->uid] = client4;
  WorkloadState st(std::move(c));
  EXPECT_EQ(Reached(st, "10.1.4.20"), (std::map<std::string, int>{{"web-c1", 1000}}));
  EXPECT_EQ(Reached(st, "10.1.1.20"), (std::map<std::string, int>{{"web-a1", 500}, {"web-a2", 500}}));
  // Zone-level PreferClose would have spread node4's client over node1 and node4.
  auto zone = TwoNodes(PreferSameZone());
  zone.workloads[other->uid] = other;
  zone.workloads[client4->uid] = client4;
  WorkloadState zst(std::move(zone));
  EXPECT_EQ(Reached(zst, "10.1.4.20").size(), 3u);
}

TEST(LoadBalancing, StrictTakesOnlyFullMatchesAndUnknownClientsGetNothing) {
  WorkloadState st(TwoNodes(LocalOnly()));
  EXPECT_EQ(Reached(st, "10.1.2.20"), (std::map<std::string, int>{{"web-b1", 1000}}));
  EXPECT_EQ(Reached(st, "10.1.3.20"), (std::map<std::string, int>{{"none", 1000}}));
  EXPECT_FALSE(st.PickServiceEndpoint("", Ip("10.96.0.10"), 80, 0, nullptr).has_value());
  // Failover with an unknown client: no preference.
  WorkloadState failover(TwoNodes(PreferSameZone()));
  EXPECT_TRUE(failover.PickServiceEndpoint("", Ip("10.96.0.10"), 80, 0, nullptr).has_value());
}

TEST(LoadBalancing, AllowAllAdmitsUnhealthyEndpoints) {
  auto c = TwoNodes(LoadBalancing{{}, LbMode::kStandard, true});
  auto sick = std::make_shared<Workload>(*c.workloads["c//Pod/default/web-b1"]);
  sick->healthy = false;
  c.workloads[sick->uid] = sick;
  WorkloadState st(std::move(c));
  EXPECT_EQ(Reached(st, "10.1.1.20").count("web-b1"), 1u);
  EXPECT_EQ(st.Endpoints(*st.FindServiceByKey(kKey), 80).size(), 3u);
}

// Reference: ztunnel's ranking over every endpoint, best rank kept.
std::set<std::string> RefBest(const WorkloadState::Contents& c, const Service& svc,
                              const Workload& client) {
  const LoadBalancing& lb = *svc.load_balancing;
  std::map<int, std::set<std::string>> by_rank;
  const bool network_first = !lb.routing_preference.empty() && lb.routing_preference[0] == LbScope::kNetwork;
  for (const auto& [uid, w] : c.workloads) {
    if (!w->services.contains(svc.Key()) || !w->healthy) continue;
    int rank = 0, adjust = 0;
    for (LbScope scope : lb.routing_preference) {
      bool m = false;
      switch (scope) {
        case LbScope::kRegion: m = client.locality.region == w->locality.region; break;
        case LbScope::kZone: m = client.locality.zone == w->locality.zone; break;
        case LbScope::kSubzone: m = client.locality.subzone == w->locality.subzone; break;
        case LbScope::kNode: m = client.node == w->node; break;
        case LbScope::kCluster: m = client.cluster_id == w->cluster_id; break;
        case LbScope::kNetwork:
          m = client.network == w->network;
          if (network_first) {
            if (!m) continue;
            adjust = static_cast<int>(lb.routing_preference.size()) - 1;
          }
          break;
      }
      if (!m) break;
      ++rank;
    }
    if (lb.mode == LbMode::kStrict && rank != static_cast<int>(lb.routing_preference.size())) continue;
    by_rank[rank + adjust].insert(w->name);
  }
  return by_rank.empty() ? std::set<std::string>{} : by_rank.rbegin()->second;
}

TEST(LoadBalancing, MatchesTheReferenceRankingOnRandomLocalities) {
  std::mt19937 rng(7);
  auto any = [&](std::initializer_list<const char*> v) {
    return std::string(*(v.begin() + rng() % v.size()));
  };
  const LoadBalancing shapes[] = {PreferSameZone(), PreferSameNode(), LocalOnly(),
                                  {{LbScope::kRegion, LbScope::kZone}, LbMode::kStrict, false},
                                  {{LbScope::kCluster, LbScope::kNode}, LbMode::kFailover, false}};
  for (int round = 0; round < 200; ++round) {
    WorkloadState::Contents c = TwoNodes(shapes[round % std::size(shapes)]);
    c.workloads.clear();
    for (int i = 0; i < 12; ++i) {
      auto w = Pod("p" + std::to_string(i), "10.2.0." + std::to_string(i + 1), any({"n1", "n2", "n3"}),
                   any({"z1", "z2"}), rng() % 3 != 0, rng() % 5 != 0);
      w->locality.region = any({"r1", "r2"});
      w->network = any({"", "", "net-b"});
      w->cluster_id = any({"c1", "c2"});
      c.workloads[w->uid] = w;
    }
    WorkloadState st(c);
    const Service& svc = *st.FindServiceByKey(kKey);
    for (const auto& [uid, client] : st.contents().workloads) {
      std::set<std::string> want = RefBest(c, svc, *client);
      std::set<std::string> got;
      for (uint64_t r = 0; r < 64; ++r) {
        auto ep = st.PickServiceEndpoint(svc, 80, r, client.get());
        if (ep) got.insert(ep->workload->name);
      }
      EXPECT_EQ(got, want) << "round " << round << " client " << uid;
    }
  }
}

}  // namespace
}  // namespace ambit::state
