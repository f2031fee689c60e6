#include "waypoint/load_balancer.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

namespace ambit::waypoint {
namespace {

using LB = route::LoadBalancer;

const net::IpAddress kClient = net::IpAddress::V4({10, 0, 0, 7});

h2::RequestHead Get(std::string path, h2::Headers fields = {}) {
  return h2::RequestHead{"GET", "http", "reviews:9080", std::move(path), "", std::move(fields)};
}

LB Hash(LB::Hash kind, std::string key = "") {
  LB lb;
  lb.hash = kind;
  lb.hash_key = std::move(key);
  return lb;
}

LB Simple(LB::Simple s) {
  LB lb;
  lb.simple = s;
  return lb;
}

std::vector<std::string> Endpoints(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("10.1.0." + std::to_string(i + 1) + ":15008");
  return out;
}

TEST(RequestHash, HeaderHashesItsValueAndIsAbsentWithoutIt) {
  const LB lb = Hash(LB::Hash::kHeader, "end-user");
  auto a = RequestHash(lb, Get("/", {{"end-user", "jason"}}), kClient);
  auto b = RequestHash(lb, Get("/other", {{"end-user", "jason"}}), kClient);
  auto c = RequestHash(lb, Get("/", {{"end-user", "alice"}}), kClient);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_FALSE(RequestHash(lb, Get("/", {{"x-other", "jason"}}), kClient));
  // Several fields: order does not matter.
  EXPECT_EQ(RequestHash(lb, Get("/", {{"end-user", "a"}, {"end-user", "b"}}), kClient),
            RequestHash(lb, Get("/", {{"end-user", "b"}, {"end-user", "a"}}), kClient));
}

TEST(RequestHash, QueryParameter) {
  const LB lb = Hash(LB::Hash::kQueryParameter, "user");
  auto a = RequestHash(lb, Get("/p?x=1&user=jason"), kClient);
  auto b = RequestHash(lb, Get("/q?user=jason#frag"), kClient);
  auto c = RequestHash(lb, Get("/p?user=alice"), kClient);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_FALSE(RequestHash(lb, Get("/p?username=jason"), kClient));
  EXPECT_FALSE(RequestHash(lb, Get("/p"), kClient));
}

TEST(RequestHash, SourceIp) {
  const LB lb = Hash(LB::Hash::kSourceIp);
  auto a = RequestHash(lb, Get("/"), kClient);
  auto b = RequestHash(lb, Get("/x"), kClient);
  auto c = RequestHash(lb, Get("/"), net::IpAddress::V4({10, 0, 0, 8}));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
}

TEST(RequestHash, CookieByNameWhenPresent) {
  const LB lb = Hash(LB::Hash::kCookie, "session");
  auto a = RequestHash(lb, Get("/", {{"cookie", "a=1; session=abc; b=2"}}), kClient);
  auto b = RequestHash(lb, Get("/", {{"cookie", "x=9"}, {"cookie", "session=\"abc\""}}), kClient);
  auto c = RequestHash(lb, Get("/", {{"cookie", "session=xyz"}}), kClient);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_FALSE(RequestHash(lb, Get("/", {{"cookie", "sessionid=abc"}}), kClient));
  EXPECT_FALSE(RequestHash(lb, Get("/"), kClient));
}

TEST(RequestHash, NoneWithoutConsistentHash) {
  EXPECT_FALSE(RequestHash(LB{}, Get("/", {{"end-user", "jason"}}), kClient));
}

TEST(HashRing, DoesNotDependOnEndpointOrder) {
  std::vector<std::string> e = Endpoints(5);
  HashRing a(e);
  std::vector<std::string> r(e.rbegin(), e.rend());
  HashRing b(r);
  for (std::uint64_t k = 0; k < 1000; ++k) {
    const std::uint64_t h = StableHash("key" + std::to_string(k));
    EXPECT_EQ(a.endpoints()[a.Pick(h)], b.endpoints()[b.Pick(h)]);
  }
}

TEST(HashRing, SpreadsKeysOverEveryEndpoint) {
  HashRing ring(Endpoints(4));
  std::map<std::size_t, int> count;
  for (int k = 0; k < 4000; ++k) ++count[ring.Pick(StableHash("user" + std::to_string(k)))];
  ASSERT_EQ(count.size(), 4u);
  for (const auto& [e, n] : count) {
    EXPECT_GT(n, 600) << "endpoint " << e;  // 1000 expected each
    EXPECT_LT(n, 1400) << "endpoint " << e;
  }
}

TEST(HashRing, RemovingAnEndpointMovesOnlyItsKeys) {
  const std::vector<std::string> all = Endpoints(5);
  std::vector<std::string> fewer = all;
  const std::string gone = fewer[2];
  fewer.erase(fewer.begin() + 2);
  HashRing before(all), after(fewer);
  int moved = 0, on_gone = 0;
  for (int k = 0; k < 5000; ++k) {
    const std::uint64_t h = StableHash("user" + std::to_string(k));
    const std::string& was = before.endpoints()[before.Pick(h)];
    const std::string& now = after.endpoints()[after.Pick(h)];
    if (was == gone) {
      ++on_gone;
      EXPECT_NE(now, gone);
    } else {
      EXPECT_EQ(was, now) << "key " << k << " moved though its endpoint stayed";
    }
    if (was != now) ++moved;
  }
  EXPECT_EQ(moved, on_gone);
  EXPECT_GT(on_gone, 500);  // about a fifth of the keys
  EXPECT_LT(on_gone, 1500);
}

TEST(HashRing, RetryWalksToAnotherEndpointEventually) {
  HashRing ring(Endpoints(3));
  const std::uint64_t h = StableHash("jason");
  const std::size_t first = ring.Pick(h, 0);
  bool other = false;
  for (std::uint32_t attempt = 1; attempt < 50 && !other; ++attempt) {
    other = ring.Pick(h, attempt) != first;
  }
  EXPECT_TRUE(other);
}

TEST(PickEndpoint, ConsistentHashPinsAKey) {
  LbLoopState state;
  const auto e = Endpoints(4);
  const LB lb = Hash(LB::Hash::kHeader, "end-user");
  const auto h = RequestHash(lb, Get("/", {{"end-user", "jason"}}), kClient);
  const std::size_t first = PickEndpoint(lb, "reviews", e, h, 0, state, 1);
  std::set<std::size_t> others;
  for (std::uint64_t r = 0; r < 50; ++r) {
    EXPECT_EQ(PickEndpoint(lb, "reviews", e, h, 0, state, r * 7919), first);
    // Without the header: a random point on the ring.
    others.insert(
        PickEndpoint(lb, "reviews", e, std::nullopt, 0, state, StableHash(std::to_string(r))));
  }
  EXPECT_GT(others.size(), 1u);
}

TEST(PickEndpoint, RoundRobinTakesTurnsPerBackend) {
  LbLoopState state;
  const auto e = Endpoints(3);
  const LB lb = Simple(LB::Simple::kRoundRobin);
  std::vector<std::size_t> got;
  for (int i = 0; i < 6; ++i)
    got.push_back(PickEndpoint(lb, "reviews", e, std::nullopt, 0, state, 99));
  EXPECT_EQ(got, (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
  // Another backend has its own turn.
  EXPECT_EQ(PickEndpoint(lb, "ratings", e, std::nullopt, 0, state, 99), 0u);
  EXPECT_EQ(PickEndpoint(lb, "reviews", e, std::nullopt, 0, state, 99), 0u);
}

TEST(PickEndpoint, RandomCoversEveryEndpoint) {
  LbLoopState state;
  const auto e = Endpoints(3);
  std::mt19937_64 rng(42);
  std::map<std::size_t, int> count;
  for (int i = 0; i < 3000; ++i) {
    ++count[PickEndpoint(Simple(LB::Simple::kRandom), "reviews", e, std::nullopt, 0, state, rng())];
  }
  ASSERT_EQ(count.size(), 3u);
  for (const auto& [i, n] : count) EXPECT_GT(n, 800);
}

TEST(PickEndpoint, LeastRequestAvoidsTheBusyEndpoint) {
  LbLoopState state;
  const auto e = Endpoints(2);
  for (int i = 0; i < 5; ++i) state.Started(e[0]);
  std::mt19937_64 rng(7);
  std::map<std::size_t, int> count;
  for (int i = 0; i < 1000; ++i) {
    ++count[PickEndpoint(Simple(LB::Simple::kLeastRequest), "reviews", e, std::nullopt, 0, state,
                         rng())];
  }
  // Two choices out of two: endpoint 0 only when both draws fell on it (~1/4).
  EXPECT_GT(count[1], 650);
  EXPECT_LT(count[0], 350);
  for (int i = 0; i < 5; ++i) state.Finished(e[0]);
  EXPECT_EQ(state.Outstanding(e[0]), 0u);
  // Equal load: both are used.
  count.clear();
  for (int i = 0; i < 1000; ++i) {
    ++count[PickEndpoint(Simple(LB::Simple::kLeastRequest), "reviews", e, std::nullopt, 0, state,
                         rng())];
  }
  EXPECT_GT(count[0], 300);
  EXPECT_GT(count[1], 300);
}

TEST(PickEndpoint, OneEndpoint) {
  LbLoopState state;
  EXPECT_EQ(PickEndpoint(Hash(LB::Hash::kSourceIp), "x", Endpoints(1), 5, 3, state, 1), 0u);
}

}  // namespace
}  // namespace ambit::waypoint
