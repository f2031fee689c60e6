#include "waypoint/http_decision.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <regex>

namespace ambit::waypoint {
namespace {

constexpr char kHost[] = "reviews.default.svc.cluster.local";

h2::RequestHead Get(std::string path, h2::Headers fields = {}) {
  return h2::RequestHead{"GET", "http", "reviews:9080", std::move(path), "", std::move(fields)};
}

route::Route Prefix(std::string name, std::string prefix, std::vector<route::Backend> backends) {
  route::Route r;
  r.name = std::move(name);
  r.hosts = {kHost};
  route::RouteMatch m;
  m.path = route::PathMatch{route::PathMatch::Kind::kPathPrefix, std::move(prefix)};
  r.matches = {m};
  r.backends = std::move(backends);
  return r;
}

route::Backend To(std::string host, std::uint32_t weight = 1) {
  route::Backend b;
  b.host = std::move(host);
  b.weight = weight;
  return b;
}

route::RouteTable Table(std::vector<route::Route> routes) {
  route::RouteRules rules;
  rules.precedence = route::Precedence::kGatewayApi;
  rules.routes = std::move(routes);
  auto table = route::Compile(std::move(rules));
  EXPECT_TRUE(table.ok()) << table.error().ToString();
  return std::move(table).value();
}

const HttpDestination kDest{kHost, 9080};

std::string_view Field(const h2::Headers& fields, std::string_view name) {
  return h2::FindField(fields, name);
}

TEST(DecideRequest, WithoutATableEverythingGoesToTheAddressedService) {
  auto d = DecideRequest(kDest, Get("/anything?x=1"), nullptr, 7);
  auto* f = std::get_if<ForwardRequest>(&d);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->backend_host, kHost);
  EXPECT_EQ(f->backend_port, 9080);
  EXPECT_EQ(f->head.path, "/anything?x=1");
  EXPECT_EQ(f->route_name, "");
}

TEST(DecideRequest, TheRoutesTimeoutsAndRetriesGoWithTheRequest) {
  // No table: Istio's default retry policy, no timeout.
  auto d = std::get<ForwardRequest>(DecideRequest(kDest, Get("/"), nullptr, 0));
  ASSERT_NE(d.retry, nullptr);
  EXPECT_EQ(d.retry->attempts, 2u);
  EXPECT_EQ(d.retry->codes, std::vector<std::uint16_t>{503});
  EXPECT_FALSE(d.timeouts.request.has_value());
  // A route's own.
  route::Route r = Prefix("r", "/", {To("reviews-v1")});
  r.timeouts.request = std::chrono::milliseconds(1500);
  r.timeouts.backend_request = std::chrono::milliseconds(300);
  route::RetryPolicy retry;
  retry.attempts = 4;
  retry.retry_on = {"5xx"};
  r.retry = retry;
  route::Route none = Prefix("none", "/none", {To("reviews-v1")});
  const route::RouteTable table = Table({none, r});
  auto f = std::get<ForwardRequest>(DecideRequest(kDest, Get("/x"), &table, 0));
  EXPECT_EQ(f.timeouts.request, std::chrono::milliseconds(1500));
  EXPECT_EQ(f.timeouts.backend_request, std::chrono::milliseconds(300));
  ASSERT_NE(f.retry, nullptr);
  EXPECT_EQ(f.retry->attempts, 4u);
  // A route without a policy retries nothing.
  EXPECT_EQ(std::get<ForwardRequest>(DecideRequest(kDest, Get("/none"), &table, 0)).retry, nullptr);
}

TEST(DecideRequest, TheBackendsLoadBalancingGoesWithTheRequest) {
  route::Backend b = To("reviews.default.svc.cluster.local");
  b.subset = "v1";
  b.load_balancer.hash = route::LoadBalancer::Hash::kHeader;
  b.load_balancer.hash_key = "end-user";
  const route::RouteTable table = Table({Prefix("r", "/", {b})});
  auto f = std::get<ForwardRequest>(DecideRequest(kDest, Get("/x"), &table, 0));
  EXPECT_EQ(f.backend_subset, "v1");
  EXPECT_EQ(f.load_balancer, b.load_balancer);
  // No table: round robin over the addressed Service.
  auto d = std::get<ForwardRequest>(DecideRequest(kDest, Get("/"), nullptr, 0));
  EXPECT_EQ(d.load_balancer, route::LoadBalancer{});
}

TEST(SetAttemptCount, ReplacesTheTriesNumber) {
  h2::RequestHead head = Get("/", {{"x-envoy-attempt-count", "9"}});
  AddProxyRequestHeaders(head, *net::IpAddress::Parse("10.0.0.1"), "id", 1);
  SetAttemptCount(head, 3);
  int seen = 0;
  for (const auto& f : head.fields) seen += f.name == "x-envoy-attempt-count";
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(Field(head.fields, "x-envoy-attempt-count"), "3");
  EXPECT_EQ(Field(head.fields, "x-forwarded-for"), "10.0.0.1");  // not appended again
}

TEST(DecideRequest, PathPrefixSplitsBetweenBackends) {
  auto table = Table({Prefix("v2", "/v2", {To("reviews-v2.default.svc.cluster.local")}),
                      Prefix("rest", "/", {To("reviews-v1.default.svc.cluster.local")})});
  auto d2 = DecideRequest(kDest, Get("/v2/reviews/1"), &table, 0);
  ASSERT_TRUE(std::holds_alternative<ForwardRequest>(d2));
  EXPECT_EQ(std::get<ForwardRequest>(d2).backend_host, "reviews-v2.default.svc.cluster.local");
  EXPECT_EQ(std::get<ForwardRequest>(d2).route_name, "v2");
  auto d1 = DecideRequest(kDest, Get("/v2x"), &table, 0);  // element-wise prefix: not /v2
  ASSERT_TRUE(std::holds_alternative<ForwardRequest>(d1));
  EXPECT_EQ(std::get<ForwardRequest>(d1).backend_host, "reviews-v1.default.svc.cluster.local");
}

TEST(DecideRequest, NoMatchingRouteIs404WithFlagNR) {
  auto table = Table({Prefix("v2", "/v2", {To("reviews-v2.default.svc.cluster.local")})});
  auto d = DecideRequest(kDest, Get("/other"), &table, 0);
  auto* reply = std::get_if<LocalReply>(&d);
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(reply->status, 404);
  EXPECT_EQ(reply->flag, "NR");
  EXPECT_NE(reply->reason.find("/other"), std::string::npos);
}

TEST(DecideRequest, WeightsSplitByTheRandomNumber) {
  auto table = Table(
      {Prefix("split", "/",
              {To("a.default.svc.cluster.local", 90), To("b.default.svc.cluster.local", 10)})});
  std::map<std::string, int> seen;
  std::uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < 2000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    auto d = DecideRequest(kDest, Get("/"), &table, x);
    ++seen[std::get<ForwardRequest>(d).backend_host];
  }
  EXPECT_GT(seen["a.default.svc.cluster.local"], 1650);
  EXPECT_GT(seen["b.default.svc.cluster.local"], 100);
  EXPECT_EQ(seen.size(), 2u);
}

