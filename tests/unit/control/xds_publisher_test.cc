#include "control/xds_publisher.h"

#include <gtest/gtest.h>

#include "config/parse.h"
#include "control/controller.h"
#include "route/wire.h"
#include "xds/resource_store.h"
#include "xds/type_urls.h"

namespace ambit::control {
namespace {

StoreState Parse(const std::string& yaml) {
  auto parsed = config::ParseManifests(yaml, "t.yaml");
  EXPECT_TRUE(parsed.ok()) << config::FormatDiagnostics(parsed.diagnostics);
  StoreState state;
  for (auto& r : parsed.resources) state.resources.emplace(config::KeyOf(r), r);
  state.generation = 7;
  return state;
}

TEST(XdsPublisher, PublishesPodsAndServicesOnlyWhenChanged) {
  StoreState state = Parse(R"(apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, uid: u1, labels: {app: web}}
spec:
  nodeName: node1
  containers: [{name: c, image: i, command: [sleep], ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {clusterIP: 10.96.0.10, selector: {app: web}, ports: [{port: 8080, targetPort: 80}]}
)");
  RuntimeView view;
  view.store_generation = 7;
  PodView pv;
  pv.uid = "u1";
  pv.ip = "10.244.1.2";
  pv.phase = "Running";
  pv.ready = true;
  view.pods[{"Pod", "default", "web"}] = pv;

  xds::ResourceStore resources;
  XdsPublisher publisher(&resources);
  publisher.Publish(state, view);
  auto snap = resources.Get(xds::kAddressTypeUrl);
  ASSERT_NE(snap, nullptr);
  const uint64_t revision = resources.revision();
  EXPECT_GT(revision, 0u);
  EXPECT_EQ(resources.Get(xds::kAddressTypeUrl)->size(), 2u);  // one workload + one service

  publisher.Publish(state, view);  // nothing changed
  EXPECT_EQ(resources.revision(), revision);

  view.pods[{"Pod", "default", "web"}].ready = false;
  publisher.Publish(state, view);
  EXPECT_GT(resources.revision(), revision);
}

}  // namespace
}  // namespace ambit::control

namespace ambit::control {
namespace {

constexpr char kPolicyCluster[] = R"(apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, uid: u1, labels: {app: web}}
spec:
  nodeName: node1
  containers: [{name: c, image: i, command: [sleep]}]
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: default, uid: u2, labels: {app: db}}
spec:
  nodeName: node2
  containers: [{name: c, image: i, command: [sleep]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: web-allow, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  rules: [{from: [{source: {namespaces: [default]}}], to: [{operation: {methods: [GET]}}]}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: STRICT}}
)";

RuntimeView Running(std::initializer_list<std::tuple<const char*, const char*, const char*>> pods) {
  RuntimeView view;
  view.store_generation = 7;
  for (const auto& [name, uid, ip] : pods) {
    PodView pv;
    pv.uid = uid;
    pv.ip = ip;
    pv.phase = "Running";
    pv.ready = true;
    view.pods[{"Pod", "default", name}] = pv;
  }
  return view;
}

TEST(XdsPublisher, PublishesPoliciesAndTheirAudience) {
  StoreState state = Parse(kPolicyCluster);
  RuntimeView view = Running({{"web", "u1", "10.244.1.2"}, {"db", "u2", "10.244.2.2"}});
  xds::ResourceStore resources;
  PolicyAudienceFilter filter;
  XdsPublisher publisher(&resources, nullptr, &filter);
  publisher.Publish(state, view);

  auto policies = resources.Get(xds::kAuthorizationTypeUrl);
  ASSERT_EQ(policies->size(), 2u);
  EXPECT_TRUE(policies->contains("default/web-allow"));
  EXPECT_TRUE(policies->contains("istio-system/istio_converted_static_strict"));

  auto visible = [&](const char* node, const char* key) {
    xds::ProxyNode proxy{"10.0.0.1", std::string("ztunnel-") + node, "istio-system", node,
                         "Kubernetes"};
    return filter.Visible(proxy, xds::kAuthorizationTypeUrl, policies->at(key));
  };
  EXPECT_TRUE(visible("node1", "default/web-allow"));
  EXPECT_FALSE(visible("node2", "default/web-allow"));
  EXPECT_TRUE(visible("node2", "istio-system/istio_converted_static_strict"));
  xds::ProxyNode proxy{"10.0.0.1", "ztunnel-node2", "istio-system", "node2", "Kubernetes"};
  EXPECT_TRUE(filter.Visible(proxy, xds::kAddressTypeUrl,
                             resources.Get(xds::kAddressTypeUrl)->begin()->second));

  // The pod moves to node2: the policy follows it.
  std::get<config::Pod>(state.resources.at({"Pod", "default", "web"})).spec.node_name = "node2";
  state.generation = 8;
  publisher.Publish(state, view);
  EXPECT_FALSE(visible("node1", "default/web-allow"));
  EXPECT_TRUE(visible("node2", "default/web-allow"));

  // Deleted: gone from the store.
  state.resources.erase({"AuthorizationPolicy", "default", "web-allow"});
  state.generation = 9;
  publisher.Publish(state, view);
  EXPECT_FALSE(resources.Get(xds::kAuthorizationTypeUrl)->contains("default/web-allow"));
}

TEST(PolicyWarningsFor, ReportsTheAppliedPoliciesOnly) {
  StoreState state = Parse(std::string(kPolicyCluster) + R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: audit, namespace: default}
spec: {action: AUDIT, rules: [{}]}
)");
  auto parsed = config::ParseManifests(kPolicyCluster, "t.yaml");
  Manifests input{parsed.resources, parsed.origins};
  std::vector<std::string> warnings = PolicyWarningsFor(state, input, model::MeshSettings{});
  ASSERT_EQ(warnings.size(), 2u) << ::testing::PrintToString(warnings);
  EXPECT_EQ(warnings[0],
            "t.yaml:15: warning: document 3 (AuthorizationPolicy default/web-allow): "
            "rules[0] is left out: ztunnel cannot check HTTP attributes "
            "(to[0].operation.methods), and an ALLOW rule that needs them matches "
            "nothing; use a waypoint for HTTP rules");
  EXPECT_EQ(warnings[1].rfind("t.yaml:15: warning: document 3 (AuthorizationPolicy "
                              "default/web-allow): no rule is left",
                              0),
            0u);
  // Nothing about the AUDIT policy, which this apply did not touch.
}

// A waypoint-bound Service (reviews) with an HTTPRoute and a VirtualService,
// and a Service without a waypoint (ratings) with an HTTPRoute.
constexpr char kRouteCluster[] = R"(apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop, labels: {istio.io/use-waypoint: waypoint}}
spec: {clusterIP: 10.96.0.20, selector: {app: reviews}, ports: [{name: http, port: 9080}]}
---
apiVersion: v1
kind: Service
metadata: {name: reviews-v2, namespace: shop}
spec: {clusterIP: 10.96.0.22, selector: {app: reviews, version: v2}, ports: [{name: http, port: 9080}]}
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: shop}
spec: {clusterIP: 10.96.0.30, selector: {app: ratings}, ports: [{name: http, port: 9080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v2}}]
    backendRefs: [{name: reviews-v2, port: 9080}]
  - backendRefs:
    - {name: reviews, port: 9080, weight: 90}
    - {name: reviews-v2, port: 9080, weight: 10}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ratings, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: ratings}]
  rules:
  - backendRefs: [{name: ratings, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-vs, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews-v2}}]
)";

