// Policy lowering (model/authorization.h) and who receives what
// (model/policy_audience.h), from YAML as users write it.
#include "model/authorization.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include "authz/compiled_policy.h"
#include "config/diagnostic.h"
#include "config/parse.h"
#include "model/ambient_model.h"

namespace ambit::model {
namespace {

namespace pb = istio::security;
using ::testing::HasSubstr;

constexpr std::string_view kBase = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: bank, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec: {nodeName: node1, containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, namespace: shop, labels: {app: db}}
spec: {nodeName: node2, containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: bank, labels: {app: web}}
spec: {nodeName: node2, containers: [{name: c, image: i}]}
)";

class PolicyTest : public ::testing::Test {
 protected:
  // Adds the resources of |yaml| (which must parse without errors).
  void Load(std::string_view yaml) {
    config::ParseResult parsed = config::ParseManifests(yaml, "t.yaml");
    ASSERT_TRUE(parsed.ok()) << config::FormatDiagnostics(parsed.diagnostics);
    for (auto& r : parsed.resources) resources_.push_back(std::move(r));
  }

  AmbientInput Input() {
    AmbientInput in;
    in.mesh = mesh_;
    int ip = 10;
    for (const config::Resource& r : resources_) {
      if (const auto* ns = std::get_if<config::Namespace>(&r)) in.namespaces.push_back(ns);
      if (const auto* pod = std::get_if<config::Pod>(&r)) {
        in.pods.push_back({pod, PodRuntime{"10.1.0." + std::to_string(ip++), "",
                                           PodPhase::kRunning, true}});
      }
      if (const auto* svc = std::get_if<config::Service>(&r)) {
        in.services.push_back({svc, "10.96.0." + std::to_string(ip++)});
      }
      if (const auto* gw = std::get_if<config::Gateway>(&r)) in.gateways.push_back(gw);
      if (const auto* ap = std::get_if<config::AuthorizationPolicy>(&r)) {
        in.authorization_policies.push_back(ap);
      }
      if (const auto* pa = std::get_if<config::PeerAuthentication>(&r)) {
        in.peer_authentications.push_back(pa);
      }
    }
    return in;
  }

  AmbientModel Build() { return BuildAmbientModel(Input()); }

  static const pb::Authorization& Policy(const AmbientModel& m, const std::string& key) {
    static const pb::Authorization kMissing;
    auto it = m.authorization.resources.find(key);
    EXPECT_NE(it, m.authorization.resources.end()) << key << " is not published";
    return it == m.authorization.resources.end() ? kMissing : it->second;
  }
  static const istio::workload::Workload& Workload(const AmbientModel& m, const std::string& ns,
                                                   const std::string& pod) {
    return m.addresses.resources.at("Kubernetes//Pod/" + ns + "/" + pod).workload();
  }
  static std::vector<std::string> Keys(const AmbientModel& m, const std::string& ns,
                                       const std::string& pod) {
    const auto& list = Workload(m, ns, pod).authorization_policies();
    return {list.begin(), list.end()};
  }
  static std::string Warnings(const AmbientModel& m) {
    std::string out;
    for (const auto& w : m.authorization.warnings) out += w.ToString() + "\n";
    return out;
  }
  static pb::Authorization Text(const std::string& text) {
    pb::Authorization out;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &out)) << text;
    return out;
  }
  static void ExpectEq(const pb::Authorization& got, const std::string& want) {
    pb::Authorization expected = Text(want);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, expected))
        << "got:\n" << got.DebugString() << "want:\n" << expected.DebugString();
  }
  // Whether the compiled form of |key| matches a connection.
  static bool Matches(const AmbientModel& m, const std::string& key, const authz::Connection& c) {
    auto compiled = authz::CompiledPolicy::Compile(Policy(m, key));
    EXPECT_TRUE(compiled.ok()) << compiled.error().ToString();
    return compiled.ok() && compiled->Matches(c);
  }
  static authz::Connection Conn(const char* src, const char* dst, uint16_t port,
                                std::optional<authz::Peer> peer) {
    authz::Connection c;
    c.source_ip = net::IpAddress::Parse(src).value();
    c.destination_ip = net::IpAddress::Parse(dst).value();
    c.destination_port = port;
    c.peer = std::move(peer);
    return c;
  }
  static authz::Peer PeerOf(const std::string& ns, const std::string& sa) {
    return authz::Peer{"cluster.local/ns/" + ns + "/sa/" + sa, ns, sa};
  }

  MeshSettings mesh_;
  std::deque<config::Resource> resources_;
};

