#include "model/ambient_model.h"

#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>

namespace ambit::model {
namespace {

namespace wl = istio::workload;

config::Namespace Ns(std::string name, config::Labels labels = {}) {
  config::Namespace ns;
  ns.metadata.name = std::move(name);
  ns.metadata.labels = std::move(labels);
  return ns;
}

config::Pod Pod(std::string name, config::Labels labels,
                std::vector<config::ContainerPort> ports = {}) {
  config::Pod pod;
  pod.metadata.name = std::move(name);
  pod.metadata.ns = "shop";
  pod.metadata.labels = std::move(labels);
  pod.spec.service_account_name = "web-sa";
  pod.spec.node_name = "node1";
  config::Container c;
  c.name = "app";
  c.ports = std::move(ports);
  pod.spec.containers.push_back(std::move(c));
  return pod;
}

config::ContainerPort NamedPort(std::string name, int32_t port) {
  config::ContainerPort p;
  p.name = std::move(name);
  p.container_port = port;
  return p;
}

config::ServicePort SvcPort(std::string name, int32_t port, int32_t target, std::string target_name = "") {
  config::ServicePort p;
  p.name = std::move(name);
  p.port = port;
  p.target_port_number = target;
  p.target_port_name = std::move(target_name);
  return p;
}

PodRuntime Running(std::string ip) { return PodRuntime{std::move(ip), "node1", PodPhase::kRunning, true}; }

class AmbientModelTest : public ::testing::Test {
 protected:
  AmbientModelTest() {
    shop_ = Ns("shop", {{"istio.io/dataplane-mode", "ambient"}});
    web1_ = Pod("web-1", {{"app", "web"}, {"version", "v1"}}, {NamedPort("http-metrics", 9100)});
    web2_ = Pod("web-2", {{"app", "web"}}, {});
    db_ = Pod("db-0", {{"app", "db"}, {"istio.io/dataplane-mode", "none"}});
    web_.metadata.name = "web";
    web_.metadata.ns = "shop";
    web_.spec.selector = {{"app", "web"}};
    web_.spec.ports = {SvcPort("http", 80, 8080), SvcPort("metrics", 9090, 0, "http-metrics")};
  }
  AmbientInput Input() {
    AmbientInput in;
    in.namespaces = {&shop_};
    in.pods = {{&web1_, Running("10.1.0.11")}, {&web2_, Running("10.1.0.12")},
               {&db_, Running("10.1.0.20")}};
    in.services = {{&web_, "10.96.0.10"}};
    return in;
  }
  static const wl::Workload& W(const AddressSet& set, const std::string& pod) {
    return set.resources.at("Kubernetes//Pod/shop/" + pod).workload();
  }

