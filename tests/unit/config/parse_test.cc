#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/parse.h"
#include "config/serialize.h"

namespace ambit::config {
namespace {

std::string Testdata(const std::string& name) { return std::string(AMBIT_CONFIG_TESTDATA) + "/" + name; }

template <typename T>
const T& Get(const ParseResult& r, size_t i) {
  EXPECT_LT(i, r.resources.size());
  const T* t = std::get_if<T>(&r.resources.at(i));
  EXPECT_NE(t, nullptr) << "resource " << i << " is " << KindOf(r.resources.at(i));
  return *t;
}

TEST(ParseTest, BookinfoLikeFileParsesEveryKind) {
  ParseResult r = ParseFile(Testdata("bookinfo.yaml"));
  ASSERT_TRUE(r.ok()) << FormatDiagnostics(r.diagnostics);
  EXPECT_TRUE(r.diagnostics.empty()) << FormatDiagnostics(r.diagnostics);
  ASSERT_EQ(r.resources.size(), 16u);
  std::vector<std::string> kinds;
  for (const Resource& res : r.resources) kinds.emplace_back(KindOf(res));
  EXPECT_EQ(kinds, (std::vector<std::string>{
                       "Namespace", "Service", "ServiceAccount", "Deployment", "Service", "Deployment",
                       "Pod", "Gateway", "HTTPRoute", "AuthorizationPolicy", "PeerAuthentication",
                       "VirtualService", "DestinationRule", "ServiceEntry", "RequestAuthentication",
                       "GRPCRoute"}));

  const auto& ns = Get<Namespace>(r, 0);
  EXPECT_EQ(ns.metadata.name, "bookinfo");
  EXPECT_EQ(ns.metadata.ns, "");
  EXPECT_EQ(ns.metadata.labels.at("istio.io/dataplane-mode"), "ambient");

  const auto& details = Get<Service>(r, 1);
  EXPECT_EQ(details.spec.type, "ClusterIP");
  ASSERT_EQ(details.spec.ports.size(), 1u);
  EXPECT_EQ(details.spec.ports[0].port, 9080);
  EXPECT_EQ(details.spec.ports[0].target_port_number, 9080);  // defaulted to port
  EXPECT_EQ(details.spec.ports[0].protocol, "TCP");
  EXPECT_EQ(details.spec.selector, (Labels{{"app", "details"}}));

  const auto& d = Get<Deployment>(r, 3);
  EXPECT_EQ(d.metadata.ns, "bookinfo");
  EXPECT_EQ(d.spec.replicas, 1);
  EXPECT_EQ(d.spec.template_.spec.service_account_name, "bookinfo-details");
  ASSERT_EQ(d.spec.template_.spec.containers.size(), 1u);
  const Container& c = d.spec.template_.spec.containers[0];
  EXPECT_EQ(c.command, (std::vector<std::string>{"python3", "-m", "http.server", "9080"}));
  EXPECT_EQ(c.ports.at(0).name, "http");
  EXPECT_EQ(c.extra["imagePullPolicy"], "IfNotPresent");
  EXPECT_EQ(c.extra["securityContext"]["runAsUser"], 1000);

  const auto& reviews = Get<Service>(r, 4);
  EXPECT_EQ(reviews.spec.ports[0].target_port_name, "http");
  EXPECT_EQ(reviews.spec.ports[0].target_port_number, 0);
  EXPECT_EQ(reviews.spec.ports[0].app_protocol, "http");

  const auto& rv = Get<Deployment>(r, 5);
  EXPECT_EQ(rv.spec.replicas, 2);
  EXPECT_EQ(rv.spec.template_.spec.service_account_name, "default");
  EXPECT_EQ(rv.spec.template_.spec.containers[0].env.at(0).value, "/tmp/logs");
  EXPECT_TRUE(rv.spec.template_.spec.containers[0].readiness_probe.is_object());
  EXPECT_TRUE(rv.spec.template_.spec.extra.contains("volumes"));

  const auto& pod = Get<Pod>(r, 6);
  EXPECT_EQ(pod.spec.restart_policy, "Never");
  EXPECT_EQ(pod.spec.termination_grace_period_seconds, 0);

  const auto& gw = Get<Gateway>(r, 7);
  EXPECT_TRUE(gw.IsWaypoint());
  ASSERT_EQ(gw.listeners.size(), 1u);
  EXPECT_EQ(gw.listeners[0].port, 15008u);
  EXPECT_EQ(gw.listeners[0].protocol, "HBONE");

  const auto& route = Get<HttpRoute>(r, 8);
  ASSERT_EQ(route.parent_refs.size(), 1u);
  EXPECT_EQ(route.parent_refs[0].group, "");
  EXPECT_EQ(route.parent_refs[0].kind, "Service");
  EXPECT_EQ(route.parent_refs[0].port, 9080u);
  EXPECT_EQ(route.spec["rules"][0]["backendRefs"][1]["weight"], 10);

  const auto& ap = Get<AuthorizationPolicy>(r, 9);
  EXPECT_EQ(ap.api_version, "security.istio.io/v1");
  EXPECT_EQ(ap.action, "ALLOW");
  EXPECT_FALSE(ap.selector.has_value());
  ASSERT_EQ(ap.target_refs.size(), 1u);
  EXPECT_EQ(ap.target_refs[0].kind, "Service");

  EXPECT_EQ(Get<PeerAuthentication>(r, 10).mtls_mode, "STRICT");
  EXPECT_EQ(Get<VirtualService>(r, 11).hosts, (std::vector<std::string>{"ratings"}));
  const auto& dr = Get<DestinationRule>(r, 12);
  EXPECT_EQ(dr.host, "ratings");
  ASSERT_EQ(dr.subsets.size(), 2u);
  EXPECT_EQ(dr.subsets[1].labels.at("version"), "v2");
  const auto& se = Get<ServiceEntry>(r, 13);
  EXPECT_EQ(se.resolution, "DNS");
  ASSERT_EQ(se.ports.size(), 1u);
  EXPECT_EQ(se.ports[0].target_port, 443u);
  const auto& ra = Get<RequestAuthentication>(r, 14);
  EXPECT_EQ(ra.api_version, "security.istio.io/v1beta1");
  EXPECT_EQ(ra.selector, (Labels{{"app", "productpage"}}));
  const auto& grpc = Get<GrpcRoute>(r, 15);
  EXPECT_EQ(grpc.parent_refs.at(0).kind, "Gateway");
  EXPECT_EQ(grpc.parent_refs.at(0).group, "gateway.networking.k8s.io");

  EXPECT_EQ(r.origins.at(3).document, 4);
  EXPECT_EQ(r.origins.at(3).line, 32);
}

TEST(ParseTest, DefaultsAreApplied) {
  ParseResult r = ParseManifests(R"(
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: busybox}]
)", "p.yaml");
  ASSERT_TRUE(r.ok()) << FormatDiagnostics(r.diagnostics);
  const Pod& p = std::get<Pod>(r.resources.at(0));
  EXPECT_EQ(p.metadata.ns, "default");
  EXPECT_EQ(p.spec.restart_policy, "Always");
  EXPECT_EQ(p.spec.service_account_name, "default");
  EXPECT_EQ(p.spec.termination_grace_period_seconds, 30);
  EXPECT_TRUE(p.spec.containers[0].command.empty());  // allowed by the parser
  EXPECT_EQ(KeyOf(r.resources[0]), (ResourceKey{"Pod", "default", "p"}));
}

