// WorkloadState's per-snapshot endpoint lists against a reference: the
// counting pick WorkloadState made before (walk every workload that lists the
// service, count the eligible ones, take the (random % count)-th), written
// here straight over the Contents. Randomized states (several networks,
// shared VIPs, repeated and named ports, per-workload port mappings, unhealthy
// and address-less workloads) and updates built the way StateApplier builds
// them (copy the Contents, change some entries, construct a new snapshot).
#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "state/ip_bytes.h"
#include "state/workload_state.h"

namespace ambit::state {
namespace {

std::string Ip(const std::string& text) { return PackIp(text).value(); }

const std::vector<std::string> kNetworks = {"", "net-a", "net-b"};
const std::vector<uint16_t> kPorts = {80, 443, 9090, 81};

struct Expected {
  std::string uid;
  std::string address;
  uint16_t target_port = 0;
  friend bool operator==(const Expected&, const Expected&) = default;
};

// The reference: the service a VIP belongs to (first by key), its first
// mapping for |port|, then every workload (uid order) listing the service
// that is healthy (unless |include_unhealthy|), has an address and a target port.
const Service* RefServiceByVip(const WorkloadState::Contents& c, const std::string& network,
                               const std::string& vip) {
  for (const auto& [key, s] : c.services) {
    for (const ServiceVip& v : s->vips) {
      if (v.network == network && v.address == vip) return s.get();
    }
  }
  return nullptr;
}

std::vector<Expected> RefEndpoints(const WorkloadState::Contents& c, const Service& svc,
                                   uint16_t port, bool include_unhealthy) {
  std::vector<Expected> out;
  const PortMapping* mapping = nullptr;
  for (const PortMapping& p : svc.ports) {
    if (p.service_port == port) {
      mapping = &p;
      break;
    }
  }
  if (mapping == nullptr) return out;
  for (const auto& [uid, w] : c.workloads) {
    auto listed = w->services.find(svc.Key());
    if (listed == w->services.end()) continue;
    if ((!w->healthy && !include_unhealthy) || w->addresses.empty()) continue;
    uint16_t target = mapping->target_port;
    for (const PortMapping& p : listed->second) {
      if (p.service_port == port && p.target_port != 0) {
        target = p.target_port;
        break;
      }
    }
    if (target == 0) continue;
    out.push_back(Expected{uid, w->addresses.front(), target});
  }
  return out;
}

std::optional<Expected> RefPick(const WorkloadState::Contents& c, const std::string& network,
                                const std::string& vip, uint16_t port, uint64_t random) {
  const Service* svc = RefServiceByVip(c, network, vip);
  if (svc == nullptr) return std::nullopt;
  std::vector<Expected> eligible = RefEndpoints(c, *svc, port, false);
  if (eligible.empty()) return std::nullopt;
  return eligible[random % eligible.size()];
}

std::optional<Expected> Got(const std::optional<ServiceEndpoint>& ep) {
  if (!ep.has_value()) return std::nullopt;
  return Expected{ep->workload->uid, std::string(ep->address), ep->target_port};
}

std::vector<Expected> Got(const std::vector<ServiceEndpoint>& eps) {
  std::vector<Expected> out;
  for (const auto& ep : eps) out.push_back(Expected{ep.workload->uid, std::string(ep.address), ep.target_port});
  return out;
}

class RandomState {
 public:
  explicit RandomState(uint64_t seed) : rng_(seed) {}

  size_t Below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Chance(int percent) { return static_cast<int>(Below(100)) < percent; }
  uint64_t Random() { return rng_(); }

  std::string VipText() { return "10.96.0." + std::to_string(1 + Below(6)); }
  std::string ServiceKeyOf(size_t s) {
    return "ns" + std::to_string(s % 2) + "/svc-" + std::to_string(s) + ".svc.cluster.local";
  }

