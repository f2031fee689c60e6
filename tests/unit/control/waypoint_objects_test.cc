#include "control/waypoint_objects.h"

#include <gtest/gtest.h>

#include "config/parse.h"
#include "control/planner.h"

namespace ambit::control {
namespace {

Manifests Parse(const std::string& yaml) {
  config::ParseResult r = config::ParseManifests(yaml, "test.yaml");
  EXPECT_TRUE(r.ok()) << config::FormatDiagnostics(r.diagnostics);
  return {r.resources, r.origins};
}

PlanContext Context() {
  PlanContext ctx;
  ctx.node_count = 2;
  ctx.command_exists = [](const std::string& c) { return c == "sleep"; };
  auto counter = std::make_shared<int>(0);
  ctx.random = [counter](int n) {
    std::string s = std::to_string((*counter)++);
    return std::string(static_cast<size_t>(n) - s.size(), 'a') + s;
  };
  ctx.waypoint_command = [](const config::Gateway& gw) {
    return std::vector<std::string>{"/opt/ambit/waypoint", "--name", gw.metadata.name};
  };
  return ctx;
}

const char kNamespace[] = R"(apiVersion: v1
kind: Namespace
metadata: {name: shop}
)";

const char kWaypoint[] = R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
)";

TEST(WaypointObjects, DeploymentAndServiceAsIstiodMakesThem) {
  config::Gateway gw;
  gw.metadata.name = "wp";
  gw.metadata.ns = "shop";
  gw.metadata.uid = "u1";
  gw.gateway_class_name = "istio-waypoint";
  WaypointObjects o = BuildWaypointObjects(gw, {"/bin/waypoint", "--name", "wp"});
  const auto& d = o.deployment;
  EXPECT_EQ(d.metadata.name, "wp");
  EXPECT_EQ(d.spec.replicas, 1);
  EXPECT_TRUE(OwnedByGateway(d.metadata, "wp"));
  EXPECT_EQ(d.metadata.owner_references.at(0).uid, "u1");
  const auto& t = d.spec.template_;
  EXPECT_TRUE(d.spec.selector.Matches(t.metadata.labels));
  EXPECT_EQ(t.metadata.labels.at("istio.io/dataplane-mode"), "none");
  EXPECT_EQ(t.metadata.labels.at("gateway.networking.k8s.io/gateway-name"), "wp");
  EXPECT_EQ(t.metadata.labels.at("gateway.istio.io/managed"), "istio.io-mesh-controller");
  EXPECT_EQ(t.spec.service_account_name, "wp");
  ASSERT_EQ(t.spec.containers.size(), 1u);
  EXPECT_EQ(t.spec.containers[0].command,
            (std::vector<std::string>{"/bin/waypoint", "--name", "wp"}));
  const auto& s = o.service;
  EXPECT_TRUE(OwnedByGateway(s.metadata, "wp"));
  EXPECT_TRUE(config::SelectorMatches(s.spec.selector, t.metadata.labels));
  ASSERT_EQ(s.spec.ports.size(), 1u);
  EXPECT_EQ(s.spec.ports[0].port, 15008);
  EXPECT_EQ(s.spec.ports[0].target_port_number, 15008);
}

TEST(WaypointObjects, PlannerRunsAWaypointGatewayAndRemovesItWithTheGateway) {
  const PlanContext ctx = Context();
  auto plan = PlanApply(StoreState{}, Parse(std::string(kNamespace) + "---\n" + kWaypoint), ctx);
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  const auto& next = plan->next.resources;
  ASSERT_TRUE(next.count({"Deployment", "shop", "waypoint"}));
  ASSERT_TRUE(next.count({"Service", "shop", "waypoint"}));
  const auto& svc = std::get<config::Service>(next.at({"Service", "shop", "waypoint"}));
  EXPECT_EQ(svc.spec.cluster_ip.rfind("10.96.", 0), 0u) << svc.spec.cluster_ip;
  auto pods = plan->next.Pods();
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_EQ(pods[0]->spec.containers[0].command.front(), "/opt/ambit/waypoint");
  EXPECT_EQ(plan->pods.size(), 1u);  // `apply --wait` waits for it

  // Re-applying changes nothing: same pod, same ClusterIP.
  auto again = PlanApply(plan->next, Parse(kWaypoint), ctx);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  for (const auto& c : again->changes) EXPECT_EQ(c.action, "unchanged") << c.key.ToString();
  EXPECT_EQ(again->next.resources, plan->next.resources);

  // Deleting the Gateway deletes what it made.
  auto gone = PlanDelete(again->next, Parse(kWaypoint), false);
  ASSERT_TRUE(gone.ok()) << gone.error().ToString();
  EXPECT_FALSE(gone->next.resources.count({"Deployment", "shop", "waypoint"}));
  EXPECT_FALSE(gone->next.resources.count({"Service", "shop", "waypoint"}));
  EXPECT_TRUE(gone->next.Pods().empty());
}

TEST(WaypointObjects, ForeignObjectsOfTheSameNameAreNotReplaced) {
  const PlanContext ctx = Context();
  const std::string svc = R"(apiVersion: v1
kind: Service
metadata: {name: waypoint, namespace: shop}
spec:
  selector: {app: mine}
  ports: [{name: http, port: 80}]
)";
  auto first = PlanApply(StoreState{}, Parse(std::string(kNamespace) + "---\n" + svc), ctx);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  auto refused = PlanApply(first->next, Parse(kWaypoint), ctx);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().ToString().find("Service shop/waypoint"), std::string::npos)
      << refused.error().ToString();
}

TEST(WaypointObjects, OtherGatewayClassesAndNoCommandRunNothing) {
  std::string ingress = kWaypoint;
  ingress.replace(ingress.find("istio-waypoint"), 14, "istio");
  auto plan = PlanApply(StoreState{}, Parse(std::string(kNamespace) + "---\n" + ingress), Context());
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  EXPECT_FALSE(plan->next.resources.count({"Deployment", "shop", "waypoint"}));
  PlanContext no_command = Context();
  no_command.waypoint_command = nullptr;
  auto stored_only =
      PlanApply(StoreState{}, Parse(std::string(kNamespace) + "---\n" + kWaypoint), no_command);
  ASSERT_TRUE(stored_only.ok());
  EXPECT_TRUE(stored_only->next.Pods().empty());
}

}  // namespace
}  // namespace ambit::control
