#include "model/service_entries.h"

#include <gtest/gtest.h>

#include "config/parse.h"
#include "config/support.h"
#include "model/ambient_model.h"

namespace ambit::model {
namespace {

namespace wl = istio::workload;

// Parses one ServiceEntry (and whatever else) from YAML; fails the test on errors.
std::vector<config::Resource> Parse(const std::string& yaml, std::vector<std::string>* warnings = nullptr) {
  config::ParseResult r = config::ParseManifests(yaml, "test.yaml");
  for (const auto& d : r.diagnostics) {
    if (d.severity == config::Severity::kError) ADD_FAILURE() << d.ToString();
    if (warnings != nullptr && d.severity == config::Severity::kWarning) warnings->push_back(d.ToString());
  }
  return r.resources;
}

const char* kStatic = R"(
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: legacy, namespace: shop}
spec:
  hosts: [api.legacy.example, db.legacy.example]
  ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}, {number: 5432, name: pg}]
  resolution: STATIC
  endpoints:
  - {address: 10.1.2.3}
  - {address: 10.1.2.4, ports: {http: 9090}}
)";

TEST(ServiceEntryAllocation, OneV4AndOneV6PerHostStableAcrossCalls) {
  auto resources = Parse(kStatic);
  const auto& se = std::get<config::ServiceEntry>(resources.at(0));
  ASSERT_TRUE(WantsAutoAddresses(se));
  ServiceEntryAddresses first = AllocateServiceEntryAddresses({&se}, {});
  ASSERT_EQ(first.size(), 1u);
  const auto& hosts = first.at("shop/legacy");
  EXPECT_EQ(hosts.at("api.legacy.example"), (std::vector<std::string>{"240.240.0.1", "2001:2::1"}));
  EXPECT_EQ(hosts.at("db.legacy.example"), (std::vector<std::string>{"240.240.0.2", "2001:2::2"}));
  // The same input with the previous allocation gives the same result.
  EXPECT_EQ(AllocateServiceEntryAddresses({&se}, first), first);

  // A new entry sorted before it does not move the existing addresses.
  auto other = Parse(R"(
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: aaa, namespace: shop}
spec: {hosts: [first.example], ports: [{number: 80, name: http}], resolution: DNS}
)");
  const auto& a = std::get<config::ServiceEntry>(other.at(0));
  ServiceEntryAddresses second = AllocateServiceEntryAddresses({&a, &se}, first);
  EXPECT_EQ(second.at("shop/legacy"), first.at("shop/legacy"));
  EXPECT_EQ(second.at("shop/aaa").at("first.example"), (std::vector<std::string>{"240.240.0.3", "2001:2::3"}));
  // Deleting the first entry frees its addresses for the next newcomer.
  ServiceEntryAddresses third = AllocateServiceEntryAddresses({&a}, second);
  EXPECT_FALSE(third.contains("shop/legacy"));
  EXPECT_EQ(third.at("shop/aaa"), second.at("shop/aaa"));
}

TEST(ServiceEntryAllocation, NotForResolutionNoneExplicitAddressesWildcardsOrOptOut) {
  auto resources = Parse(R"(
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: none, namespace: shop}
spec: {hosts: [n.example], ports: [{number: 80, name: http}], resolution: NONE}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: given, namespace: shop}
spec: {hosts: [g.example], addresses: [192.0.2.10], ports: [{number: 80, name: http}], resolution: STATIC, endpoints: [{address: 10.0.0.1}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: wild, namespace: shop}
spec: {hosts: ["*.w.example"], ports: [{number: 80, name: http}], resolution: DNS}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: optout, namespace: shop, labels: {networking.istio.io/enable-autoallocate-ip: "false"}}
spec: {hosts: [o.example], ports: [{number: 80, name: http}], resolution: DNS}
)");
  std::vector<const config::ServiceEntry*> entries;
  for (const auto& r : resources) entries.push_back(&std::get<config::ServiceEntry>(r));
  EXPECT_TRUE(AllocateServiceEntryAddresses(entries, {}).empty());
}

TEST(ServiceEntryLowering, ServicesPerHostAndStaticEndpointWorkloads) {
  auto resources = Parse(kStatic);
  const auto& se = std::get<config::ServiceEntry>(resources.at(0));
  ServiceEntryInput in{&se, AllocateServiceEntryAddresses({&se}, {}).at("shop/legacy")};
  config::Namespace ns;
  ns.metadata.name = "shop";
  AmbientInput input;
  input.namespaces = {&ns};
  input.service_entries = {in};
  AddressSet set = BuildAddresses(input);
  EXPECT_TRUE(set.warnings.empty());
  ASSERT_TRUE(set.resources.contains("shop/api.legacy.example"));
  const wl::Service& s = set.resources.at("shop/api.legacy.example").service();
  EXPECT_EQ(s.name(), "legacy");
  EXPECT_EQ(s.namespace_(), "shop");
  ASSERT_EQ(s.addresses_size(), 2);
  EXPECT_EQ(s.addresses(0).address(), std::string("\xf0\xf0\x00\x01", 4));
  ASSERT_EQ(s.ports_size(), 2);
  EXPECT_EQ(s.ports(0).service_port(), 80u);
  EXPECT_EQ(s.ports(0).target_port(), 8080u);
  EXPECT_EQ(s.ports(1).target_port(), 5432u);

  const std::string uid = "Kubernetes/networking.istio.io/ServiceEntry/shop/legacy/10.1.2.4";
  ASSERT_TRUE(set.resources.contains(uid));
  const wl::Workload& w = set.resources.at(uid).workload();
  EXPECT_EQ(w.tunnel_protocol(), wl::NONE);
  EXPECT_EQ(w.addresses(0), std::string("\x0a\x01\x02\x04", 4));
  EXPECT_TRUE(w.hostname().empty());
  ASSERT_TRUE(w.services().contains("shop/db.legacy.example"));
  const auto& ports = w.services().at("shop/api.legacy.example");
  EXPECT_EQ(ports.ports(0).target_port(), 9090u);  // the endpoint's own port for "http"
  EXPECT_TRUE(set.resources.contains("Kubernetes/networking.istio.io/ServiceEntry/shop/legacy/10.1.2.3"));
}

