#include "control/planner.h"

#include <gtest/gtest.h>

#include "config/parse.h"

namespace ambit::control {
namespace {

Manifests Parse(const std::string& yaml) {
  config::ParseResult r = config::ParseManifests(yaml, "test.yaml");
  EXPECT_TRUE(r.ok()) << config::FormatDiagnostics(r.diagnostics);
  return {r.resources, r.origins};
}

PlanContext Context(int nodes = 2) {
  PlanContext ctx;
  ctx.node_count = nodes;
  ctx.command_exists = [](const std::string& c) { return c == "sleep" || c == "nginx"; };
  auto counter = std::make_shared<int>(0);
  ctx.random = [counter](int n) {
    std::string s = std::to_string((*counter)++);
    return std::string(static_cast<size_t>(n) - s.size(), 'a') + s;
  };
  return ctx;
}

const char kPod[] = R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: i, command: [sleep, "1"]}]
)";

const char kDeployment[] = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicas: 3
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers: [{name: c, image: i, command: [nginx]}]
)";

TEST(Planner, SchedulesPodAndAssignsUid) {
  auto plan = PlanApply(StoreState{}, Parse(kPod), Context());
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  const auto& pod = std::get<config::Pod>(plan->next.resources.at({"Pod", "default", "p"}));
  EXPECT_EQ(pod.spec.node_name, "node1");
  EXPECT_FALSE(pod.metadata.uid.empty());
  ASSERT_EQ(plan->changes.size(), 1u);
  EXPECT_EQ(plan->changes[0].action, "created");
  EXPECT_EQ(plan->pods.size(), 1u);
}

TEST(Planner, ReapplyIsUnchangedAndKeepsAssignments) {
  auto first = PlanApply(StoreState{}, Parse(kPod), Context());
  ASSERT_TRUE(first.ok());
  auto second = PlanApply(first->next, Parse(kPod), Context());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->changes[0].action, "unchanged");
  EXPECT_EQ(second->next.resources, first->next.resources);
}

TEST(Planner, LabelChangeKeepsThePodSpecChangeReplacesIt) {
  const PlanContext ctx = Context();  // one random sequence for every step
  auto first = PlanApply(StoreState{}, Parse(kPod), ctx);
  ASSERT_TRUE(first.ok());
  const std::string uid =
      std::get<config::Pod>(first->next.resources.at({"Pod", "default", "p"})).metadata.uid;
  std::string relabeled = kPod;
  relabeled.replace(relabeled.find("{name: p}"), 9, "{name: p, labels: {a: b}}");
  auto second = PlanApply(first->next, Parse(relabeled), ctx);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->changes[0].action, "configured");
  EXPECT_EQ(std::get<config::Pod>(second->next.resources.at({"Pod", "default", "p"})).metadata.uid,
            uid);
  std::string respecced = kPod;
  respecced.replace(respecced.find("\"1\""), 3, "\"2\"");
  auto third = PlanApply(first->next, Parse(respecced), ctx);
  ASSERT_TRUE(third.ok());
  EXPECT_NE(std::get<config::Pod>(third->next.resources.at({"Pod", "default", "p"})).metadata.uid,
            uid);
}

TEST(Planner, DeploymentSpreadsAndScales) {
  auto plan = PlanApply(StoreState{}, Parse(kDeployment), Context());
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  auto pods = plan->next.Pods();
  ASSERT_EQ(pods.size(), 3u);
  std::map<std::string, int> per_node;
  for (const auto* p : pods) {
    per_node[p->spec.node_name]++;
    EXPECT_EQ(p->metadata.name.rfind("d-", 0), 0u);
    EXPECT_EQ(p->metadata.labels.at("app"), "d");
    EXPECT_EQ(p->metadata.owner_references.at(0).name, "d");
  }
  EXPECT_EQ(per_node["node1"], 2);
  EXPECT_EQ(per_node["node2"], 1);

  std::string scaled = kDeployment;
  scaled.replace(scaled.find("replicas: 3"), 11, "replicas: 1");
  auto down = PlanApply(plan->next, Parse(scaled), Context());
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->next.Pods().size(), 1u);

  auto gone = PlanDelete(down->next, Parse(kDeployment), false);
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->next.resources.empty());
}

TEST(Planner, ChangedTemplateReplacesPods) {
  auto plan = PlanApply(StoreState{}, Parse(kDeployment), Context());
  ASSERT_TRUE(plan.ok());
  std::string changed = kDeployment;
  changed.replace(changed.find("[nginx]"), 7, "[sleep]");
  auto next = PlanApply(plan->next, Parse(changed), Context());
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->next.Pods().size(), 3u);
  for (const auto* p : next->next.Pods()) {
    EXPECT_EQ(plan->next.resources.count({"Pod", "default", p->metadata.name}), 0u);
  }
}

