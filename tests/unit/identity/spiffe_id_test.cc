#include "identity/spiffe_id.h"

#include <gtest/gtest.h>

namespace ambit::identity {
namespace {

TEST(SpiffeId, ParsesIstioShape) {
  auto id = SpiffeId::Parse("spiffe://cluster.local/ns/default/sa/bookinfo-productpage");
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  EXPECT_EQ(id->trust_domain(), "cluster.local");
  EXPECT_EQ(id->ns(), "default");
  EXPECT_EQ(id->service_account(), "bookinfo-productpage");
}

TEST(SpiffeId, PrintsRoundTrip) {
  SpiffeId id("example.org", "shop", "cart");
  EXPECT_EQ(id.ToString(), "spiffe://example.org/ns/shop/sa/cart");
  EXPECT_EQ(id.Principal(), "example.org/ns/shop/sa/cart");
  auto again = SpiffeId::Parse(id.ToString());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, id);
}

TEST(SpiffeId, TrustDomainCompareIgnoresCase) {
  SpiffeId a("Cluster.Local", "a", "b");
  EXPECT_TRUE(a.SameTrustDomain("cluster.local"));
  EXPECT_FALSE(a.SameTrustDomain("other.domain"));
  EXPECT_FALSE(a.SameTrustDomain("cluster.locam"));  // same length, one letter off
  EXPECT_FALSE(a.SameTrustDomain("cluster.loca"));
  EXPECT_TRUE(SpiffeId("cluster.local", "a", "b").SameTrustDomain("CLUSTER.LOCAL"));
  EXPECT_TRUE(a == SpiffeId("cluster.local", "a", "b"));
  EXPECT_FALSE(a == SpiffeId("cluster.local", "a", "c"));
}

TEST(SpiffeId, RejectsMalformedIdsWithAReason) {
  for (const char* bad : {"", "http://cluster.local/ns/a/sa/b", "spiffe://cluster.local/ns/a",
                          "spiffe://cluster.local/ns/a/sa/b/extra", "spiffe:///ns/a/sa/b",
                          "spiffe://cluster.local/namespace/a/sa/b",
                          "spiffe://cluster.local/ns//sa/b", "spiffe://cluster.local/ns/a/sa/"}) {
    auto id = SpiffeId::Parse(bad);
    ASSERT_FALSE(id.ok()) << bad;
    EXPECT_EQ(id.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(id.error().message().find("expected spiffe://"), std::string::npos);
  }
}

}  // namespace
}  // namespace ambit::identity
