// Lowering examples from Istio's tasks (https://istio.io/latest/docs/tasks/traffic-management/)
// and the Gateway API's GAMMA docs, matched end to end through the compiled table.
#include "route/lower.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "config/parse.h"
#include "route/table.h"

namespace ambit::route {
namespace {

struct Parsed {
  std::vector<config::VirtualService> vs;
  std::vector<config::DestinationRule> dr;
  std::vector<config::HttpRoute> hr;
  std::vector<config::GrpcRoute> gr;
};

Parsed Parse(const std::string& yaml) {
  auto r = config::ParseManifests(yaml, "test.yaml");
  EXPECT_TRUE(r.ok()) << config::FormatDiagnostics(r.diagnostics);
  Parsed p;
  for (auto& res : r.resources) {
    if (auto* v = std::get_if<config::VirtualService>(&res)) p.vs.push_back(*v);
    if (auto* d = std::get_if<config::DestinationRule>(&res)) p.dr.push_back(*d);
    if (auto* h = std::get_if<config::HttpRoute>(&res)) p.hr.push_back(*h);
    if (auto* g = std::get_if<config::GrpcRoute>(&res)) p.gr.push_back(*g);
  }
  return p;
}

class Headers : public HeaderLookup {
 public:
  Headers(std::initializer_list<std::pair<const std::string, std::string>> h) : h_(h) {}
  std::optional<std::string_view> Get(std::string_view name) const override {
    auto it = h_.find(std::string(name));
    return it == h_.end() ? std::nullopt : std::optional<std::string_view>(it->second);
  }

 private:
  std::map<std::string, std::string> h_;
};

RouteTable MustCompile(RouteRules rules) {
  auto t = Compile(std::move(rules));
  EXPECT_TRUE(t.ok()) << t.error().ToString();
  return std::move(t).value();
}

std::string Messages(const std::vector<config::Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds)
    out +=
        (d.severity == config::Severity::kError ? "E " : "W ") + d.path + ": " + d.message + "\n";
  return out;
}

const char kBookinfoRules[] = R"(
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: default}
spec:
  host: ratings
  subsets:
  - {name: v1, labels: {version: v1}}
)";

TEST(LowerVirtualServiceTest, RequestRoutingByEndUser) {
  // https://istio.io/latest/docs/tasks/traffic-management/request-routing/
  auto p = Parse(std::string(kBookinfoRules) + R"(
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts:
  - reviews
  http:
  - match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination:
        host: reviews
        subset: v2
  - route:
    - destination:
        host: reviews
        subset: v1
)");
  auto lowered = LowerVirtualServices(p.vs, p.dr);
  EXPECT_TRUE(lowered.diagnostics.empty()) << Messages(lowered.diagnostics);
  ASSERT_EQ(lowered.rules.routes.size(), 2u);
  EXPECT_EQ(lowered.rules.precedence, Precedence::kFirstMatch);
  EXPECT_EQ(lowered.rules.routes[0].name, "VirtualService default/reviews http[0]");
  EXPECT_EQ(lowered.rules.routes[0].hosts,
            std::vector<std::string>{"reviews.default.svc.cluster.local"});
  auto table = MustCompile(std::move(lowered.rules));

  Headers jason{{"end-user", "jason"}};
  Headers other{{"end-user", "ann"}};
  auto subset_for = [&](const HeaderLookup* h, std::string_view host) {
    const Route* r =
        table.Match({.host = host, .path = "/reviews/0", .method = "GET", .headers = h});
    if (r == nullptr) return std::string("<none>");
    const Backend* b = PickBackend(*r, 12345);
    return b->host + "/" + b->subset;
  };
  EXPECT_EQ(subset_for(&jason, "reviews.default.svc.cluster.local:9080"),
            "reviews.default.svc.cluster.local/v2");
  EXPECT_EQ(subset_for(&other, "reviews.default.svc.cluster.local"),
            "reviews.default.svc.cluster.local/v1");
  EXPECT_EQ(subset_for(nullptr, "reviews.default.svc.cluster.local"),
            "reviews.default.svc.cluster.local/v1");
  EXPECT_EQ(subset_for(&jason, "ratings.default.svc.cluster.local"), "<none>");
  // No retries given: Istio's default policy.
  ASSERT_TRUE(table.routes()[0].retry);
  EXPECT_EQ(table.routes()[0].retry->attempts, 2u);
  EXPECT_EQ(table.routes()[0].retry->codes, std::vector<uint16_t>{503});
}

