#include "control/pod_node_authorizer.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "config/parse.h"

namespace ambit::control {
namespace {

TEST(PodNodeAuthorizer, MatchesNamespaceServiceAccountAndNode) {
  const std::string path = ::testing::TempDir() + "/authorizer_store.json";
  std::remove(path.c_str());
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok());
  auto parsed = config::ParseManifests(R"(apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  nodeName: node2
  serviceAccountName: web
  containers: [{name: c, image: i, command: [sleep]}]
)",
                                       "t.yaml");
  ASSERT_TRUE(parsed.ok()) << config::FormatDiagnostics(parsed.diagnostics);
  StoreState next;
  for (auto& r : parsed.resources) next.resources.emplace(config::KeyOf(r), r);
  ASSERT_TRUE((*store)->Commit(next).ok());

  PodNodeAuthorizer authorizer(store->get());
  EXPECT_TRUE(authorizer.PodWithIdentityOnNode("node2", {"cluster.local", "shop", "web"}));
  EXPECT_FALSE(authorizer.PodWithIdentityOnNode("node1", {"cluster.local", "shop", "web"}));
  EXPECT_FALSE(authorizer.PodWithIdentityOnNode("node2", {"cluster.local", "shop", "default"}));
  EXPECT_FALSE(authorizer.PodWithIdentityOnNode("node2", {"cluster.local", "other", "web"}));
}

}  // namespace
}  // namespace ambit::control
