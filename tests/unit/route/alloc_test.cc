// Match allocates nothing once RE2's lazily built automata are warm: counted
// with a replaced global operator new (this binary only).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "route/table.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// The replacements pair malloc with free; GCC cannot see that they match.
// The nothrow forms are replaced too (std::stable_sort's temporary buffer uses
// them): a sanitizer's own operator new paired with this free is a mismatch.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace ambit::route {
namespace {

class FlatHeaders : public HeaderLookup {
 public:
  std::optional<std::string_view> Get(std::string_view name) const override {
    for (const auto& [k, v] : kHeaders) {
      if (k == name) return v;
    }
    return std::nullopt;
  }

 private:
  static constexpr std::pair<std::string_view, std::string_view> kHeaders[] = {
      {"end-user", "jason"},
      {"x-request-id", "0123456789abcdef0123456789abcdef"},
      {"user-agent", "curl/7.88"}};
};

TEST(AllocationTest, MatchDoesNotAllocate) {
  std::vector<Route> routes;
  for (int i = 0; i < 50; ++i) {
    Route r;
    r.name = "r" + std::to_string(i);
    r.hosts = {"*.example.com", "reviews.default.svc.cluster.local"};
    RouteMatch m;
    m.path = PathMatch{.kind = PathMatch::Kind::kRegex,
                       .value = "/api/v" + std::to_string(i) + "/[a-z]+"};
    m.headers = {KeyValueMatch{.name = "end-user",
                               .match = {.kind = StringMatch::Kind::kRegex, .value = "ja.*"}}};
    m.query_params = {
        KeyValueMatch{.name = "q", .match = {.kind = StringMatch::Kind::kExact, .value = "1"}}};
    r.matches = {m};
    r.backends = {Backend{.host = "reviews"}};
    routes.push_back(std::move(r));
  }
  auto table = Compile(RouteRules{Precedence::kGatewayApi, std::move(routes)});
  ASSERT_TRUE(table.ok());
  FlatHeaders headers;
  const RequestView requests[] = {
      {.host = "reviews.default.svc.cluster.local:9080",
       .path = "/api/v49/books?x=2&q=1",
       .method = "GET",
       .headers = &headers},
      {.host = "Shop.Example.com", .path = "/api/v3/x?q=1", .method = "GET", .headers = &headers},
      {.host = "nowhere.test", .path = "/", .method = "GET", .headers = &headers}};
  for (const auto& r : requests) (void)table->Match(r);  // warm RE2's DFA caches
  const long before = g_allocations.load();
  int hits = 0;
  for (int i = 0; i < 1000; ++i) {
    for (const auto& r : requests) hits += table->Match(r) != nullptr;
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_EQ(hits, 2000);
}

}  // namespace
}  // namespace ambit::route