TEST(LowerVirtualServiceTest, TrafficShifting90To10) {
  // https://istio.io/latest/docs/tasks/traffic-management/traffic-shifting/
  auto p = Parse(std::string(kBookinfoRules) + R"(
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts:
  - reviews
  http:
  - route:
    - destination:
        host: reviews
        subset: v1
      weight: 90
    - destination:
        host: reviews
        subset: v3
      weight: 10
)");
  auto lowered = LowerVirtualServices(p.vs, p.dr);
  EXPECT_TRUE(lowered.diagnostics.empty()) << Messages(lowered.diagnostics);
  auto table = MustCompile(std::move(lowered.rules));
  const Route* r =
      table.Match({.host = "reviews.default.svc.cluster.local", .path = "/", .method = "GET"});
  ASSERT_NE(r, nullptr);
  std::mt19937_64 rng(2024);
  std::map<std::string, int> n;
  for (int i = 0; i < 10000; ++i) n[PickBackend(*r, rng())->subset]++;
  // 3 sigma of binomial(10000, 0.1) is 90.
  EXPECT_NEAR(n["v1"], 9000, 90);
  EXPECT_NEAR(n["v3"], 1000, 90);
}

TEST(LowerVirtualServiceTest, FaultTimeoutRetriesRewriteMirror) {
  // Fault injection (https://istio.io/latest/docs/tasks/traffic-management/fault-injection/),
  // request timeouts and retries, rewrite and mirroring, on one VirtualService.
  auto p = Parse(std::string(kBookinfoRules) + R"(
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: default}
spec:
  hosts:
  - ratings
  http:
  - match:
    - headers:
        end-user:
          exact: jason
    fault:
      delay:
        percentage:
          value: 100.0
        fixedDelay: 7s
    route:
    - destination:
        host: ratings
        subset: v1
  - match:
    - uri:
        prefix: /abort
    fault:
      abort:
        percentage:
          value: 50
        httpStatus: 500
    route:
    - destination: {host: ratings, subset: v1}
  - match:
    - uri: {prefix: /v1/bookRatings}
      ignoreUriCase: true
    rewrite:
      uri: /ratings
      authority: ratings-internal
    timeout: 0.5s
    retries:
      attempts: 3
      perTryTimeout: 2s
      retryOn: gateway-error,connect-failure,503
    mirror:
      host: ratings-shadow
    mirrorPercentage:
      value: 25.5
    headers:
      request:
        set: {x-route: rewrite}
      response:
        remove: [server]
    route:
    - destination: {host: ratings, port: {number: 9080}}
)");
  auto lowered = LowerVirtualServices(p.vs, p.dr);
  EXPECT_TRUE(lowered.diagnostics.empty()) << Messages(lowered.diagnostics);
  auto table = MustCompile(std::move(lowered.rules));
  const auto& routes = table.routes();
  ASSERT_EQ(routes.size(), 3u);
  ASSERT_TRUE(routes[0].fault && routes[0].fault->delay);
  EXPECT_EQ(routes[0].fault->delay->fixed, std::chrono::seconds(7));
  EXPECT_EQ(routes[0].fault->delay->percentage, 100);
  ASSERT_TRUE(routes[1].fault && routes[1].fault->abort);
  EXPECT_EQ(routes[1].fault->abort->http_status, 500);
  EXPECT_EQ(routes[1].fault->abort->percentage, 50);
  const Route& r = routes[2];
  EXPECT_EQ(r.timeouts.request, std::chrono::milliseconds(500));
  ASSERT_TRUE(r.retry);
  EXPECT_EQ(r.retry->attempts, 3u);
  EXPECT_EQ(r.retry->per_try_timeout, std::chrono::seconds(2));
  EXPECT_EQ(r.retry->retry_on, (std::vector<std::string>{"gateway-error", "connect-failure",
                                                         "retriable-status-codes"}));
  EXPECT_EQ(r.retry->codes, std::vector<uint16_t>{503});
  ASSERT_EQ(r.mirrors.size(), 1u);
  EXPECT_EQ(r.mirrors[0].backend.host, "ratings-shadow.default.svc.cluster.local");
  EXPECT_DOUBLE_EQ(r.mirrors[0].percentage, 25.5);
  EXPECT_EQ(r.rewrite_host, "ratings-internal");
  EXPECT_EQ(r.request_headers.set,
            (std::vector<std::pair<std::string, std::string>>{{"x-route", "rewrite"}}));
  EXPECT_EQ(r.response_headers.remove, std::vector<std::string>{"server"});
  EXPECT_EQ(r.backends[0].port, 9080);

  // ignoreUriCase and the prefix rewrite through the table.
  auto m = table.MatchWithDetail({.host = "ratings.default.svc.cluster.local",
                                  .path = "/V1/BOOKRATINGS/7?x",
                                  .method = "GET"});
  ASSERT_TRUE(m);
  EXPECT_EQ(m.route, &r);
  EXPECT_EQ(RewritePath(*r.rewrite_path, m.match->path ? &*m.match->path : nullptr,
                        "/V1/BOOKRATINGS/7?x"),
            "/ratings/7?x");
}