  config::Namespace shop_;
  config::Pod web1_, web2_, db_;
  config::Service web_;
};

TEST_F(AmbientModelTest, BuildsWorkloadsAndServicesWithTheirNames) {
  AddressSet set = BuildAddresses(Input());
  EXPECT_TRUE(set.warnings.empty());
  ASSERT_EQ(set.resources.size(), 4u);
  const wl::Workload& w = W(set, "web-1");
  EXPECT_EQ(w.uid(), "Kubernetes//Pod/shop/web-1");
  EXPECT_EQ(w.name(), "web-1");
  EXPECT_EQ(w.namespace_(), "shop");
  ASSERT_EQ(w.addresses_size(), 1);
  EXPECT_EQ(w.addresses(0), std::string("\x0a\x01\x00\x0b", 4));
  EXPECT_EQ(w.tunnel_protocol(), wl::HBONE);
  EXPECT_EQ(w.trust_domain(), "cluster.local");
  EXPECT_EQ(w.service_account(), "web-sa");
  EXPECT_EQ(w.node(), "node1");
  EXPECT_EQ(w.canonical_name(), "web");
  EXPECT_EQ(w.canonical_revision(), "v1");
  EXPECT_EQ(w.workload_type(), wl::POD);
  EXPECT_EQ(w.workload_name(), "web-1");
  EXPECT_EQ(w.status(), wl::HEALTHY);
  EXPECT_EQ(w.cluster_id(), "Kubernetes");

  const wl::Service& s = set.resources.at("shop/web.shop.svc.cluster.local").service();
  EXPECT_EQ(s.hostname(), "web.shop.svc.cluster.local");
  ASSERT_EQ(s.addresses_size(), 1);
  EXPECT_EQ(s.addresses(0).address(), std::string("\x0a\x60\x00\x0a", 4));
  ASSERT_EQ(s.ports_size(), 2);
  EXPECT_EQ(s.ports(0).service_port(), 80u);
  EXPECT_EQ(s.ports(0).target_port(), 8080u);
  EXPECT_EQ(s.ports(0).app_protocol(), wl::HTTP11);
  EXPECT_EQ(s.ports(1).target_port(), 0u);  // named: resolved per workload
}

TEST_F(AmbientModelTest, NamedTargetPortResolvesPerPodAndIsOmittedWhenUndeclared) {
  AddressSet set = BuildAddresses(Input());
  const auto& key = "shop/web.shop.svc.cluster.local";
  const wl::PortList& p1 = W(set, "web-1").services().at(key);
  ASSERT_EQ(p1.ports_size(), 2);
  EXPECT_EQ(p1.ports(0).service_port(), 80u);
  EXPECT_EQ(p1.ports(0).target_port(), 8080u);
  EXPECT_EQ(p1.ports(1).service_port(), 9090u);
  EXPECT_EQ(p1.ports(1).target_port(), 9100u);
  const wl::PortList& p2 = W(set, "web-2").services().at(key);
  ASSERT_EQ(p2.ports_size(), 1);  // web-2 declares no http-metrics port
  EXPECT_EQ(p2.ports(0).service_port(), 80u);
  EXPECT_TRUE(W(set, "db-0").services().empty());  // selector does not match
}

TEST_F(AmbientModelTest, EnrollmentDrivesTheTunnelProtocol) {
  AddressSet set = BuildAddresses(Input());
  EXPECT_EQ(W(set, "web-2").tunnel_protocol(), wl::HBONE);
  EXPECT_EQ(W(set, "db-0").tunnel_protocol(), wl::NONE);  // opted out, still discoverable
  shop_.metadata.labels.clear();
  AddressSet unlabelled = BuildAddresses(Input());
  EXPECT_EQ(W(unlabelled, "web-1").tunnel_protocol(), wl::NONE);
}

TEST_F(AmbientModelTest, AChangeToOnePodChangesExactlyOneAddress) {
  AddressSet before = BuildAddresses(Input());
  AddressSet again = BuildAddresses(Input());
  AmbientInput in = Input();
  in.pods[1].runtime.ready = false;  // web-2 becomes unready
  AddressSet after = BuildAddresses(in);
  ASSERT_EQ(before.resources.size(), after.resources.size());
  std::vector<std::string> changed;
  for (const auto& [name, address] : before.resources) {
    ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(address, again.resources.at(name)));
    if (!google::protobuf::util::MessageDifferencer::Equals(address, after.resources.at(name))) {
      changed.push_back(name);
    }
  }
  EXPECT_EQ(changed, std::vector<std::string>{"Kubernetes//Pod/shop/web-2"});
  EXPECT_EQ(W(after, "web-2").status(), wl::UNHEALTHY);
}

TEST_F(AmbientModelTest, PodsWithoutAnIpOrFinishedAreLeftOut) {
  AmbientInput in = Input();
  in.pods[0].runtime.ip.clear();
  in.pods[1].runtime.phase = PodPhase::kSucceeded;
  in.pods[2].runtime.ip = "not-an-ip";
  AddressSet set = BuildAddresses(in);
  EXPECT_EQ(set.resources.size(), 1u);  // only the service
  ASSERT_EQ(set.warnings.size(), 1u);
  EXPECT_NE(set.warnings[0].find("shop/db-0"), std::string::npos);
}

TEST_F(AmbientModelTest, DeploymentPodsNameTheirDeployment) {
  config::OwnerReference owner;
  owner.kind = "ReplicaSet";
  owner.name = "web-7d9f8c6b5";
  web1_.metadata.owner_references = {owner};
  web1_.metadata.labels["pod-template-hash"] = "7d9f8c6b5";
  AddressSet set = BuildAddresses(Input());
  EXPECT_EQ(W(set, "web-1").workload_type(), wl::DEPLOYMENT);
  EXPECT_EQ(W(set, "web-1").workload_name(), "web");
}

TEST_F(AmbientModelTest, NamespacesOutsideDiscoverySelectorsPublishNothing) {
  AmbientInput in = Input();
  ASSERT_EQ(BuildAddresses(in).resources.size(), 4u);  // 3 workloads + 1 service
  config::LabelSelector team;
  team.match_labels = {{"team", "shop"}};
  in.mesh.discovery_selectors = {team};
  EXPECT_TRUE(BuildAddresses(in).resources.empty());
  shop_.metadata.labels["team"] = "shop";
  EXPECT_EQ(BuildAddresses(in).resources.size(), 4u);
  // A namespace of another revision is not managed either.
  shop_.metadata.labels["istio.io/rev"] = "canary";
  EXPECT_TRUE(BuildAddresses(in).resources.empty());
  in.mesh.revision = "canary";
  EXPECT_EQ(W(BuildAddresses(in), "web-1").tunnel_protocol(), wl::HBONE);
}

TEST_F(AmbientModelTest, HeadlessServicesHaveNoVipAndUnwatchedNamespacesAreSkipped) {
  AmbientInput in = Input();
  in.services[0].vip = "None";
  AddressSet set = BuildAddresses(in);
  EXPECT_EQ(set.resources.at("shop/web.shop.svc.cluster.local").service().addresses_size(), 0);
  in.namespaces.clear();
  EXPECT_TRUE(BuildAddresses(in).resources.empty());
}

TEST_F(AmbientModelTest, TrafficDistributionSetsIstiodsLoadBalancing) {
  auto lb_of = [&](const AmbientInput& in) {
    AddressSet set = BuildAddresses(in);
    return set.resources.at("shop/web.shop.svc.cluster.local").service();
  };
  // None: no load_balancing at all.
  EXPECT_FALSE(lb_of(Input()).has_load_balancing());

  const auto zone = std::vector<int>{wl::LoadBalancing::NETWORK, wl::LoadBalancing::REGION,
                                     wl::LoadBalancing::ZONE};
  auto scopes = [](const wl::Service& s) {
    return std::vector<int>(s.load_balancing().routing_preference().begin(),
                            s.load_balancing().routing_preference().end());
  };
  web_.spec.extra = {{"trafficDistribution", "PreferClose"}};
  wl::Service s = lb_of(Input());
  EXPECT_EQ(scopes(s), zone);
  EXPECT_EQ(s.load_balancing().mode(), wl::LoadBalancing::FAILOVER);
  EXPECT_EQ(s.load_balancing().health_policy(), wl::LoadBalancing::ONLY_HEALTHY);

  web_.spec.extra = {{"trafficDistribution", "PreferSameNode"}};
  auto node = zone;
  node.push_back(wl::LoadBalancing::SUBZONE);
  node.push_back(wl::LoadBalancing::NODE);
  EXPECT_EQ(scopes(lb_of(Input())), node);

  // Istio's annotation, on the Service, then on the namespace; the spec field wins.
  web_.spec.extra = nlohmann::json::object();
  web_.metadata.annotations = {{"networking.istio.io/traffic-distribution", "PreferClose"}};
  EXPECT_EQ(scopes(lb_of(Input())), zone);
  web_.metadata.annotations.clear();
  shop_.metadata.annotations = {{"networking.istio.io/traffic-distribution", "PreferSameNode"}};
  EXPECT_EQ(scopes(lb_of(Input())), node);
  web_.spec.extra = {{"trafficDistribution", "PreferClose"}};
  EXPECT_EQ(scopes(lb_of(Input())), zone);

  // An unknown annotation value: no preference, and a warning naming the Service.
  web_.spec.extra = nlohmann::json::object();
  shop_.metadata.annotations.clear();
  web_.metadata.annotations = {{"networking.istio.io/traffic-distribution", "Nearby"}};
  AddressSet set = BuildAddresses(Input());
  EXPECT_FALSE(set.resources.at("shop/web.shop.svc.cluster.local").service().has_load_balancing());
  ASSERT_EQ(set.warnings.size(), 1u);
  EXPECT_NE(set.warnings[0].find("shop/web"), std::string::npos);

  // internalTrafficPolicy Local: same node only; publishNotReadyAddresses: ALLOW_ALL.
  web_.metadata.annotations.clear();
  web_.spec.extra = {{"internalTrafficPolicy", "Local"}, {"publishNotReadyAddresses", true}};
  s = lb_of(Input());
  EXPECT_EQ(scopes(s), std::vector<int>{wl::LoadBalancing::NODE});
  EXPECT_EQ(s.load_balancing().mode(), wl::LoadBalancing::STRICT);
  EXPECT_EQ(s.load_balancing().health_policy(), wl::LoadBalancing::ALLOW_ALL);
}

TEST_F(AmbientModelTest, WorkloadLocalityComesFromTheNode) {
  AmbientInput in = Input();
  in.pods[1].runtime.node = "node2";
  in.node_localities["node1"] = NodeLocality{"eu", "eu-1a", "rack-7"};
  AddressSet set = BuildAddresses(in);
  EXPECT_EQ(W(set, "web-1").locality().region(), "eu");
  EXPECT_EQ(W(set, "web-1").locality().zone(), "eu-1a");
  EXPECT_EQ(W(set, "web-1").locality().subzone(), "rack-7");
  EXPECT_FALSE(W(set, "web-2").has_locality());  // node2: no locality known
}

}  // namespace
}  // namespace ambit::model
