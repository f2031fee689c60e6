// CompiledPolicy and PolicyIndex against the naive proto interpreter on
// random policies and connections drawn from a small vocabulary (so that
// hits are frequent), values long and short (both sides of the 8-byte
// window CompiledPolicy compares first).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "authz/compiled_policy.h"
#include "authz/policy_index.h"
#include "policy_builder.h"
#include "reference_matcher.h"

namespace ambit::authz {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace)

class Gen {
 public:
  explicit Gen(std::uint32_t seed) : rng_(seed) {}

  int Below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  pb::StringMatch String(bool principal) {
    static const char* kNs[] = {"shop",       "ops",      "dev", "s", "", "shop-production",
                                "production", "shop-prod"};
    static const char* kPrincipals[] = {"cluster.local/ns/shop/sa/cart",
                                        "cluster.local/ns/shop/",
                                        "/sa/cart",
                                        "cluster.local/ns/ops/sa/x",
                                        "cart",
                                        "",
                                        "cluster.local/ns/shop-production/sa/cart",
                                        "shop-production/sa/cart",
                                        "cluster.local/ns/shop-prod"};
    const std::string v = principal ? kPrincipals[Below(9)] : kNs[Below(8)];
    switch (Below(4)) {
      case 0: return Exact(v);
      case 1: return Prefix(v);
      case 2: return Suffix(v);
      default: return Presence();
    }
  }
  pb::Address Address() {
    static const char* kIps[] = {"10.0.0.1", "10.0.0.0", "10.0.1.1", "192.168.0.0", "fd00::1", "fd00::"};
    const std::string ip = kIps[Below(6)];
    const unsigned max = ip.find(':') == std::string::npos ? 32 : 128;
    return Cidr(ip, static_cast<unsigned>(Below(static_cast<int>(max) + 1)));
  }
  pb::Match Match() {
    pb::Match m;
    const int fields = Below(4);
    for (int f = 0; f < fields; ++f) {
      const int count = 1 + Below(2);
      for (int i = 0; i < count; ++i) {
        switch (Below(12)) {
          case 0: *m.add_namespaces() = String(false); break;
          case 1: *m.add_not_namespaces() = String(false); break;
          case 2: *m.add_principals() = String(true); break;
          case 3: *m.add_not_principals() = String(true); break;
          case 4: *m.add_source_ips() = Address(); break;
          case 5: *m.add_not_source_ips() = Address(); break;
          case 6: *m.add_destination_ips() = Address(); break;
          case 7: *m.add_not_destination_ips() = Address(); break;
          case 8:
            m.add_destination_ports(Below(2) ? 8080 : 80);
            if (Below(4) == 0) {  // a long list (searched, not scanned)
              for (std::uint32_t p = 1; p <= 12; ++p) m.add_destination_ports(p * 1000);
            }
            break;
          case 9: m.add_not_destination_ports(Below(2) ? 8080 : 80); break;
          case 10:
            *m.add_service_accounts() =
                Sa(Below(3) == 0 ? "shop-production" : (Below(2) ? "shop" : "ops"),
                   Below(2) ? "cart" : "x");
            break;
          default: *m.add_not_service_accounts() = Sa(Below(2) ? "shop" : "ops", Below(2) ? "cart" : "x"); break;
        }
      }
    }
    return m;
  }
  pb::Authorization Policy() {
    pb::Authorization p;
    p.set_namespace_("ns");
    p.set_name("p");
    const int rules = Below(4);
    for (int r = 0; r < rules; ++r) {
      auto* rule = p.add_rules();
      const int clauses = Below(3);
      for (int c = 0; c < clauses; ++c) {
        auto* clause = rule->add_clauses();
        const int matches = Below(3);
        for (int m = 0; m < matches; ++m) *clause->add_matches() = Match();
      }
    }
    return p;
  }
  Connection Conn() {
    static const char* kIps[] = {"10.0.0.1", "10.0.1.1", "192.168.3.4", "fd00::1", "fd00::8000:0"};
    const std::uint16_t port = Below(2) ? 8080 : 80;
    if (Below(4) == 0) return Plaintext(kIps[Below(5)], kIps[Below(5)], port);
    static const char* kNs[] = {"shop", "ops", "s", "shop-production"};
    static const char* kSa[] = {"cart", "x"};
    return From(kNs[Below(4)], kSa[Below(2)], kIps[Below(5)], kIps[Below(5)], port);
  }

