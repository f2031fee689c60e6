// The ConfigMap kind, MeshConfig parsing and the namespace-scope rules.
#include "config/mesh_config.h"

#include <gtest/gtest.h>

#include "config/parse.h"
#include "config/serialize.h"

namespace ambit::config {
namespace {

std::vector<std::string> Lines(const ParseResult& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) out.push_back(d.ToString());
  return out;
}

TEST(ConfigMapKind, ParsesAndRoundTrips) {
  ParseResult r = ParseManifests(R"(apiVersion: v1
kind: ConfigMap
metadata: {name: app-config, namespace: shop}
data:
  greeting: hello
  settings.yaml: |
    a: 1
binaryData:
  logo.png: aGVsbG8=
immutable: true
)",
                                 "cm.yaml");
  ASSERT_TRUE(r.ok()) << FormatDiagnostics(r.diagnostics);
  ASSERT_EQ(r.resources.size(), 1u);
  const auto& cm = std::get<ConfigMap>(r.resources[0]);
  EXPECT_EQ(cm.metadata.ns, "shop");
  EXPECT_EQ(cm.data.at("greeting"), "hello");
  EXPECT_EQ(cm.data.at("settings.yaml"), "a: 1\n");
  EXPECT_EQ(cm.binary_data.at("logo.png"), "aGVsbG8=");
  EXPECT_EQ(cm.immutable, true);
  ParseResult again = ParseManifests(ToJsonString(r.resources[0]), "again.json");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.resources[0], r.resources[0]);
}

TEST(ConfigMapKind, ChecksKeysValuesAndDuplicates) {
  ParseResult r = ParseManifests(R"(apiVersion: v1
kind: ConfigMap
metadata: {name: bad}
data:
  "a b": x
  n: 5
binaryData:
  n2: "not base64!"
  dup: aGk=
---
apiVersion: v1
kind: ConfigMap
metadata: {name: dup}
data: {k: v}
binaryData: {k: aGk=}
)",
                                 "t.yaml");
  EXPECT_EQ(Lines(r),
            (std::vector<std::string>{
                "t.yaml:5:10: error: document 1 (ConfigMap default/bad): data[\"a b\"]: invalid key: "
                "expected a key of [-._a-zA-Z0-9], got 'a b'",
                "t.yaml:6:6: error: document 1 (ConfigMap default/bad): data.n: expected a string, got 5",
                "t.yaml:8:7: error: document 1 (ConfigMap default/bad): binaryData.n2: expected base64 "
                "text (RFC 4648, padded), got 'not base64!'",
                "t.yaml:15:17: error: document 2 (ConfigMap default/dup): binaryData.k: duplicate key (also in data)",
            }));
}

TEST(MeshConfig, DefaultsWhenEmpty) {
  MeshConfigResult r = ParseMeshConfig("");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.config.discovery_selectors.empty());
  EXPECT_EQ(r.config.root_namespace, "istio-system");
  EXPECT_EQ(r.config.trust_domain, "");
  EXPECT_TRUE(r.config.waypoint_fail_closed);  // Ambit's default
}

TEST(MeshConfig, ReadsTheFieldsAmbitActsOnAndListsTheRest) {
  MeshConfigResult r = ParseMeshConfig(R"(
discoverySelectors:
- matchLabels: {team: shop}
- matchExpressions:
  - {key: env, operator: In, values: [dev, test]}
rootNamespace: mesh-root
trust_domain: example.org
accessLogFile: /dev/stdout
defaultConfig:
  holdApplicationUntilProxyStarts: true
outboundTrafficPolicy: {mode: REGISTRY_ONLY}
)");
  ASSERT_TRUE(r.ok()) << r.errors[0].path << ": " << r.errors[0].message;
  ASSERT_EQ(r.config.discovery_selectors.size(), 2u);
  EXPECT_EQ(r.config.discovery_selectors[0].match_labels, (Labels{{"team", "shop"}}));
  EXPECT_EQ(r.config.discovery_selectors[1].match_expressions[0].values,
            (std::vector<std::string>{"dev", "test"}));
  EXPECT_EQ(r.config.root_namespace, "mesh-root");
  EXPECT_EQ(r.config.trust_domain, "example.org");  // proto spelling accepted
  EXPECT_EQ(r.config.unenforced,
            (std::vector<std::string>{"accessLogFile", "defaultConfig", "outboundTrafficPolicy"}));
}

