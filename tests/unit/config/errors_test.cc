// Every class of error, with the exact message shape users see.
#include <gtest/gtest.h>

#include "config/parse.h"

namespace ambit::config {
namespace {

std::vector<std::string> Errors(std::string_view text, std::string_view file = "t.yaml") {
  ParseResult r = ParseManifests(text, file);
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) out.push_back(d.ToString());
  return out;
}

using Lines = std::vector<std::string>;

TEST(ErrorsTest, BadPortTypeNamesFileDocumentResourceAndPath) {
  const char* text = R"(apiVersion: v1
kind: ServiceAccount
metadata: {name: ok}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: reviews-v1
spec:
  selector:
    matchLabels: {app: reviews}
  template:
    metadata:
      labels: {app: reviews}
    spec:
      containers:
      - name: reviews
        image: reviews
        ports:
        - containerPort: 9080
        - containerPort: http
)";
  ParseResult r = ParseManifests(text, "bookinfo.yaml");
  ASSERT_EQ(r.resources.size(), 1u);  // the good document still yields its resource
  ASSERT_EQ(r.diagnostics.size(), 1u);
  const Diagnostic& d = r.diagnostics[0];
  EXPECT_EQ(d.file, "bookinfo.yaml");
  EXPECT_EQ(d.document, 2);
  EXPECT_EQ(d.kind, "Deployment");
  EXPECT_EQ(d.ns, "default");
  EXPECT_EQ(d.name, "reviews-v1");
  EXPECT_EQ(d.path, "spec.template.spec.containers[0].ports[1].containerPort");
  EXPECT_EQ(d.line, 21);
  EXPECT_EQ(d.ToString(),
            "bookinfo.yaml:21:26: error: document 2 (Deployment default/reviews-v1): "
            "spec.template.spec.containers[0].ports[1].containerPort: expected an integer 1-65535, "
            "got 'http'");
}

TEST(ErrorsTest, AllErrorsOfAFileAreReported) {
  EXPECT_EQ(Errors(R"(apiVersion: v1
kind: Pod
metadata:
  name: Bad_Name
  labels:
    "-bad": ok
spec:
  restartPolicy: Sometimes
  containers:
  - name: a
    image: x
    ports:
    - containerPort: 70000
      protocol: tcp
)"),
            (Lines{
                "t.yaml:4:9: error: document 1 (Pod default/Bad_Name): metadata.name: expected a "
                "DNS-1123 subdomain (at most 253 characters of a-z, 0-9, '-' and '.', each "
                "dot-separated part starting and ending with a letter or digit), got 'Bad_Name'",
                "t.yaml:6:13: error: document 1 (Pod default/Bad_Name): metadata.labels[\"-bad\"]: "
                "invalid key: expected a key of the form [prefix/]name (prefix a DNS-1123 subdomain; "
                "name at most 63 characters of A-Z, a-z, 0-9, '-', '_' and '.', starting and ending "
                "with a letter or digit), got '-bad'",
                "t.yaml:8:18: error: document 1 (Pod default/Bad_Name): spec.restartPolicy: "
                "expected one of Always, OnFailure, Never, got 'Sometimes'",
                "t.yaml:13:22: error: document 1 (Pod default/Bad_Name): "
                "spec.containers[0].ports[0].containerPort: expected an integer 1-65535, got 70000",
                "t.yaml:14:17: error: document 1 (Pod default/Bad_Name): "
                "spec.containers[0].ports[0].protocol: expected one of TCP, UDP, SCTP, got 'tcp'",
            }));
}

