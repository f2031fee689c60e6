// AuthorizationPolicy values Istio's validation rejects are rejected at apply,
// with the field and the value named.
#include <gtest/gtest.h>

#include "config/ip_prefix.h"
#include "config/parse.h"

namespace ambit::config {
namespace {

std::vector<std::string> Errors(std::string_view yaml) {
  std::vector<std::string> out;
  for (const Diagnostic& d : ParseManifests(yaml, "t.yaml").diagnostics) out.push_back(d.ToString());
  return out;
}

TEST(IpPrefix, ParsesAddressesAndCidrsLikeIstio) {
  EXPECT_EQ(ParseIpOrCidr("10.1.2.3"), (IpPrefix{std::string("\x0a\x01\x02\x03", 4), 32}));
  EXPECT_EQ(ParseIpOrCidr("10.0.0.0/8"), (IpPrefix{std::string("\x0a\x00\x00\x00", 4), 8}));
  EXPECT_EQ(ParseIpOrCidr("10.1.2.3/0")->length, 0u);
  EXPECT_EQ(ParseIpOrCidr("::1")->bytes.size(), 16u);
  EXPECT_EQ(ParseIpOrCidr("::1")->length, 128u);
  EXPECT_EQ(ParseIpOrCidr("2001:db8::/32")->length, 32u);
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1", "::/129",
                          "10.0.0", "host", "10.0.0.0/8/8", "fe80::1%eth0"}) {
    EXPECT_FALSE(ParseIpOrCidr(bad).has_value()) << bad;
  }
  EXPECT_EQ(ParsePortString("0"), 0u);
  EXPECT_EQ(ParsePortString("080"), 80u);
  EXPECT_EQ(ParsePortString("65535"), 65535u);
  for (const char* bad : {"", "65536", "-1", "+80", "http", "8080a", "99999999999"}) {
    EXPECT_FALSE(ParsePortString(bad).has_value()) << bad;
  }
}

TEST(AuthorizationPolicySchema, RejectsBadPortsAddressesAndConditions) {
  std::vector<std::string> errors = Errors(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap, namespace: ns1}
spec:
  rules:
  - from:
    - source: {ipBlocks: ["10.0.0.0/33"], principals: [""]}
    - source: {}
    to:
    - operation: {ports: ["http"]}
    when:
    - {key: destination.port, values: ["70000"]}
    - {key: source.ip, notValues: ["1.2.3"]}
    - {key: request.headers, values: ["x"]}
    - {key: destination.namespace, values: [ns1]}
    - {key: wibble, values: ["x"]}
    - {key: "request.auth.claims[iss]", values: [""]}
  - from: []
)");
  EXPECT_EQ(errors,
            (std::vector<std::string>{
                "t.yaml:7:27: error: document 1 (AuthorizationPolicy ns1/ap): "
                "spec.rules[0].from[0].source.ipBlocks[0]: expected an IP address or CIDR range, got "
                "'10.0.0.0/33'",
                "t.yaml:7:56: error: document 1 (AuthorizationPolicy ns1/ap): "
                "spec.rules[0].from[0].source.principals[0]: empty value not allowed",
                "t.yaml:8:15: error: document 1 (AuthorizationPolicy ns1/ap): "
                "spec.rules[0].from[1].source: expected at least one non-empty field: an empty "
                "source matches nothing",
                "t.yaml:10:27: error: document 1 (AuthorizationPolicy ns1/ap): "
                "spec.rules[0].to[0].operation.ports[0]: expected a port number 0-65535, got 'http'",
                "t.yaml:12:39: error: document 1 (AuthorizationPolicy ns1/ap): "
                "spec.rules[0].when[0].values: item 0: expected a port number 0-65535, got '70000'",
                "t.yaml:13:35: error: document 1 (AuthorizationPolicy ns1/ap): "
                "spec.rules[0].when[1].notValues: item 0: expected an IP address or CIDR range, got "
                "'1.2.3'",
                "t.yaml:14:13: error: document 1 (AuthorizationPolicy ns1/ap): "
                "spec.rules[0].when[2].key: bad key 'request.headers': expected the form "
                "request.headers[name]",
                "t.yaml:15:13: error: document 1 (AuthorizationPolicy ns1/ap): "
                "spec.rules[0].when[3].key: attribute 'destination.namespace' is replaced by "
                "metadata.namespace",
                "t.yaml:16:13: error: document 1 (AuthorizationPolicy ns1/ap): "
                "spec.rules[0].when[4].key: unknown attribute 'wibble'",
                "t.yaml:17:49: error: document 1 (AuthorizationPolicy ns1/ap): "
                "spec.rules[0].when[5].values: item 0: empty value not allowed",
                "t.yaml:18:11: error: document 1 (AuthorizationPolicy ns1/ap): "
                "spec.rules[1].from: expected at least 1 item, got an empty list",
            }));
}

TEST(AuthorizationPolicySchema, DenyNeedsRulesAndServiceAccountsStandAlone) {
  std::vector<std::string> errors = Errors(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap, namespace: ns1}
spec:
  action: DENY
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: sa, namespace: ns1}
spec:
  rules: [{from: [{source: {serviceAccounts: [a], namespaces: [b]}}]}]
)");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("(AuthorizationPolicy ns1/ap): spec.rules: required field is missing (a "
                           "DENY policy without rules never matches"),
            std::string::npos)
      << errors[0];
  EXPECT_NE(errors[1].find("(AuthorizationPolicy ns1/sa): spec.rules[0].from[0].source: cannot set "
                           "serviceAccounts with namespaces or principals"),
            std::string::npos)
      << errors[1];
}

TEST(AuthorizationPolicySchema, AcceptsIstioSamples) {
  std::vector<std::string> errors = Errors(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap, namespace: ns1}
spec:
  action: DENY
  rules:
  - from: [{source: {notIpBlocks: ["10.0.0.0/8", "2001:db8::1"], notPrincipals: ["*"]}}]
    to: [{operation: {notPorts: ["0", "080"], methods: [GET]}}]
    when:
    - {key: "request.headers[x-user]", values: [a]}
    - {key: source.serviceAccount, values: [ns/sa]}
    - {key: connection.sni, notValues: [x.example]}
    - {key: "experimental.envoy.filters.a.b[c]", values: [d]}
  - {}
)");
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
}

}  // namespace
}  // namespace ambit::config
