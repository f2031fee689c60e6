#include "control/xds_publisher.h"

#include <gtest/gtest.h>

#include "config/parse.h"
#include "control/controller.h"
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
    xds::ProxyNode proxy{"10.0.0.1", std::string("ztunnel-") + node, "istio-system", node, "Kubernetes"};
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
  EXPECT_EQ(warnings[0], "t.yaml:15: warning: document 3 (AuthorizationPolicy default/web-allow): "
                         "rules[0] is left out: ztunnel cannot check HTTP attributes "
                         "(to[0].operation.methods), and an ALLOW rule that needs them matches "
                         "nothing; use a waypoint for HTTP rules");
  EXPECT_EQ(warnings[1].rfind("t.yaml:15: warning: document 3 (AuthorizationPolicy "
                              "default/web-allow): no rule is left", 0),
            0u);
  // Nothing about the AUDIT policy, which this apply did not touch.
}

}  // namespace
}  // namespace ambit::control