TEST(MeshConfig, RejectsBadFieldsWithTheirPath) {
  MeshConfigResult r = ParseMeshConfig(R"(
discoverySelector:
- matchLabels: {team: shop}
)");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "discoverySelector");
  EXPECT_EQ(r.errors[0].message, "unknown field (did you mean 'discoverySelectors'?)");

  r = ParseMeshConfig(R"(
discoverySelectors:
- matchExpressions:
  - {key: env, operator: Within, values: [dev]}
rootNamespace: Not_A_Namespace
)");
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].path, "discoverySelectors[0].matchExpressions[0].operator");
  EXPECT_EQ(r.errors[1].path, "rootNamespace");

  r = ParseMeshConfig("discoverySelectors: [\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("not valid YAML"), std::string::npos) << r.errors[0].message;

  r = ParseMeshConfig("- a\n- b\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "expected a mapping of fields, got a list");

  r = ParseMeshConfig("rootNamespace: a\nroot_namespace: b\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "given twice (as rootNamespace and root_namespace)");
}

TEST(MeshConfig, TheMeshConfigMapIsValidatedOnApply) {
  ParseResult r = ParseManifests(R"(apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    discoverySelectors:
    - matchLabels: {"bad key!": x}
  ambit: |
    waypointFailClosed: maybe
)",
                                 "mesh.yaml");
  EXPECT_EQ(Lines(r),
            (std::vector<std::string>{
                // Lines point at the key holding the YAML text.
                "mesh.yaml:5:9: error: document 1 (ConfigMap istio-system/istio): "
                "data.mesh.discoverySelectors[0].matchLabels[\"bad key!\"]: invalid key: expected a "
                "key of the form [prefix/]name (prefix a DNS-1123 subdomain; name at most 63 "
                "characters of A-Z, a-z, 0-9, '-', '_' and '.', starting and ending with a letter or "
                "digit), got 'bad key!'",
                "mesh.yaml:8:10: error: document 1 (ConfigMap istio-system/istio): "
                "data.ambit.waypointFailClosed: expected a boolean (true or false), got 'maybe'",
            }));
  // The same keys in another ConfigMap are just data.
  r = ParseManifests(R"(apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: shop}
data: {mesh: "discoverySelector: 1"}
)",
                     "other.yaml");
  EXPECT_TRUE(r.ok());
}

TEST(MeshConfig, MeshConfigMapOfARevision) {
  EXPECT_EQ(MeshConfigMapName("default"), "istio");
  EXPECT_EQ(MeshConfigMapName(""), "istio");
  EXPECT_EQ(MeshConfigMapName("canary"), "istio-canary");
  ConfigMap cm;
  cm.metadata.name = "istio-canary";
  cm.metadata.ns = "istio-system";
  cm.data["mesh"] = "rootNamespace: x\n";
  cm.data["ambit"] = "waypointFailClosed: false\n";
  std::map<ResourceKey, Resource> store = {{KeyOf(cm), cm}};
  EXPECT_EQ(MeshConfigOf(store, "canary").root_namespace, "x");
  EXPECT_FALSE(MeshConfigOf(store, "canary").waypoint_fail_closed);
  EXPECT_EQ(MeshConfigOf(store, "default").root_namespace, "istio-system");
}

TEST(MeshConfig, DiscoverySelectorsAreOredAndAbsentMeansAll) {
  EXPECT_TRUE(DiscoverySelected({}, {}));
  LabelSelector a;
  a.match_labels = {{"team", "a"}};
  LabelSelector b;
  b.match_expressions = {{"env", "Exists", {}}};
  EXPECT_TRUE(DiscoverySelected({a, b}, {{"team", "a"}}));
  EXPECT_TRUE(DiscoverySelected({a, b}, {{"env", "x"}}));
  EXPECT_FALSE(DiscoverySelected({a, b}, {{"team", "b"}}));
  EXPECT_TRUE(DiscoverySelected({LabelSelector{}}, {{"anything", "x"}}));  // {} selects all
}

TEST(MeshConfig, NamespaceScope) {
  LabelSelector a;
  a.match_labels = {{"team", "a"}};
  EXPECT_EQ(ScopeOfNamespace({a}, "default", {{"team", "a"}}), NamespaceScope::kManaged);
  EXPECT_EQ(ScopeOfNamespace({a}, "default", {{"team", "b"}}), NamespaceScope::kNotSelected);
  EXPECT_EQ(ScopeOfNamespace({}, "default", {{"istio.io/rev", "canary"}}), NamespaceScope::kOtherRevision);
  EXPECT_EQ(ScopeOfNamespace({}, "canary", {{"istio.io/rev", "canary"}}), NamespaceScope::kManaged);
  EXPECT_EQ(ScopeOfNamespace({}, "default", {{"istio.io/rev", "default"}}), NamespaceScope::kManaged);
  Labels pod = {{"istio.io/rev", "blue"}};
  EXPECT_EQ(RequestedRevision({{"istio.io/rev", "canary"}}, &pod), "blue");
  EXPECT_EQ(RequestedRevision({{"istio.io/rev", "canary"}}, nullptr), "canary");
  EXPECT_EQ(RequestedRevision({}, nullptr), "default");
}

}  // namespace
}  // namespace ambit::config
