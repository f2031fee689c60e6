#include "authz/policy_index.h"

#include <gtest/gtest.h>

#include "policy_builder.h"

namespace ambit::authz {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace)

pb::Match FromNamespace(const std::string& ns) {
  pb::Match m;
  *m.add_namespaces() = Exact(ns);
  return m;
}

// A one-match policy |ns|/|name| matching connections from namespace |from|.
pb::Authorization NsPolicy(const std::string& ns, const std::string& name, pb::Action action,
                           pb::Scope scope, const std::string& from) {
  return Policy(ns, name, action, scope, {RuleOf({ClauseOf({FromNamespace(from)})})});
}

PolicyMap MapOf(std::initializer_list<pb::Authorization> policies) {
  PolicyMap out;
  for (const auto& p : policies) {
    out[p.namespace_() + "/" + p.name()] = std::make_shared<const pb::Authorization>(p);
  }
  return out;
}

const std::vector<std::string> kNoKeys;

TEST(PolicyIndexTest, NoPoliciesAllows) {
  PolicyIndex index;
  Decision d = index.Evaluate("shop", kNoKeys, From("ops", "x"));
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.reason, DecisionReason::kNoAllowPolicies);
  EXPECT_TRUE(d.policy.empty());
}

TEST(PolicyIndexTest, DenyFirstEvenWhenAnAllowMatches) {
  PolicyIndex index(MapOf({NsPolicy("shop", "allow-ops", pb::ALLOW, pb::NAMESPACE, "ops"),
                           NsPolicy("shop", "deny-ops", pb::DENY, pb::NAMESPACE, "ops")}));
  Decision d = index.Evaluate("shop", kNoKeys, From("ops", "x"));
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason, DecisionReason::kDenyMatched);
  EXPECT_EQ(d.policy, "shop/deny-ops");
}

TEST(PolicyIndexTest, NonMatchingDenyAndNoAllowAllows) {
  PolicyIndex index(MapOf({NsPolicy("shop", "deny-ops", pb::DENY, pb::NAMESPACE, "ops")}));
  Decision d = index.Evaluate("shop", kNoKeys, From("dev", "x"));
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.reason, DecisionReason::kNoAllowPolicies);
}

TEST(PolicyIndexTest, AllowPolicyMustMatchOnceOneApplies) {
  PolicyIndex index(MapOf({NsPolicy("shop", "allow-ops", pb::ALLOW, pb::NAMESPACE, "ops"),
                           NsPolicy("shop", "allow-dev", pb::ALLOW, pb::NAMESPACE, "dev")}));
  Decision ok = index.Evaluate("shop", kNoKeys, From("dev", "x"));
  EXPECT_TRUE(ok.allowed());
  EXPECT_EQ(ok.reason, DecisionReason::kAllowMatched);
  EXPECT_EQ(ok.policy, "shop/allow-dev");
  Decision no = index.Evaluate("shop", kNoKeys, From("web", "x"));
  EXPECT_FALSE(no.allowed());
  EXPECT_EQ(no.reason, DecisionReason::kNoAllowMatched);
  EXPECT_TRUE(no.policy.empty());
  EXPECT_FALSE(index.Evaluate("shop", kNoKeys, Plaintext()).allowed());
}

TEST(PolicyIndexTest, NamespaceScopeAppliesOnlyInItsNamespace) {
  PolicyIndex index(MapOf({NsPolicy("shop", "deny-ops", pb::DENY, pb::NAMESPACE, "ops"),
                           NsPolicy("shop", "allow-dev", pb::ALLOW, pb::NAMESPACE, "dev")}));
  EXPECT_FALSE(index.Evaluate("shop", kNoKeys, From("ops", "x")).allowed());
  EXPECT_TRUE(index.Evaluate("billing", kNoKeys, From("ops", "x")).allowed());
  EXPECT_EQ(index.Evaluate("billing", kNoKeys, From("web", "x")).reason, DecisionReason::kNoAllowPolicies);
}

TEST(PolicyIndexTest, GlobalScopeAppliesEverywhere) {
  PolicyIndex index(MapOf({NsPolicy("istio-system", "deny-ops", pb::DENY, pb::GLOBAL, "ops"),
                           NsPolicy("shop", "allow-dev", pb::ALLOW, pb::NAMESPACE, "dev")}));
  // A namespace with its own policies and one without.
  for (const char* ns : {"shop", "billing", "istio-system"}) {
    Decision d = index.Evaluate(ns, kNoKeys, From("ops", "x"));
    EXPECT_FALSE(d.allowed()) << ns;
    EXPECT_EQ(d.policy, "istio-system/deny-ops") << ns;
  }
  // The namespace policy still applies beside the global one.
  EXPECT_FALSE(index.Evaluate("shop", kNoKeys, From("web", "x")).allowed());
  EXPECT_TRUE(index.Evaluate("billing", kNoKeys, From("web", "x")).allowed());
}