TEST(LowerVirtualServiceTest, MissingSubsetIsADiagnosticWithTheFieldPath) {
  auto p = Parse(std::string(kBookinfoRules) + R"(
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 50
    - destination: {host: reviews, subset: v4}
      weight: 50
)");
  auto lowered = LowerVirtualServices(p.vs, p.dr);
  ASSERT_EQ(lowered.diagnostics.size(), 1u) << Messages(lowered.diagnostics);
  const config::Diagnostic& d = lowered.diagnostics[0];
  EXPECT_EQ(d.severity, config::Severity::kError);
  EXPECT_EQ(d.kind, "VirtualService");
  EXPECT_EQ(d.ns, "default");
  EXPECT_EQ(d.name, "reviews");
  EXPECT_EQ(d.path, "spec.http[0].route[1].destination.subset");
  EXPECT_EQ(d.message,
            "subset 'v4' of host 'reviews.default.svc.cluster.local' is not defined by any "
            "DestinationRule; requests "
            "to it are answered 503");
  // The backend keeps its share of traffic, answered 503.
  ASSERT_EQ(lowered.rules.routes.size(), 1u);
  EXPECT_EQ(lowered.rules.routes[0].backends[1].unresolved_status, 503);
  EXPECT_EQ(lowered.rules.routes[0].backends[0].unresolved_status, 0);
}

