#include "control/mesh_agents.h"

#include <gtest/gtest.h>
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

}  // namespace
}  // namespace ambit::control