TEST_F(PolicyTest, ScopeFollowsNamespaceAndSelector) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh-deny, namespace: istio-system}
spec: {action: DENY, rules: [{from: [{source: {notNamespaces: [shop, bank]}}]}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: shop-allow, namespace: shop}
spec: {rules: [{from: [{source: {namespaces: [shop]}}]}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: web-only, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  rules: [{to: [{operation: {ports: ["8080"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: all-webs, namespace: istio-system}
spec:
  selector: {matchLabels: {app: web}}
  action: DENY
  rules: [{to: [{operation: {ports: ["22"]}}]}]
)");
  AmbientModel m = Build();
  EXPECT_EQ(Policy(m, "istio-system/mesh-deny").scope(), pb::GLOBAL);
  EXPECT_EQ(Policy(m, "shop/shop-allow").scope(), pb::NAMESPACE);
  EXPECT_EQ(Policy(m, "shop/web-only").scope(), pb::WORKLOAD_SELECTOR);
  EXPECT_EQ(Policy(m, "istio-system/all-webs").scope(), pb::WORKLOAD_SELECTOR);
  EXPECT_EQ(Policy(m, "istio-system/mesh-deny").action(), pb::DENY);
  EXPECT_EQ(Policy(m, "shop/shop-allow").action(), pb::ALLOW);
  // Selector policies are listed on matching workloads of their namespace; a
  // root-namespace selector matches in every namespace.
  EXPECT_EQ(Keys(m, "shop", "web-1"),
            (std::vector<std::string>{"istio-system/all-webs", "shop/web-only"}));
  EXPECT_EQ(Keys(m, "bank", "web-1"), std::vector<std::string>{"istio-system/all-webs"});
  EXPECT_TRUE(Keys(m, "shop", "db-1").empty());
  EXPECT_EQ(Warnings(m), "");
}

TEST_F(PolicyTest, RootNamespaceIsConfigurable) {
  mesh_.root_namespace = "mesh-root";
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: a, namespace: mesh-root}
spec: {rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: b, namespace: istio-system}
spec: {rules: [{}]}
)");
  AmbientModel m = Build();
  EXPECT_EQ(Policy(m, "mesh-root/a").scope(), pb::GLOBAL);
  EXPECT_EQ(Policy(m, "istio-system/b").scope(), pb::NAMESPACE);
}

TEST_F(PolicyTest, SourceFieldsBecomeOneMatchPerSource) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/shop/sa/curl", "*", "cluster.local/*", "*/sa/admin", "*a*"]
        notPrincipals: ["cluster.local/ns/shop/sa/bad"]
    - source: {namespaces: [shop, "te*"], notNamespaces: ["*-dev"]}
    - source: {ipBlocks: ["10.0.0.0/8", "10.1.2.3", "2001:db8::/32", "::1"], notIpBlocks: ["10.9.0.0/16"]}
    - source: {serviceAccounts: [curl, "bank/teller"], notServiceAccounts: [bot]}
)");
  AmbientModel m = Build();
  ExpectEq(Policy(m, "shop/p"), R"pb(
    name: "p" namespace: "shop" scope: NAMESPACE action: ALLOW
    rules { clauses {
      matches {
        principals { exact: "cluster.local/ns/shop/sa/curl" }
        principals { presence {} }
        principals { prefix: "cluster.local/" }
        principals { suffix: "/sa/admin" }
        principals { suffix: "a*" }
        not_principals { exact: "cluster.local/ns/shop/sa/bad" }
      }
      matches { namespaces { exact: "shop" } namespaces { prefix: "te" } not_namespaces { suffix: "-dev" } }
      matches {
        source_ips { address: "\n\000\000\000" length: 8 }
        source_ips { address: "\n\001\002\003" length: 32 }
        source_ips { address: " \001\r\270\000\000\000\000\000\000\000\000\000\000\000\000" length: 32 }
        source_ips { address: "\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\001" length: 128 }
        not_source_ips { address: "\n\t\000\000" length: 16 }
      }
      matches {
        service_accounts { namespace: "shop" serviceAccount: "curl" }
        service_accounts { namespace: "bank" serviceAccount: "teller" }
        not_service_accounts { namespace: "shop" serviceAccount: "bot" }
      }
    } })pb");
  const char* web = "10.1.0.10";
  EXPECT_TRUE(Matches(m, "shop/p", Conn("10.200.0.1", web, 80, PeerOf("bank", "teller"))));
  EXPECT_TRUE(Matches(m, "shop/p", Conn("10.3.0.1", web, 80, std::nullopt)));  // ipBlocks
  EXPECT_FALSE(Matches(m, "shop/p", Conn("10.9.0.1", web, 80, std::nullopt)));  // notIpBlocks
  EXPECT_FALSE(Matches(m, "shop/p", Conn("192.168.0.1", web, 80, std::nullopt)));
  EXPECT_EQ(Warnings(m), "");
}

TEST_F(PolicyTest, OperationsAndConditionsBecomeClausesInIstioOrder) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
  - to: [{operation: {ports: ["80", "443"]}}, {operation: {notPorts: ["22"]}}]
    from: [{source: {namespaces: [shop]}}]
    when:
    - {key: source.ip, values: ["10.0.0.0/8"], notValues: ["10.0.0.1"]}
    - {key: source.namespace, values: ["sh*"], notValues: [bank]}
    - {key: source.principal, values: ["*"], notValues: ["cluster.local/ns/shop/sa/bot"]}
    - {key: destination.ip, values: ["10.1.0.10"], notValues: ["fd00::/8"]}
    - {key: destination.port, values: ["8080"], notValues: ["9090"]}
)");
  AmbientModel m = Build();
  ExpectEq(Policy(m, "shop/p"), R"pb(
    name: "p" namespace: "shop" scope: NAMESPACE action: ALLOW
    rules {
      clauses { matches { destination_ports: [80, 443] } matches { not_destination_ports: 22 } }
      clauses { matches { namespaces { exact: "shop" } } }
      clauses { matches { source_ips { address: "\n\000\000\000" length: 8 }
                          not_source_ips { address: "\n\000\000\001" length: 32 } } }
      clauses { matches { namespaces { prefix: "sh" } not_namespaces { exact: "bank" } } }
      clauses { matches { principals { presence {} }
                          not_principals { exact: "cluster.local/ns/shop/sa/bot" } } }
      clauses { matches { destination_ips { address: "\n\001\000\n" length: 32 }
                          not_destination_ips { address: "\375\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000" length: 8 } } }
      clauses { matches { destination_ports: 8080 not_destination_ports: 9090 } }
    })pb");
}

