#include "state/workload_state.h"

#include <gtest/gtest.h>

#include <set>

#include "istio/security/authorization.pb.h"
#include "state/ip_bytes.h"

namespace ambit::state {
namespace {

std::string Ip(std::string_view text) { return PackIp(text).value(); }

std::shared_ptr<const Workload> MakeWorkload(std::string uid, std::string ip,
                                             std::map<std::string, std::vector<PortMapping>> services,
                                             bool healthy = true) {
  auto w = std::make_shared<Workload>();
  w->uid = std::move(uid);
  w->name = w->uid;
  w->ns = "default";
  w->addresses = {Ip(ip)};
  w->tunnel_protocol = TunnelProtocol::kHbone;
  w->trust_domain = "cluster.local";
  w->service_account = "default";
  w->services = std::move(services);
  w->healthy = healthy;
  return w;
}

std::shared_ptr<const Service> MakeService(std::string name, std::string vip,
                                           std::vector<PortMapping> ports) {
  auto s = std::make_shared<Service>();
  s->name = std::move(name);
  s->ns = "default";
  s->hostname = s->name + ".default.svc.cluster.local";
  s->vips = {ServiceVip{"", Ip(vip)}};
  s->ports = std::move(ports);
  return s;
}

WorkloadState::Contents Sample() {
  WorkloadState::Contents c;
  const std::string key = "default/web.default.svc.cluster.local";
  // web: port 80 -> numeric 8080; port 9090 -> named ("metrics"), resolved per pod.
  c.services[key] = MakeService("web", "10.96.0.10", {{80, 8080}, {9090, 0}});
  c.workloads["c//Pod/default/web-1"] =
      MakeWorkload("c//Pod/default/web-1", "10.1.0.11", {{key, {{80, 8080}, {9090, 9100}}}});
  c.workloads["c//Pod/default/web-2"] =
      MakeWorkload("c//Pod/default/web-2", "10.1.0.12", {{key, {{80, 8080}}}});
  c.workloads["c//Pod/default/web-sick"] =
      MakeWorkload("c//Pod/default/web-sick", "10.1.0.13", {{key, {{80, 8080}}}}, false);
  c.workloads["c//Pod/default/client"] = MakeWorkload("c//Pod/default/client", "10.1.0.20", {});
  return c;
}

TEST(WorkloadState, FindsWorkloadsByAddressAndUid) {
  WorkloadState state(Sample());
  const Workload* w = state.FindWorkloadByAddress("", Ip("10.1.0.20"));
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->uid, "c//Pod/default/client");
  EXPECT_EQ(state.FindWorkloadByUid("c//Pod/default/web-1")->addresses[0], Ip("10.1.0.11"));
  EXPECT_EQ(state.FindWorkloadByAddress("", Ip("10.1.0.99")), nullptr);
  EXPECT_EQ(state.FindWorkloadByAddress("other-network", Ip("10.1.0.20")), nullptr);
  EXPECT_EQ(state.FindWorkloadByUid("nope"), nullptr);
}

TEST(WorkloadState, HostNetworkWorkloadsAreNotFoundByAddress) {
  auto c = Sample();
  auto w = std::make_shared<Workload>(*c.workloads["c//Pod/default/client"]);
  w->host_network = true;
  c.workloads["c//Pod/default/client"] = w;
  WorkloadState state(std::move(c));
  EXPECT_EQ(state.FindWorkloadByAddress("", Ip("10.1.0.20")), nullptr);
  EXPECT_NE(state.FindWorkloadByUid("c//Pod/default/client"), nullptr);
}

TEST(WorkloadState, VipAndPortResolveToAHealthyEndpointWithTargetPort) {
  WorkloadState state(Sample());
  std::set<std::string> seen;
  for (uint64_t r = 0; r < 10; ++r) {
    auto ep = state.PickServiceEndpoint("", Ip("10.96.0.10"), 80, r);
    ASSERT_TRUE(ep.has_value());
    EXPECT_EQ(ep->target_port, 8080);
    EXPECT_TRUE(ep->workload->healthy);
    seen.insert(ep->workload->uid);
  }
  // Both healthy pods get picked; the unhealthy one never.
  EXPECT_EQ(seen, (std::set<std::string>{"c//Pod/default/web-1", "c//Pod/default/web-2"}));
}

TEST(WorkloadState, NamedTargetPortResolvesPerWorkloadAndSkipsPodsWithoutIt) {
  WorkloadState state(Sample());
  const Service* svc = state.FindServiceByVip("", Ip("10.96.0.10"));
  ASSERT_NE(svc, nullptr);
  auto eps = state.Endpoints(*svc, 9090);
  ASSERT_EQ(eps.size(), 1u);  // web-2 does not name the metrics port
  EXPECT_EQ(eps[0].workload->uid, "c//Pod/default/web-1");
  EXPECT_EQ(eps[0].target_port, 9100);
  EXPECT_EQ(eps[0].address, Ip("10.1.0.11"));
}

TEST(WorkloadState, UnknownVipOrPortHasNoEndpoint) {
  WorkloadState state(Sample());
  EXPECT_FALSE(state.PickServiceEndpoint("", Ip("10.96.0.99"), 80, 0).has_value());
  EXPECT_FALSE(state.PickServiceEndpoint("", Ip("10.96.0.10"), 81, 0).has_value());
  EXPECT_EQ(state.Endpoints(*state.FindServiceByKey("default/web.default.svc.cluster.local"), 80,
                            /*include_unhealthy=*/true)
                .size(),
            3u);
}

TEST(WorkloadState, NamespaceAndGlobalPoliciesApply) {
  WorkloadState::Contents c;
  auto make = [](std::string ns, std::string name, istio::security::Scope scope) {
    auto p = std::make_shared<istio::security::Authorization>();
    p->set_namespace_(ns);
    p->set_name(name);
    p->set_scope(scope);
    return std::shared_ptr<const istio::security::Authorization>(p);
  };
  c.policies["istio-system/global"] = make("", "global", istio::security::GLOBAL);
  c.policies["shop/ns-wide"] = make("shop", "ns-wide", istio::security::NAMESPACE);
  c.policies["other/ns-wide"] = make("other", "ns-wide", istio::security::NAMESPACE);
  c.policies["shop/selected"] = make("shop", "selected", istio::security::WORKLOAD_SELECTOR);
  WorkloadState state(std::move(c));
  auto policies = state.NamespacePolicies("shop");
  ASSERT_EQ(policies.size(), 2u);
  EXPECT_NE(state.FindPolicy("shop/selected"), nullptr);
}

// Each workload's policies are resolved when the snapshot is built: scoped =
// global + its namespace's, listed = its existing keys (workloads listing the
// same keys share one set); a workload of another snapshot has none.
TEST(WorkloadState, WorkloadPoliciesAreResolvedPerSnapshot) {
  WorkloadState::Contents c = Sample();
  auto make = [](std::string ns, std::string name, istio::security::Scope scope,
                 istio::security::Action action) {
    auto p = std::make_shared<istio::security::Authorization>();
    p->set_namespace_(ns);
    p->set_name(name);
    p->set_scope(scope);
    p->set_action(action);
    return std::shared_ptr<const istio::security::Authorization>(p);
  };
  c.policies["istio-system/global"] =
      make("istio-system", "global", istio::security::GLOBAL, istio::security::DENY);
  c.policies["default/ns-wide"] =
      make("default", "ns-wide", istio::security::NAMESPACE, istio::security::ALLOW);
  c.policies["default/web"] =
      make("default", "web", istio::security::WORKLOAD_SELECTOR, istio::security::ALLOW);
  for (const char* uid : {"c//Pod/default/web-1", "c//Pod/default/web-2"}) {
    auto w = std::make_shared<Workload>(*c.workloads[uid]);
    w->authorization_policies = {"default/web", "default/missing"};
    c.workloads[uid] = w;
  }
  WorkloadState state(std::move(c));
  const auto* web1 = state.FindWorkloadPolicies(*state.FindWorkloadByUid("c//Pod/default/web-1"));
  const auto* web2 = state.FindWorkloadPolicies(*state.FindWorkloadByUid("c//Pod/default/web-2"));
  const auto* client =
      state.FindWorkloadPolicies(*state.FindWorkloadByUid("c//Pod/default/client"));
  ASSERT_NE(web1, nullptr);
  ASSERT_NE(web2, nullptr);
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(web1->scoped->size(), 2u);  // the global DENY and the namespace's ALLOW
  EXPECT_EQ(web1->listed->size(), 1u);  // default/web (the missing key skipped)
  EXPECT_EQ(web1->listed, web2->listed);
  EXPECT_EQ(client->scoped, web1->scoped);
  EXPECT_TRUE(client->listed->empty());
  WorkloadState other(Sample());
  EXPECT_EQ(state.FindWorkloadPolicies(*other.FindWorkloadByUid("c//Pod/default/client")), nullptr);
  EXPECT_EQ(other.FindWorkloadPolicies(*other.FindWorkloadByUid("c//Pod/default/client")), nullptr)
      << "no policies: nothing resolved";
}

TEST(IpBytes, RoundTripsV4AndV6AndRejectsGarbage) {
  EXPECT_EQ(Ip("10.0.0.1").size(), 4u);
  EXPECT_EQ(FormatIp(Ip("10.0.0.1")), "10.0.0.1");
  EXPECT_EQ(Ip("fd00::1").size(), 16u);
  EXPECT_EQ(FormatIp(Ip("fd00::1")), "fd00::1");
  EXPECT_FALSE(PackIp("10.0.0").ok());
  EXPECT_EQ(FormatIp("abc"), "<invalid 3-byte address>");
}

}  // namespace
}  // namespace ambit::state

