// ambit.route.v1.RouteTable encode/decode: every field survives the round
// trip, and each wire-only invalid value is rejected naming resource and field.
#include "route/wire.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cmath>

#include "route/table.h"

namespace ambit::route {
namespace {

using std::chrono::milliseconds;
constexpr std::string_view kName = "reviews.default.svc.cluster.local";

// A rule set that sets every field of every type at least once.
RouteRules Everything() {
  RouteRules rules;
  rules.precedence = Precedence::kGatewayApi;

  Route a;
  a.name = "HTTPRoute default/reviews rules[0]";
  a.hosts = {"reviews.default.svc.cluster.local", "*.example.com"};
  RouteMatch m1;
  m1.path = PathMatch{.kind = PathMatch::Kind::kPathPrefix, .value = "/api", .ignore_case = true};
  m1.headers.push_back(
      {.name = "x-user", .match = {.kind = StringMatch::Kind::kExact, .value = "jason"}});
  m1.headers.push_back(
      {.name = "x-debug", .match = {.kind = StringMatch::Kind::kPresent}, .invert = true});
  m1.query_params.push_back(
      {.name = "v", .match = {.kind = StringMatch::Kind::kRegex, .value = "[0-9]+"}});
  m1.method = StringMatch{.kind = StringMatch::Kind::kExact, .value = "GET"};
  m1.authority =
      StringMatch{.kind = StringMatch::Kind::kPrefix, .value = "reviews", .ignore_case = true};
  m1.port = 9080;
  RouteMatch m2;
  m2.path = PathMatch{.kind = PathMatch::Kind::kRegex, .value = "/v[12]/.*"};
  a.matches = {m1, m2, RouteMatch{}};
  Backend b1{
      .host = "reviews.default.svc.cluster.local", .port = 9080, .subset = "v1", .weight = 90};
  b1.request_headers.set = {{"x-backend", "v1"}};
  b1.response_headers.remove = {"server"};
  b1.load_balancer = {.hash = LoadBalancer::Hash::kHeader, .hash_key = "end-user"};
  Backend b2{.host = "reviews.default.svc.cluster.local",
             .subset = "v3",
             .weight = 10,
             .unresolved_status = 500};
  b2.load_balancer = {.simple = LoadBalancer::Simple::kLeastRequest};
  Backend b3{.host = "ratings.default.svc.cluster.local", .weight = 0};
  b3.load_balancer = {.hash = LoadBalancer::Hash::kSourceIp};
  a.backends = {b1, b2, b3};
  a.rewrite_path =
      PathRewrite{.kind = PathRewrite::Kind::kRegex, .value = "/x/\\1", .pattern = "^/api/(.*)"};
  a.rewrite_host = "reviews.internal";
  a.request_headers = {.set = {{"a", "1"}}, .add = {{"b", "2"}, {"b", "3"}}, .remove = {"c"}};
  a.response_headers = {.add = {{"x-served-by", "waypoint"}}};
  a.timeouts = {.request = milliseconds(1500), .backend_request = milliseconds(0)};
  a.retry = RetryPolicy{.attempts = 3,
                        .per_try_timeout = milliseconds(200),
                        .retry_on = {"5xx", "connect-failure"},
                        .codes = {503, 429},
                        .backoff = milliseconds(25)};
  a.fault = Fault{
      .delay = Fault::Delay{.fixed = milliseconds(5000), .percentage = 12.5},
      .abort = Fault::Abort{.http_status = 0, .grpc_status = "UNAVAILABLE", .percentage = 0.1}};
  a.mirrors = {Mirror{.backend = {.host = "shadow.default.svc.cluster.local", .port = 8080},
                      .percentage = 50}};
  rules.routes.push_back(a);

  Route r;
  r.name = "HTTPRoute default/reviews rules[1]";
  r.hosts = {"reviews.default.svc.cluster.local"};
  RouteMatch exact;
  exact.path = PathMatch{.kind = PathMatch::Kind::kExact, .value = "/old"};
  r.matches = {exact};
  r.redirect = Redirect{.scheme = "https",
                        .hostname = "new.example.com",
                        .port = 8443,
                        .path = PathRewrite{.kind = PathRewrite::Kind::kPrefix, .value = "/new"},
                        .status = 301};
  rules.routes.push_back(r);

  Route d;
  d.name = "VirtualService default/reviews http[2]";
  d.hosts = {"*"};
  RouteMatch sp;
  sp.path = PathMatch{.kind = PathMatch::Kind::kStringPrefix, .value = "/teapot"};
  d.matches = {sp};
  d.direct_response = DirectResponse{.status = 418, .body = std::string("short\0and stout", 15)};
  d.fault = Fault{.abort = Fault::Abort{.http_status = 503, .percentage = 100}};
  rules.routes.push_back(d);

  Route full;
  full.name = "rewrite full";
  full.hosts = {"reviews.default.svc.cluster.local"};
  full.backends = {Backend{.host = "reviews.default.svc.cluster.local"}};
  full.rewrite_path = PathRewrite{.kind = PathRewrite::Kind::kFullPath, .value = "/"};
  rules.routes.push_back(full);
  return rules;
}

std::string Serialized(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream s(&out);
  google::protobuf::io::CodedOutputStream c(&s);
  c.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&c);
  return out;
}

TEST(RouteWire, RoundTripKeepsEveryField) {
  const RouteRules rules = Everything();
  const v1::RouteTable wire = EncodeRouteTable(rules);
  auto decoded = DecodeRouteTableBytes(kName, Serialized(wire));
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  const RouteRules& d = decoded.value();

  // The wire form of the decoded rules is the same message...
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(wire, EncodeRouteTable(d))) << diff;