TEST(ParseTest, EmptyDocumentsAndCommentsAreSkipped) {
  ParseResult r = ParseManifests("# nothing\n---\n---\n# still nothing\n", "empty.yaml");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.resources.empty());
  EXPECT_TRUE(r.diagnostics.empty()) << FormatDiagnostics(r.diagnostics);
  r = ParseManifests("", "empty.yaml");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.resources.empty());
}

TEST(ParseTest, JsonInputIsAccepted) {
  ParseResult r = ParseManifests(
      R"({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa", "namespace": "x"},
          "automountServiceAccountToken": false})",
      "sa.json");
  ASSERT_TRUE(r.ok()) << FormatDiagnostics(r.diagnostics);
  const auto& sa = std::get<ServiceAccount>(r.resources.at(0));
  EXPECT_EQ(sa.metadata.ns, "x");
  EXPECT_EQ(sa.automount_service_account_token, false);
}

TEST(ParseTest, ListKindIsExpanded) {
  ParseResult r = ParseManifests(R"(
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: a}
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: b}
)", "list.yaml");
  ASSERT_TRUE(r.ok()) << FormatDiagnostics(r.diagnostics);
  ASSERT_EQ(r.resources.size(), 2u);
  EXPECT_EQ(MetaOf(r.resources[1]).name, "b");
}