TEST(DecideRequest, BackendPortDefaultsToTheDestinationPort) {
  route::Backend b = To("a.default.svc.cluster.local");
  route::Backend c = To("c.default.svc.cluster.local");
  c.port = 8080;
  auto table = Table({Prefix("a", "/a", {b}), Prefix("c", "/c", {c})});
  EXPECT_EQ(std::get<ForwardRequest>(DecideRequest(kDest, Get("/a"), &table, 0)).backend_port,
            9080);
  EXPECT_EQ(std::get<ForwardRequest>(DecideRequest(kDest, Get("/c"), &table, 0)).backend_port,
            8080);
}

TEST(DecideRequest, RewritesAndHeaderChangesApply) {
  route::Route r = Prefix("r", "/api", {To("a.default.svc.cluster.local")});
  r.rewrite_path = route::PathRewrite{route::PathRewrite::Kind::kPrefix, "/v1"};
  r.rewrite_host = "a.example";
  r.request_headers.set = {{"X-Set", "s"}};
  r.request_headers.add = {{"x-add", "a"}};
  r.request_headers.remove = {"X-Drop"};
  r.response_headers.set = {{"x-resp", "r"}};
  r.backends[0].request_headers.add = {{"x-backend", "b"}};
  auto table = Table({r});
  auto d =
      DecideRequest(kDest, Get("/api/items?q=1", {{"x-set", "old"}, {"x-drop", "1"}}), &table, 0);
  const auto& f = std::get<ForwardRequest>(d);
  EXPECT_EQ(f.head.path, "/v1/items?q=1");
  EXPECT_EQ(f.head.authority, "a.example");
  EXPECT_EQ(Field(f.head.fields, "x-set"), "s");
  EXPECT_EQ(Field(f.head.fields, "x-add"), "a");
  EXPECT_EQ(Field(f.head.fields, "x-backend"), "b");
  EXPECT_EQ(Field(f.head.fields, "x-drop"), "");
  h2::ResponseHead resp{200, {}};
  AddProxyResponseHeaders(resp, f, std::chrono::milliseconds(12));
  EXPECT_EQ(Field(resp.fields, "x-resp"), "r");
  EXPECT_EQ(Field(resp.fields, "x-envoy-upstream-service-time"), "12");
}

