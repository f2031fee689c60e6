#include "authz/string_pattern.h"

#include <gtest/gtest.h>

namespace ambit::authz {
namespace {

namespace pb = istio::security;

TEST(StringPatternTest, StarAloneIsPresence) {
  EXPECT_EQ(StringMatchFromPattern("*").match_type_case(), pb::StringMatch::kPresence);
}

TEST(StringPatternTest, LeadingStarIsSuffix) {
  auto m = StringMatchFromPattern("*/sa/cart");
  ASSERT_EQ(m.match_type_case(), pb::StringMatch::kSuffix);
  EXPECT_EQ(m.suffix(), "/sa/cart");
}

TEST(StringPatternTest, TrailingStarIsPrefix) {
  auto m = StringMatchFromPattern("cluster.local/ns/shop/*");
  ASSERT_EQ(m.match_type_case(), pb::StringMatch::kPrefix);
  EXPECT_EQ(m.prefix(), "cluster.local/ns/shop/");
}

TEST(StringPatternTest, LeadingStarWinsOverTrailing) {
  auto m = StringMatchFromPattern("*mid*");
  ASSERT_EQ(m.match_type_case(), pb::StringMatch::kSuffix);
  EXPECT_EQ(m.suffix(), "mid*");
}

TEST(StringPatternTest, NoStarIsExact) {
  auto m = StringMatchFromPattern("shop");
  ASSERT_EQ(m.match_type_case(), pb::StringMatch::kExact);
  EXPECT_EQ(m.exact(), "shop");
}

}  // namespace
}  // namespace ambit::authz