TEST(ParseTest, LabelSelectorExpressionsMatch) {
  LabelSelector s;
  s.match_labels = {{"app", "a"}};
  s.match_expressions = {{"version", "In", {"v1", "v2"}}, {"canary", "DoesNotExist", {}}};
  EXPECT_TRUE(s.Matches({{"app", "a"}, {"version", "v2"}}));
  EXPECT_FALSE(s.Matches({{"app", "a"}, {"version", "v3"}}));
  EXPECT_FALSE(s.Matches({{"app", "a"}, {"version", "v1"}, {"canary", "yes"}}));
  EXPECT_FALSE(s.Matches({{"version", "v1"}}));
  EXPECT_TRUE(LabelSelector{}.Matches({}));
}

TEST(ParseTest, DirectoryIsReadInSortedOrderAndDuplicatesAcrossFilesAreErrors) {
  auto dir = std::filesystem::temp_directory_path() / ("ambit-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
  };
  write("b.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: b}\n");
  write("a.yml", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n");
  write("c.json", R"({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "b"}})");
  write("notes.txt", "not a manifest");
  ParseResult r = ParseDirectory(dir);
  std::filesystem::remove_all(dir);
  ASSERT_EQ(r.resources.size(), 2u);
  EXPECT_EQ(MetaOf(r.resources[0]).name, "a");
  EXPECT_EQ(MetaOf(r.resources[1]).name, "b");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].message.find("duplicate ServiceAccount default/b; first defined in document 1 of "),
            std::string::npos)
      << r.diagnostics[0].ToString();
  EXPECT_NE(r.diagnostics[0].file.find("c.json"), std::string::npos);
}

TEST(ParseTest, MissingFileIsOneDiagnostic) {
  ParseResult r = ParseFile("/nonexistent/ambit.yaml");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "/nonexistent/ambit.yaml: error: cannot open file: No such file or directory");
}

}  // namespace
}  // namespace ambit::config

namespace ambit::config {
namespace {

TEST(ParseTest, NestedIstioAndGatewayFieldsAreAccepted) {
  ParseResult r = ParseFile(std::string(AMBIT_CONFIG_TESTDATA) + "/traffic.yaml");
  ASSERT_TRUE(r.ok()) << FormatDiagnostics(r.diagnostics);
  ASSERT_EQ(r.resources.size(), 8u);
  const auto& dr = std::get<DestinationRule>(r.resources[0]);
  EXPECT_EQ(dr.api_version, "networking.istio.io/v1beta1");
  EXPECT_EQ(dr.spec["trafficPolicy"]["outlierDetection"]["consecutive5xxErrors"], 7);
  const auto& vs = std::get<VirtualService>(r.resources[1]);
  EXPECT_EQ(vs.spec["http"][2]["directResponse"]["status"], 418);
  const auto& route = std::get<HttpRoute>(r.resources[2]);
  EXPECT_EQ(route.parent_refs.at(0).section_name, "http");
  EXPECT_EQ(route.hostnames, (std::vector<std::string>{"example.com"}));
  const auto& gw = std::get<Gateway>(r.resources[3]);
  EXPECT_FALSE(gw.IsWaypoint());
  EXPECT_EQ(gw.listeners.at(1).hostname, "*.example.com");
  const auto& deny = std::get<AuthorizationPolicy>(r.resources[4]);
  EXPECT_EQ(deny.action, "DENY");
  EXPECT_EQ(deny.selector, (Labels{{"app", "reviews"}}));
  const auto& custom = std::get<AuthorizationPolicy>(r.resources[5]);
  ASSERT_EQ(custom.target_refs.size(), 1u);
  EXPECT_EQ(custom.target_refs[0].group, "gateway.networking.k8s.io");
  const auto& pa = std::get<PeerAuthentication>(r.resources[6]);
  EXPECT_EQ(pa.port_level_mtls, (std::map<uint32_t, std::string>{{9080, "PERMISSIVE"}}));
  const auto& se = std::get<ServiceEntry>(r.resources[7]);
  EXPECT_EQ(se.location, "MESH_INTERNAL");
  EXPECT_EQ(se.metadata.labels.at("istio.io/use-waypoint"), "egress-gateway");
  EXPECT_EQ(se.ports.at(0).target_port, 0u);
}

TEST(ParseTest, TypedKeyOfMatchesResourceKeyOf) {
  Pod pod;
  pod.metadata.name = "p";
  pod.metadata.ns = "n";
  EXPECT_EQ(KeyOf(pod), KeyOf(Resource(pod)));
  EXPECT_EQ(KeyOf(pod).ToString(), "Pod n/p");
  Namespace ns;
  ns.metadata.name = "n";
  EXPECT_EQ(KeyOf(ns).ToString(), "Namespace n");
}

}  // namespace
}  // namespace ambit::config