TEST(DecideRequest, HeaderMatchesSeeTheRequestFields) {
  route::Route jason = Prefix("jason", "/", {To("v2.default.svc.cluster.local")});
  jason.matches[0].headers = {route::KeyValueMatch{
      "end-user", route::StringMatch{route::StringMatch::Kind::kExact, "jason"}}};
  auto table = Table({jason, Prefix("rest", "/", {To("v1.default.svc.cluster.local")})});
  auto d = DecideRequest(kDest, Get("/", {{"end-user", "jason"}}), &table, 0);
  EXPECT_EQ(std::get<ForwardRequest>(d).backend_host, "v2.default.svc.cluster.local");
  auto other = DecideRequest(kDest, Get("/", {{"end-user", "bob"}}), &table, 0);
  EXPECT_EQ(std::get<ForwardRequest>(other).backend_host, "v1.default.svc.cluster.local");
}

TEST(DecideRequest, RedirectBuildsLocation) {
  route::Route r = Prefix("old", "/old", {});
  r.redirect = route::Redirect{};
  r.redirect->path = route::PathRewrite{route::PathRewrite::Kind::kPrefix, "/new"};
  r.redirect->status = 301;
  route::Route s = Prefix("secure", "/login", {});
  s.redirect = route::Redirect{};
  s.redirect->scheme = "https";
  auto table = Table({r, s});
  auto d = DecideRequest(kDest, Get("/old/page?a=b"), &table, 0);
  const auto& reply = std::get<LocalReply>(d);
  EXPECT_EQ(reply.status, 301);
  EXPECT_EQ(Field(reply.fields, "location"), "http://reviews:9080/new/page?a=b");
  EXPECT_EQ(reply.flag, "");
  auto https = std::get<LocalReply>(DecideRequest(kDest, Get("/login"), &table, 0));
  EXPECT_EQ(https.status, 302);
  EXPECT_EQ(Field(https.fields, "location"), "https://reviews/login");
}

TEST(DecideRequest, DirectResponseAndUnresolvedBackend) {
  route::Route direct = Prefix("direct", "/health", {});
  direct.direct_response = route::DirectResponse{418, "short and stout"};
  route::Backend missing = To("a.default.svc.cluster.local");
  missing.subset = "v9";
  missing.unresolved_status = 503;
  auto table = Table({direct, Prefix("missing", "/", {missing})});
  auto d = std::get<LocalReply>(DecideRequest(kDest, Get("/health"), &table, 0));
  EXPECT_EQ(d.status, 418);
  EXPECT_EQ(d.body, "short and stout");
  auto u = std::get<LocalReply>(DecideRequest(kDest, Get("/x"), &table, 0));
  EXPECT_EQ(u.status, 503);
  EXPECT_EQ(u.flag, "NC");
  EXPECT_NE(u.reason.find("subset v9"), std::string::npos);
}