TEST(LowerVirtualServiceTest, BadRegexDropsOnlyThatRule) {
  auto p = Parse(R"(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  hosts: [web, "*.shop.example.com"]
  http:
  - match:
    - uri: {regex: "/items/(["}
    route:
    - destination: {host: web}
  - match:
    - queryParams:
        v: {regex: "[0-9]+"}
      withoutHeaders:
        x-canary: {}
      method: {exact: GET}
    route:
    - destination: {host: web-stable}
)");
  auto lowered = LowerVirtualServices(p.vs, p.dr);
  ASSERT_EQ(lowered.diagnostics.size(), 1u) << Messages(lowered.diagnostics);
  EXPECT_EQ(lowered.diagnostics[0].path, "spec.http[0]");
  EXPECT_NE(
      lowered.diagnostics[0].message.find("matches[0].path: bad regular expression '/items/(['"),
      std::string::npos)
      << lowered.diagnostics[0].message;
  auto table = MustCompile(std::move(lowered.rules));
  ASSERT_EQ(table.routes().size(), 1u);
  Headers canary{{"x-canary", "1"}};
  EXPECT_NE(table.Match({.host = "web.shop.svc.cluster.local", .path = "/a?v=12", .method = "GET"}),
            nullptr);
  EXPECT_NE(table.Match({.host = "api.shop.example.com", .path = "/a?v=12", .method = "GET"}),
            nullptr);
  EXPECT_EQ(table.Match({.host = "web.shop.svc.cluster.local",
                         .path = "/a?v=12",
                         .method = "GET",
                         .headers = &canary}),
            nullptr);
  EXPECT_EQ(table.Match({.host = "web.shop.svc.cluster.local", .path = "/a?v=x", .method = "GET"}),
            nullptr);
  EXPECT_EQ(table.Match({.host = "web.shop.svc.cluster.local", .path = "/a?v=1", .method = "POST"}),
            nullptr);
}

