// L7 route matching (src/route, docs/traffic-management.md): RouteTable::Match
// with 1, 100 and 1000 routes.
//   - OneHost: all routes belong to one Service (a long HTTPRoute/VirtualService
//     list): route i matches PathPrefix /api/v<i> and a header; the request hits
//     the last route in precedence order (the whole list is scanned) or the
//     first.
//   - ManyHosts: one route per Service host (the common mesh shape); the
//     request's host picks its list in one hash lookup.
//   - Regex: OneHost with RE2 path patterns instead of prefixes.
//   - DistinctSegments: OneHost/Regex with route i under /svc<i>/ (routes that
//     differ in their first path segment, as REST services' routes usually
//     do): the first-segment index leaves one candidate.
//   - Bookinfo: the reviews VirtualService (end-user: jason -> v2, else 90/10
//     v1/v3) with PickBackend, the per-request work for that sample.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "route/table.h"

namespace {

using namespace ambit::route;

class Headers : public HeaderLookup {
 public:
  explicit Headers(std::vector<std::pair<std::string, std::string>> h) : h_(std::move(h)) {}
  std::optional<std::string_view> Get(std::string_view name) const override {
    for (const auto& [k, v] : h_) {
      if (k == name) return std::string_view(v);
    }
    return std::nullopt;
  }

 private:
  std::vector<std::pair<std::string, std::string>> h_;
};

const Headers kHeaders({{"user-agent", "curl/7.88.1"},
                        {"accept", "*/*"},
                        {"x-request-id", "6c2a9e0e-3d1f-4f0b-9a55-1b2c3d4e5f60"},
                        {"end-user", "jason"},
                        {"x-tenant", "t-7"}});

std::string Prefix(int i, bool distinct_segments) {
  return distinct_segments ? "/svc" + std::to_string(i) + "/v1" : "/api/v" + std::to_string(i);
}

std::string Host(int i) { return "svc-" + std::to_string(i) + ".ns.svc.cluster.local"; }

// |distinct_segments|: route i's paths start with /svc<i>/ instead of /api/.
RouteTable Build(int n, bool many_hosts, bool regex, bool distinct_segments = false) {
  RouteRules rules{Precedence::kGatewayApi, {}};
  for (int i = 0; i < n; ++i) {
    Route r;
    r.name = "r" + std::to_string(i);
    r.hosts = {many_hosts ? Host(i) : Host(0)};
    RouteMatch m;
    if (regex) {
      m.path = PathMatch{.kind = PathMatch::Kind::kRegex,
                         .value = Prefix(i, distinct_segments) + "/[a-z]+/[0-9]+"};
    } else {
      m.path =
          PathMatch{.kind = PathMatch::Kind::kPathPrefix, .value = Prefix(i, distinct_segments)};
    }
    m.headers = {KeyValueMatch{.name = "x-tenant",
                               .match = {.kind = StringMatch::Kind::kExact, .value = "t-7"}}};
    r.matches = {m};
    r.backends = {Backend{.host = Host(i), .port = 9080}};
    rules.routes.push_back(std::move(r));
  }
  auto t = Compile(std::move(rules));
  if (!t.ok()) std::abort();
  return std::move(t).value();
}

void Run(benchmark::State& state, const RouteTable& table, std::string host, std::string path) {
  const RequestView request{
      .host = host, .path = path, .method = "GET", .port = 9080, .headers = &kHeaders};
  if (table.Match(request) == nullptr) state.SkipWithError("no route matched");
  for (auto _ : state) {
    const Route* r = table.Match(request);
    benchmark::DoNotOptimize(r);
  }
}

// A path hitting the route Gateway precedence puts first (|first|) or last on
// host 0's list: longer prefixes sort first, equal lengths keep input order.
std::string PathAt(const RouteTable& table, bool first) {
  const auto& routes = table.routes();
  size_t pick = 0;
  for (size_t i = 1; i < routes.size(); ++i) {
    const size_t len = routes[i].matches[0].path->value.size();
    const size_t best = routes[pick].matches[0].path->value.size();
    if (first ? len > best : len <= best) pick = i;
  }
  return "/api/v" + std::to_string(pick) + "/books/1";
}

void BM_OneHostLast(benchmark::State& state) {
  const RouteTable table = Build(static_cast<int>(state.range(0)), false, false);
  Run(state, table, Host(0) + ":9080", PathAt(table, false) + "?x=1");
}
void BM_OneHostFirst(benchmark::State& state) {
  const RouteTable table = Build(static_cast<int>(state.range(0)), false, false);
  Run(state, table, Host(0), PathAt(table, true));
}
void BM_ManyHosts(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const RouteTable table = Build(n, true, false);
  Run(state, table, Host(n / 2) + ":9080", "/api/v" + std::to_string(n / 2) + "/books/1");
}
void BM_RegexOneHostLast(benchmark::State& state) {
  const RouteTable table = Build(static_cast<int>(state.range(0)), false, true);
  Run(state, table, Host(0), PathAt(table, false));
}

void BM_OneHostDistinctSegmentsLast(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const RouteTable table = Build(n, false, false, true);
  Run(state, table, Host(0), "/svc" + std::to_string(n - 1) + "/v1/books/1");
}
void BM_RegexDistinctSegmentsLast(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const RouteTable table = Build(n, false, true, true);
  Run(state, table, Host(0), "/svc" + std::to_string(n - 1) + "/v1/books/1");
}

void BM_BookinfoReviews(benchmark::State& state) {
  Route jason;
  jason.name = "jason";
  jason.hosts = {"reviews.default.svc.cluster.local"};
  RouteMatch m;
  m.headers = {KeyValueMatch{.name = "end-user",
                             .match = {.kind = StringMatch::Kind::kExact, .value = "jason"}}};
  jason.matches = {m};
  jason.backends = {Backend{.host = "reviews.default.svc.cluster.local", .subset = "v2"}};
  Route split;
  split.name = "split";
  split.hosts = jason.hosts;
  split.backends = {
      Backend{.host = "reviews.default.svc.cluster.local", .subset = "v1", .weight = 90},
      Backend{.host = "reviews.default.svc.cluster.local", .subset = "v3", .weight = 10}};
  auto table = Compile(RouteRules{Precedence::kFirstMatch, {jason, split}});
  if (!table.ok()) std::abort();
  const Headers anonymous({{"user-agent", "python-requests/2.28"}, {"x-request-id", "abc"}});
  const RequestView as_fqdn{.host = "reviews.default.svc.cluster.local:9080",
                            .path = "/reviews/0",
                            .method = "GET",
                            .headers = &anonymous};
  std::mt19937_64 rng(1);
  if (table->Match(as_fqdn) == nullptr) state.SkipWithError("no route matched");
  for (auto _ : state) {
    const Route* r = table->Match(as_fqdn);
    const Backend* b = PickBackend(*r, rng());
    benchmark::DoNotOptimize(b);
  }
}

BENCHMARK(BM_OneHostFirst)->Arg(1)->Arg(100)->Arg(1000);
BENCHMARK(BM_OneHostLast)->Arg(1)->Arg(100)->Arg(1000);
BENCHMARK(BM_ManyHosts)->Arg(1)->Arg(100)->Arg(1000);
BENCHMARK(BM_RegexOneHostLast)->Arg(1)->Arg(100)->Arg(1000);
BENCHMARK(BM_OneHostDistinctSegmentsLast)->Arg(1)->Arg(100)->Arg(1000);
BENCHMARK(BM_RegexDistinctSegmentsLast)->Arg(1)->Arg(100)->Arg(1000);
BENCHMARK(BM_BookinfoReviews);

}  // namespace