TEST_F(PolicyTest, EmptyRuleMatchesEverythingAndNoRulesMatchNothing) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-all, namespace: shop}
spec: {rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: shop}
spec: {}
)");
  AmbientModel m = Build();
  auto c = Conn("10.2.0.1", "10.1.0.10", 80, std::nullopt);
  EXPECT_TRUE(Matches(m, "shop/allow-all", c));
  EXPECT_FALSE(Matches(m, "shop/allow-nothing", c));
  EXPECT_EQ(Warnings(m), "");  // both are what the user wrote
}

TEST_F(PolicyTest, AllowRuleWithHttpAttributesIsDroppedAndCanLeaveDenyAll) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: get-only, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  rules:
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/curl"]}}]
    to: [{operation: {methods: [GET], paths: ["/api/*"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mixed, namespace: shop}
spec:
  selector: {matchLabels: {app: db}}
  rules:
  - from: [{source: {requestPrincipals: ["*"]}}]
  - from: [{source: {namespaces: [shop]}}]
  - when: [{key: "request.headers[x-user]", values: [admin]}]
)");
  AmbientModel m = Build();
  EXPECT_EQ(Policy(m, "shop/get-only").rules_size(), 0);
  EXPECT_FALSE(Matches(m, "shop/get-only",
                       Conn("10.2.0.1", "10.1.0.10", 80, PeerOf("shop", "curl"))));
  ASSERT_EQ(Policy(m, "shop/mixed").rules_size(), 1);  // only the L4 rule is left
  EXPECT_TRUE(Matches(m, "shop/mixed", Conn("10.2.0.1", "10.1.0.11", 80, PeerOf("shop", "x"))));
  std::string w = Warnings(m);
  EXPECT_THAT(w, HasSubstr("AuthorizationPolicy shop/get-only: rules[0] is left out: ztunnel cannot "
                           "check HTTP attributes (to[0].operation.methods, to[0].operation.paths)"));
  EXPECT_THAT(w, HasSubstr("AuthorizationPolicy shop/get-only: no rule is left, so this ALLOW "
                           "policy matches nothing: it denies all traffic"));
  EXPECT_THAT(w, HasSubstr("shop/mixed: rules[0] is left out: ztunnel cannot check HTTP attributes "
                           "(from[0].source.requestPrincipals)"));
  EXPECT_THAT(w, HasSubstr("shop/mixed: rules[2] is left out: ztunnel cannot check HTTP attributes "
                           "(when[0] (key 'request.headers[x-user]'))"));
  EXPECT_THAT(w, ::testing::Not(HasSubstr("mixed: no rule is left")));
}

TEST_F(PolicyTest, DenyRuleKeepsItsL4PartsAndHttpOnlyDenyHasNoEffect) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-delete, namespace: shop}
spec:
  action: DENY
  rules:
  - from: [{source: {namespaces: [bank]}}]
    to: [{operation: {ports: ["8080"], methods: [DELETE]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: http-only, namespace: shop}
spec:
  action: DENY
  rules:
  - to: [{operation: {paths: ["/admin"]}}]
  - when: [{key: connection.sni, values: [x.example]}, {key: source.namespace, values: [bank]}]
)");
  AmbientModel m = Build();
  // Methods left out: all of bank's traffic to 8080 is denied.
  EXPECT_TRUE(Matches(m, "shop/no-delete", Conn("10.2.0.1", "10.1.0.10", 8080, PeerOf("bank", "a"))));
  EXPECT_FALSE(Matches(m, "shop/no-delete", Conn("10.2.0.1", "10.1.0.10", 80, PeerOf("bank", "a"))));
  // An HTTP-only clause leaves the rule unable to match (istiod's empty match).
  ExpectEq(Policy(m, "shop/http-only"), R"pb(
    name: "http-only" namespace: "shop" scope: NAMESPACE action: DENY
    rules { clauses { matches {} } }
    rules { clauses { matches {} } clauses { matches { namespaces { exact: "bank" } } } })pb");
  EXPECT_FALSE(Matches(m, "shop/http-only", Conn("10.2.0.1", "10.1.0.10", 80, PeerOf("bank", "a"))));
  std::string w = Warnings(m);
  EXPECT_THAT(w, HasSubstr("shop/no-delete: rules[0]: ztunnel cannot check HTTP attributes "
                           "(to[0].operation.methods); they are left out and the rest is enforced, "
                           "so this DENY rule denies more than written"));
  EXPECT_THAT(w, HasSubstr("shop/http-only: rules[0] has no effect: ztunnel cannot check HTTP "
                           "attributes (to[0].operation.paths) and then to has nothing left to match"));
  EXPECT_THAT(w, HasSubstr("shop/http-only: rules[1] has no effect: ztunnel cannot check HTTP "
                           "attributes (when[0] (key 'connection.sni')) and then when[0] has nothing"));
  EXPECT_THAT(w, HasSubstr("shop/http-only: no rule can match at ztunnel: this DENY policy has no effect"));
}

