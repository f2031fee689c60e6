// Policies end to end in one process, wired as in ambitd: store state ->
// XdsPublisher (ambient model + policy lowering + audience filter) ->
// ResourceStore -> DeltaAdsServer ==unix socket==> ztunnel-like and
// waypoint-like DeltaAdsClients -> their StateStores. Each proxy must hold
// exactly the policies of its node (or its waypoint), and changes (a policy
// deleted, a pod moving) must reach them.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include "config/parse.h"
#include "control/policy_filter.h"
#include "control/xds_publisher.h"
#include "xds/delta_ads_client.h"
#include "xds/delta_ads_server.h"
#include "xds/type_urls.h"

namespace ambit {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, uid: u-web, labels: {app: web}}
spec: {nodeName: node1, containers: [{name: c, image: i, command: [sleep]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, uid: u-db, labels: {app: db}}
spec: {nodeName: node2, containers: [{name: c, image: i, command: [sleep]}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: v1
kind: Pod
metadata:
  name: waypoint-1
  namespace: shop
  uid: u-wp
  labels: {gateway.networking.k8s.io/gateway-name: waypoint, istio.io/dataplane-mode: none}
spec: {nodeName: node2, containers: [{name: c, image: i, command: [sleep]}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh-deny-telnet, namespace: istio-system}
spec: {action: DENY, rules: [{to: [{operation: {ports: ["23"]}}]}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: web-from-shop, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  rules: [{from: [{source: {namespaces: [shop]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  selector: {matchLabels: {app: db}}
  rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: at-waypoint, namespace: shop}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  rules: [{to: [{operation: {ports: ["80"]}}]}]
)";

bool WaitUntil(const std::function<bool()>& done, milliseconds timeout = milliseconds(10'000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return done();
}

// One proxy: its xDS client and the state it builds.
struct Proxy {
  state::StateStore state;
  std::unique_ptr<xds::DeltaAdsClient> client;

  std::set<std::string> Policies() const {
    std::set<std::string> out;
    auto snapshot = state.Snapshot();
    for (const auto& [key, policy] : snapshot->contents().policies) out.insert(key);
    return out;
  }
};

class AuthorizationPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ambit-xds-authz-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config::ParseResult parsed = config::ParseManifests(kCluster, "test.yaml");
    ASSERT_TRUE(parsed.ok()) << config::FormatDiagnostics(parsed.diagnostics);
    for (config::Resource& r : parsed.resources) state_.resources.emplace(config::KeyOf(r), r);
    state_.generation = 1;
    view_.store_generation = 1;
    int ip = 10;
    for (const char* pod : {"web", "db", "waypoint-1"}) {
      control::PodView pv;
      pv.uid = std::string("u-") + (std::string(pod) == "waypoint-1" ? "wp" : pod);
      pv.ip = "10.1.0." + std::to_string(ip++);
      pv.phase = "Running";
      pv.ready = true;
      view_.pods[{"Pod", "shop", pod}] = pv;
    }
    publisher_.Publish(state_, view_);

    builder_.AddListeningPort("unix:" + dir_ + "/ambitd.sock", grpc::InsecureServerCredentials());
    builder_.RegisterService(ads_.service());
    server_ = builder_.BuildAndStart();
    ASSERT_NE(server_, nullptr);

    Connect(node1_, {"10.0.1.1", "ztunnel-node1", "istio-system", "node1", "Kubernetes"});
    Connect(node2_, {"10.0.2.1", "ztunnel-node2", "istio-system", "node2", "Kubernetes"});
    // The waypoint proxy names its Gateway (src/waypoint/waypoint.cc).
    Connect(waypoint_, {"10.1.0.12", "waypoint", "shop", "node2", "Kubernetes"});
  }
  void TearDown() override {
    for (Proxy* p : {&node1_, &node2_, &waypoint_}) p->client.reset();
    ads_.Stop();
    if (server_) server_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  void Connect(Proxy& proxy, xds::ProxyNode node) {
    xds::DeltaAdsClientOptions options;
    options.node = std::move(node);
    proxy.client = std::make_unique<xds::DeltaAdsClient>(
        xds::MakeXdsChannel("unix:" + dir_ + "/ambitd.sock").value(), options, proxy.state);
    proxy.client->Start();
    ASSERT_TRUE(proxy.client->WaitForSync(milliseconds(10'000)));
  }

  void Republish() {
    ++state_.generation;
    view_.store_generation = state_.generation;
    publisher_.Publish(state_, view_);
  }

  std::string dir_;
  control::StoreState state_;
  control::RuntimeView view_;
  xds::ResourceStore store_;
  control::PolicyAudienceFilter filter_;
  control::XdsPublisher publisher_{&store_, nullptr, &filter_};
  xds::InsecureNodeAuthenticator auth_;  // the node-credential check has its own tests
  xds::DeltaAdsServer ads_{store_, auth_, &filter_};
  grpc::ServerBuilder builder_;
  std::unique_ptr<grpc::Server> server_;
  Proxy node1_, node2_, waypoint_;
};

using Keys = std::set<std::string>;

TEST_F(AuthorizationPipelineTest, EachProxyHoldsExactlyItsPolicies) {
  EXPECT_EQ(node1_.Policies(), (Keys{"istio-system/mesh-deny-telnet", "shop/web-from-shop"}));
  EXPECT_EQ(node2_.Policies(), (Keys{"istio-system/mesh-deny-telnet", "shop/db-from-web"}));
  EXPECT_EQ(waypoint_.Policies(), (Keys{"shop/at-waypoint"}));
  // Every proxy gets every address; the workloads name their policies.
  auto snapshot = node1_.state.Snapshot();
  const state::Workload* waypoint_pod =
      snapshot->FindWorkloadByAddress("", std::string("\x0a\x01\x00\x0c", 4));
  ASSERT_NE(waypoint_pod, nullptr);
  EXPECT_EQ(waypoint_pod->authorization_policies, std::vector<std::string>{"shop/at-waypoint"});
}

TEST_F(AuthorizationPipelineTest, DeletingAPolicyRemovesItFromItsNodeOnly) {
  const uint64_t node2_removals = node2_.client->stats().removals_applied;
  state_.resources.erase({"AuthorizationPolicy", "shop", "web-from-shop"});
  Republish();
  ASSERT_TRUE(WaitUntil([&] { return !node1_.Policies().contains("shop/web-from-shop"); }));
  EXPECT_EQ(node1_.Policies(), Keys{"istio-system/mesh-deny-telnet"});
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(node2_.client->stats().removals_applied, node2_removals);  // nothing to remove there

  state_.resources.erase({"AuthorizationPolicy", "istio-system", "mesh-deny-telnet"});
  Republish();
  ASSERT_TRUE(WaitUntil([&] { return node1_.Policies().empty() && node2_.Policies().size() == 1; }));
  EXPECT_EQ(node2_.Policies(), Keys{"shop/db-from-web"});
}

TEST_F(AuthorizationPipelineTest, APolicyFollowsAPodToAnotherNode) {
  std::get<config::Pod>(state_.resources.at({"Pod", "shop", "web"})).spec.node_name = "node2";
  Republish();
  ASSERT_TRUE(WaitUntil([&] { return node2_.Policies().contains("shop/web-from-shop"); }));
  ASSERT_TRUE(WaitUntil([&] { return !node1_.Policies().contains("shop/web-from-shop"); }));
  EXPECT_EQ(node1_.Policies(), Keys{"istio-system/mesh-deny-telnet"});
  // And a namespace policy appears on a node when a workload of its namespace does.
  config::ParseResult added = config::ParseManifests(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: shop-wide, namespace: shop}
spec: {rules: [{}]}
)", "t.yaml");
  ASSERT_TRUE(added.ok());
  state_.resources.emplace(config::KeyOf(added.resources[0]), added.resources[0]);
  Republish();
  ASSERT_TRUE(WaitUntil([&] { return node2_.Policies().contains("shop/shop-wide"); }));
  EXPECT_FALSE(node1_.Policies().contains("shop/shop-wide"));  // no shop workload left there
  EXPECT_FALSE(waypoint_.Policies().contains("shop/shop-wide"));
}

}  // namespace
}  // namespace ambit