TEST(ErrorsTest, UnknownKindAndUnknownApiVersion) {
  EXPECT_EQ(Errors(R"(apiVersion: v1
kind: Secret
metadata: {name: cm}
---
apiVersion: apps/v1beta1
kind: Deployment
metadata: {name: d}
---
apiVersion: networking.istio.io/v2
kind: VirtualService
metadata: {name: vs, namespace: x}
spec: {}
)"),
            (Lines{
                "t.yaml:2:7: error: document 1 (Secret default/cm): kind: unknown kind "
                "'Secret' (apiVersion v1); supported kinds: Namespace, Pod, Service, "
                "ServiceAccount, ConfigMap, Deployment, AuthorizationPolicy, PeerAuthentication, "
                "RequestAuthentication, VirtualService, DestinationRule, ServiceEntry, Gateway, "
                "HTTPRoute, GRPCRoute",
                "t.yaml:5:13: error: document 2 (Deployment default/d): apiVersion: expected "
                "apps/v1 for kind Deployment, got 'apps/v1beta1'",
                "t.yaml:9:13: error: document 3 (VirtualService x/vs): apiVersion: expected "
                "networking.istio.io/v1, networking.istio.io/v1beta1 or networking.istio.io/v1alpha3 "
                "for kind VirtualService, got 'networking.istio.io/v2'",
            }));
}

TEST(ErrorsTest, UnknownFieldsAtSeveralDepths) {
  EXPECT_EQ(Errors(R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  lables: {app: a}
spec:
  replica: 2
  selector:
    matchLabels: {app: a}
  template:
    metadata:
      labels: {app: a}
    spec:
      containers:
      - name: c
        image: i
        imagePullPolicyy: Always
        ports:
        - containerPort: 80
          nmae: http
)"),
            (Lines{
                "t.yaml:5:11: error: document 1 (Deployment default/d): metadata.lables: unknown "
                "field (did you mean 'labels'?)",
                "t.yaml:7:12: error: document 1 (Deployment default/d): spec.replica: unknown "
                "field (did you mean 'replicas'?)",
                "t.yaml:17:27: error: document 1 (Deployment default/d): "
                "spec.template.spec.containers[0].imagePullPolicyy: unknown field (did you mean "
                "'imagePullPolicy'?)",
                "t.yaml:20:17: error: document 1 (Deployment default/d): "
                "spec.template.spec.containers[0].ports[0].nmae: unknown field (did you mean "
                "'name'?)",
            }));
  EXPECT_EQ(Errors(R"(apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  ports: [{port: 80}]
  wibble: 1
)"),
            (Lines{"t.yaml:6:11: error: document 1 (Service default/s): spec.wibble: unknown "
                   "field; expected one of: allocateLoadBalancerNodePorts, clusterIP, clusterIPs, "
                   "externalIPs, externalName, externalTrafficPolicy, healthCheckNodePort, "
                   "internalTrafficPolicy, ipFamilies, ipFamilyPolicy, loadBalancerClass, "
                   "loadBalancerIP, loadBalancerSourceRanges, ports, publishNotReadyAddresses, "
                   "selector, sessionAffinity, sessionAffinityConfig, trafficDistribution, type"}));
}

TEST(ErrorsTest, UnknownFieldsInIstioAndGatewaySpecs) {
  EXPECT_EQ(Errors(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap, namespace: ns1}
spec:
  action: ALLOW
  rules:
  - to:
    - operation:
        method: ["GET"]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw, prot: 80}]
  rules:
  - backendRefs: [{name: b, weight: -1}]
)"),
            (Lines{
                "t.yaml:9:17: error: document 1 (AuthorizationPolicy ns1/ap): "
                "spec.rules[0].to[0].operation.method: unknown field (did you mean 'methods'?)",
                "t.yaml:15:33: error: document 2 (HTTPRoute default/r): spec.parentRefs[0].prot: "
                "unknown field (did you mean 'port'?)",
                "t.yaml:17:37: error: document 2 (HTTPRoute default/r): "
                "spec.rules[0].backendRefs[0].weight: expected an integer 0-1000000, got -1",
            }));
}

TEST(ErrorsTest, MissingRequiredFields) {
  EXPECT_EQ(Errors(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: []
---
apiVersion: v1
kind: Pod
metadata: {name: q}
spec:
  containers:
  - image: busybox
---
apiVersion: v1
kind: Pod
metadata: {namespace: x}
---
kind: Pod
)"),
            (Lines{
                "t.yaml:5:15: error: document 1 (Pod default/p): spec.containers: expected at "
                "least 1 item, got an empty list",
                "t.yaml:12:5: error: document 2 (Pod default/q): spec.containers[0].name: required "
                "field is missing (expected a container name)",
                "t.yaml:14:1: error: document 3 (Pod in namespace x): spec: required field is "
                "missing (expected a pod spec (object))",
                "t.yaml:16:11: error: document 3 (Pod in namespace x): metadata.name: required "
                "field is missing (expected a name)",
                "t.yaml:18:1: error: document 4 (Pod): apiVersion: required field is missing "
                "(expected an apiVersion such as apps/v1)",
            }));
}