TEST(XdsPublisher, PublishesRouteTablesOfWaypointBoundServicesToTheirWaypointOnly) {
  StoreState state = Parse(kRouteCluster);
  RuntimeView view;
  xds::ResourceStore resources;
  PolicyAudienceFilter filter;
  XdsPublisher publisher(&resources, nullptr, &filter);
  publisher.Publish(state, view);

  constexpr char kReviews[] = "reviews.shop.svc.cluster.local";
  auto tables = resources.Get(route::kRouteTableTypeUrl);
  ASSERT_EQ(tables->size(), 1u);  // ratings has no waypoint: no table
  ASSERT_TRUE(tables->contains(kReviews));
  auto rules = route::DecodeRouteTableBytes(kReviews, tables->at(kReviews).body->value());
  ASSERT_TRUE(rules.ok()) << rules.error().ToString();
  // The HTTPRoute makes the table (the VirtualService is reported, not mixed in).
  EXPECT_EQ(rules->precedence, route::Precedence::kGatewayApi);
  ASSERT_EQ(rules->routes.size(), 2u);
  EXPECT_EQ(rules->routes[0].matches.at(0).path->value, "/v2");
  ASSERT_EQ(rules->routes[1].backends.size(), 2u);
  EXPECT_EQ(rules->routes[1].backends[0].weight, 90u);
  EXPECT_EQ(rules->routes[1].backends[1].host, "reviews-v2.shop.svc.cluster.local");

  auto visible = [&](const char* ns, const char* name) {
    xds::ProxyNode proxy{"10.0.0.1", name, ns, "node1", "Kubernetes"};
    return filter.Visible(proxy, route::kRouteTableTypeUrl, tables->at(kReviews));
  };
  EXPECT_TRUE(visible("shop", "waypoint"));
  EXPECT_FALSE(visible("other", "waypoint"));
  EXPECT_FALSE(visible("shop", "other-waypoint"));
  EXPECT_FALSE(visible("istio-system", "ztunnel-node1"));

  // Without the HTTPRoute, the VirtualService makes the table.
  state.resources.erase({"HTTPRoute", "shop", "reviews"});
  state.generation = 8;
  publisher.Publish(state, view);
  tables = resources.Get(route::kRouteTableTypeUrl);
  ASSERT_TRUE(tables->contains(kReviews));
  rules = route::DecodeRouteTableBytes(kReviews, tables->at(kReviews).body->value());
  ASSERT_TRUE(rules.ok()) << rules.error().ToString();
  EXPECT_EQ(rules->precedence, route::Precedence::kFirstMatch);
  ASSERT_EQ(rules->routes.size(), 1u);
  EXPECT_EQ(rules->routes[0].backends.at(0).host, "reviews-v2.shop.svc.cluster.local");

  // Unbound: the table is withdrawn (the waypoint falls back to the default route).
  std::get<config::Service>(state.resources.at({"Service", "shop", "reviews"}))
      .metadata.labels.clear();
  state.generation = 9;
  publisher.Publish(state, view);
  EXPECT_TRUE(resources.Get(route::kRouteTableTypeUrl)->empty());
}

