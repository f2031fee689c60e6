// The support table and the analyzers.
#include "config/support.h"

#include <gtest/gtest.h>

#include <map>

#include "config/analysis.h"
#include "config/kind_names.h"
#include "config/kinds.h"
#include "config/parse.h"

namespace ambit::config {
namespace {

Resource One(std::string_view text) {
  ParseResult r = ParseManifests(text, "t.yaml");
  EXPECT_TRUE(r.ok()) << FormatDiagnostics(r.diagnostics);
  return r.resources.at(0);
}

std::map<ResourceKey, Resource> Store(std::string_view text) {
  ParseResult r = ParseManifests(text, "t.yaml");
  EXPECT_TRUE(r.ok()) << FormatDiagnostics(r.diagnostics);
  std::map<ResourceKey, Resource> out;
  for (auto& res : r.resources) out.emplace(KeyOf(res), std::move(res));
  return out;
}

std::vector<std::string> Texts(const std::vector<AnalysisMessage>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.ToString());
  return out;
}

TEST(SupportTable, EveryStoredKindHasAWholeKindEntry) {
  for (const KindName& k : KindNames()) {
    bool found = false;
    for (const SupportEntry& e : SupportTable()) found = found || (e.kind == k.kind && e.field.empty());
    EXPECT_TRUE(found) << k.kind << " has no whole-kind entry in the support table";
  }
}

TEST(SupportTable, DestinationRuleLoadBalancingIsEnforcedTheRestSaysNot) {
  auto warnings = CheckSupport(One(R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash: {httpHeaderName: end-user}
    connectionPool: {tcp: {maxConnections: 10}}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      loadBalancer: {simple: PASSTHROUGH}
)"));
  std::map<std::string, std::string> by_path;
  for (const auto& w : warnings) by_path[w.path] = w.message;
  EXPECT_NE(by_path[""].find("trafficPolicy.loadBalancer (simple and consistentHash"),
            std::string::npos);
  EXPECT_TRUE(by_path.count("spec.trafficPolicy.connectionPool")) << warnings.size();
  EXPECT_TRUE(by_path.count("spec.subsets[0].trafficPolicy.loadBalancer.simple") ||
              by_path.count("spec.subsets[].trafficPolicy.loadBalancer.simple"));
  for (const auto& [path, message] : by_path) {
    EXPECT_EQ(path.find("consistentHash"), std::string::npos) << path << ": " << message;
  }
  EXPECT_EQ(warnings.size(), 3u);
}

TEST(SupportTable, PartlyEnforcedRouteKindsSayWhatIsNot) {
  auto warnings = CheckSupport(One(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v2}
)"));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].path, "");
  EXPECT_NE(warnings[0].message.find("enforced by the waypoint on Services bound to one"),
            std::string::npos);
  EXPECT_NE(warnings[0].message.find("timeouts (request, per-try), retries"), std::string::npos);
  EXPECT_NE(warnings[0].message.find("fault injection (fixed delay, HTTP and gRPC abort) and "
                                     "mirroring"),
            std::string::npos);
  EXPECT_EQ(warnings[0].message.find("not applied yet"), std::string::npos);
  EXPECT_NE(warnings[0].message.find("without a waypoint the route does nothing"), std::string::npos);
}

TEST(SupportTable, EnforcedKindsAndUnusedFieldsDoNotWarn) {
  EXPECT_TRUE(CheckSupport(One(R"(apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80}]
)")).empty());
  EXPECT_TRUE(CheckSupport(One(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  hostNetwork: false
  containers: [{name: c, image: busybox}]
)")).empty());
}

TEST(SupportTable, FieldsAreFoundInListsAndByValue) {
  auto warnings = CheckSupport(One(R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap}
spec:
  action: AUDIT
  rules:
  - to: [{operation: {ports: ["80"]}}]
  - to: [{operation: {ports: ["81"]}}, {operation: {methods: [GET]}}]
)"));
  std::vector<std::string> paths;
  for (const auto& w : warnings) paths.push_back(w.path);
  // The kind itself is enforced (lowered and sent to the proxies); AUDIT and
  // HTTP attributes are not.
  EXPECT_EQ(paths, (std::vector<std::string>{"spec.action", "spec.rules[1].to[1].operation.methods"}));

  warnings = CheckSupport(One(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      hostNetwork: true
      containers:
      - {name: a, image: x}
      - name: b
        image: x
        resources: {limits: {cpu: "1"}}
)"));
  paths.clear();
  for (const auto& w : warnings) paths.push_back(w.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"spec.template.spec.hostNetwork",
                                             "spec.template.spec.containers[1].resources"}));
  // Gateways of another class are stored only.
  EXPECT_EQ(CheckSupport(One(R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ingress}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
)")).size(), 1u);
  EXPECT_TRUE(CheckSupport(One(R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
)")).empty());
}

TEST(SupportTable, MeshConfigFieldsNotEnforcedAreNamed) {
  auto warnings = CheckSupport(One(R"(apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    discoverySelectors: [{matchLabels: {team: a}}]
    accessLogFile: /dev/stdout
    enableTracing: true
  meshNetworks: "networks: {}"
  ambit: "waypointFailClosed: true"
)"));
  std::vector<std::string> paths;
  for (const auto& w : warnings) paths.push_back(w.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"data.meshNetworks", "data.mesh.accessLogFile",
                                             "data.mesh.enableTracing"}));
}

TEST(KindNames, KubectlNames) {
  EXPECT_EQ(FindKindName("vs")->kind, "VirtualService");
  EXPECT_EQ(FindKindName("virtualservices")->kind, "VirtualService");
  EXPECT_EQ(FindKindName("VirtualService")->kind, "VirtualService");
  EXPECT_EQ(FindKindName("virtualservices.networking.istio.io")->kind, "VirtualService");
  EXPECT_EQ(FindKindName("ap")->kind, "AuthorizationPolicy");
  EXPECT_EQ(FindKindName("pa")->kind, "PeerAuthentication");
  EXPECT_EQ(FindKindName("ra")->kind, "RequestAuthentication");
  EXPECT_EQ(FindKindName("dr")->kind, "DestinationRule");
  EXPECT_EQ(FindKindName("se")->kind, "ServiceEntry");
  EXPECT_EQ(FindKindName("gtw")->kind, "Gateway");
  EXPECT_EQ(FindKindName("cm")->kind, "ConfigMap");
  EXPECT_EQ(FindKindName("po")->kind, "Pod");
  EXPECT_EQ(FindKindName("httproute")->kind, "HTTPRoute");
  EXPECT_EQ(FindKindName("gw"), nullptr);  // Istio's networking Gateway, not stored
  // Every kind the parser accepts has names.
  for (const auto& k : internal::Kinds()) EXPECT_NE(FindKindName(k.kind), nullptr) << k.kind;
}

TEST(Analysis, NoMatchingWorkloads) {
  auto store = Store(R"(apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: good, namespace: shop}
spec: {selector: {matchLabels: {app: web}}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: typo, namespace: shop}
spec: {selector: {matchLabels: {app: wbe, tier: front}}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: root, namespace: istio-system}
spec: {selector: {matchLabels: {app: web}}, mtls: {mode: STRICT}}
)");
  EXPECT_EQ(Texts(Analyze(store, {})),
            (std::vector<std::string>{"Warning [IST0127] (AuthorizationPolicy shop/typo) No matching "
                                      "workloads for this resource with the following labels: app=wbe,tier=front"}));
}

TEST(Analysis, ReferencedResourceNotFound) {
  auto store = Store(R"(apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/use-waypoint: missing}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, labels: {istio.io/use-waypoint: wp, istio.io/use-waypoint-namespace: infra}}
spec: {selector: {app: web}, ports: [{name: http, port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: wp, namespace: shop}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap, namespace: shop}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: Gateway, name: wp}
  - {group: "", kind: Service, name: nope}
)");
  EXPECT_EQ(Texts(Analyze(store, {})),
            (std::vector<std::string>{
                "Error [IST0101] (AuthorizationPolicy shop/ap) Referenced Service not found: \"shop/nope\"",
                "Error [IST0101] (Namespace shop) Referenced waypoint not found: \"shop/missing\"",
                "Error [IST0101] (Service shop/web) Referenced waypoint not found: \"infra/wp\"",
            }));
}

TEST(Analysis, PortNamingRevisionsScopeAndTrustDomain) {
  auto store = Store(R"(apiVersion: v1
kind: Namespace
metadata: {name: old, labels: {istio.io/rev: canary}}
---
apiVersion: v1
kind: Namespace
metadata: {name: outside, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: inside, labels: {istio.io/dataplane-mode: ambient, team: a}}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: inside, labels: {istio.io/rev: blue}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: inside}
spec:
  ports:
  - {name: web, port: 80, targetPort: 8080}
  - {name: http-alt, port: 81}
  - {name: data, port: 82, appProtocol: http}
---
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    discoverySelectors: [{matchLabels: {team: a}}]
    trustDomain: example.org
)");
  EXPECT_EQ(Texts(Analyze(store, {"default", "cluster.local"})),
            (std::vector<std::string>{
                "Warning [AMB0003] (ConfigMap istio-system/istio) meshConfig.trustDomain \"example.org\" "
                "differs from the CA's trust domain \"cluster.local\"; workload identities and "
                "certificates keep \"cluster.local\"",
                "Warning [AMB0001] (Namespace old) istio.io/rev=canary names a revision this control "
                "plane does not serve (it serves \"default\"): the namespace is not managed; its pods "
                "are not captured and its workloads and services are not published",
                "Warning [AMB0002] (Namespace outside) The namespace is labelled "
                "istio.io/dataplane-mode=ambient but is outside meshConfig.discoverySelectors: its "
                "pods are not captured and its workloads and services are not published",
                "Warning [AMB0001] (Pod inside/p) istio.io/rev=blue names a revision this control plane "
                "does not serve (it serves \"default\"): the pod is not captured",
                "Info [IST0118] (Service inside/svc) Port name web (port: 80, targetPort: 8080) doesn't "
                "follow the naming convention of Istio port.",
            }));
}

}  // namespace
}  // namespace ambit::config