TEST(ErrorsTest, DeploymentSelectorMustMatchTemplate) {
  EXPECT_EQ(Errors(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: b}}
    spec:
      restartPolicy: Never
      containers: [{name: c, image: i}]
)"),
            (Lines{
                "t.yaml:5:13: error: document 1 (Deployment default/d): spec.selector: does not "
                "match spec.template.metadata.labels (the selector must select the pods this "
                "Deployment creates)",
                "t.yaml:9:22: error: document 1 (Deployment default/d): "
                "spec.template.spec.restartPolicy: expected Always in a Deployment, got 'Never'",
            }));
}

TEST(ErrorsTest, ServiceRules) {
  EXPECT_EQ(Errors(R"(apiVersion: v1
kind: Service
metadata: {name: 9svc}
spec:
  clusterIP: 10.0.0.300
  ports:
  - port: 80
  - port: 81
    targetPort: not_a_name
)"),
            (Lines{
                "t.yaml:3:18: error: document 1 (Service default/9svc): metadata.name: expected a "
                "DNS-1035 label (at most 63 characters of a-z, 0-9 and '-', starting with a letter "
                "and ending with a letter or digit), got '9svc'",
                "t.yaml:5:14: error: document 1 (Service default/9svc): spec.clusterIP: expected an "
                "IPv4 or IPv6 address, got '10.0.0.300'",
                "t.yaml:9:17: error: document 1 (Service default/9svc): spec.ports[1].targetPort: "
                "expected a port name (1-15 characters of a-z, 0-9 and '-', with at least one "
                "letter and no leading, trailing or double '-'), got 'not_a_name'",
            }));
  // Semantic rules run once the structure is valid.
  EXPECT_EQ(Errors(R"(apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  ports:
  - port: 80
  - port: 81
)"),
            (Lines{"t.yaml:6:5: error: document 1 (Service default/s): spec.ports[0].name: required "
                   "field is missing (every port needs a name when a Service has more than one)",
                   "t.yaml:7:5: error: document 1 (Service default/s): spec.ports[1].name: required "
                   "field is missing (every port needs a name when a Service has more than one)"}));
}

TEST(ErrorsTest, DuplicatesWithinOneInput) {
  EXPECT_EQ(Errors(R"(apiVersion: v1
kind: ServiceAccount
metadata: {name: sa, namespace: a}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa, namespace: b}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa, namespace: a}
)"),
            (Lines{"t.yaml:11:18: error: document 3 (ServiceAccount a/sa): metadata.name: "
                   "duplicate ServiceAccount a/sa; first defined in document 1 (line 1)"}));
}

TEST(ErrorsTest, DuplicateContainerAndKeys) {
  EXPECT_EQ(Errors(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: a
    image: i
    ports: [{containerPort: 80, name: http}]
  - name: a
    image: i
    ports: [{containerPort: 81, name: http}]
)"),
            (Lines{
                "t.yaml:9:11: error: document 1 (Pod default/p): spec.containers[1].name: duplicate "
                "container name 'a' (also spec.containers[0])",
                "t.yaml:11:39: error: document 1 (Pod default/p): spec.containers[1].ports[0].name: "
                "duplicate port name 'http' in the pod (also spec.containers[0].ports[0])",
            }));
  EXPECT_EQ(Errors("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\nkind: Pod\n"),
            (Lines{"t.yaml:4:7: error: document 1 (ServiceAccount default/a): kind: duplicate "
                   "mapping key (first defined at line 2)"}));
}