TEST_F(PolicyTest, AuditAndCustomAreNotPublished) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: audit, namespace: shop}
spec: {action: AUDIT, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: shop}
spec: {action: CUSTOM, provider: {name: opa}, rules: [{}]}
)");
  AmbientModel m = Build();
  EXPECT_TRUE(m.authorization.resources.empty());
  std::string w = Warnings(m);
  EXPECT_THAT(w, HasSubstr("AuthorizationPolicy shop/audit: action AUDIT is not supported"));
  EXPECT_THAT(w, HasSubstr("AuthorizationPolicy shop/ext: action CUSTOM is not supported"));
}

TEST_F(PolicyTest, DryRunAnnotation) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: trial, namespace: shop, annotations: {istio.io/dry-run: "true"}}
spec: {action: DENY, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: typo, namespace: shop, annotations: {istio.io/dry-run: "yes"}}
spec: {action: DENY, rules: [{}]}
)");
  AmbientModel m = Build();
  EXPECT_TRUE(Policy(m, "shop/trial").dry_run());
  EXPECT_FALSE(Policy(m, "shop/typo").dry_run());
  EXPECT_THAT(Warnings(m), HasSubstr("shop/typo: annotation istio.io/dry-run: 'yes' is not a boolean"));
}

TEST_F(PolicyTest, SelectorWithoutLabelsSelectsNothingAndSpiffePrincipalsAreFlagged) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: empty-sel, namespace: shop}
spec:
  selector: {}
  rules: [{from: [{source: {principals: ["spiffe://cluster.local/ns/shop/sa/curl"]}}]}]
)");
  AmbientModel m = Build();
  EXPECT_EQ(Policy(m, "shop/empty-sel").scope(), pb::WORKLOAD_SELECTOR);
  EXPECT_TRUE(Keys(m, "shop", "web-1").empty());
  std::string w = Warnings(m);
  EXPECT_THAT(w, HasSubstr("shop/empty-sel: selector has no matchLabels"));
  EXPECT_THAT(w, HasSubstr("rules[0].from[0].source.principals: "
                           "'spiffe://cluster.local/ns/shop/sa/curl' never matches"));
}

