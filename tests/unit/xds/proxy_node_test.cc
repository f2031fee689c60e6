#include "xds/proxy_node.h"

#include <gtest/gtest.h>

#include "envoy/config/core/v3/base.pb.h"

namespace ambit::xds {
namespace {

TEST(ProxyNode, IdAndMetadataFollowZtunnel) {
  ProxyNode node{"10.0.0.5", "ztunnel-node1", "istio-system", "node1", "Kubernetes"};
  EXPECT_EQ(node.NodeId(), "ztunnel~10.0.0.5~ztunnel-node1.istio-system~istio-system.svc.cluster.local");
  envoy::config::core::v3::Node proto;
  node.ToProto(&proto);
  EXPECT_EQ(proto.metadata().fields().at("NODE_NAME").string_value(), "node1");
  EXPECT_EQ(proto.metadata().fields().at("ENABLE_HBONE").string_value(), "true");
  auto back = ProxyNode::FromProto(proto);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->node_name, "node1");
  EXPECT_EQ(back->ip, "10.0.0.5");
  EXPECT_EQ(back->cluster_id, "Kubernetes");
}

TEST(ProxyNode, NodeNameIsRequired) {
  envoy::config::core::v3::Node proto;
  proto.set_id("x");
  EXPECT_FALSE(ProxyNode::FromProto(proto).ok());
}

}  // namespace
}  // namespace ambit::xds