TEST(PolicyIndexTest, GlobalAllowMakesAllowRequired) {
  PolicyIndex index(MapOf({NsPolicy("istio-system", "allow-dev", pb::ALLOW, pb::GLOBAL, "dev")}));
  EXPECT_TRUE(index.Evaluate("any", kNoKeys, From("dev", "x")).allowed());
  EXPECT_FALSE(index.Evaluate("any", kNoKeys, From("web", "x")).allowed());
}

TEST(PolicyIndexTest, SelectorScopeAppliesOnlyWhereListed) {
  PolicyIndex index(MapOf({NsPolicy("shop", "cart-deny-ops", pb::DENY, pb::WORKLOAD_SELECTOR, "ops"),
                           NsPolicy("shop", "cart-allow-dev", pb::ALLOW, pb::WORKLOAD_SELECTOR, "dev")}));
  const std::vector<std::string> cart_keys = {"shop/cart-deny-ops", "shop/cart-allow-dev"};
  Decision denied = index.Evaluate("shop", cart_keys, From("ops", "x"));
  EXPECT_FALSE(denied.allowed());
  EXPECT_EQ(denied.policy, "shop/cart-deny-ops");
  Decision allowed = index.Evaluate("shop", cart_keys, From("dev", "x"));
  EXPECT_TRUE(allowed.allowed());
  EXPECT_EQ(allowed.policy, "shop/cart-allow-dev");
  EXPECT_FALSE(index.Evaluate("shop", cart_keys, From("web", "x")).allowed());
  // Another workload of the same namespace lists nothing: not affected.
  EXPECT_TRUE(index.Evaluate("shop", kNoKeys, From("ops", "x")).allowed());
  EXPECT_TRUE(index.Evaluate("shop", kNoKeys, From("web", "x")).allowed());
}

TEST(PolicyIndexTest, SelectorDenyBeatsNamespaceAllow) {
  PolicyIndex index(MapOf({NsPolicy("shop", "allow-ops", pb::ALLOW, pb::NAMESPACE, "ops"),
                           NsPolicy("shop", "cart-deny-ops", pb::DENY, pb::WORKLOAD_SELECTOR, "ops")}));
  const std::vector<std::string> keys = {"shop/cart-deny-ops"};
  Decision d = index.Evaluate("shop", keys, From("ops", "x"));
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.policy, "shop/cart-deny-ops");
}

TEST(PolicyIndexTest, SelectorAllowSatisfiesNamespaceAllowRequirement) {
  PolicyIndex index(MapOf({NsPolicy("shop", "allow-ops", pb::ALLOW, pb::NAMESPACE, "ops"),
                           NsPolicy("shop", "cart-allow-dev", pb::ALLOW, pb::WORKLOAD_SELECTOR, "dev")}));
  const std::vector<std::string> keys = {"shop/cart-allow-dev"};
  EXPECT_TRUE(index.Evaluate("shop", keys, From("dev", "x")).allowed());
  EXPECT_TRUE(index.Evaluate("shop", keys, From("ops", "x")).allowed());
  EXPECT_FALSE(index.Evaluate("shop", keys, From("web", "x")).allowed());
}

TEST(PolicyIndexTest, UnknownKeysAreSkipped) {
  PolicyIndex index(MapOf({NsPolicy("shop", "deny-ops", pb::DENY, pb::NAMESPACE, "ops")}));
  const std::vector<std::string> keys = {"shop/not-yet-sent"};
  Decision d = index.Evaluate("shop", keys, From("dev", "x"));
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.reason, DecisionReason::kNoAllowPolicies);
}

TEST(PolicyIndexTest, DryRunPoliciesAreNotEnforced) {
  auto deny = NsPolicy("shop", "deny-all", pb::DENY, pb::NAMESPACE, "ops");
  deny.set_dry_run(true);
  auto allow = NsPolicy("shop", "cart-allow-dev", pb::ALLOW, pb::WORKLOAD_SELECTOR, "dev");
  allow.set_dry_run(true);
  PolicyIndex index(MapOf({deny, allow}));
  const std::vector<std::string> keys = {"shop/cart-allow-dev", "shop/deny-all"};
  Decision d = index.Evaluate("shop", keys, From("ops", "x"));
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.reason, DecisionReason::kNoAllowPolicies);
  ASSERT_NE(index.Find("shop/deny-all"), nullptr);
  EXPECT_TRUE(index.Find("shop/deny-all")->dry_run());
}