constexpr std::string_view kWaypoint = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: v1
kind: Pod
metadata:
  name: waypoint-abc
  namespace: shop
  labels: {gateway.networking.k8s.io/gateway-name: waypoint, istio.io/dataplane-mode: none, app: web}
spec: {nodeName: node2, containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: shop, labels: {app: web2, istio.io/use-waypoint: waypoint}}
spec: {nodeName: node1, containers: [{name: c, image: i}]}
)";

TEST_F(PolicyTest, WaypointTargetRefsAreListedOnTheWaypointsOwnWorkloads) {
  Load(kBase);
  Load(kWaypoint);
  Load(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: via-waypoint, namespace: shop}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  rules: [{from: [{source: {namespaces: [shop]}}], to: [{operation: {ports: ["80"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: webs, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  rules: [{}]
)");
  AmbientModel m = Build();
  const pb::Authorization& p = Policy(m, "shop/via-waypoint");
  EXPECT_EQ(p.scope(), pb::WORKLOAD_SELECTOR);
  EXPECT_EQ(p.rules_size(), 1);
  // The waypoint's pod lists exactly the policies targeting it (not the
  // selector policy its labels happen to match); nobody else lists it.
  EXPECT_EQ(Keys(m, "shop", "waypoint-abc"), std::vector<std::string>{"shop/via-waypoint"});
  EXPECT_EQ(Keys(m, "shop", "web-1"), std::vector<std::string>{"shop/webs"});
  EXPECT_THAT(Warnings(m), HasSubstr("AuthorizationPolicy shop/webs: selector matches the pods of "
                                     "waypoint shop/waypoint, which ignore selector policies"));
  // Fail-closed marking on what is bound to the waypoint.
  const auto& svc = m.addresses.resources.at("shop/web.shop.svc.cluster.local").service();
  ASSERT_EQ(svc.extensions_size(), 1);
  EXPECT_EQ(svc.extensions(0).name(), "ambit.io/waypoint-required");
  EXPECT_FALSE(svc.extensions(0).has_config());
  // web-2 is bound through its own label, but the waypoint takes service
  // traffic only (the default): no workload binding, no marking.
  EXPECT_FALSE(Workload(m, "shop", "web-2").has_waypoint());
  EXPECT_EQ(Workload(m, "shop", "web-2").extensions_size(), 0);
  // Who receives it: the waypoint only.
  EXPECT_EQ(m.audience.ForWaypoint("shop", "waypoint"), std::set<std::string>{"shop/via-waypoint"});
  EXPECT_FALSE(m.audience.ForNode("node1").contains("shop/via-waypoint"));
  EXPECT_FALSE(m.audience.ForNode("node2").contains("shop/via-waypoint"));
  EXPECT_TRUE(m.audience.Visible("node2", "shop", "waypoint", "shop/via-waypoint"));
  EXPECT_FALSE(m.audience.Visible("node2", "istio-system", "ztunnel-node2", "shop/via-waypoint"));
}

TEST_F(PolicyTest, WaypointMarkingFollowsTheSettingAndIgnoresDryRun) {
  Load(kBase);
  Load(kWaypoint);
  Load(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: trial, namespace: shop, annotations: {istio.io/dry-run: "true"}}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  rules: [{}]
)");
  AmbientModel dry = Build();
  EXPECT_EQ(dry.addresses.resources.at("shop/web.shop.svc.cluster.local").service().extensions_size(), 0);
  EXPECT_EQ(Keys(dry, "shop", "waypoint-abc"), std::vector<std::string>{"shop/trial"});

  Load(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: real, namespace: shop}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  action: DENY
  rules: [{from: [{source: {namespaces: [bank]}}]}]
)");
  AmbientModel on = Build();
  EXPECT_EQ(on.addresses.resources.at("shop/web.shop.svc.cluster.local").service().extensions_size(), 1);
  mesh_.waypoint_fail_closed = false;
  AmbientModel off = Build();
  EXPECT_EQ(off.addresses.resources.at("shop/web.shop.svc.cluster.local").service().extensions_size(), 0);
  // The binding itself does not depend on the waypoint having a ready pod.
  EXPECT_TRUE(off.addresses.resources.at("shop/web.shop.svc.cluster.local").service().has_waypoint());
}

TEST_F(PolicyTest, WorkloadBoundWaypointMarksTheWorkload) {
  Load(kBase);
  Load(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: wp, namespace: shop, labels: {istio.io/waypoint-for: all}}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: v1
kind: Pod
metadata: {name: api-1, namespace: shop, labels: {app: api, istio.io/use-waypoint: wp}}
spec: {nodeName: node1, containers: [{name: c, image: i}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: wp}
  rules: [{}]
)");
  AmbientModel m = Build();
  const auto& w = Workload(m, "shop", "api-1");
  ASSERT_TRUE(w.has_waypoint());
  ASSERT_EQ(w.extensions_size(), 1);
  EXPECT_EQ(w.extensions(0).name(), kWaypointRequiredExtension);
  EXPECT_EQ(Workload(m, "shop", "web-1").extensions_size(), 0);  // not bound
}

TEST_F(PolicyTest, OtherTargetRefsAreNotEnforcedAndSaySo) {
  Load(kBase);
  Load(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ingress, namespace: shop}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: svc, namespace: shop}
spec:
  targetRefs:
  - {kind: Service, group: "", name: web}
  - {kind: Gateway, group: gateway.networking.k8s.io, name: ingress}
  - {kind: Gateway, group: gateway.networking.k8s.io, name: other, namespace: bank}
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: future, namespace: shop}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: later}]
  rules: [{}]
)");
  AmbientModel m = Build();
  EXPECT_FALSE(m.authorization.resources.contains("shop/svc"));
  EXPECT_TRUE(m.authorization.resources.contains("shop/future"));
  EXPECT_TRUE(Keys(m, "shop", "web-1").empty());
  std::string w = Warnings(m);
  EXPECT_THAT(w, HasSubstr("shop/svc: targetRefs[0]: a policy attached to a Service (web) is not "
                           "enforced yet"));
  EXPECT_THAT(w, HasSubstr("shop/svc: targetRefs[1]: Gateway shop/ingress has class 'istio', not "
                           "istio-waypoint"));
  EXPECT_THAT(w, HasSubstr("shop/svc: targetRefs[2]: Gateway bank/other is in another namespace"));
  EXPECT_THAT(w, HasSubstr("shop/future: targetRefs[0]: Gateway shop/later does not exist (yet)"));
}