TEST(ErrorsTest, YamlBooleansAndQuotedNumbersAreTypeErrors) {
  EXPECT_EQ(Errors(R"(apiVersion: v1
kind: Pod
metadata:
  name: p
  labels: {enabled: yes}
spec:
  containers:
  - name: c
    image: i
    env: [{name: PORT, value: 8080}]
    ports: [{containerPort: "80"}]
)"),
            (Lines{
                "t.yaml:5:21: error: document 1 (Pod default/p): metadata.labels.enabled: expected "
                "a string, got yes (read as the boolean true; quote it for a string)",
                "t.yaml:10:31: error: document 1 (Pod default/p): spec.containers[0].env[0].value: "
                "expected a string, got 8080",
                "t.yaml:11:29: error: document 1 (Pod default/p): "
                "spec.containers[0].ports[0].containerPort: expected an integer 1-65535, got '80'",
            }));
}

TEST(ErrorsTest, SyntaxErrorKeepsEarlierDocuments) {
  ParseResult r = ParseManifests(
      "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n---\nkey: [unclosed\n", "s.yaml");
  EXPECT_EQ(r.resources.size(), 1u);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].document, 2);
  EXPECT_NE(r.diagnostics[0].ToString().find("s.yaml:"), std::string::npos);
  EXPECT_NE(r.diagnostics[0].message.find("invalid YAML: "), std::string::npos) << r.diagnostics[0].message;
}

TEST(ErrorsTest, InvalidUtf8IsRejectedWithItsPosition) {
  // Found by fuzz_yaml: nlohmann::json refuses to serialise invalid UTF-8.
  EXPECT_EQ(Errors("apiVersion: v1\nkind: Pod\nmetadata: {name: \"a\xc8\xc8\"}\n"),
            (Lines{"t.yaml:3:20: error: input is not valid UTF-8 (byte offset 44)"}));
  EXPECT_EQ(Errors("a: \"\xed\xa0\x80\"\n"),  // a UTF-16 surrogate
            (Lines{"t.yaml:1:5: error: input is not valid UTF-8 (byte offset 4)"}));
  EXPECT_EQ(Errors("a: \"\xc0\xaf\"\n"),  // an overlong '/'
            (Lines{"t.yaml:1:5: error: input is not valid UTF-8 (byte offset 4)"}));
  EXPECT_TRUE(Errors("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  annotations: {note: \"gr\xc3\xbc\xc3\x9f \xf0\x9f\x98\x80\"}\n").empty());
}

TEST(ErrorsTest, ControlCharactersAreRejected) {
  // Found by fuzz_yaml: with NUL bytes yaml-cpp returned empty documents forever.
  std::string text = "{\"apiVersion\":\"v1\",\"metada";
  text += std::string("\x01\0\0", 3);
  text += "me\":\"s\"}\n";
  EXPECT_EQ(Errors(text), (Lines{"t.yaml:1:27: error: control character 0x01 is not allowed (byte offset 26)"}));
  // Tab and CR are fine.
  EXPECT_TRUE(Errors("apiVersion: v1\r\nkind: Namespace\r\nmetadata: {name:\ta}\r\n").empty());
}

TEST(ErrorsTest, MessagesStayOnOneLine) {
  EXPECT_EQ(Errors("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \"a\\nb\"\n  labels: {\"x\\ty\": z}\n"),
            (Lines{"t.yaml:4:9: error: document 1 (Namespace a\\nb): metadata.name: expected a "
                   "DNS-1123 label (at most 63 characters of a-z, 0-9 and '-', starting and ending "
                   "with a letter or digit), got 'a\\nb'",
                   "t.yaml:5:20: error: document 1 (Namespace a\\nb): metadata.labels[\"x\\ty\"]: "
                   "invalid key: expected a key of the form [prefix/]name (prefix a DNS-1123 "
                   "subdomain; name at most 63 characters of A-Z, a-z, 0-9, '-', '_' and '.', "
                   "starting and ending with a letter or digit), got 'x\\ty'"}));
}