TEST(ProxyHeaders, ForwardedForAppendsAndRequestIdIsKeptOrGenerated) {
  const auto ip = *net::IpAddress::Parse("10.0.0.7");
  h2::RequestHead fresh = Get("/");
  AddProxyRequestHeaders(fresh, ip, "generated-id", 1);
  EXPECT_EQ(Field(fresh.fields, "x-forwarded-for"), "10.0.0.7");
  EXPECT_EQ(Field(fresh.fields, "x-forwarded-proto"), "http");
  EXPECT_EQ(Field(fresh.fields, "x-request-id"), "generated-id");
  EXPECT_EQ(Field(fresh.fields, "x-envoy-attempt-count"), "1");

  h2::RequestHead relayed = Get(
      "/",
      {{"x-forwarded-for", "1.2.3.4"}, {"x-request-id", "abc"}, {"x-envoy-attempt-count", "9"}});
  AddProxyRequestHeaders(relayed, ip, "generated-id", 2);
  EXPECT_EQ(Field(relayed.fields, "x-forwarded-for"), "1.2.3.4, 10.0.0.7");
  EXPECT_EQ(Field(relayed.fields, "x-request-id"), "abc");
  EXPECT_EQ(Field(relayed.fields, "x-envoy-attempt-count"), "2");
  int attempts = 0;
  for (const auto& f : relayed.fields) attempts += f.name == "x-envoy-attempt-count";
  EXPECT_EQ(attempts, 1);
}