// ---- PeerAuthentication ----

const char* kStatic = "istio-system/istio_converted_static_strict";

TEST_F(PolicyTest, NoPeerAuthenticationPublishesNothing) {
  Load(kBase);
  AmbientModel m = Build();
  EXPECT_TRUE(m.authorization.resources.empty());
  EXPECT_TRUE(Keys(m, "shop", "web-1").empty());
}

TEST_F(PolicyTest, StrictNamespaceListsTheStaticStrictPolicy) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: STRICT}}
)");
  AmbientModel m = Build();
  ExpectEq(Policy(m, kStatic), R"pb(
    name: "istio_converted_static_strict" namespace: "istio-system"
    scope: WORKLOAD_SELECTOR action: DENY
    rules { clauses { matches { not_principals { presence {} } } } })pb");
  EXPECT_EQ(Keys(m, "shop", "web-1"), std::vector<std::string>{kStatic});
  EXPECT_EQ(Keys(m, "shop", "db-1"), std::vector<std::string>{kStatic});
  EXPECT_TRUE(Keys(m, "bank", "web-1").empty());
  EXPECT_TRUE(Matches(m, kStatic, Conn("10.2.0.1", "10.1.0.10", 80, std::nullopt)));
  EXPECT_FALSE(Matches(m, kStatic, Conn("10.2.0.1", "10.1.0.10", 80, PeerOf("bank", "a"))));
}

