#include "control/mesh_scope.h"

#include <gtest/gtest.h>

#include "config/kube.h"

namespace ambit::control {
namespace {

StoreState WithMeshConfig(const std::string& name, const std::string& mesh, uint64_t generation) {
  StoreState state;
  config::ConfigMap cm;
  cm.metadata.name = name;
  cm.metadata.ns = "istio-system";
  cm.data["mesh"] = mesh;
  state.resources.emplace(config::KeyOf(cm), cm);
  state.generation = generation;
  return state;
}

TEST(MeshScope, SettingsFollowTheMeshConfigMapOfTheRevision) {
  MeshScope scope("default", "cluster.local");
  StoreState empty;
  empty.generation = 1;
  auto defaults = scope.For(empty);
  EXPECT_TRUE(defaults->discovery_selectors.empty());
  EXPECT_EQ(defaults->root_namespace, "istio-system");
  EXPECT_EQ(defaults->revision, "default");

  StoreState state = WithMeshConfig("istio", "discoverySelectors: [{matchLabels: {team: a}}]\n"
                                             "rootNamespace: root\ntrustDomain: other.org\n", 2);
  auto settings = scope.For(state);
  ASSERT_EQ(settings->discovery_selectors.size(), 1u);
  EXPECT_EQ(settings->root_namespace, "root");
  EXPECT_EQ(settings->trust_domain, "cluster.local");  // the CA's, whatever meshConfig says
  EXPECT_EQ(scope.For(state), settings);                // cached for the generation

  // Another revision reads istio-<revision>.
  MeshScope canary("canary", "cluster.local");
  EXPECT_TRUE(canary.For(state)->discovery_selectors.empty());
  StoreState canary_state = WithMeshConfig("istio-canary", "rootNamespace: c\n", 3);
  EXPECT_EQ(canary.For(canary_state)->root_namespace, "c");
  EXPECT_EQ(canary.AnalysisContext().revision, "canary");
}

}  // namespace
}  // namespace ambit::control