 private:
  std::mt19937 rng_;
};

TEST(RandomizedTest, CompiledAgreesWithTheNaiveInterpreter) {
  Gen gen(20261126);
  int matched = 0;
  int total = 0;
  for (int i = 0; i < 3000; ++i) {
    const pb::Authorization proto = gen.Policy();
    auto compiled = CompiledPolicy::Compile(proto);
    ASSERT_TRUE(compiled.ok()) << compiled.error().ToString();
    for (int j = 0; j < 20; ++j) {
      const Connection conn = gen.Conn();
      const bool want = RefPolicyMatches(proto, conn);
      ASSERT_EQ(compiled->Matches(conn), want) << proto.DebugString();
      matched += want ? 1 : 0;
      ++total;
    }
  }
  // The vocabulary must exercise both outcomes substantially.
  EXPECT_GT(matched, total / 10);
  EXPECT_LT(matched, total * 9 / 10);
}

// Whole decisions: random sets of policies (scopes, actions, dry-run) and
// workloads (namespace, listed keys, some unknown), the index's resolved
// evaluation against the naive one, including which policy it names.
TEST(RandomizedTest, IndexAgreesWithTheNaiveDecision) {
  Gen gen(20261207);
  static const char* kNamespaces[] = {"ns", "shop", "shop-production"};
  const pb::Scope kScopes[] = {pb::GLOBAL, pb::NAMESPACE, pb::WORKLOAD_SELECTOR};
  int allowed = 0;
  int total = 0;
  for (int round = 0; round < 300; ++round) {
    PolicyMap map;
    std::vector<std::string> keys_pool = {"shop/missing"};
    const int n = gen.Below(12);
    for (int i = 0; i < n; ++i) {
      pb::Authorization p = gen.Policy();
      p.set_namespace_(kNamespaces[gen.Below(3)]);
      p.set_name("p" + std::to_string(i));
      p.set_scope(kScopes[gen.Below(3)]);
      p.set_action(gen.Below(3) == 0 ? pb::DENY : pb::ALLOW);
      p.set_dry_run(gen.Below(8) == 0);
      const std::string key = p.namespace_() + "/" + p.name();
      keys_pool.push_back(key);
      map[key] = std::make_shared<const pb::Authorization>(std::move(p));
    }
    PolicyIndex index(map);
    for (int w = 0; w < 5; ++w) {
      const std::string ns = kNamespaces[gen.Below(3)];
      std::vector<std::string> keys;
      const int listed = gen.Below(4);
      for (int k = 0; k < listed; ++k)
        keys.push_back(keys_pool[gen.Below(static_cast<int>(keys_pool.size()))]);
      const PolicySet scoped_set = PolicySet(index.ScopedPolicies(ns));
      const PolicySet listed_set = index.ListedPolicies(keys);
      for (int j = 0; j < 10; ++j) {
        const Connection conn = gen.Conn();
        const RefDecision want = RefDecide(map, ns, keys, conn);
        const Decision got =
            PolicyIndex::Evaluate(scoped_set, listed_set, PreparedConnection::Prepare(conn));
        ASSERT_EQ(got.allowed(), want.allowed) << "round " << round << " ns " << ns;
        if (want.could_name.empty()) {
          EXPECT_TRUE(got.policy.empty());
        } else {
          EXPECT_NE(
              std::find(want.could_name.begin(), want.could_name.end(), std::string(got.policy)),
              want.could_name.end())
              << got.policy;
        }
        // The per-call form decides the same.
        const Decision again = index.Evaluate(ns, keys, conn);
        EXPECT_EQ(again.allowed(), got.allowed());
        EXPECT_EQ(again.policy, got.policy);
        allowed += got.allowed() ? 1 : 0;
        ++total;
      }
    }
  }
  EXPECT_GT(allowed, total / 10);
  EXPECT_LT(allowed, total * 9 / 10);
}

}  // namespace
}  // namespace ambit::authz