namespace ambit::state {
namespace {

TEST(WorkloadState, HostnameOnlyWorkloadsAreServiceEndpoints) {
  WorkloadState::Contents c;
  auto svc = std::make_shared<Service>();
  svc->name = "ext";
  svc->ns = "shop";
  svc->hostname = "ext.example";
  svc->vips = {ServiceVip{"", PackIp("240.240.0.1").value()}};
  svc->ports = {{443, 443}};
  c.services[svc->Key()] = svc;
  auto w = std::make_shared<Workload>();
  w->uid = "Kubernetes/networking.istio.io/ServiceEntry/shop/ext/backend.example.net";
  w->hostname = "backend.example.net";
  w->services[svc->Key()] = {{443, 8443}};
  c.workloads[w->uid] = w;
  WorkloadState state(std::move(c));
  auto ep = state.PickServiceEndpoint("", PackIp("240.240.0.1").value(), 443, 7);
  ASSERT_TRUE(ep.has_value());
  EXPECT_TRUE(ep->address.empty());
  EXPECT_EQ(ep->workload->hostname, "backend.example.net");
  EXPECT_EQ(ep->target_port, 8443);
  EXPECT_EQ(state.Endpoints(*svc, 443).size(), 1u);
}

}  // namespace
}  // namespace ambit::state
