#include "control/prometheus.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cluster/topology.h"
#include "config/parse.h"
#include "control/reconciler.h"
#include "control/store.h"

namespace ambit::control {
namespace {

using nlohmann::json;

StoreState Parse(const std::string& yaml) {
  auto parsed = config::ParseManifests(yaml, "t.yaml");
  EXPECT_TRUE(parsed.ok()) << config::FormatDiagnostics(parsed.diagnostics);
  StoreState state;
  for (auto& r : parsed.resources) state.resources.emplace(config::KeyOf(r), r);
  return state;
}

PodView Running(const std::string& uid, const std::string& ip) {
  PodView pv;
  pv.uid = uid;
  pv.ip = ip;
  pv.phase = "Running";
  return pv;
}

TEST(Prometheus, ConfigScrapesEveryZtunnelAndTheWaypointFile) {
  cluster::ClusterLayout layout("promtest");
  const std::string yaml =
      PrometheusConfigYaml(cluster::DescribeNodes(layout, 2), "/var/lib/ambit/promtest/prometheus/waypoints.json");
  EXPECT_NE(yaml.find("scrape_interval: 5s"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("- targets: [\"172.29.0.1:15020\"]\n        labels: {node: \"node1\"}"), std::string::npos)
      << yaml;
  EXPECT_NE(yaml.find("- targets: [\"172.29.0.2:15020\"]\n        labels: {node: \"node2\"}"), std::string::npos)
      << yaml;
  EXPECT_NE(yaml.find("job_name: \"waypoint\""), std::string::npos);
  // ambitd's own /metrics, on node1 where it listens.
  EXPECT_NE(yaml.find("job_name: \"ambitd\"\n    metrics_path: \"/metrics\"\n    static_configs:\n"
                      "      - targets: [\"172.29.0.1:15014\"]\n        labels: {app: \"ambitd\"}"),
            std::string::npos)
      << yaml;
  EXPECT_NE(yaml.find("files: [\"/var/lib/ambit/promtest/prometheus/waypoints.json\"]"), std::string::npos);
}

TEST(Prometheus, WaypointTargetsAreRunningGatewayPods) {
  StoreState state = Parse(R"(apiVersion: v1
kind: Pod
metadata:
  name: waypoint-abc
  namespace: mesh
  uid: u1
  labels: {gateway.networking.k8s.io/gateway-name: waypoint}
spec:
  nodeName: node2
  containers: [{name: c, image: i, command: [sleep]}]
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: mesh, uid: u2, labels: {app: web}}
spec:
  nodeName: node1
  containers: [{name: c, image: i, command: [sleep]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: waypoint-new
  namespace: other
  uid: u3
  labels: {gateway.networking.k8s.io/gateway-name: wp2}
spec:
  nodeName: node1
  containers: [{name: c, image: i, command: [sleep]}]
)");
  RuntimeView view;
  view.pods[{"Pod", "mesh", "waypoint-abc"}] = Running("u1", "10.244.2.5");
  view.pods[{"Pod", "mesh", "web"}] = Running("u2", "10.244.1.4");
  PodView pending;
  pending.uid = "u3";
  view.pods[{"Pod", "other", "waypoint-new"}] = pending;  // not running yet: no target

  json targets = json::parse(WaypointTargetsJson(state, view));
  ASSERT_EQ(targets.size(), 1u) << targets.dump();
  EXPECT_EQ(targets[0]["targets"], json::array({"10.244.2.5:15020"}));
  EXPECT_EQ(targets[0]["labels"],
            json({{"namespace", "mesh"}, {"pod", "waypoint-abc"}, {"gateway", "waypoint"}, {"node", "node2"}}));

  view.pods[{"Pod", "other", "waypoint-new"}] = Running("u3", "10.244.1.9");
  EXPECT_EQ(json::parse(WaypointTargetsJson(state, view)).size(), 2u);
  // A pod record of a replaced pod (other uid) is not scraped.
  view.pods[{"Pod", "mesh", "waypoint-abc"}].uid = "old";
  EXPECT_EQ(json::parse(WaypointTargetsJson(state, view)).size(), 1u);
  // Same input, same text (the file is rewritten only on change).
  EXPECT_EQ(WaypointTargetsJson(state, view), WaypointTargetsJson(state, view));
}

}  // namespace
}  // namespace ambit::control