TEST(ErrorsTest, WarningsDoNotRejectTheResource) {
  ParseResult r = ParseManifests(R"(apiVersion: v1
kind: Namespace
metadata:
  name: a
  labels: {istio.io/dataplane-mode: Ambient, istio.io/use-waypoint: none}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: a}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d, istio.io/dataplane-mode: disabled}}
    spec:
      containers:
      - name: c
        image: i
        env: [{name: A, value: "1"}, {name: A, value: "2"}]
)", "w.yaml");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.resources.size(), 2u);
  std::vector<std::string> lines;
  for (const Diagnostic& d : r.diagnostics) lines.push_back(d.ToString());
  EXPECT_EQ(lines,
            (Lines{"w.yaml:5:37: warning: document 1 (Namespace a): "
                   "metadata.labels[\"istio.io/dataplane-mode\"]: expected ambient or none, got "
                   "'Ambient'; Istio ignores other values",
                   "w.yaml:13:58: warning: document 2 (Deployment a/d): "
                   "spec.template.metadata.labels[\"istio.io/dataplane-mode\"]: expected ambient or "
                   "none, got 'disabled'; Istio ignores other values",
                   "w.yaml:18:45: warning: document 2 (Deployment a/d): "
                   "spec.template.spec.containers[0].env[1].name: duplicate environment variable 'A' "
                   "(also env[0]); the last one wins"}));
}

TEST(ErrorsTest, NotAnObject) {
  EXPECT_EQ(Errors("- a\n- b\n"),
            (Lines{"t.yaml:1:1: error: document 1: expected a Kubernetes object (a mapping with "
                   "apiVersion, kind and metadata), got a list"}));
}

TEST(ErrorsTest, DeepNestingIsBounded) {
  // Far beyond any bound: rejected (by yaml-cpp's own recursion guard or ours), no crash.
  ParseResult r = ParseManifests(std::string(100000, '['), "deep.yaml");
  ASSERT_FALSE(r.ok());
  r = ParseManifests("a: " + std::string(100000, '{'), "deep.yaml");
  ASSERT_FALSE(r.ok());
  std::string seqs;
  for (int i = 0; i < 100; ++i) seqs += "- ";
  r = ParseManifests(seqs + "x\n", "deep.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.diagnostics[0].message.find("nesting deeper than 64 levels"), std::string::npos)
      << r.diagnostics[0].message;
  std::string nested = "a:\n";
  for (int i = 1; i < 100; ++i) nested += std::string(static_cast<size_t>(i) * 2, ' ') + "a:\n";
  r = ParseManifests(nested, "deep.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.diagnostics[0].message.find("nesting deeper than 64 levels"), std::string::npos);
}

TEST(ErrorsTest, DeepJsonObjectsAreBounded) {
  nlohmann::json deep = nlohmann::json::object();
  nlohmann::json* at = &deep;
  for (int i = 0; i < 100000; ++i) at = &((*at)["a"] = nlohmann::json::object());
  nlohmann::json object = {{"apiVersion", "v1"}, {"kind", "Namespace"},
                           {"metadata", {{"name", "a"}}}, {"spec", std::move(deep)}};
  ParseResult r = ParseJsonObject(object, "store.json", 3);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(), "store.json: error: document 3: nesting deeper than 64 levels");
}

TEST(ErrorsTest, AliasExpansionIsBounded) {
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev + ", " + prev + ", " +
            prev + ", " + prev + ", " + prev + ", " + prev + ", " + prev + ", " + prev + ", " + prev +
            ", " + prev + "]\n";
  }
  ParseResult r = ParseManifests(bomb, "bomb.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.diagnostics[0].message.find("more than 1000000 values"), std::string::npos)
      << r.diagnostics[0].message;
}

TEST(ErrorsTest, IstioRules) {
  EXPECT_EQ(Errors(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap}
spec:
  selector: {matchLabels: {app: a}}
  targetRefs: [{kind: Service, name: s}]
  action: CUSTOM
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: {name: pa}
spec:
  mtls: {mode: STRICT}
  portLevelMtls:
    80: {mode: PERMISSIVE}
    http: {mode: DISABLE}
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [r]
  http:
  - timeout: 5 seconds
    route: [{destination: {host: r}, weight: 100}]
)"),
            (Lines{
                "t.yaml:5:3: error: document 1 (AuthorizationPolicy default/ap): spec: expected at "
                "most one of selector, targetRef, targetRefs, got selector and targetRefs",
                "t.yaml:5:3: error: document 1 (AuthorizationPolicy default/ap): spec.provider: "
                "required field is missing (action CUSTOM needs a provider)",
                "t.yaml:15:5: error: document 2 (PeerAuthentication default/pa): "
                "spec.portLevelMtls: expected a selector: portLevelMtls applies only to selected "
                "workloads",
                "t.yaml:16:11: error: document 2 (PeerAuthentication default/pa): "
                "spec.portLevelMtls.http: invalid key: expected a port number 1-65535, got 'http'",
                "t.yaml:24:14: error: document 3 (VirtualService default/vs): "
                "spec.http[0].timeout: expected a duration like '10s', '1.5s', '250ms' or '1h30m', "
                "got '5 seconds'",
            }));
}

