#include "cluster/cni.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ambit::cluster {
namespace {

using nlohmann::json;

CniSettings FakeBins() {
  CniSettings s;
  s.bin_dirs = {"/bin"};  // "true" stands in for every plugin type below
  return s;
}

TEST(Cni, MissingPluginIsReported) {
  CniSettings s;
  s.bin_dirs = {"/nonexistent"};
  auto chain = CniChain::Create(s, {"ambit", "cni0", "10.244.1.0/24", "/tmp/ipam"});
  ASSERT_FALSE(chain.ok());
  EXPECT_NE(chain.error().ToString().find("CNI plugin 'bridge' not found"), std::string::npos);
}

TEST(Cni, ChainedPluginGetsPrevResult) {
  CniSettings s = FakeBins();
  s.chained_plugins = {R"({"type":"true","mode":"x"})"};
  // bridge must exist for Create; point a dir with "bridge" in it when present.
  s.bin_dirs = {"/usr/lib/cni", "/bin"};
  auto chain = CniChain::Create(s, {"ambit", "cni0", "10.244.1.0/24", "/tmp/ipam"});
  if (!chain.ok()) GTEST_SKIP() << "containernetworking-plugins not installed";
  ASSERT_EQ(chain->size(), 2u);
  json first = json::parse(chain->PluginInput(0, ""));
  EXPECT_EQ(first["type"], "bridge");
  EXPECT_EQ(first["cniVersion"], "1.0.0");
  EXPECT_EQ(first["name"], "ambit");
  EXPECT_FALSE(first.contains("prevResult"));
  EXPECT_EQ(first["ipam"]["dataDir"], "/tmp/ipam");
  EXPECT_EQ(first["ipam"]["ranges"][0][0]["subnet"], "10.244.1.0/24");
  json second = json::parse(chain->PluginInput(1, R"({"cniVersion":"1.0.0","ips":[]})"));
  EXPECT_EQ(second["type"], "true");
  EXPECT_EQ(second["mode"], "x");
  EXPECT_EQ(second["prevResult"]["cniVersion"], "1.0.0");
  json list = json::parse(chain->ConfList());
  EXPECT_EQ(list["plugins"].size(), 2u);
}

TEST(Cni, BadChainedPluginConfig) {
  CniSettings s;
  s.bin_dirs = {"/usr/lib/cni"};
  s.chained_plugins = {R"({"notype":1})"};
  auto chain = CniChain::Create(s, {"ambit", "cni0", "10.244.1.0/24", "/tmp/ipam"});
  ASSERT_FALSE(chain.ok());
  EXPECT_NE(chain.error().message().find("chained CNI plugin 1"), std::string::npos);
}

TEST(Cni, FirstIpv4) {
  auto ip = FirstIpv4(R"({"ips":[{"address":"fd00::2/64"},{"address":"10.244.1.7/24"}]})");
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(*ip, "10.244.1.7");
  EXPECT_FALSE(FirstIpv4("{}").ok());
  EXPECT_FALSE(FirstIpv4("nope").ok());
}

}  // namespace
}  // namespace ambit::cluster
