// The waypoint's per-request L7 decision (docs/waypoint.md "HTTP"), the pure
// part of what HttpProxy does for each parsed request before any I/O:
// waypoint::DecideRequest (route table match for the Service, weighted
// backend pick, rewrites) then AddProxyRequestHeaders with a fresh
// x-request-id (FormatRequestId), on a browser-like GET of 13 fields.
//   - Routes/N: the Service's table holds N routes (1, 100, 1000), PathPrefix
//     /api/v<i> plus a header match each; the request hits the route that
//     Gateway API precedence puts last (the whole list is scanned).
//   - DefaultRoute: no table for the Service (Istio's default route).
// route_bench.cc/http_route_bench.cc time RouteTable::Match alone and
// http1_bench.cc the HTTP/1.1 parse; this is the rest of the request's
// decision, so the three add up to the waypoint's per-request CPU outside
// the TLS, HTTP/2 and socket work the whole-system benchmark measures.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "net/socket_address.h"
#include "route/table.h"
#include "waypoint/http_decision.h"

namespace {

using namespace ambit;

constexpr char kHost[] = "web.bench.svc.cluster.local";

route::RouteTable Build(int n) {
  route::RouteRules rules{route::Precedence::kGatewayApi, {}};
  for (int i = 0; i < n; ++i) {
    route::Route r;
    r.name = "r" + std::to_string(i);
    r.hosts = {kHost};
    route::RouteMatch m;
    m.path = route::PathMatch{.kind = route::PathMatch::Kind::kPathPrefix,
                              .value = "/api/v" + std::to_string(i)};
    m.headers = {route::KeyValueMatch{
        .name = "x-tenant", .match = {.kind = route::StringMatch::Kind::kExact, .value = "t-7"}}};
    r.matches = {m};
    r.backends = {route::Backend{.host = kHost, .port = 8080}};
    rules.routes.push_back(std::move(r));
  }
  auto t = route::Compile(std::move(rules));
  if (!t.ok()) std::abort();
  return std::move(t).value();
}

// Equal prefix lengths keep input order under Gateway API precedence, and
// longer prefixes sort first: the shortest, latest prefix is matched last.
std::string LastPath(const route::RouteTable& table) {
  const auto& routes = table.routes();
  std::size_t pick = 0;
  for (std::size_t i = 1; i < routes.size(); ++i) {
    if (routes[i].matches[0].path->value.size() <= routes[pick].matches[0].path->value.size())
      pick = i;
  }
  return routes[pick].matches[0].path->value + "/books/1";
}

h2::RequestHead Request(std::string path) {
  h2::RequestHead head;
  head.method = "GET";
  head.scheme = "http";
  head.authority = "10.96.0.10:8080";
  head.path = std::move(path);
  head.fields = {
      {"user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
      {"accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
      {"accept-language", "en-US,en;q=0.5"},
      {"accept-encoding", "gzip, deflate"},
      {"cookie", "session=8f2b1c9e4d7a; theme=dark"},
      {"upgrade-insecure-requests", "1"},
      {"x-b3-traceid", "463ac35c9f6413ad48485a3953bb6124"},
      {"x-b3-spanid", "a2fb4a1d1a96d312"},
      {"x-b3-sampled", "1"},
      {"x-tenant", "t-7"},
      {"cache-control", "max-age=0"}};
  return head;
}

void Run(benchmark::State& state, const route::RouteTable* table, const std::string& path) {
  const waypoint::HttpDestination destination{.service_host = kHost, .port = 8080};
  const net::IpAddress client = net::IpAddress::V4({10, 244, 1, 5});
  const h2::RequestHead request = Request(path);
  std::uint64_t random = 0x9e3779b97f4a7c15ULL;
  {
    auto first = waypoint::DecideRequest(destination, request, table, random);
    if (!std::holds_alternative<waypoint::ForwardRequest>(first))
      state.SkipWithError("not forwarded");
  }
  for (auto _ : state) {
    random = random * 6364136223846793005ULL + 1442695040888963407ULL;
    // The parser hands the proxy a head it owns: a copy per request, as in HttpProxy.
    auto decision = waypoint::DecideRequest(destination, request, table, random);
    auto* forward = std::get_if<waypoint::ForwardRequest>(&decision);
    waypoint::AddProxyRequestHeaders(forward->head, client,
                                     waypoint::FormatRequestId(random, ~random), 1);
    benchmark::DoNotOptimize(forward->head);
  }
}

void BM_DecideRequestRoutes(benchmark::State& state) {
  const route::RouteTable table = Build(static_cast<int>(state.range(0)));
  Run(state, &table, LastPath(table));
}

void BM_DecideRequestDefaultRoute(benchmark::State& state) {
  Run(state, nullptr, "/api/v1/books/1");
}

BENCHMARK(BM_DecideRequestRoutes)->ArgName("routes")->Arg(1)->Arg(100)->Arg(1000);
BENCHMARK(BM_DecideRequestDefaultRoute);

}  // namespace
