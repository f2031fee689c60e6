#include "control/xds_publisher.h"

#include <gtest/gtest.h>

#include "config/parse.h"
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