TEST(LowerVirtualServiceTest, HostOwnershipGatewaysAndWarnings) {
  auto p = Parse(R"(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: newer, namespace: default, creationTimestamp: "2026-01-02T00:00:00Z"}
spec:
  hosts: [reviews, details]
  http:
  - route: [{destination: {host: reviews}}]
    corsPolicy: {allowOrigins: [{exact: "https://example.com"}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: older, namespace: default, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  hosts: [reviews.default.svc.cluster.local]
  http:
  - route: [{destination: {host: reviews}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ingress-only, namespace: default}
spec:
  hosts: [ratings]
  gateways: [bookinfo-gateway]
  http:
  - route: [{destination: {host: ratings}}]
)");
  auto lowered = LowerVirtualServices(p.vs, p.dr);
  EXPECT_EQ(Messages(lowered.diagnostics),
            "E spec.hosts[0]: host 'reviews.default.svc.cluster.local' is already routed by the "
            "older VirtualService "
            "default/older; this one is not used for it\n"
            "W spec.http[0].corsPolicy: corsPolicy is accepted but not enforced by the waypoint's "
            "route table\n");
  ASSERT_EQ(lowered.rules.routes.size(), 2u);
  EXPECT_EQ(lowered.rules.routes[0].name, "VirtualService default/older http[0]");
  EXPECT_EQ(lowered.rules.routes[1].hosts,
            std::vector<std::string>{"details.default.svc.cluster.local"});
}

TEST(LowerVirtualServiceTest, RedirectDirectResponseRegexRewriteAndDurations) {
  auto p = Parse(R"yaml(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  hosts: [web]
  http:
  - match: [{uri: {exact: /old}}]
    redirect: {uri: /new, authority: www.example.com, scheme: https}
  - match: [{uri: {prefix: /probe}, sourceLabels: {app: probe}}]
    directResponse: {status: 503}
  - match:
    - {uri: {prefix: /health}, sourceNamespace: monitoring}
    - {uri: {prefix: /health}, gateways: [mesh]}
    - {uri: {prefix: /health}, gateways: [ingress]}
    directResponse: {status: 204, body: {string: ok}}
  - match: [{uri: {regex: "/service/[^/]+/.*"}}]
    rewrite:
      uriRegexRewrite: {match: "^/service/([^/]+)", rewrite: "/v2/\\1"}
    timeout: 1h30m
    retries: {attempts: 1, perTryTimeout: 250ms}
    route: [{destination: {host: web}}]
  - route: [{destination: {host: web}}]
    timeout: 0s
)yaml");
  auto lowered = LowerVirtualServices(p.vs, p.dr);
  EXPECT_EQ(
      Messages(lowered.diagnostics),
      "W spec.http[1].match[0].sourceLabels: match.sourceLabels is not supported in the "
      "waypoint: this match entry never matches\n"
      "W spec.http[2].match[0].sourceNamespace: match.sourceNamespace is not supported in the "
      "waypoint: this match entry never matches\n");
  auto table = MustCompile(std::move(lowered.rules));
  auto at = [&](std::string_view path) {
    return table.MatchWithDetail(
        {.host = "web.shop.svc.cluster.local", .path = path, .method = "GET"});
  };
  const Route* old_page = at("/old").route;
  ASSERT_NE(old_page, nullptr);
  ASSERT_TRUE(old_page->redirect);
  EXPECT_EQ(old_page->redirect->status, 301);
  EXPECT_EQ(old_page->redirect->hostname, "www.example.com");
  EXPECT_EQ(old_page->redirect->scheme, "https");
  EXPECT_EQ(RewritePath(*old_page->redirect->path, nullptr, "/old?a=1"), "/new?a=1");
  EXPECT_FALSE(old_page->retry);         // nothing to retry
  EXPECT_EQ(table.routes().size(), 4u);  // no entry of http[1] can match
  EXPECT_EQ(at("/probe").route->name, "VirtualService shop/web http[4]");
  const Route* health = at("/healthz").route;
  ASSERT_NE(health, nullptr);
  EXPECT_EQ(health->matches.size(), 1u);  // only the mesh entry is left
  ASSERT_TRUE(health->direct_response);
  EXPECT_EQ(health->direct_response->status, 204);
  EXPECT_EQ(health->direct_response->body, "ok");
  auto svc = at("/service/reviews/1");
  ASSERT_TRUE(svc);
  EXPECT_EQ(RewritePath(*svc.route->rewrite_path, &*svc.match->path, "/service/reviews/1"),
            "/v2/reviews/1");
  EXPECT_EQ(svc.route->timeouts.request, std::chrono::minutes(90));
  EXPECT_EQ(svc.route->retry->per_try_timeout, std::chrono::milliseconds(250));
  // attempts without retryOn: Istio's default conditions.
  EXPECT_EQ(svc.route->retry->attempts, 1u);
  EXPECT_EQ(svc.route->retry->codes, std::vector<uint16_t>{503});
  EXPECT_EQ(at("/other").route->timeouts.request, std::chrono::milliseconds(0));
}
TEST(LowerVirtualServiceTest, RetryOnConditionsNotEnforcedOrUnknownAreNamed) {
  auto p = Parse(R"yaml(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  hosts: [web]
  http:
  - retries: {attempts: 2, retryOn: "5xx,retriable-headers,teapot,429"}
    route: [{destination: {host: web}}]
)yaml");
  auto lowered = LowerVirtualServices(p.vs, p.dr);
  EXPECT_EQ(Messages(lowered.diagnostics),
            "W spec.http[0].retries.retryOn: retry condition \"retriable-headers\" is accepted "
            "but not enforced by the waypoint's route table\n"
            "W spec.http[0].retries.retryOn: unknown retry condition \"teapot\" (Envoy's "
            "x-envoy-retry-on conditions); ignored\n");
  auto table = MustCompile(std::move(lowered.rules));
  const Route& r = table.routes()[0];
  ASSERT_TRUE(r.retry);
  EXPECT_EQ(r.retry->codes, std::vector<uint16_t>{429});
  EXPECT_EQ(RetryOnMask(*r.retry), kRetryOn5xx | kRetryOnRetriableStatusCodes);
}

TEST(LowerVirtualServiceTest, GrpcAbortNeedsAStatusName) {
  auto p = Parse(R"(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: default}
spec:
  hosts: [ratings]
  http:
  - fault:
      abort: {grpcStatus: "14"}
    route:
    - destination: {host: ratings}
  - fault:
      abort: {grpcStatus: UNAVAILABLE}
    route:
    - destination: {host: ratings}
)");
  auto lowered = LowerVirtualServices(p.vs, p.dr);
  ASSERT_EQ(lowered.diagnostics.size(), 1u) << Messages(lowered.diagnostics);
  EXPECT_EQ(lowered.diagnostics[0].severity, config::Severity::kError);
  EXPECT_EQ(lowered.diagnostics[0].path, "spec.http[0].fault.abort.grpcStatus");
  ASSERT_EQ(lowered.rules.routes.size(), 2u);
  EXPECT_FALSE(lowered.rules.routes[0].fault.has_value());  // the abort is dropped, the rule kept
  ASSERT_TRUE(lowered.rules.routes[1].fault && lowered.rules.routes[1].fault->abort);
  EXPECT_EQ(lowered.rules.routes[1].fault->abort->grpc_status, "UNAVAILABLE");
}

TEST(LowerHttpRouteTest, GammaRoutingByHeader) {
  // https://istio.io/latest/docs/tasks/traffic-management/request-routing/ (Gateway API tab)
  auto p = Parse(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: default}
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: reviews
    port: 9080
  rules:
  - matches:
    - headers:
      - name: end-user
        value: jason
    backendRefs:
    - name: reviews-v2
      port: 9080
  - backendRefs:
    - name: reviews-v1
      port: 9080
)");
  auto lowered = LowerHttpRoutes(p.hr);
  EXPECT_TRUE(lowered.diagnostics.empty()) << Messages(lowered.diagnostics);
  EXPECT_EQ(lowered.rules.precedence, Precedence::kGatewayApi);
  auto table = MustCompile(std::move(lowered.rules));
  Headers jason{{"end-user", "jason"}};
  auto backend = [&](const HeaderLookup* h, uint16_t port) {
    const Route* r = table.Match({.host = "reviews.default.svc.cluster.local",
                                  .path = "/reviews/1",
                                  .method = "GET",
                                  .port = port,
                                  .headers = h});
    return r == nullptr ? std::string("<none>") : PickBackend(*r, 1)->host;
  };
  EXPECT_EQ(backend(&jason, 9080), "reviews-v2.default.svc.cluster.local");
  EXPECT_EQ(backend(nullptr, 9080), "reviews-v1.default.svc.cluster.local");
  EXPECT_EQ(backend(&jason, 8080), "<none>");  // parentRefs[0].port
}

TEST(LowerHttpRouteTest, PrecedenceAcrossRoutesAndFilters) {
  auto p = Parse(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b-newer, namespace: web, creationTimestamp: "2026-03-01T00:00:00Z"}
spec:
  parentRefs: [{group: "", kind: Service, name: web}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: api-new, port: 80}]
  - matches: [{path: {type: Exact, value: /login}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https, statusCode: 301}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a-older, namespace: web, creationTimestamp: "2026-02-01T00:00:00Z"}
spec:
  parentRefs: [{group: "", kind: Service, name: web}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, port: 80}, percent: 10}
    backendRefs:
    - {name: api-old, port: 80, weight: 3}
    - {name: api-canary, port: 80, weight: 1}
    - {name: no-port}
    timeouts: {request: 10s, backendRequest: 2s}
    retry: {attempts: 4, codes: [502, 503], backoff: 100ms}
  - matches: [{path: {type: Exact, value: /x}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /y}}
    backendRefs: [{name: x, port: 80}]
)");
  auto lowered = LowerHttpRoutes(p.hr);
  EXPECT_EQ(Messages(lowered.diagnostics),
            "E spec.rules[0].backendRefs[2].port: a Service backend needs a port; requests to it "
            "are answered 500\n"
            "E spec.rules[1].filters: ReplacePrefixMatch needs every match of the rule to be a "
            "PathPrefix (rule not "
            "used)\n");
  auto table = MustCompile(std::move(lowered.rules));
  auto m = table.MatchWithDetail(
      {.host = "web.web.svc.cluster.local", .path = "/api/items", .method = "GET"});
  ASSERT_TRUE(m);
  const Route& r = *m.route;
  EXPECT_EQ(r.name, "HTTPRoute web/a-older rules[0]");  // same precedence: the older route
  EXPECT_EQ(RewritePath(*r.rewrite_path, &*m.match->path, "/api/items"), "/v2/items");
  ASSERT_EQ(r.mirrors.size(), 1u);
  EXPECT_EQ(r.mirrors[0].percentage, 10);
  EXPECT_EQ(r.total_weight, 5u);
  EXPECT_EQ(r.backends[2].unresolved_status, 500);
  EXPECT_EQ(r.timeouts.request, std::chrono::seconds(10));
  EXPECT_EQ(r.timeouts.backend_request, std::chrono::seconds(2));
  EXPECT_EQ(r.retry->attempts, 4u);
  EXPECT_EQ(r.retry->codes, (std::vector<uint16_t>{502, 503}));
  EXPECT_EQ(r.retry->backoff, std::chrono::milliseconds(100));
  const Route* login =
      table.Match({.host = "web.web.svc.cluster.local", .path = "/login", .method = "GET"});
  ASSERT_NE(login, nullptr);
  ASSERT_TRUE(login->redirect);
  EXPECT_EQ(login->redirect->status, 301);
  EXPECT_EQ(login->redirect->scheme, "https");
  EXPECT_EQ(table.Match({.host = "web.web.svc.cluster.local", .path = "/x", .method = "GET"}),
            nullptr);
}