TEST(ServiceEntryLowering, DnsEndpointsAreHostnameWorkloads) {
  auto resources = Parse(R"(
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: shop}
spec:
  hosts: [ext.example]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: DNS
  endpoints: [{address: backend.example.net}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: implicit, namespace: shop}
spec: {hosts: [self.example], ports: [{number: 80, name: http}], resolution: DNS}
)");
  config::Namespace ns;
  ns.metadata.name = "shop";
  AmbientInput input;
  input.namespaces = {&ns};
  for (const auto& r : resources) input.service_entries.push_back({&std::get<config::ServiceEntry>(r), {}});
  AddressSet set = BuildAddresses(input);
  const auto& w = set.resources.at("Kubernetes/networking.istio.io/ServiceEntry/shop/ext/backend.example.net").workload();
  EXPECT_EQ(w.hostname(), "backend.example.net");
  EXPECT_EQ(w.addresses_size(), 0);
  EXPECT_TRUE(w.services().contains("shop/ext.example"));
  const auto& self = set.resources.at("Kubernetes/networking.istio.io/ServiceEntry/shop/implicit/self.example").workload();
  EXPECT_EQ(self.hostname(), "self.example");
  EXPECT_TRUE(self.services().contains("shop/self.example"));
}

TEST(ServiceEntryLowering, WorkloadSelectorAddsHostsToMatchingPods) {
  auto resources = Parse(R"(
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: sel, namespace: shop}
spec:
  hosts: [mesh.example]
  ports: [{number: 80, name: http, targetPort: 8080}]
  resolution: STATIC
  workloadSelector: {labels: {app: web}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: x, command: [sleep]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: shop, labels: {app: other}}
spec: {containers: [{name: c, image: x, command: [sleep]}]}
)");
  config::Namespace ns;
  ns.metadata.name = "shop";
  ns.metadata.labels = {{"istio.io/dataplane-mode", "ambient"}};
  AmbientInput input;
  input.namespaces = {&ns};
  input.service_entries.push_back({&std::get<config::ServiceEntry>(resources[0]), {}});
  input.pods.push_back({&std::get<config::Pod>(resources[1]), PodRuntime{"10.0.0.5", "node1", PodPhase::kRunning, true}});
  input.pods.push_back({&std::get<config::Pod>(resources[2]), PodRuntime{"10.0.0.6", "node1", PodPhase::kRunning, true}});
  AddressSet set = BuildAddresses(input);
  const auto& web = set.resources.at("Kubernetes//Pod/shop/web").workload();
  ASSERT_TRUE(web.services().contains("shop/mesh.example"));
  EXPECT_EQ(web.services().at("shop/mesh.example").ports(0).target_port(), 8080u);
  EXPECT_EQ(web.tunnel_protocol(), wl::HBONE);
  EXPECT_FALSE(set.resources.at("Kubernetes//Pod/shop/other").workload().services().contains("shop/mesh.example"));
  // No separate workloads for a selector-based entry.
  for (const auto& [name, a] : set.resources) EXPECT_EQ(name.find("ServiceEntry"), std::string::npos) << name;
}

TEST(ServiceEntryConfig, FieldsNotActedOnAreReported) {
  auto parsed = Parse(R"(
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: w, namespace: shop}
spec:
  hosts: [w.example]
  exportTo: ["."]
  location: MESH_INTERNAL
  ports: [{number: 80, name: http}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1, locality: us/east, weight: 3}]
)");
  std::string all;
  for (const auto& w : config::CheckSupport(parsed.at(0))) all += w.path + ": " + w.message + "\n";
  EXPECT_NE(all.find("exportTo"), std::string::npos) << all;
  EXPECT_NE(all.find("location"), std::string::npos) << all;
  EXPECT_NE(all.find("locality"), std::string::npos) << all;
  EXPECT_NE(all.find("weight"), std::string::npos) << all;
  // An entry using none of them: the kind itself is enforced, nothing to say.
  EXPECT_TRUE(config::CheckSupport(Parse(kStatic).at(0)).empty());
}

TEST(ServiceEntryConfig, StaticEndpointsMustBeIps) {
  config::ParseResult r = config::ParseManifests(R"(
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: s, namespace: shop}
spec: {hosts: [s.example], ports: [{number: 80, name: http}], resolution: STATIC, endpoints: [{address: not-an-ip.example}]}
)", "x.yaml");
  ASSERT_FALSE(r.ok());
}

}  // namespace
}  // namespace ambit::model