TEST_F(PolicyTest, PeerAuthenticationPrecedenceAndInheritance) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: mesh, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: shop, namespace: shop}
spec: {mtls: {mode: UNSET}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: db, namespace: shop}
spec: {selector: {matchLabels: {app: db}}, mtls: {mode: PERMISSIVE}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: bank, namespace: bank}
spec: {mtls: {mode: DISABLE}}
)");
  AmbientModel m = Build();
  EXPECT_EQ(Keys(m, "shop", "web-1"), std::vector<std::string>{kStatic});  // UNSET inherits mesh
  EXPECT_TRUE(Keys(m, "shop", "db-1").empty());                            // workload wins
  EXPECT_TRUE(Keys(m, "bank", "web-1").empty());  // namespace DISABLE = PERMISSIVE
  EXPECT_THAT(Warnings(m), HasSubstr("PeerAuthentication bank/bank: mode DISABLE: ambient traffic "
                                     "between ztunnels is always mTLS (HBONE); DISABLE acts as "
                                     "PERMISSIVE"));
}

TEST_F(PolicyTest, WorkloadStrictOverridesPermissiveNamespaceAndOldestWins) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ns, namespace: shop}
spec: {mtls: {mode: PERMISSIVE}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: b-web, namespace: shop, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {selector: {matchLabels: {app: web}}, mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: a-web, namespace: shop, creationTimestamp: "2024-02-01T00:00:00Z"}
spec: {selector: {matchLabels: {app: web}}, mtls: {mode: PERMISSIVE}}
)");
  AmbientModel m = Build();
  EXPECT_EQ(Keys(m, "shop", "web-1"), std::vector<std::string>{kStatic});  // b-web is older
  EXPECT_TRUE(Keys(m, "shop", "db-1").empty());
  EXPECT_THAT(Warnings(m), HasSubstr("PeerAuthentication shop/a-web: ignored for pod web-1: "
                                     "shop/b-web also selects it and is older"));
}

TEST_F(PolicyTest, StrictWorkloadWithPermissivePortIsConverted) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  mtls: {mode: STRICT}
  portLevelMtls: {9090: {mode: PERMISSIVE}, 9091: {mode: DISABLE}, 8443: {mode: STRICT}}
)");
  AmbientModel m = Build();
  const std::string key = "shop/converted_peer_authentication_web";
  ExpectEq(Policy(m, key), R"pb(
    name: "converted_peer_authentication_web" namespace: "shop"
    scope: WORKLOAD_SELECTOR action: DENY
    rules {
      clauses { matches { not_principals { presence {} } } }
      clauses { matches { not_destination_ports: 9090 } }
      clauses { matches { not_destination_ports: 9091 } }
    })pb");
  EXPECT_EQ(Keys(m, "shop", "web-1"), std::vector<std::string>{key});  // instead of the static one
  EXPECT_TRUE(Matches(m, key, Conn("10.2.0.1", "10.1.0.10", 8080, std::nullopt)));
  EXPECT_FALSE(Matches(m, key, Conn("10.2.0.1", "10.1.0.10", 9090, std::nullopt)));
  EXPECT_FALSE(Matches(m, key, Conn("10.2.0.1", "10.1.0.10", 8080, PeerOf("shop", "a"))));
  EXPECT_THAT(Warnings(m), HasSubstr("portLevelMtls 9091: mode DISABLE acts as PERMISSIVE"));
}

TEST_F(PolicyTest, PermissiveWorkloadWithStrictPortsIsConverted) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: mesh, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  mtls: {mode: PERMISSIVE}
  portLevelMtls: {8443: {mode: STRICT}, 9443: {mode: STRICT}, 80: {mode: PERMISSIVE}}
)");
  AmbientModel m = Build();
  const std::string key = "shop/converted_peer_authentication_web";
  ExpectEq(Policy(m, key), R"pb(
    name: "converted_peer_authentication_web" namespace: "shop"
    scope: WORKLOAD_SELECTOR action: DENY
    rules { clauses { matches { not_principals { presence {} } destination_ports: 8443 } } }
    rules { clauses { matches { not_principals { presence {} } destination_ports: 9443 } } })pb");
  EXPECT_EQ(Keys(m, "shop", "web-1"), std::vector<std::string>{key});
  EXPECT_EQ(Keys(m, "shop", "db-1"), std::vector<std::string>{kStatic});  // mesh STRICT
  EXPECT_TRUE(Matches(m, key, Conn("10.2.0.1", "10.1.0.10", 8443, std::nullopt)));
  EXPECT_FALSE(Matches(m, key, Conn("10.2.0.1", "10.1.0.10", 80, std::nullopt)));
}