TEST(ProxyHeaders, RequestIdIsAVersion4Uuid) {
  const std::string id = FormatRequestId(0x0123456789abcdefULL, 0xfedcba9876543210ULL);
  EXPECT_TRUE(std::regex_match(
      id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << id;
  EXPECT_EQ(id, "01234567-89ab-4def-bedc-ba9876543210");
  EXPECT_NE(FormatRequestId(1, 2), FormatRequestId(1, 3));
}

TEST(ApplyHeaderModifier, RemoveThenSetThenAddCaseInsensitively) {
  h2::Headers fields{{"a", "1"}, {"b", "2"}, {"a", "3"}};
  route::HeaderModifier m;
  m.set = {{"A", "x"}};
  m.add = {{"b", "y"}};
  m.remove = {"B"};
  ApplyHeaderModifier(fields, m);
  EXPECT_EQ(fields, (h2::Headers{{"a", "x"}, {"b", "y"}}));
}

// Percentages are drawn in millionths (Istio hands Envoy a
// FractionalPercent with denominator MILLION): draw % 1e6 < percentage * 1e4.
TEST(Fault, PercentagesZeroHundredAndBetween) {
  for (std::uint64_t draw : {0ULL, 1ULL, 999'999ULL, ~0ULL}) {
    EXPECT_FALSE(InPercentage(0, draw)) << draw;
    EXPECT_TRUE(InPercentage(100, draw)) << draw;
  }
  EXPECT_TRUE(InPercentage(50, 499'999));
  EXPECT_FALSE(InPercentage(50, 500'000));
  EXPECT_TRUE(InPercentage(50, 1'000'000 + 10));  // only the draw modulo a million counts
  EXPECT_TRUE(InPercentage(0.1, 999));            // 0.1 % = 1000 in a million
  EXPECT_FALSE(InPercentage(0.1, 1000));
  EXPECT_FALSE(InPercentage(-1, 0));
  EXPECT_FALSE(InPercentage(std::numeric_limits<double>::quiet_NaN(), 0));
}

route::Fault DelayAndAbort(double delay_pct, double abort_pct) {
  route::Fault f;
  f.delay = route::Fault::Delay{std::chrono::milliseconds(7000), delay_pct};
  f.abort = route::Fault::Abort{500, "", abort_pct};
  return f;
}

TEST(Fault, DelayAndAbortAreDrawnEachOnItsOwn) {
  const route::Fault both = DelayAndAbort(100, 100);
  FaultDecision d = DecideFault(both, 0, 0);
  EXPECT_EQ(d.delay, std::chrono::milliseconds(7000));
  ASSERT_TRUE(d.abort.has_value());
  EXPECT_EQ(d.abort->status, 500);
  EXPECT_EQ(d.abort->body, "fault filter abort");
  EXPECT_EQ(d.abort->flag, "FI");

  const route::Fault none = DelayAndAbort(0, 0);
  d = DecideFault(none, 0, 0);
  EXPECT_EQ(d.delay, std::chrono::milliseconds(0));
  EXPECT_FALSE(d.abort.has_value());

  // 10 % delayed, 50 % aborted: the delay's draw decides the delay only.
  const route::Fault some = DelayAndAbort(10, 50);
  d = DecideFault(some, /*delay_draw=*/99'999, /*abort_draw=*/500'000);
  EXPECT_EQ(d.delay, std::chrono::milliseconds(7000));
  EXPECT_FALSE(d.abort.has_value());
  d = DecideFault(some, /*delay_draw=*/100'000, /*abort_draw=*/499'999);
  EXPECT_EQ(d.delay, std::chrono::milliseconds(0));
  ASSERT_TRUE(d.abort.has_value());

  // A delay alone, an abort alone.
  route::Fault delay_only;
  delay_only.delay = route::Fault::Delay{std::chrono::milliseconds(5), 100};
  d = DecideFault(delay_only, 0, 0);
  EXPECT_EQ(d.delay, std::chrono::milliseconds(5));
  EXPECT_FALSE(d.abort.has_value());
}

TEST(Fault, GrpcAbortIsTrailersOnlyWithHttp200) {
  route::Fault f;
  f.abort = route::Fault::Abort{0, "UNAVAILABLE", 100};
  FaultDecision d = DecideFault(f, 0, 0);
  ASSERT_TRUE(d.abort.has_value());
  EXPECT_EQ(d.abort->status, 200);
  EXPECT_EQ(d.abort->body, "");
  EXPECT_EQ(d.abort->flag, "FI");
  EXPECT_EQ(h2::FindField(d.abort->fields, "content-type"), "application/grpc");
  EXPECT_EQ(h2::FindField(d.abort->fields, "grpc-status"), "14");
  EXPECT_EQ(h2::FindField(d.abort->fields, "grpc-message"), "fault filter abort");
  EXPECT_EQ(route::GrpcStatusCode("OK"), 0);
  EXPECT_EQ(route::GrpcStatusCode("UNAUTHENTICATED"), 16);
  EXPECT_EQ(route::GrpcStatusCode("14"), std::nullopt);
  EXPECT_EQ(route::GrpcStatusCode("unavailable"), std::nullopt);
}

TEST(Fault, TheRouteCarriesItsFaultAndMirrorsToTheDecision) {
  route::Route r = Prefix("r", "/", {To("reviews-v1.default.svc.cluster.local")});
  r.fault = DelayAndAbort(100, 0);
  route::Mirror m;
  m.backend.host = "reviews-v2.default.svc.cluster.local";
  m.percentage = 25;
  r.mirrors = {m};
  route::RouteTable table = Table({r});
  RequestDecision d = DecideRequest({kHost, 9080}, Get("/x"), &table, 0);
  auto* forward = std::get_if<ForwardRequest>(&d);
  ASSERT_NE(forward, nullptr);
  ASSERT_TRUE(forward->fault.has_value());
  EXPECT_EQ(forward->fault->delay->fixed, std::chrono::milliseconds(7000));
  ASSERT_EQ(forward->mirrors.size(), 1u);
  EXPECT_EQ(forward->mirrors[0].backend.host, "reviews-v2.default.svc.cluster.local");
  EXPECT_EQ(forward->mirrors[0].percentage, 25);
}

TEST(Mirror, ShadowAuthorityKeepsThePort) {
  EXPECT_EQ(ShadowAuthority("reviews"), "reviews-shadow");
  EXPECT_EQ(ShadowAuthority("reviews:9080"), "reviews-shadow:9080");
  EXPECT_EQ(ShadowAuthority("reviews.default.svc.cluster.local:80"),
            "reviews.default.svc.cluster.local-shadow:80");
  EXPECT_EQ(ShadowAuthority("[fd00::1]:80"), "[fd00::1]-shadow:80");
}

}  // namespace
}  // namespace ambit::waypoint
