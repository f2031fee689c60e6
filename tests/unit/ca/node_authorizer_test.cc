#include "ca/node_authorizer.h"

#include <gtest/gtest.h>

namespace ambit::ca {
namespace {

TEST(InMemoryNodeAuthorizer, AddRemoveAndNodeScoping) {
  InMemoryNodeAuthorizer auth;
  identity::SpiffeId web("cluster.local", "default", "web");
  identity::SpiffeId db("cluster.local", "default", "db");
  EXPECT_FALSE(auth.PodWithIdentityOnNode("node-a", web));
  auth.Add("node-a", web);
  EXPECT_TRUE(auth.PodWithIdentityOnNode("node-a", web));
  EXPECT_FALSE(auth.PodWithIdentityOnNode("node-b", web));
  EXPECT_FALSE(auth.PodWithIdentityOnNode("node-a", db));
  auth.Remove("node-a", web);
  EXPECT_FALSE(auth.PodWithIdentityOnNode("node-a", web));
}

}  // namespace
}  // namespace ambit::ca