TEST(RouteWarningsFor, SaysWhatRoutesDoNothingAndWhy) {
  StoreState state = Parse(kRouteCluster);
  auto parsed = config::ParseManifests(kRouteCluster, "t.yaml");
  Manifests input{parsed.resources, parsed.origins};
  std::vector<std::string> warnings = RouteWarningsFor(state, input, model::MeshSettings{});
  const std::string all = ::testing::PrintToString(warnings);
  ASSERT_EQ(warnings.size(), 2u) << all;
  EXPECT_NE(
      all.find("(HTTPRoute shop/ratings): not enforced for Service ratings.shop.svc.cluster.local: "
               "it has no waypoint"),
      std::string::npos)
      << all;
  EXPECT_NE(all.find("(VirtualService shop/reviews-vs): not applied to Service "
                     "reviews.shop.svc.cluster.local"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("t.yaml:"), std::string::npos) << all;

  // A lowering problem names the field: a backend Service that does not resolve to a subset.
  StoreState bad = Parse(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: default}
spec:
  hosts: [web]
  http:
  - route: [{destination: {host: web, subset: v9}}]
)");
  auto bad_parsed = config::ParseManifests(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: default}
spec:
  hosts: [web]
  http:
  - route: [{destination: {host: web, subset: v9}}]
)",
                                           "bad.yaml");
  Manifests bad_input{bad_parsed.resources, bad_parsed.origins};
  std::vector<std::string> lowered = RouteWarningsFor(bad, bad_input, model::MeshSettings{});
  ASSERT_FALSE(lowered.empty());
  EXPECT_NE(lowered[0].find("(VirtualService default/vs)"), std::string::npos) << lowered[0];
  EXPECT_NE(lowered[0].find("spec.http[0].route[0].destination.subset"), std::string::npos)
      << lowered[0];
}

}  // namespace
}  // namespace ambit::control