TEST_F(PolicyTest, UnsetWorkloadPortsFollowTheInheritedMode) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: shop, namespace: shop}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  portLevelMtls: {9090: {mode: PERMISSIVE}, 8443: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: db, namespace: shop}
spec:
  selector: {matchLabels: {app: db}}
  portLevelMtls: {5432: {mode: STRICT}}
)");
  AmbientModel m = Build();
  ExpectEq(Policy(m, "shop/converted_peer_authentication_web"), R"pb(
    name: "converted_peer_authentication_web" namespace: "shop"
    scope: WORKLOAD_SELECTOR action: DENY
    rules {
      clauses { matches { not_principals { presence {} } } }
      clauses { matches { not_destination_ports: 9090 } }
    })pb");
  EXPECT_EQ(Keys(m, "shop", "web-1"),
            std::vector<std::string>{"shop/converted_peer_authentication_web"});
  // All of db's ports are STRICT anyway: the static policy, nothing converted.
  EXPECT_FALSE(m.authorization.resources.contains("shop/converted_peer_authentication_db"));
  EXPECT_EQ(Keys(m, "shop", "db-1"), std::vector<std::string>{kStatic});
}

TEST_F(PolicyTest, RootNamespaceSelectorPeerAuthenticationIsIgnored) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: webs, namespace: istio-system}
spec:
  selector: {matchLabels: {app: web}}
  mtls: {mode: STRICT}
  portLevelMtls: {9090: {mode: PERMISSIVE}}
)");
  AmbientModel m = Build();
  EXPECT_TRUE(Keys(m, "shop", "web-1").empty());
  EXPECT_EQ(m.authorization.resources.size(), 1u);  // only the static policy
  EXPECT_THAT(Warnings(m), HasSubstr("PeerAuthentication istio-system/webs: ignored: in ambient "
                                     "mode a PeerAuthentication with a selector in the root "
                                     "namespace (istio-system) applies to no workload, and its "
                                     "portLevelMtls is not used"));
}

// ---- Audience ----

TEST_F(PolicyTest, EachNodeReceivesGlobalItsNamespacesAndItsWorkloadsPolicies) {
  Load(kBase);
  Load(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: global, namespace: istio-system}
spec: {action: DENY, rules: [{to: [{operation: {ports: ["23"]}}]}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: bank-ns, namespace: bank}
spec: {rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: db, namespace: shop}
spec: {selector: {matchLabels: {app: db}}, rules: [{}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: empty}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: nobody, namespace: empty}
spec: {rules: [{}]}
)");
  AmbientModel m = Build();
  // node1: shop/web-1. node2: shop/db-1 and bank/web-1.
  EXPECT_EQ(m.audience.ForNode("node1"), std::set<std::string>{"istio-system/global"});
  EXPECT_EQ(m.audience.ForNode("node2"),
            (std::set<std::string>{"bank/bank-ns", "istio-system/global", "shop/db"}));
  EXPECT_EQ(m.audience.ForNode("node3"), std::set<std::string>{"istio-system/global"});
  EXPECT_TRUE(m.audience.Visible("node2", "istio-system", "ztunnel-node2", "shop/db"));
  EXPECT_FALSE(m.audience.Visible("node1", "istio-system", "ztunnel-node1", "shop/db"));
  EXPECT_FALSE(m.audience.Visible("node2", "istio-system", "ztunnel-node2", "empty/nobody"));
}

TEST_F(PolicyTest, EveryPublishedPolicyCompiles) {
  Load(kBase);
  Load(kWaypoint);
  Load(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: a, namespace: shop}
spec:
  action: DENY
  rules:
  - from: [{source: {ipBlocks: ["fd00::/8"], notPrincipals: ["*"]}}]
    to: [{operation: {notPorts: ["0", "65535"], hosts: [x]}}]
    when: [{key: destination.ip, values: ["::"]}, {key: request.auth.principal, values: [x]}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: web, namespace: shop}
spec: {selector: {matchLabels: {app: web}}, portLevelMtls: {1: {mode: STRICT}}}
)");
  AmbientModel m = Build();
  ASSERT_GE(m.authorization.resources.size(), 3u);
  for (const auto& [key, policy] : m.authorization.resources) {
    auto compiled = authz::CompiledPolicy::Compile(policy);
    EXPECT_TRUE(compiled.ok()) << key << ": " << compiled.error().ToString();
    EXPECT_EQ(key, policy.namespace_() + "/" + policy.name());
  }
}

}  // namespace
}  // namespace ambit::model
