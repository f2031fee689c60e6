#include "cluster/layout.h"

#include <gtest/gtest.h>

namespace ambit::cluster {
namespace {

TEST(ClusterLayout, ValidatesNames) {
  EXPECT_TRUE(ValidateClusterName("ambit").ok());
  EXPECT_TRUE(ValidateClusterName("e2e-1").ok());
  EXPECT_FALSE(ValidateClusterName("").ok());
  EXPECT_FALSE(ValidateClusterName("1abc").ok());
  EXPECT_FALSE(ValidateClusterName("abc-").ok());
  EXPECT_FALSE(ValidateClusterName("Abc").ok());
  EXPECT_FALSE(ValidateClusterName("a/b").ok());
  EXPECT_FALSE(ValidateClusterName("abcdefghijklmnopqrstu").ok());  // 21 chars
}

TEST(ClusterLayout, NamesAndAddresses) {
  ClusterLayout layout("demo");
  EXPECT_EQ(layout.NodeNetnsName(2), "ambit-demo-node2");
  EXPECT_EQ(layout.FabricNetnsName(), "ambit-demo-fabric");
  EXPECT_EQ(layout.PodNetnsName("default", "web-1"), "ambit-demo-pod-default_web-1");
  EXPECT_EQ(ClusterLayout::NetnsPath("x"), "/run/netns/x");
  const std::string long_name(250, 'a');
  const std::string netns = layout.PodNetnsName("default", long_name);
  EXPECT_LT(netns.size(), 160u);
  EXPECT_NE(netns, layout.PodNetnsName("default", long_name + "b"));
  EXPECT_EQ(layout.PodDir("ns", "p"), layout.StateDir() + "/pods/ns_p");
  EXPECT_EQ(ClusterLayout::NodeIp(3), "172.29.0.3");
  EXPECT_EQ(ClusterLayout::PodCidr(3), "10.244.3.0/24");
  EXPECT_EQ(ClusterLayout::NodeIndex("node12"), 12);
  EXPECT_EQ(ClusterLayout::NodeIndex("node0"), 0);
  EXPECT_EQ(ClusterLayout::NodeIndex("node01"), 0);
  EXPECT_EQ(ClusterLayout::NodeIndex("nodex"), 0);
  EXPECT_EQ(ClusterLayout::NodeIndex("worker1"), 0);
}

}  // namespace
}  // namespace ambit::cluster