  // ...and spot checks on the values themselves (an encoder that dropped a
  // field would also pass the comparison above).
  EXPECT_EQ(d.precedence, Precedence::kGatewayApi);
  ASSERT_EQ(d.routes.size(), 4u);
  const Route& a = d.routes[0];
  EXPECT_EQ(a.name, "HTTPRoute default/reviews rules[0]");
  EXPECT_EQ(a.hosts, rules.routes[0].hosts);
  ASSERT_EQ(a.matches.size(), 3u);
  ASSERT_TRUE(a.matches[0].path);
  EXPECT_EQ(a.matches[0].path->kind, PathMatch::Kind::kPathPrefix);
  EXPECT_EQ(a.matches[0].path->value, "/api");
  EXPECT_TRUE(a.matches[0].path->ignore_case);
  ASSERT_EQ(a.matches[0].headers.size(), 2u);
  EXPECT_EQ(a.matches[0].headers[1].match.kind, StringMatch::Kind::kPresent);
  EXPECT_TRUE(a.matches[0].headers[1].invert);
  EXPECT_EQ(a.matches[0].query_params[0].match.value, "[0-9]+");
  EXPECT_EQ(a.matches[0].method->value, "GET");
  EXPECT_TRUE(a.matches[0].authority->ignore_case);
  EXPECT_EQ(a.matches[0].port, 9080);
  EXPECT_FALSE(a.matches[2].path);
  EXPECT_FALSE(a.matches[2].method);
  ASSERT_EQ(a.backends.size(), 3u);
  EXPECT_EQ(a.backends[0].subset, "v1");
  EXPECT_EQ(a.backends[0].weight, 90u);
  EXPECT_EQ(a.backends[0].request_headers.set, rules.routes[0].backends[0].request_headers.set);
  EXPECT_EQ(a.backends[0].response_headers.remove, std::vector<std::string>{"server"});
  EXPECT_EQ(a.backends[1].unresolved_status, 500);
  EXPECT_EQ(a.backends[2].weight, 0u);
  EXPECT_EQ(a.backends[0].load_balancer, rules.routes[0].backends[0].load_balancer);
  EXPECT_EQ(a.backends[1].load_balancer.simple, LoadBalancer::Simple::kLeastRequest);
  EXPECT_EQ(a.backends[2].load_balancer.hash, LoadBalancer::Hash::kSourceIp);
  EXPECT_EQ(a.rewrite_path->pattern, "^/api/(.*)");
  EXPECT_EQ(a.rewrite_host, "reviews.internal");
  EXPECT_EQ(a.request_headers.add.size(), 2u);
  EXPECT_EQ(a.timeouts.request, milliseconds(1500));
  EXPECT_EQ(a.timeouts.backend_request, milliseconds(0));
  EXPECT_EQ(a.retry->attempts, 3u);
  EXPECT_EQ(a.retry->per_try_timeout, milliseconds(200));
  EXPECT_EQ(a.retry->codes, (std::vector<uint16_t>{503, 429}));
  EXPECT_EQ(a.retry->backoff, milliseconds(25));
  EXPECT_EQ(a.fault->delay->fixed, milliseconds(5000));
  EXPECT_DOUBLE_EQ(a.fault->delay->percentage, 12.5);
  EXPECT_EQ(a.fault->abort->grpc_status, "UNAVAILABLE");
  EXPECT_EQ(a.mirrors[0].backend.host, "shadow.default.svc.cluster.local");
  EXPECT_DOUBLE_EQ(a.mirrors[0].percentage, 50);
  const Route& r = d.routes[1];
  EXPECT_EQ(r.redirect->scheme, "https");
  EXPECT_EQ(r.redirect->hostname, "new.example.com");
  EXPECT_EQ(r.redirect->port, 8443);
  EXPECT_EQ(r.redirect->path->kind, PathRewrite::Kind::kPrefix);
  EXPECT_EQ(r.redirect->status, 301);
  EXPECT_FALSE(d.routes[0].redirect);
  EXPECT_EQ(d.routes[2].direct_response->body, std::string("short\0and stout", 15));
  EXPECT_EQ(d.routes[2].fault->abort->http_status, 503);
  EXPECT_FALSE(d.routes[2].fault->delay);
  EXPECT_EQ(d.routes[3].rewrite_path->kind, PathRewrite::Kind::kFullPath);
  EXPECT_FALSE(d.routes[3].retry);
  EXPECT_FALSE(d.routes[3].timeouts.request);

