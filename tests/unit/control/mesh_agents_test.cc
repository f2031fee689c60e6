#include "control/mesh_agents.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

#include "cluster/cluster_config.h"

namespace ambit::control {
namespace {

TEST(MeshCniPlugin, ChainsAmbitCniWithTheNodesSocketAndFindsItNextToAmbitd) {
  cluster::ClusterLayout layout("meshunit");
  cluster::CniSettings settings;
  settings.chained_plugins = {R"({"type":"other"})"};
  AddMeshCniPlugin(layout, "node2", "/opt/ambit/bin/ambitd", &settings);
  ASSERT_EQ(settings.chained_plugins.size(), 2u);
  auto plugin = nlohmann::json::parse(settings.chained_plugins.back());
  EXPECT_EQ(plugin["type"], "ambit-cni");
  EXPECT_EQ(plugin["agentSocket"], layout.NodeDir("node2") + "/cni.sock");
  EXPECT_EQ(settings.bin_dirs.back(), "/opt/ambit/bin");
  // The directory is not added twice.
  const size_t dirs = settings.bin_dirs.size();
  AddMeshCniPlugin(layout, "node2", "/opt/ambit/bin/ambitd", &settings);
  EXPECT_EQ(settings.bin_dirs.size(), dirs);
}

TEST(MeshSettings, RoundTripDefaultsAndRejectUnknownBackend) {
  cluster::ClusterConfig config;
  config.name = "meshunit";
  config.node_count = 2;
  config.mesh.redirect = "iptables";
  auto back = cluster::ClusterConfigFromJson(cluster::ClusterConfigToJson(config), "t");
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_TRUE(back->mesh.enabled);
  EXPECT_EQ(back->mesh.redirect, "iptables");

  // A cluster.json from before the mesh existed: the defaults.
  auto old = cluster::ClusterConfigFromJson(R"({"name":"meshunit","nodes":1})", "t");
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE(old->mesh.enabled);
  EXPECT_EQ(old->mesh.redirect, "nftables");

  auto bad = cluster::ClusterConfigFromJson(
      R"({"name":"meshunit","nodes":1,"mesh":{"enabled":false,"redirect":"ebpf"}})", "t");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("mesh.redirect"), std::string::npos);
}

TEST(MeshSettings, ZtunnelArgsRoundTripAndGoLastOnEveryZtunnelsCommandLine) {
  cluster::ClusterConfig config;
  config.name = "meshunit";
  config.node_count = 2;
  config.mesh.ztunnel_args = {"--workers=1", "--log-level", "debug"};
  auto back = cluster::ClusterConfigFromJson(cluster::ClusterConfigToJson(config), "t");
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->mesh.ztunnel_args, config.mesh.ztunnel_args);

  // Absent in an older cluster.json: none.
  auto old = cluster::ClusterConfigFromJson(R"({"name":"meshunit","nodes":1,"mesh":{}})", "t");
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE(old->mesh.ztunnel_args.empty());
  auto bad = cluster::ClusterConfigFromJson(
      R"({"name":"meshunit","nodes":1,"mesh":{"ztunnelArgs":"--workers=1"}})", "t");
  EXPECT_FALSE(bad.ok());

  cluster::ClusterLayout layout("meshunit");
  const auto nodes = cluster::DescribeNodes(layout, 2);
  ASSERT_EQ(nodes.size(), 2u);
  for (const auto& node : nodes) {
    const auto argv = ZtunnelArgv(layout, *back, node, "/opt/ambit/bin/ambitd");
    ASSERT_GE(argv.size(), 4u);
    EXPECT_EQ(argv.front(), "/opt/ambit/bin/ztunnel");
    const std::vector<std::string> tail(argv.end() - 3, argv.end());
    EXPECT_EQ(tail, config.mesh.ztunnel_args);
    auto flag = std::find(argv.begin(), argv.end(), "--node");
    ASSERT_NE(flag, argv.end());
    EXPECT_EQ(*(flag + 1), node.name);
  }
  // Without extra arguments the command line ends with the node's own flags.
  cluster::ClusterConfig plain = *back;
  plain.mesh.ztunnel_args.clear();
  const auto argv = ZtunnelArgv(layout, plain, nodes[0], "/opt/ambit/bin/ambitd");
  EXPECT_EQ(argv.size(), ZtunnelArgv(layout, *back, nodes[0], "/x/ambitd").size() - 3);
  EXPECT_EQ(argv.back(), "24h");  // --secret-ttl: the cluster's workload certificate TTL
  EXPECT_EQ(*(argv.end() - 2), "--secret-ttl");
}

TEST(ZtunnelArgv, RequestsTheClustersWorkloadCertTtl) {
  cluster::ClusterConfig config;
  config.name = "meshunit";
  config.node_count = 1;
  config.ca.workload_cert_ttl = std::chrono::seconds(20);
  auto back = cluster::ClusterConfigFromJson(cluster::ClusterConfigToJson(config), "t");
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->ca.workload_cert_ttl, std::chrono::seconds(20));
  cluster::ClusterLayout layout("meshunit");
  const auto argv = ZtunnelArgv(layout, *back, cluster::DescribeNodes(layout, 1)[0], "/x/ambitd");
  auto flag = std::find(argv.begin(), argv.end(), "--secret-ttl");
  ASSERT_NE(flag, argv.end());
  EXPECT_EQ(*(flag + 1), "20s");

  // An older cluster.json without "ca": Istio's 24h. A bad value names the field.
  auto old = cluster::ClusterConfigFromJson(R"({"name":"meshunit","nodes":1})", "t");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->ca.workload_cert_ttl, std::chrono::hours(24));
  auto bad = cluster::ClusterConfigFromJson(
      R"({"name":"meshunit","nodes":1,"ca":{"workloadCertTtl":"5s"}})", "cluster.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("cluster.json: ca.workloadCertTtl"), std::string::npos)
      << bad.error().ToString();
}

}  // namespace
}  // namespace ambit::control
