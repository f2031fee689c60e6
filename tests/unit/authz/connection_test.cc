#include "authz/connection.h"

#include <gtest/gtest.h>

namespace ambit::authz {
namespace {

TEST(PeerTest, FromIdentityDropsTheScheme) {
  Peer p = Peer::FromIdentity(identity::SpiffeId("cluster.local", "shop", "cart"));
  EXPECT_EQ(p.principal, "cluster.local/ns/shop/sa/cart");
  EXPECT_EQ(p.ns, "shop");
  EXPECT_EQ(p.service_account, "cart");
}

}  // namespace
}  // namespace ambit::authz