  // The decoded rules compile and route as the originals do.
  auto table = Compile(d);
  ASSERT_TRUE(table.ok()) << table.error().ToString();
  RequestView req{
      .host = kName, .authority = "reviews:9080", .path = "/old", .method = "GET", .port = 9080};
  const Route* hit = table.value().Match(req);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->name, "HTTPRoute default/reviews rules[1]");
}

TEST(RouteWire, EmptyTableRoundTrips) {
  RouteRules rules;
  rules.precedence = Precedence::kFirstMatch;
  auto d = DecodeRouteTable(kName, EncodeRouteTable(rules));
  ASSERT_TRUE(d.ok()) << d.error().ToString();
  EXPECT_EQ(d.value().precedence, Precedence::kFirstMatch);
  EXPECT_TRUE(d.value().routes.empty());
}

// Decodes |table| expecting an error message containing |want|.
void ExpectRejected(const v1::RouteTable& table, const std::string& want) {
  auto d = DecodeRouteTable(kName, table);
  ASSERT_FALSE(d.ok()) << "accepted; wanted an error with: " << want;
  EXPECT_EQ(d.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(d.error().message().find("RouteTable 'reviews.default.svc.cluster.local': "),
            std::string::npos)
      << d.error().message();
  EXPECT_NE(d.error().message().find(want), std::string::npos) << d.error().message();
}

TEST(RouteWire, RejectsInvalidFieldsNamingThem) {
  const v1::RouteTable good = EncodeRouteTable(Everything());
  ASSERT_TRUE(DecodeRouteTable(kName, good).ok());

  v1::RouteTable t = good;
  t.set_precedence(v1::PRECEDENCE_UNSPECIFIED);
  ExpectRejected(t, "precedence: unknown or unset precedence 0");

  t = good;
  t.mutable_routes(0)->mutable_matches(0)->set_port(70000);
  ExpectRejected(t, "routes[0].matches[0].port: 70000 is not a port");

  t = good;
  t.mutable_routes(0)->mutable_matches(1)->mutable_path()->set_kind(
      static_cast<v1::PathMatch::Kind>(9));
  ExpectRejected(t, "routes[0].matches[1].path.kind: unknown or unset kind 9");

  t = good;
  t.mutable_routes(0)->mutable_matches(0)->mutable_headers(0)->clear_match();
  ExpectRejected(t, "routes[0].matches[0].headers[0].match: is required");

  t = good;
  t.mutable_routes(0)->mutable_matches(0)->mutable_headers(1)->mutable_match()->set_value("x");
  ExpectRejected(t, "routes[0].matches[0].headers[1].match.value: must be empty for kind PRESENT");

  t = good;
  t.mutable_routes(0)->mutable_backends(1)->set_unresolved_status(42);
  ExpectRejected(t, "routes[0].backends[1].unresolved_status: 42 is not an HTTP status");

  t = good;
  t.mutable_routes(0)->mutable_backends(0)->clear_host();
  ExpectRejected(t, "routes[0].backends[0].host: must not be empty");

  t = good;
  t.mutable_routes(0)->mutable_backends(0)->mutable_load_balancer()->clear_hash_key();
  ExpectRejected(t, "routes[0].backends[0].load_balancer.hash_key: must not be empty");

  t = good;
  t.mutable_routes(0)->mutable_backends(0)->mutable_load_balancer()->set_hash_key("End-User");
  ExpectRejected(t,
                 "routes[0].backends[0].load_balancer.hash_key: a header name must be lower-case");

  t = good;
  t.mutable_routes(0)->mutable_backends(2)->mutable_load_balancer()->set_hash_key("x");
  ExpectRejected(t, "routes[0].backends[2].load_balancer.hash_key: must be empty");

  t = good;
  t.mutable_routes(0)->mutable_backends(1)->mutable_load_balancer()->set_simple(
      static_cast<v1::LoadBalancer::Simple>(9));
  ExpectRejected(t, "routes[0].backends[1].load_balancer.simple: 9 is not a known policy");

  t = good;
  t.mutable_routes(0)->mutable_backends(1)->mutable_load_balancer()->set_hash(
      static_cast<v1::LoadBalancer::HashKind>(7));
  ExpectRejected(t, "routes[0].backends[1].load_balancer.hash: 7 is not a known hash kind");

  t = good;
  t.mutable_routes(1)->mutable_redirect()->set_status(0);
  ExpectRejected(t, "routes[1].redirect.status: 0 is not an HTTP status");

  t = good;
  t.mutable_routes(0)->mutable_fault()->mutable_delay()->set_percentage(100.5);
  ExpectRejected(t, "routes[0].fault.delay.percentage: percentage must be 0-100");

  t = good;
  t.mutable_routes(0)->mutable_fault()->mutable_delay()->set_percentage(std::nan(""));
  ExpectRejected(t, "routes[0].fault.delay.percentage");

  t = good;
  t.mutable_routes(0)->mutable_fault()->mutable_abort()->set_http_status(503);
  ExpectRejected(t, "routes[0].fault.abort: exactly one of http_status, grpc_status");

  t = good;
  t.mutable_routes(0)->mutable_timeouts()->set_request_ms(~uint64_t{0});
  ExpectRejected(t, "routes[0].timeouts.request_ms");

  t = good;
  t.mutable_routes(0)->mutable_mirrors(0)->clear_backend();
  ExpectRejected(t, "routes[0].mirrors[0].backend: is required");

  t = good;
  t.mutable_routes(3)->mutable_rewrite_path()->set_pattern("x");
  ExpectRejected(t, "routes[3].rewrite_path.pattern: is only for kind REGEX");

  t = good;
  t.mutable_routes(2)->clear_name();
  ExpectRejected(t, "routes[2].name: must not be empty");

  t = good;
  t.mutable_routes(0)->mutable_request_headers()->mutable_set(0)->clear_name();
  ExpectRejected(t, "routes[0].request_headers.set[0].name: must not be empty");

  t = good;
  t.mutable_routes(0)->mutable_retry()->set_codes(0, 1000);
  ExpectRejected(t, "routes[0].retry.codes[0]: 1000 is not an HTTP status");
}

TEST(RouteWire, RejectsBytesThatAreNotTheMessage) {
  auto d = DecodeRouteTableBytes(kName, std::string("\xff\xff\xff", 3));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message().find("not a valid ambit.route.v1.RouteTable"), std::string::npos);
}

}  // namespace
}  // namespace ambit::route