TEST(Planner, RejectsWithEveryProblemNamed) {
  const char yaml[] = R"(apiVersion: v1
kind: Pod
metadata: {name: a, namespace: missing}
spec:
  nodeName: node5
  containers: [{name: c, image: i, command: [nope]}]
)";
  auto plan = PlanApply(StoreState{}, Parse(yaml), Context());
  ASSERT_FALSE(plan.ok());
  const std::string msg = plan.error().message();
  EXPECT_NE(msg.find("test.yaml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("namespace 'missing' does not exist"), std::string::npos) << msg;
  EXPECT_NE(msg.find("spec.nodeName: node 'node5' does not exist"), std::string::npos) << msg;
  EXPECT_NE(msg.find("spec.containers[0].command[0]: command 'nope' not found"), std::string::npos)
      << msg;
}

TEST(Planner, AllocatesAndProtectsClusterIps) {
  const char svc[] = R"(apiVersion: v1
kind: Service
metadata: {name: s}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: t}
spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
)";
  // t claims .10 explicitly, so s (earlier in the input) gets the next one.
  auto plan = PlanApply(StoreState{}, Parse(svc), Context());
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  auto ip = [&](const char* name) {
    return std::get<config::Service>(plan->next.resources.at({"Service", "default", name}))
        .spec.cluster_ip;
  };
  EXPECT_EQ(ip("s"), "10.96.0.11");
  EXPECT_EQ(ip("t"), "10.96.0.10");
  // A second service asking for a taken address is refused.
  const char clash[] = R"(apiVersion: v1
kind: Service
metadata: {name: v}
spec: {clusterIP: 10.96.0.11, ports: [{port: 80}]}
)";
  auto refused = PlanApply(plan->next, Parse(clash), Context());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("10.96.0.11 is already used by Service default/s"),
            std::string::npos)
      << refused.error().message();
}

TEST(Planner, AllocatesFirstFreeClusterIp) {
  const char svc[] = R"(apiVersion: v1
kind: Service
metadata: {name: s}
spec: {ports: [{port: 80}]}
)";
  auto plan = PlanApply(StoreState{}, Parse(svc), Context());
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  EXPECT_EQ(std::get<config::Service>(plan->next.resources.at({"Service", "default", "s"}))
                .spec.cluster_ip,
            "10.96.0.10");
  const char outside[] = R"(apiVersion: v1
kind: Service
metadata: {name: u}
spec: {clusterIP: 192.168.1.1, ports: [{port: 80}]}
)";
  auto bad = PlanApply(plan->next, Parse(outside), Context());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("spec.clusterIP: expected an address in 10.96.0.0/16"),
            std::string::npos);
}

TEST(Planner, DeleteMissingIsAnErrorUnlessIgnored) {
  EXPECT_FALSE(PlanDelete(StoreState{}, Parse(kPod), false).ok());
  EXPECT_TRUE(PlanDelete(StoreState{}, Parse(kPod), true).ok());
}

}  // namespace
}  // namespace ambit::control

namespace ambit::control {
namespace {

const char kServiceEntry[] = R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec: {hosts: [a.example, b.example], ports: [{number: 80, name: http}], resolution: DNS}
)";

TEST(Planner, ServiceEntryVipsPersistAcrossAppliesAndStoreReloads) {
  auto first = PlanApply(StoreState{}, Parse(kServiceEntry), Context());
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  const auto vips = first->next.service_entry_addresses;
  ASSERT_EQ(vips.at("default/ext").at("a.example"), (std::vector<std::string>{"240.240.0.1", "2001:2::1"}));
  // Through the store file and back (what a restarted ambitd reads).
  auto reloaded = Store::Deserialize(Store::Serialize(first->next), "store.json");
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().ToString();
  EXPECT_EQ(reloaded->service_entry_addresses, vips);
  // Re-applying, or applying something else, keeps them.
  auto again = PlanApply(*reloaded, Parse(kServiceEntry), Context());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->next.service_entry_addresses, vips);
  auto other = PlanApply(again->next, Parse(kPod), Context());
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->next.service_entry_addresses, vips);
  // Deleting the entry frees them.
  auto deleted = PlanDelete(other->next, Parse(kServiceEntry), false);
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(deleted->next.service_entry_addresses.empty());
}

}  // namespace
}  // namespace ambit::control
