#include "model/waypoints.h"

#include <gtest/gtest.h>

#include "model/ambient_model.h"

namespace ambit::model {
namespace {

namespace wl = istio::workload;

config::Gateway Waypoint(std::string name, std::string ns, std::string waypoint_for = "") {
  config::Gateway gw;
  gw.metadata.name = std::move(name);
  gw.metadata.ns = std::move(ns);
  gw.gateway_class_name = "istio-waypoint";
  if (!waypoint_for.empty()) gw.metadata.labels["istio.io/waypoint-for"] = waypoint_for;
  return gw;
}

config::Service Svc(std::string name, config::Labels labels = {}) {
  config::Service s;
  s.metadata.name = std::move(name);
  s.metadata.ns = "shop";
  s.metadata.labels = std::move(labels);
  s.spec.selector = {{"app", s.metadata.name}};
  config::ServicePort p;
  p.name = "http";
  p.port = 80;
  p.target_port_number = 8080;
  s.spec.ports = {p};
  return s;
}

config::Pod PodOf(std::string app, config::Labels extra = {}) {
  config::Pod pod;
  pod.metadata.name = app + "-0";
  pod.metadata.ns = "shop";
  pod.metadata.labels = std::move(extra);
  pod.metadata.labels["app"] = app;
  config::Container c;
  c.name = "app";
  pod.spec.containers.push_back(c);
  pod.spec.node_name = "node1";
  return pod;
}

TEST(WaypointIndexTest, NamespaceLabelBindsServicesOfAServiceWaypoint) {
  config::Gateway wp = Waypoint("waypoint", "shop");
  WaypointIndex index({&wp});
  config::Labels ns = {{"istio.io/use-waypoint", "waypoint"}};
  auto b = index.ForService(Svc("cart"), ns);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, (WaypointBinding{"shop", "waypoint"}));
  // waypoint-for defaults to service: pods are not bound.
  EXPECT_FALSE(index.ForPod(PodOf("cart"), ns).has_value());
}

TEST(WaypointIndexTest, ServiceLabelBeatsNamespaceAndNoneOptsOut) {
  config::Gateway a = Waypoint("waypoint", "shop");
  config::Gateway b = Waypoint("special", "shop");
  WaypointIndex index({&a, &b});
  config::Labels ns = {{"istio.io/use-waypoint", "waypoint"}};
  EXPECT_EQ(index.ForService(Svc("cart", {{"istio.io/use-waypoint", "special"}}), ns)->name,
            "special");
  EXPECT_FALSE(index.ForService(Svc("cart", {{"istio.io/use-waypoint", "none"}}), ns).has_value());
  EXPECT_FALSE(index.ForService(Svc("cart"), {}).has_value());  // no label anywhere
}

TEST(WaypointIndexTest, MissingGatewayOrWrongClassOrWrongTrafficTypeBindsNothing) {
  config::Gateway ingress = Waypoint("ingress", "shop");
  ingress.gateway_class_name = "istio";
  config::Gateway workload_only = Waypoint("pods", "shop", "workload");
  config::Gateway off = Waypoint("off", "shop", "none");
  WaypointIndex index({&ingress, &workload_only, &off});
  for (const char* name : {"nowhere", "ingress", "pods", "off"}) {
    EXPECT_FALSE(index.ForService(Svc("cart"), {{"istio.io/use-waypoint", name}}).has_value())
        << name;
  }
  // The workload-only waypoint takes pod traffic.
  EXPECT_EQ(index.ForPod(PodOf("cart"), {{"istio.io/use-waypoint", "pods"}})->name, "pods");
}

TEST(WaypointIndexTest, AllTakesBothAndCrossNamespaceReferencesResolve) {
  config::Gateway shared = Waypoint("shared", "infra", "all");
  WaypointIndex index({&shared});
  config::Labels ns = {{"istio.io/use-waypoint", "shared"},
                       {"istio.io/use-waypoint-namespace", "infra"}};
  EXPECT_EQ(index.ForService(Svc("cart"), ns), (WaypointBinding{"infra", "shared"}));
  EXPECT_EQ(index.ForPod(PodOf("cart"), ns), (WaypointBinding{"infra", "shared"}));
  // Without the namespace label the name is looked up in the resource's namespace.
  EXPECT_FALSE(index.ForService(Svc("cart"), {{"istio.io/use-waypoint", "shared"}}).has_value());
}

TEST(WaypointIndexTest, TheWaypointsOwnServiceAndPodsAreNeverBound) {
  config::Gateway wp = Waypoint("waypoint", "shop", "all");
  WaypointIndex index({&wp});
  config::Labels ns = {{"istio.io/use-waypoint", "waypoint"}};
  EXPECT_FALSE(index.ForService(Svc("waypoint", {{"gateway.networking.k8s.io/gateway-name", "waypoint"}}), ns)
                   .has_value());
  EXPECT_FALSE(index.ForPod(PodOf("waypoint", {{"gateway.istio.io/managed", "istio.io-mesh-controller"}}), ns)
                   .has_value());
}

TEST(WaypointModelTest, BindingsAppearAsGatewayAddressesInTheXdsModel) {
  config::Namespace shop;
  shop.metadata.name = "shop";
  shop.metadata.labels = {{"istio.io/dataplane-mode", "ambient"}, {"istio.io/use-waypoint", "waypoint"}};
  config::Gateway wp = Waypoint("waypoint", "shop", "all");
  config::Service cart = Svc("cart");
  config::Service wp_svc = Svc("waypoint", {{"gateway.networking.k8s.io/gateway-name", "waypoint"}});
  config::Pod cart_pod = PodOf("cart");
  AmbientInput in;
  in.namespaces = {&shop};
  in.services = {{&cart, "10.96.0.10"}, {&wp_svc, "10.96.0.11"}};
  in.pods = {{&cart_pod, PodRuntime{"10.1.0.5", "node1", PodPhase::kRunning, true}}};
  in.gateways = {&wp};
  AddressSet set = BuildAddresses(in);

  const wl::Service& s = set.resources.at("shop/cart.shop.svc.cluster.local").service();
  ASSERT_TRUE(s.has_waypoint());
  EXPECT_EQ(s.waypoint().hostname().namespace_(), "shop");
  EXPECT_EQ(s.waypoint().hostname().hostname(), "waypoint.shop.svc.cluster.local");
  EXPECT_EQ(s.waypoint().hbone_mtls_port(), 15008u);
  EXPECT_FALSE(set.resources.at("shop/waypoint.shop.svc.cluster.local").service().has_waypoint());
  const wl::Workload& w = set.resources.at("Kubernetes//Pod/shop/cart-0").workload();
  ASSERT_TRUE(w.has_waypoint());
  EXPECT_EQ(w.waypoint().hostname().hostname(), "waypoint.shop.svc.cluster.local");

  // Without the Gateway, nothing is bound.
  in.gateways.clear();
  AddressSet none = BuildAddresses(in);
  EXPECT_FALSE(none.resources.at("shop/cart.shop.svc.cluster.local").service().has_waypoint());
  EXPECT_FALSE(none.resources.at("Kubernetes//Pod/shop/cart-0").workload().has_waypoint());
}

}  // namespace
}  // namespace ambit::model
