// Which Services get a route table and what is in it (model/route_tables.h).
#include "model/route_tables.h"

#include <gtest/gtest.h>

#include "config/parse.h"
#include "route/wire.h"

namespace ambit::model {
namespace {

// Parsed resources and an AmbientInput pointing into them.
struct Cluster {
  config::ParseResult parsed;
  AmbientInput input;
  explicit Cluster(const std::string& yaml) : parsed(config::ParseManifests(yaml, "t.yaml")) {
    EXPECT_TRUE(parsed.ok()) << config::FormatDiagnostics(parsed.diagnostics);
    for (const auto& r : parsed.resources) {
      if (const auto* ns = std::get_if<config::Namespace>(&r)) input.namespaces.push_back(ns);
      if (const auto* gw = std::get_if<config::Gateway>(&r)) input.gateways.push_back(gw);
      if (const auto* s = std::get_if<config::Service>(&r))
        input.services.push_back({s, "10.96.0.1"});
      if (const auto* h = std::get_if<config::HttpRoute>(&r)) input.http_routes.push_back(h);
      if (const auto* g = std::get_if<config::GrpcRoute>(&r)) input.grpc_routes.push_back(g);
      if (const auto* v = std::get_if<config::VirtualService>(&r))
        input.virtual_services.push_back(v);
      if (const auto* d = std::get_if<config::DestinationRule>(&r))
        input.destination_rules.push_back(d);
    }
  }
};

route::RouteRules Decoded(const RouteTableModel& m, const std::string& fqdn) {
  auto it = m.tables.find(fqdn);
  EXPECT_NE(it, m.tables.end()) << fqdn;
  if (it == m.tables.end()) return {};
  auto rules = route::DecodeRouteTable(fqdn, it->second);
  EXPECT_TRUE(rules.ok()) << rules.error().ToString();
  return rules.ok() ? std::move(rules).value() : route::RouteRules{};
}

constexpr char kBase[] = R"(apiVersion: v1
kind: Namespace
metadata: {name: grpc, labels: {istio.io/use-waypoint: waypoint, istio.io/use-waypoint-namespace: infra}}
---
apiVersion: v1
kind: Namespace
metadata: {name: infra}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: infra}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: grpc}
spec: {selector: {app: echo}, ports: [{name: grpc, port: 50051}]}
---
apiVersion: v1
kind: Service
metadata: {name: echo-gold, namespace: grpc}
spec: {selector: {app: echo, tier: gold}, ports: [{name: grpc, port: 50051}]}
)";

TEST(RouteTables, GrpcRouteOnAServiceBoundAcrossNamespaces) {
  Cluster c(std::string(kBase) + R"(---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: echo, namespace: grpc}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, port: 50051}]
  rules:
  - matches: [{method: {service: echo.v1.Echo}}]
    backendRefs: [{name: echo-gold, port: 50051}]
)");
  RouteTableModel m = BuildRouteTables(c.input);
  ASSERT_EQ(m.tables.size(), 1u);
  const std::string fqdn = "echo.grpc.svc.cluster.local";
  route::RouteRules rules = Decoded(m, fqdn);
  ASSERT_EQ(rules.routes.size(), 1u);
  EXPECT_EQ(rules.routes[0].name.rfind("GRPCRoute grpc/echo", 0), 0u);
  // The waypoint lives in another namespace (istio.io/use-waypoint-namespace).
  EXPECT_EQ(m.audience.at(fqdn), (WaypointBinding{"infra", "waypoint"}));
  EXPECT_TRUE(m.diagnostics.empty());
}

TEST(RouteTables, VirtualServiceWildcardHostsAndSubsets) {
  Cluster c(std::string(kBase) + R"(---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: all-echo, namespace: grpc}
spec:
  hosts: ["*.grpc.svc.cluster.local"]
  http:
  - route: [{destination: {host: echo, subset: gold}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo, namespace: grpc}
spec:
  host: echo
  subsets: [{name: gold, labels: {tier: gold}}]
)");
  RouteTableModel m = BuildRouteTables(c.input);
  // Both Services of namespace grpc are covered by the wildcard host.
  ASSERT_EQ(m.tables.size(), 2u);
  route::RouteRules rules = Decoded(m, "echo-gold.grpc.svc.cluster.local");
  EXPECT_EQ(rules.precedence, route::Precedence::kFirstMatch);
  ASSERT_EQ(rules.routes.size(), 1u);
  ASSERT_EQ(rules.routes[0].backends.size(), 1u);
  EXPECT_EQ(rules.routes[0].backends[0].subset, "gold");
  EXPECT_EQ(rules.routes[0].backends[0].unresolved_status, 0);
}

TEST(RouteTables, NoWaypointNoTableButAWarningNamingRouteAndService) {
  Cluster c(R"(apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {selector: {app: web}, ports: [{name: http, port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: web}]
  rules:
  - backendRefs: [{name: web, port: 80}]
)");
  RouteTableModel m = BuildRouteTables(c.input);
  EXPECT_TRUE(m.tables.empty());
  EXPECT_TRUE(m.audience.empty());
  ASSERT_EQ(m.diagnostics.size(), 1u);
  EXPECT_EQ(m.diagnostics[0].kind, "HTTPRoute");
  EXPECT_EQ(m.diagnostics[0].ns, "default");
  EXPECT_EQ(m.diagnostics[0].name, "web");
  EXPECT_NE(m.diagnostics[0].message.find("web.default.svc.cluster.local: it has no waypoint"),
            std::string::npos)
      << m.diagnostics[0].message;
}

}  // namespace
}  // namespace ambit::model