TEST(ErrorsTest, NestedIstioAndGatewayRules) {
  EXPECT_EQ(Errors(R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr}
spec:
  host: r
  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBIN
      consistentHash: {useSourceIp: true}
    connectionPool:
      http: {h2UpgradePolicy: upgrade}
    tls: {mode: MUTUAL, sni: x, verify: true}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
  - filters:
    - type: RequestHeaderModifier
      urlRewrite: {hostname: x}
)"),
            (Lines{
                "t.yaml:8:7: error: document 1 (DestinationRule default/dr): "
                "spec.trafficPolicy.loadBalancer: expected at most one of simple, consistentHash, "
                "got simple and consistentHash",
                "t.yaml:11:31: error: document 1 (DestinationRule default/dr): "
                "spec.trafficPolicy.connectionPool.http.h2UpgradePolicy: expected one of DEFAULT, "
                "DO_NOT_UPGRADE, UPGRADE, got 'upgrade'",
                "t.yaml:12:41: error: document 1 (DestinationRule default/dr): "
                "spec.trafficPolicy.tls.verify: unknown field; expected one of: caCertificates, "
                "caCrl, clientCertificate, credentialName, insecureSkipVerify, mode, privateKey, "
                "sni, subjectAltNames",
                "t.yaml:20:7: error: document 2 (HTTPRoute default/r): "
                "spec.rules[0].filters[0].requestHeaderModifier: required field is missing (a "
                "filter of type RequestHeaderModifier needs requestHeaderModifier)",
                "t.yaml:21:19: error: document 2 (HTTPRoute default/r): "
                "spec.rules[0].filters[0].urlRewrite: expected no urlRewrite in a filter of type "
                "RequestHeaderModifier",
            }));
}

TEST(ErrorsTest, MergeKeysAreNotSupported) {
  EXPECT_EQ(Errors(R"(apiVersion: v1
kind: ServiceAccount
metadata:
  <<: {name: a}
  name: a
)"),
            (Lines{"t.yaml:4:3: error: document 1 (ServiceAccount default/a): metadata[\"<<\"]: "
                   "YAML merge keys (<<) are not supported; write the fields out"}));
}

TEST(ErrorsTest, NamespaceIsClusterScoped) {
  EXPECT_EQ(Errors("apiVersion: v1\nkind: Namespace\nmetadata: {name: a, namespace: b}\n"),
            (Lines{"t.yaml:3:32: error: document 1 (Namespace a): metadata.namespace: expected no "
                   "namespace: this kind is cluster-scoped"}));
}

TEST(ErrorsTest, ServiceTrafficDistributionTakesKubernetesValues) {
  const char* good = R"(apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  trafficDistribution: PreferClose
  ports: [{port: 80}]
)";
  ParseResult r = ParseManifests(good, "t.yaml");
  EXPECT_TRUE(r.diagnostics.empty());
  ASSERT_EQ(r.resources.size(), 1u);
  const auto& svc = std::get<Service>(r.resources[0]);
  EXPECT_EQ(svc.spec.extra.value("trafficDistribution", ""), "PreferClose");
  const std::vector<std::string> errors = Errors(R"(apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  trafficDistribution: Nearby
  ports: [{port: 80}]
)");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("spec.trafficDistribution"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("PreferSameNode"), std::string::npos) << errors[0];
}

}  // namespace
}  // namespace ambit::config