  std::shared_ptr<const Service> MakeService(size_t s) {
    auto svc = std::make_shared<Service>();
    svc->name = "svc-" + std::to_string(s);
    svc->ns = "ns" + std::to_string(s % 2);
    svc->hostname = svc->name + ".svc.cluster.local";
    const size_t vips = Below(3);  // 0 = headless
    for (size_t i = 0; i < vips; ++i) {
      svc->vips.push_back(ServiceVip{kNetworks[Below(kNetworks.size())], Ip(VipText())});
    }
    const size_t ports = 1 + Below(3);
    for (size_t i = 0; i < ports; ++i) {
      // Repeated service ports happen; target 0 = named, resolved per workload.
      static const std::vector<uint16_t> kTargets = {0, 8080, 8443};
      svc->ports.push_back(PortMapping{kPorts[Below(3)], kTargets[Below(kTargets.size())]});
    }
    return svc;
  }

  std::shared_ptr<Workload> MakeWorkload(size_t services) {
    auto w = std::make_shared<Workload>();
    w->uid = "c//Pod/ns/w-" + std::to_string(Below(100000));  // random uid order
    w->name = w->uid;
    w->ns = "ns";
    w->network = kNetworks[Below(kNetworks.size())];
    const size_t n = Chance(5) ? 0 : Chance(5) ? 2 : 1;
    for (size_t i = 0; i < n; ++i) {
      w->addresses.push_back(Ip("10.1." + std::to_string(Below(4)) + "." + std::to_string(1 + Below(250))));
    }
    w->healthy = Chance(75);
    const size_t listed = Below(4);
    for (size_t i = 0; i < listed; ++i) {
      // services + 1: sometimes a service that does not exist.
      std::vector<PortMapping>& ports = w->services[ServiceKeyOf(Below(services + 1))];
      const size_t mappings = Below(3);
      static const std::vector<PortMapping> kMappings = {
          {80, 0}, {80, 8080}, {80, 9000}, {9090, 9100}, {443, 0}, {443, 8443}, {9090, 0}};
      for (size_t m = 0; m < mappings; ++m) ports.push_back(kMappings[Below(kMappings.size())]);
    }
    return w;
  }

  WorkloadState::Contents MakeContents() {
    WorkloadState::Contents c;
    const size_t services = 1 + Below(6);
    for (size_t s = 0; s < services; ++s) c.services[ServiceKeyOf(s)] = MakeService(s);
    services_ = services;
    const size_t workloads = Below(41);
    for (size_t i = 0; i < workloads; ++i) {
      auto w = MakeWorkload(services);
      c.workloads[w->uid] = std::move(w);
    }
    return c;
  }

  // Removes, adds, flips health and remaps ports of some workloads; replaces
  // a service now and then. Returns the uids removed or turned unhealthy.
  std::set<std::string> Mutate(WorkloadState::Contents& c) {
    std::set<std::string> gone;
    std::vector<std::string> uids;
    for (const auto& [uid, w] : c.workloads) uids.push_back(uid);
    for (const std::string& uid : uids) {
      const size_t what = Below(10);
      if (what == 0) {
        c.workloads.erase(uid);
        gone.insert(uid);
      } else if (what == 1) {
        auto w = std::make_shared<Workload>(*c.workloads[uid]);
        w->healthy = !w->healthy;
        if (!w->healthy) gone.insert(uid);
        c.workloads[uid] = std::move(w);
      } else if (what == 2) {
        auto fresh = MakeWorkload(services_);
        fresh->uid = uid;
        if (!fresh->healthy) gone.insert(uid);
        c.workloads[uid] = std::move(fresh);
      }
    }
    for (size_t i = Below(4); i > 0; --i) {
      auto w = MakeWorkload(services_);
      gone.erase(w->uid);
      c.workloads[w->uid] = std::move(w);
    }
    if (Chance(30)) {
      const size_t s = Below(services_);
      c.services[ServiceKeyOf(s)] = MakeService(s);
    }
    return gone;
  }