TEST(LowerHttpRouteTest, GrpcRouteMethodsAsPaths) {
  auto p = Parse(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: echo, namespace: grpc}
spec:
  parentRefs: [{group: "", kind: Service, name: echo, port: 50051}]
  rules:
  - matches:
    - method: {service: echo.v1.Echo}
      headers: [{name: x-tier, value: gold}]
    backendRefs: [{name: echo-gold, port: 50051}]
  - backendRefs: [{name: echo, port: 50051}]
  - matches:
    - method: {type: RegularExpression, method: "Get.*"}
    backendRefs: [{name: echo-get, port: 50051}]
  - matches:
    - method: {service: echo.v1.Echo, method: Slow}
    backendRefs: [{name: echo-slow, port: 50051}]
)");
  ASSERT_EQ(p.gr.size(), 1u);
  auto lowered = LowerGatewayRoutes({}, p.gr);
  EXPECT_TRUE(lowered.diagnostics.empty()) << Messages(lowered.diagnostics);
  auto table = MustCompile(std::move(lowered.rules));
  Headers gold{{"x-tier", "gold"}};
  auto backend = [&](std::string_view path, const HeaderLookup* h) {
    const Route* r = table.Match({.host = "echo.grpc.svc.cluster.local",
                                  .path = path,
                                  .method = "POST",
                                  .port = 50051,
                                  .headers = h});
    return r == nullptr ? std::string("<none>") : PickBackend(*r, 1)->host;
  };
  // Exact service+method first, then the service prefix, then the regex, then the catch-all.
  EXPECT_EQ(backend("/echo.v1.Echo/Slow", &gold), "echo-slow.grpc.svc.cluster.local");
  EXPECT_EQ(backend("/echo.v1.Echo/Fast", &gold), "echo-gold.grpc.svc.cluster.local");
  EXPECT_EQ(backend("/echo.v1.Echo/GetAll", &gold), "echo-gold.grpc.svc.cluster.local");
  EXPECT_EQ(backend("/other.Svc/GetThing", nullptr), "echo-get.grpc.svc.cluster.local");
  EXPECT_EQ(backend("/echo.v1.Echo/Fast", nullptr), "echo.grpc.svc.cluster.local");
  EXPECT_EQ(table.routes()[0].name.substr(0, 10), "GRPCRoute ");
}