TEST(PolicyIndexTest, StaticStrictPolicyDeniesPlaintextOnly) {
  pb::Match m;
  *m.add_not_principals() = Presence();
  PolicyIndex index(MapOf({Policy("istio-system", "istio_converted_static_strict", pb::DENY, pb::GLOBAL,
                                  {RuleOf({ClauseOf({m})})})}));
  EXPECT_FALSE(index.Evaluate("shop", kNoKeys, Plaintext()).allowed());
  EXPECT_TRUE(index.Evaluate("shop", kNoKeys, From("ops", "x")).allowed());
}

TEST(PolicyIndexTest, InvalidPoliciesFailClosed) {
  pb::Match bad;
  bad.add_destination_ports(70000);
  auto bad_allow = Policy("shop", "bad-allow", pb::ALLOW, pb::NAMESPACE, {RuleOf({ClauseOf({bad})})});
  auto bad_deny = Policy("ops", "bad-deny", pb::DENY, pb::NAMESPACE, {RuleOf({ClauseOf({bad})})});
  PolicyIndex index(MapOf({bad_allow, bad_deny}));
  ASSERT_EQ(index.errors().size(), 2u);
  EXPECT_EQ(index.errors()[0].first, "ops/bad-deny");
  EXPECT_EQ(index.errors()[1].first, "shop/bad-allow");
  // An invalid ALLOW applies but never matches: everything is denied.
  Decision shop = index.Evaluate("shop", kNoKeys, From("dev", "x"));
  EXPECT_FALSE(shop.allowed());
  EXPECT_EQ(shop.reason, DecisionReason::kNoAllowMatched);
  // An invalid DENY matches everything.
  Decision ops = index.Evaluate("ops", kNoKeys, From("dev", "x"));
  EXPECT_FALSE(ops.allowed());
  EXPECT_EQ(ops.policy, "ops/bad-deny");
  // Elsewhere nothing applies.
  EXPECT_TRUE(index.Evaluate("web", kNoKeys, From("dev", "x")).allowed());
}

TEST(PolicyIndexTest, RebuildReusesUnchangedPolicies) {
  PolicyMap first = MapOf({NsPolicy("shop", "a", pb::DENY, pb::NAMESPACE, "ops"),
                           NsPolicy("shop", "b", pb::ALLOW, pb::NAMESPACE, "dev")});
  PolicyIndex one(first);
  PolicyMap second = first;
  second["shop/b"] = std::make_shared<const pb::Authorization>(
      NsPolicy("shop", "b", pb::ALLOW, pb::NAMESPACE, "web"));
  PolicyIndex two(second, &one);
  EXPECT_EQ(two.Find("shop/a"), one.Find("shop/a"));  // same compiled object
  EXPECT_NE(two.Find("shop/b"), one.Find("shop/b"));
  EXPECT_TRUE(two.Evaluate("shop", kNoKeys, From("web", "x")).allowed());
  EXPECT_FALSE(two.Evaluate("shop", kNoKeys, From("dev", "x")).allowed());
  EXPECT_EQ(two.size(), 2u);
}

TEST(PolicyIndexTest, RebuildKeepsErrorsOfReusedPolicies) {
  pb::Match bad;
  bad.add_destination_ports(70000);
  PolicyMap first = MapOf({Policy("shop", "bad", pb::ALLOW, pb::NAMESPACE, {RuleOf({ClauseOf({bad})})})});
  PolicyIndex one(first);
  PolicyIndex two(first, &one);
  ASSERT_EQ(two.errors().size(), 1u);
  EXPECT_EQ(two.errors()[0].first, "shop/bad");
}

TEST(PolicyIndexTest, FindByKey) {
  PolicyIndex index(MapOf({NsPolicy("shop", "a", pb::DENY, pb::NAMESPACE, "ops")}));
  ASSERT_NE(index.Find("shop/a"), nullptr);
  EXPECT_EQ(index.Find("shop/a")->key(), "shop/a");
  EXPECT_EQ(index.Find("shop/b"), nullptr);
}

}  // namespace
}  // namespace ambit::authz