 private:
  std::mt19937_64 rng_;
  size_t services_ = 0;
};

// Every (network, VIP, port) a test asks about: each VIP in each network, the
// services' ports and one none of them has.
void ExpectSamePicks(const WorkloadState& state, const WorkloadState::Contents& c,
                     RandomState& random, uint64_t seed) {
  for (const std::string& network : kNetworks) {
    for (int v = 1; v <= 6; ++v) {
      const std::string vip = Ip("10.96.0." + std::to_string(v));
      const Service* ref_service = RefServiceByVip(c, network, vip);
      ASSERT_EQ(state.FindServiceByVip(network, vip), ref_service) << "seed " << seed;
      for (uint16_t port : kPorts) {
        // Enough consecutive picks to wrap every list, plus large ones.
        std::vector<uint64_t> picks;
        for (uint64_t p = 0; p < 45; ++p) picks.push_back(p);
        for (int i = 0; i < 5; ++i) picks.push_back(random.Random());
        picks.push_back(UINT64_MAX);
        for (uint64_t pick : picks) {
          const auto want = RefPick(c, network, vip, port, pick);
          ASSERT_EQ(Got(state.PickServiceEndpoint(network, vip, port, pick)), want)
              << "seed " << seed << " network '" << network << "' vip " << v << " port " << port
              << " pick " << pick;
          if (ref_service != nullptr) {
            ASSERT_EQ(Got(state.PickServiceEndpoint(*ref_service, port, pick)), want)
                << "seed " << seed;
          }
        }
      }
    }
  }
  for (const auto& [key, svc] : c.services) {
    for (uint16_t port : kPorts) {
      ASSERT_EQ(Got(state.Endpoints(*svc, port)), RefEndpoints(c, *svc, port, false))
          << "seed " << seed << " " << key << ":" << port;
      ASSERT_EQ(Got(state.Endpoints(*svc, port, /*include_unhealthy=*/true)),
                RefEndpoints(c, *svc, port, true))
          << "seed " << seed << " " << key << ":" << port;
    }
  }
}

TEST(ServicePick, SamePicksAsCountingOverRandomStates) {
  size_t picked_states = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    RandomState random(seed);
    WorkloadState::Contents c = random.MakeContents();
    WorkloadState state(c);  // the snapshot gets a copy; |c| stays the reference
    ExpectSamePicks(state, c, random, seed);
    for (const auto& [key, svc] : c.services) {
      for (const ServiceVip& vip : svc->vips) {
        if (state.PickServiceEndpoint(vip.network, vip.address, svc->ports[0].service_port, 0)) {
          ++picked_states;
        }
      }
    }
  }
  // The generator must produce states where picks happen at all.
  EXPECT_GT(picked_states, 300u);
}

// Under a sanitizer (-O0, instrumented) 200 seeds take 70-110 s on the
// 2-core machine; 50 still check well over 100 removed endpoints.
#ifdef AMBIT_SANITIZED
constexpr uint64_t kUpdateSeeds = 50;
#else
constexpr uint64_t kUpdateSeeds = 200;
#endif

TEST(ServicePick, UpdatesPickLikeCountingAndNeverPickRemovedOrUnhealthyEndpoints) {
  size_t checked_gone = 0;
  for (uint64_t seed = 1; seed <= kUpdateSeeds; ++seed) {
    RandomState random(seed * 7919);
    WorkloadState::Contents c = random.MakeContents();
    auto before = std::make_shared<const WorkloadState>(c);
    for (int update = 0; update < 4; ++update) {
      WorkloadState::Contents next = before->contents();  // as StateApplier does
      const WorkloadState::Contents old_contents = next;
      const std::set<std::string> gone = random.Mutate(next);
      auto after = std::make_shared<const WorkloadState>(next);
      ExpectSamePicks(*after, next, random, seed);
      for (const std::string& network : kNetworks) {
        for (int v = 1; v <= 6; ++v) {
          const std::string vip = Ip("10.96.0." + std::to_string(v));
          for (uint16_t port : kPorts) {
            for (uint64_t pick = 0; pick < 45; ++pick) {
              auto ep = after->PickServiceEndpoint(network, vip, port, pick);
              if (!ep) continue;
              ASSERT_EQ(gone.count(ep->workload->uid), 0u)
                  << "seed " << seed << " picked " << ep->workload->uid << " after its update";
              ASSERT_TRUE(ep->workload->healthy);
            }
          }
        }
      }
      checked_gone += gone.size();
      // The snapshot before the update still answers from its own contents.
      ExpectSamePicks(*before, old_contents, random, seed);
      before = after;
    }
  }
  EXPECT_GT(checked_gone, 100u);
}

// The same, spelled out: one service, three endpoints; the picked one is
// removed, another turns unhealthy.
TEST(ServicePick, RemovedAndUnhealthyEndpointsLeaveTheList) {
  WorkloadState::Contents c;
  auto svc = std::make_shared<Service>();
  svc->name = "web";
  svc->ns = "default";
  svc->hostname = "web.default.svc.cluster.local";
  svc->vips = {ServiceVip{"", Ip("10.96.0.10")}};
  svc->ports = {PortMapping{80, 8080}};
  c.services[svc->Key()] = svc;
  for (int i = 1; i <= 3; ++i) {
    auto w = std::make_shared<Workload>();
    w->uid = "c//Pod/default/web-" + std::to_string(i);
    w->addresses = {Ip("10.1.0." + std::to_string(i))};
    w->services[svc->Key()] = {};
    c.workloads[w->uid] = std::move(w);
  }
  const std::string vip = Ip("10.96.0.10");
  WorkloadState first(c);
  EXPECT_EQ(first.PickServiceEndpoint("", vip, 80, 1)->workload->uid, "c//Pod/default/web-2");
  EXPECT_EQ(first.PickServiceEndpoint("", vip, 80, 5)->workload->uid, "c//Pod/default/web-3");

  c.workloads.erase("c//Pod/default/web-2");
  auto sick = std::make_shared<Workload>(*c.workloads["c//Pod/default/web-3"]);
  sick->healthy = false;
  c.workloads["c//Pod/default/web-3"] = sick;
  WorkloadState second(c);
  for (uint64_t pick = 0; pick < 10; ++pick) {
    auto ep = second.PickServiceEndpoint("", vip, 80, pick);
    ASSERT_TRUE(ep.has_value());
    EXPECT_EQ(ep->workload->uid, "c//Pod/default/web-1");
    EXPECT_EQ(ep->target_port, 8080);
  }
  // The earlier snapshot is unchanged.
  EXPECT_EQ(first.PickServiceEndpoint("", vip, 80, 1)->workload->uid, "c//Pod/default/web-2");

  c.workloads.erase("c//Pod/default/web-1");
  WorkloadState third(c);
  EXPECT_FALSE(third.PickServiceEndpoint("", vip, 80, 0).has_value());
  EXPECT_TRUE(third.Endpoints(*third.FindServiceByVip("", vip), 80).empty());
  EXPECT_EQ(third.Endpoints(*third.FindServiceByVip("", vip), 80, true).size(), 1u);
}

// A Service that is not from the snapshot (e.g. a copy) gets the same answers.
TEST(ServicePick, ServiceFromAnotherSnapshotPicksTheSame) {
  RandomState random(42);
  WorkloadState::Contents c = random.MakeContents();
  WorkloadState state(c);
  for (const auto& [key, svc] : c.services) {
    const Service copy = *svc;
    for (uint16_t port : kPorts) {
      EXPECT_EQ(Got(state.Endpoints(copy, port)), Got(state.Endpoints(*svc, port)));
      for (uint64_t pick = 0; pick < 20; ++pick) {
        EXPECT_EQ(Got(state.PickServiceEndpoint(copy, port, pick)),
                  Got(state.PickServiceEndpoint(*svc, port, pick)));
      }
    }
  }
}

}  // namespace
}  // namespace ambit::state
