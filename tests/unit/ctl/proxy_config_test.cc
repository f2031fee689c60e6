#include "ctl/proxy_config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ctl/netns_http.h"

namespace ambit::ctl {
namespace {

using nlohmann::json;

// A /config_dump as ztunnel writes it (src/proxy/config_dump.cc), trimmed to
// the fields the views read plus a few they ignore.
std::string Dump() {
  json d;
  d["workloads"] = json::array({
      {{"uid", "c//Pod/mesh/web"}, {"name", "web"}, {"namespace", "mesh"}, {"workloadIps", {"10.244.2.2"}},
       {"node", "node2"}, {"protocol", "HBONE"},
       {"waypoint", {{"service", "mesh/waypoint.mesh.svc.cluster.local"}, {"hboneMtlsPort", 15008}}}},
      {{"uid", "c//Pod/mesh/client"}, {"name", "client"}, {"namespace", "mesh"},
       {"workloadIps", {"10.244.1.2"}}, {"node", "node1"}, {"protocol", "HBONE"}},
      {{"uid", "c//Pod/plain/old"}, {"name", "old"}, {"namespace", "plain"}, {"workloadIps", json::array()},
       {"node", "node1"}, {"protocol", "TCP"}},
  });
  d["services"] = json::array({
      {{"name", "web"}, {"namespace", "mesh"}, {"hostname", "web.mesh.svc.cluster.local"},
       {"vips", {"/10.96.0.10"}},
       {"waypoint", {{"address", "/10.244.1.9"}, {"hboneMtlsPort", 15008}}},
       {"endpoints", {{"a", {{"status", "Healthy"}}}, {"b", {{"status", "Unhealthy"}}}}}},
  });
  d["policies"] = json::array({
      {{"name", "allow-client"}, {"namespace", "mesh"}, {"scope", "WORKLOAD_SELECTOR"}},
      {{"name", "deny-all"}, {"namespace", "istio-system"}, {"action", "DENY"}},
  });
  d["certificates"] = json::array({
      {{"identity", "spiffe://cluster.local/ns/mesh/sa/web"}, {"state", "Available"},
       {"certChain", {{{"serialNumber", "0a1b"}, {"validFrom", "2026-01-01T00:00:00Z"},
                       {"expirationTime", "2026-01-02T00:00:00Z"}}}},
       {"rootCerts", {{{"serialNumber", "ff"}, {"validFrom", "2025-01-01T00:00:00Z"},
                       {"expirationTime", "2035-01-01T00:00:00Z"}}}}},
      {{"identity", "spiffe://cluster.local/ns/mesh/sa/client"}, {"state", "Initializing"},
       {"certChain", json::array()}, {"rootCerts", json::array()}},
  });
  d["connections"] = json::array({
      {{"pod", "mesh/client"}, {"direction", "outbound"}, {"source", "10.244.1.2:40000"},
       {"destination", "10.244.2.2:80"}, {"identity", "spiffe://cluster.local/ns/mesh/sa/web"},
       {"ageSeconds", 75.5}, {"bytesFromApp", 120}, {"bytesToApp", 4096}},
      {{"pod", "mesh/client"}, {"direction", "inbound-hbone"}, {"source", "172.29.0.2:5000"},
       {"destination", "10.244.1.2:15008"}, {"identity", ""}, {"ageSeconds", 3.0}},
  });
  return d.dump();
}

std::chrono::system_clock::time_point At(int hour) {
  // 2026-01-01T00:00:00Z + hour.
  return std::chrono::system_clock::from_time_t(1767225600) + std::chrono::hours(hour);
}

std::string Render(ProxyView view, bool node_column = false) {
  RenderOptions o;
  o.node_column = node_column;
  o.now = At(12);
  auto out = RenderProxyConfig(view, {{"node1", Dump()}}, o);
  EXPECT_TRUE(out.ok()) << out.error().ToString();
  return out.ok() ? *out : "";
}

TEST(ProxyConfig, ParseView) {
  EXPECT_EQ(*ParseProxyView("workloads"), ProxyView::kWorkloads);
  EXPECT_EQ(*ParseProxyView("svc"), ProxyView::kServices);
  EXPECT_EQ(*ParseProxyView("policy"), ProxyView::kPolicies);
  EXPECT_EQ(*ParseProxyView("certs"), ProxyView::kCertificates);
  EXPECT_EQ(*ParseProxyView("connections"), ProxyView::kConnections);
  auto bad = ParseProxyView("routes");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("'routes'"), std::string::npos);
}

TEST(ProxyConfig, Workloads) {
  EXPECT_EQ(Render(ProxyView::kWorkloads),
            "NAMESPACE   POD NAME   ADDRESS      NODE    WAYPOINT   PROTOCOL\n"
            "mesh        client     10.244.1.2   node1   None       HBONE\n"
            "mesh        web        10.244.2.2   node2   waypoint   HBONE\n"
            "plain       old        None         node1   None       TCP\n");
}

TEST(ProxyConfig, WorkloadsWithNodeColumn) {
  std::string out = Render(ProxyView::kWorkloads, /*node_column=*/true);
  EXPECT_EQ(out.rfind("ZTUNNEL   NAMESPACE", 0), 0u) << out;
  EXPECT_NE(out.find("node1     mesh        client"), std::string::npos) << out;
}

TEST(ProxyConfig, Services) {
  EXPECT_EQ(Render(ProxyView::kServices),
            "NAMESPACE   SERVICE NAME   SERVICE VIP   WAYPOINT     ENDPOINTS\n"
            "mesh        web            10.96.0.10    10.244.1.9   1/2\n");
}

TEST(ProxyConfig, PoliciesMapProtoDefaults) {
  EXPECT_EQ(Render(ProxyView::kPolicies),
            "NAMESPACE      POLICY NAME    ACTION   SCOPE\n"
            "istio-system   deny-all       Deny     Global\n"
            "mesh           allow-client   Allow    WorkloadSelector\n");
}

TEST(ProxyConfig, NoPoliciesIsAHeaderOnly) {
  json d = json::parse(Dump());
  d["policies"] = json::array();
  auto out = RenderProxyConfig(ProxyView::kPolicies, {{"node1", d.dump()}}, {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "NAMESPACE   POLICY NAME   ACTION   SCOPE\n");
}

TEST(ProxyConfig, CertificatesValidity) {
  std::string out = Render(ProxyView::kCertificates);
  EXPECT_NE(out.find("spiffe://cluster.local/ns/mesh/sa/web      Leaf   Available      true         0a1b"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Root   Available      true         ff"), std::string::npos) << out;
  EXPECT_NE(out.find("spiffe://cluster.local/ns/mesh/sa/client   Leaf   Initializing   false        -"),
            std::string::npos)
      << out;
  // A day later the leaf has expired; the root has not.
  RenderOptions later;
  later.now = At(36);
  auto expired = RenderProxyConfig(ProxyView::kCertificates, {{"node1", Dump()}}, later);
  ASSERT_TRUE(expired.ok());
  EXPECT_NE(expired->find("Leaf   Available      false        0a1b"), std::string::npos) << *expired;
}

TEST(ProxyConfig, Connections) {
  std::string out = Render(ProxyView::kConnections, /*node_column=*/true);
  EXPECT_NE(out.find("NODE    POD           DIRECTION"), std::string::npos) << out;
  EXPECT_NE(out.find("node1   mesh/client   outbound        10.244.1.2:40000   10.244.2.2:80      "
                     "spiffe://cluster.local/ns/mesh/sa/web   120              4096           1m15s"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("inbound-hbone   172.29.0.2:5000    10.244.1.2:15008   -  "), std::string::npos) << out;
}

TEST(ProxyConfig, JsonIsTheRawSection) {
  RenderOptions o;
  o.json = true;
  auto one = RenderProxyConfig(ProxyView::kServices, {{"node1", Dump()}}, o);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(json::parse(*one), json::parse(Dump())["services"]);
  o.node_column = true;
  auto two = RenderProxyConfig(ProxyView::kPolicies, {{"node1", Dump()}, {"node2", Dump()}}, o);
  ASSERT_TRUE(two.ok());
  json j = json::parse(*two);
  EXPECT_EQ(j["node2"], json::parse(Dump())["policies"]);
  EXPECT_EQ(j.size(), 2u);
}

TEST(ProxyConfig, BadDumpsNameTheNode) {
  auto not_json = RenderProxyConfig(ProxyView::kWorkloads, {{"node7", "{oops"}}, {});
  ASSERT_FALSE(not_json.ok());
  EXPECT_NE(not_json.error().ToString().find("node node7"), std::string::npos);
  auto missing = RenderProxyConfig(ProxyView::kConnections, {{"node2", R"({"workloads":[]})"}}, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().ToString().find("node node2"), std::string::npos);
  EXPECT_NE(missing.error().ToString().find("'connections'"), std::string::npos);
  auto wrong = RenderProxyConfig(ProxyView::kServices, {{"node1", R"({"services":{"a":1}})"}}, {});
  ASSERT_FALSE(wrong.ok());
  auto entry = RenderProxyConfig(ProxyView::kServices, {{"node1", R"({"services":[1]})"}}, {});
  ASSERT_FALSE(entry.ok());
}

TEST(NetnsHttp, ParseReply) {
  auto r = ParseHttpReply("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}extra");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{}");
  auto eof = ParseHttpReply("HTTP/1.0 503 Service Unavailable\r\n\r\nnot ready");
  ASSERT_TRUE(eof.ok());
  EXPECT_EQ(eof->status, 503);
  EXPECT_EQ(eof->body, "not ready");
  EXPECT_FALSE(ParseHttpReply("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").ok());
  EXPECT_FALSE(ParseHttpReply("SSH-2.0-OpenSSH\r\n\r\n").ok());
  EXPECT_FALSE(ParseHttpReply("HTTP/1.1 2x0 OK\r\n\r\n").ok());
  EXPECT_FALSE(ParseHttpReply("HTTP/1.1 200 OK\r\nno colon\r\n\r\n").ok());
  EXPECT_FALSE(ParseHttpReply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").ok());
  EXPECT_FALSE(ParseHttpReply("HTTP/1.1 200 OK\r\nContent-Length: 1").ok());
}

TEST(NetnsHttp, ConnectFailureNamesTheTarget) {
  // Port 1 on loopback of this namespace: nothing listens there.
  auto r = HttpGetInNetns("", "127.0.0.1", 1, "/config_dump", 2000);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("127.0.0.1:1/config_dump"), std::string::npos) << r.error().ToString();
  EXPECT_FALSE(HttpGetInNetns("", "not-an-ip", 80, "/", 100).ok());
}

}  // namespace
}  // namespace ambit::ctl
