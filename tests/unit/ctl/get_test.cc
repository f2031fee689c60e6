// `get` plumbing without a cluster: kind names -> tables, JSON/YAML lists that
// apply takes back, and --mesh-config's manifest.
#include <gtest/gtest.h>

#include "config/mesh_config.h"
#include "config/parse.h"
#include "config/serialize.h"
#include "ctl/cluster_commands.h"
#include "ctl/get_commands.h"
#include "ctl/output.h"

namespace ambit::ctl {
namespace {

using nlohmann::json;

std::vector<json> Objects(std::string_view yaml) {
  config::ParseResult r = config::ParseManifests(yaml, "t.yaml");
  EXPECT_TRUE(r.ok()) << config::FormatDiagnostics(r.diagnostics);
  std::vector<json> out;
  for (const auto& res : r.resources) out.push_back(config::ToJson(res));
  return out;
}

constexpr std::string_view kObjects = R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop, labels: {version: "1", enabled: "true"}}
spec:
  hosts: [reviews, "*.example.com"]
  gateways: [mesh]
  http:
  - route:
    - destination: {host: reviews, port: {number: 9080}}
      weight: 100
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: other}
spec:
  hosts: [ratings]
)";

TEST(Get, TablePerKind) {
  const auto* vs = config::FindKindName("vs");
  ASSERT_NE(vs, nullptr);
  auto table = FormatObjects(*vs, Objects(kObjects), "");
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(*table,
            "NAMESPACE   NAME      GATEWAYS   HOSTS\n"
            "shop        reviews   mesh       reviews,*.example.com\n"
            "other       ratings   <none>     ratings\n");
  auto ns = FormatObjects(*config::FindKindName("ns"), Objects(R"(apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
)"),
                          "");
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(*ns, "NAME   LABELS\nshop   istio.io/dataplane-mode=ambient\n");
  EXPECT_EQ(*FormatObjects(*vs, {}, ""), "No resources found.\n");
  EXPECT_FALSE(FormatObjects(*vs, {}, "wide").ok());
}

TEST(Get, JsonAndYamlListsApplyBackUnchanged) {
  const auto objects = Objects(kObjects);
  for (const char* format : {"json", "yaml"}) {
    auto text = FormatObjects(*config::FindKindName("virtualservices"), objects, format);
    ASSERT_TRUE(text.ok());
    config::ParseResult again = config::ParseManifests(*text, "again");
    ASSERT_TRUE(again.ok()) << format << ": " << config::FormatDiagnostics(again.diagnostics) << *text;
    ASSERT_EQ(again.resources.size(), 2u);
    EXPECT_EQ(config::ToJson(again.resources[0]), objects[0]) << format;
    EXPECT_EQ(config::ToJson(again.resources[1]), objects[1]) << format;
  }
}

TEST(Get, YamlQuotesWhatWouldReadAsAnotherType) {
  EXPECT_EQ(ToYaml(json{{"a", "true"}, {"b", "1"}, {"c", true}, {"d", 1}, {"e", "plain"}, {"f", "x: y"}}),
            "a: \"true\"\nb: \"1\"\nc: true\nd: 1\ne: plain\nf: \"x: y\"\n");
}

TEST(MeshConfigFlag, WrapsMeshConfigOrTakesConfigMaps) {
  auto wrapped = MeshConfigManifest("m.yaml", "discoverySelectors: [{matchLabels: {a: b}}]\n", "default");
  ASSERT_TRUE(wrapped.ok());
  config::ParseResult r = config::ParseManifests(*wrapped, "w");
  ASSERT_TRUE(r.ok());
  const auto& cm = std::get<config::ConfigMap>(r.resources.at(0));
  EXPECT_EQ(config::KeyOf(cm), (config::ResourceKey{"ConfigMap", "istio-system", "istio"}));
  EXPECT_EQ(config::ParseMeshConfigMap(cm).config.discovery_selectors.size(), 1u);
  // Another revision's ConfigMap.
  wrapped = MeshConfigManifest("m.yaml", "rootNamespace: x\n", "canary");
  ASSERT_TRUE(wrapped.ok());
  EXPECT_NE(wrapped->find("istio-canary"), std::string::npos);
  // A ConfigMap manifest is applied as written.
  const std::string manifest =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\n"
      "data: {mesh: 'rootNamespace: x'}\n";
  EXPECT_EQ(*MeshConfigManifest("m.yaml", manifest, "default"), manifest);
  // Bad MeshConfig names the file and the field.
  auto bad = MeshConfigManifest("m.yaml", "discoverySelector: []\n", "default");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("m.yaml"), std::string::npos);
  EXPECT_NE(bad.error().ToString().find("discoverySelector: unknown field (did you mean 'discoverySelectors'?)"),
            std::string::npos)
      << bad.error().ToString();
}

}  // namespace
}  // namespace ambit::ctl
