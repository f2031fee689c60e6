#include <gtest/gtest.h>

#include "ctl/output.h"
#include "ctl/pod_commands.h"

namespace ambit::ctl {
namespace {

TEST(Ctl, ParsePodRef) {
  auto a = ParsePodRef("shop/web", "");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ns, "shop");
  EXPECT_EQ(a->name, "web");
  auto b = ParsePodRef("web", "");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->ns, "default");
  auto c = ParsePodRef("web", "other");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ns, "other");
  EXPECT_FALSE(ParsePodRef("/web", "").ok());
  EXPECT_FALSE(ParsePodRef("a/b/c", "").ok());
  EXPECT_FALSE(ParsePodRef("a/", "").ok());
}

TEST(Ctl, FormatTableAligns) {
  EXPECT_EQ(FormatTable({"NAME", "IP"}, {{"a", "10.0.0.1"}, {"longer", "-"}}),
            "NAME     IP\n"
            "a        10.0.0.1\n"
            "longer   -\n");
}

}  // namespace
}  // namespace ambit::ctl