TEST(LowerHttpRouteTest, RuleWithoutBackendsAnswers500) {
  auto p = Parse(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: empty, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: web}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
)");
  auto lowered = LowerHttpRoutes(p.hr);
  auto table = MustCompile(std::move(lowered.rules));
  const Route* r =
      table.Match({.host = "web.default.svc.cluster.local", .path = "/x", .method = "GET"});
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->direct_response);
  EXPECT_EQ(r->direct_response->status, 500);
  EXPECT_FALSE(r->retry);
}

TEST(LowerHttpRouteTest, NonServiceParentsAreNotMeshRoutes) {
  auto p = Parse(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ingress, namespace: default}
spec:
  parentRefs: [{name: my-gateway}]
  rules:
  - backendRefs: [{name: web, port: 80}]
)");
  auto lowered = LowerHttpRoutes(p.hr);
  EXPECT_TRUE(lowered.rules.routes.empty());
  EXPECT_TRUE(lowered.diagnostics.empty());
}

}  // namespace
}  // namespace ambit::route

namespace ambit::route {
namespace {

TEST(LowerLoadBalancingTest, SubsetPolicyOverridesTopLevel) {
  // https://istio.io/latest/docs/reference/config/networking/destination-rule/
  auto p = Parse(R"(
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash: {httpHeaderName: End-User}
  subsets:
  - {name: v1, labels: {version: v1}}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer: {simple: LEAST_REQUEST}
  - name: v3
    labels: {version: v3}
    trafficPolicy:
      connectionPool: {tcp: {maxConnections: 10}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 40}
    - {destination: {host: reviews, subset: v2}, weight: 30}
    - {destination: {host: reviews, subset: v3}, weight: 20}
    - {destination: {host: ratings}, weight: 10}
)");
  auto lowered = LowerVirtualServices(p.vs, p.dr);
  EXPECT_TRUE(lowered.diagnostics.empty()) << Messages(lowered.diagnostics);
  ASSERT_EQ(lowered.rules.routes.size(), 1u);
  const auto& b = lowered.rules.routes[0].backends;
  ASSERT_EQ(b.size(), 4u);
  // v1 and v3 (no loadBalancer of their own): the top-level policy.
  EXPECT_EQ(b[0].load_balancer.hash, LoadBalancer::Hash::kHeader);
  EXPECT_EQ(b[0].load_balancer.hash_key, "end-user");
  EXPECT_EQ(b[2].load_balancer, b[0].load_balancer);
  EXPECT_EQ(b[1].load_balancer.hash, LoadBalancer::Hash::kNone);
  EXPECT_EQ(b[1].load_balancer.simple, LoadBalancer::Simple::kLeastRequest);
  EXPECT_EQ(b[3].load_balancer, LoadBalancer{});  // no DestinationRule: round robin
}

TEST(LowerLoadBalancingTest, EveryKind) {
  using nlohmann::json;
  EXPECT_EQ(LowerLoadBalancer(json()), LoadBalancer{});
  EXPECT_EQ(LowerLoadBalancer(json{{"simple", "RANDOM"}}).simple, LoadBalancer::Simple::kRandom);
  EXPECT_EQ(LowerLoadBalancer(json{{"simple", "LEAST_CONN"}}).simple,
            LoadBalancer::Simple::kLeastRequest);
  EXPECT_EQ(LowerLoadBalancer(json{{"simple", "ROUND_ROBIN"}}), LoadBalancer{});
  const LoadBalancer q =
      LowerLoadBalancer(json{{"consistentHash", {{"httpQueryParameterName", "user"}}}});
  EXPECT_EQ(q.hash, LoadBalancer::Hash::kQueryParameter);
  EXPECT_EQ(q.hash_key, "user");
  const LoadBalancer c = LowerLoadBalancer(
      json{{"consistentHash", {{"httpCookie", {{"name", "session"}, {"ttl", "0s"}}}}}});
  EXPECT_EQ(c.hash, LoadBalancer::Hash::kCookie);
  EXPECT_EQ(c.hash_key, "session");
  const LoadBalancer ip = LowerLoadBalancer(json{{"consistentHash", {{"useSourceIp", true}}}});
  EXPECT_EQ(ip.hash, LoadBalancer::Hash::kSourceIp);
  EXPECT_TRUE(ip.hash_key.empty());
}

}  // namespace
}  // namespace ambit::route
