#include "authz/compiled_policy.h"

#include <gtest/gtest.h>

#include "policy_builder.h"

namespace ambit::authz {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace)

CompiledPolicy MustCompile(const pb::Authorization& p) {
  auto c = CompiledPolicy::Compile(p);
  if (!c.ok()) ADD_FAILURE() << c.error().ToString();
  return std::move(c).value();
}

bool Matches(const pb::Match& m, const Connection& conn) {
  return MustCompile(OneMatch(pb::ALLOW, m)).Matches(conn);
}

pb::Match Ports(std::initializer_list<std::uint32_t> ports) {
  pb::Match m;
  for (auto p : ports) m.add_destination_ports(p);
  return m;
}

const Connection kCart = From("shop", "cart", "10.0.0.1", "10.0.1.1", 8080);

// ---- Structure: rules OR, clauses AND, matches OR, empty cases ----------

TEST(CompiledPolicyTest, PolicyWithoutRulesNeverMatches) {
  auto p = MustCompile(Policy("ns", "p", pb::ALLOW, pb::NAMESPACE, {}));
  EXPECT_FALSE(p.Matches(kCart));
  EXPECT_FALSE(p.Matches(Plaintext()));
}

TEST(CompiledPolicyTest, RuleWithoutClausesMatchesEverything) {
  auto p = MustCompile(Policy("ns", "p", pb::ALLOW, pb::NAMESPACE, {RuleOf({})}));
  EXPECT_TRUE(p.Matches(kCart));
  EXPECT_TRUE(p.Matches(Plaintext()));
}

TEST(CompiledPolicyTest, ClauseWithoutMatchesIsSatisfied) {
  auto p = MustCompile(Policy("ns", "p", pb::ALLOW, pb::NAMESPACE, {RuleOf({ClauseOf({}), ClauseOf({Ports({8080})})})}));
  EXPECT_TRUE(p.Matches(kCart));
  EXPECT_FALSE(p.Matches(From("shop", "cart", "10.0.0.1", "10.0.1.1", 9090)));
}

TEST(CompiledPolicyTest, EmptyMatchIsSkippedNotAWildcard) {
  // A clause whose only match is empty never matches ...
  auto only_empty = MustCompile(OneMatch(pb::ALLOW, pb::Match()));
  EXPECT_FALSE(only_empty.Matches(kCart));
  // ... and an empty match next to a real one does not widen the clause.
  auto mixed = MustCompile(Policy("ns", "p", pb::ALLOW, pb::NAMESPACE, {RuleOf({ClauseOf({pb::Match(), Ports({9090})})})}));
  EXPECT_FALSE(mixed.Matches(kCart));
  EXPECT_TRUE(mixed.Matches(From("shop", "cart", "10.0.0.1", "10.0.1.1", 9090)));
}

TEST(CompiledPolicyTest, EmptyMatchOnlyKillsItsOwnRule) {
  auto p = MustCompile(Policy("ns", "p", pb::ALLOW, pb::NAMESPACE,
                              {RuleOf({ClauseOf({pb::Match()})}), RuleOf({ClauseOf({Ports({8080})})})}));
  EXPECT_TRUE(p.Matches(kCart));
}

TEST(CompiledPolicyTest, RulesAreOred) {
  auto p = MustCompile(Policy("ns", "p", pb::ALLOW, pb::NAMESPACE,
                              {RuleOf({ClauseOf({Ports({1})})}), RuleOf({ClauseOf({Ports({8080})})})}));
  EXPECT_TRUE(p.Matches(kCart));
  EXPECT_FALSE(p.Matches(From("shop", "cart", "10.0.0.1", "10.0.1.1", 2)));
}

TEST(CompiledPolicyTest, ClausesAreAnded) {
  pb::Match from_shop;
  *from_shop.add_namespaces() = Exact("shop");
  auto p = MustCompile(Policy("ns", "p", pb::ALLOW, pb::NAMESPACE, {RuleOf({ClauseOf({from_shop}), ClauseOf({Ports({8080})})})}));
  EXPECT_TRUE(p.Matches(kCart));
  EXPECT_FALSE(p.Matches(From("other", "cart")));                                 // first clause fails
  EXPECT_FALSE(p.Matches(From("shop", "cart", "10.0.0.1", "10.0.1.1", 9090)));    // second fails
}

TEST(CompiledPolicyTest, MatchesInAClauseAreOred) {
  pb::Match from_other;
  *from_other.add_namespaces() = Exact("other");
  auto p = MustCompile(Policy("ns", "p", pb::ALLOW, pb::NAMESPACE, {RuleOf({ClauseOf({from_other, Ports({8080})})})}));
  EXPECT_TRUE(p.Matches(kCart));                                                 // second match
  EXPECT_TRUE(p.Matches(From("other", "x", "10.0.0.1", "10.0.1.1", 1)));         // first match
  EXPECT_FALSE(p.Matches(From("shop", "x", "10.0.0.1", "10.0.1.1", 1)));         // neither
}

TEST(CompiledPolicyTest, FieldsInAMatchAreAndedValuesOred) {
  pb::Match m = Ports({443, 8080});
  *m.add_namespaces() = Exact("shop");
  *m.add_namespaces() = Exact("ops");
  EXPECT_TRUE(Matches(m, kCart));
  EXPECT_TRUE(Matches(m, From("ops", "x", "10.0.0.1", "10.0.1.1", 443)));
  EXPECT_FALSE(Matches(m, From("ops", "x", "10.0.0.1", "10.0.1.1", 80)));  // port fails
  EXPECT_FALSE(Matches(m, From("dev", "x", "10.0.0.1", "10.0.1.1", 443)));  // namespace fails
}

// ---- Ports -------------------------------------------------------------

TEST(CompiledPolicyTest, NotPortsExclude) {
  pb::Match m;
  m.add_not_destination_ports(8080);
  m.add_not_destination_ports(9090);
  EXPECT_FALSE(Matches(m, kCart));
  EXPECT_TRUE(Matches(m, From("shop", "cart", "10.0.0.1", "10.0.1.1", 80)));
}

TEST(CompiledPolicyTest, PositiveAndNegativeOfOneFieldBothApply) {
  pb::Match m = Ports({80, 8080});
  m.add_not_destination_ports(8080);
  EXPECT_FALSE(Matches(m, kCart));
  EXPECT_TRUE(Matches(m, From("shop", "cart", "10.0.0.1", "10.0.1.1", 80)));
}

TEST(CompiledPolicyTest, ManyPortsAnyOrder) {
  pb::Match m;
  for (std::uint32_t p = 100; p > 0; --p) m.add_destination_ports(p * 7);
  EXPECT_TRUE(Matches(m, From("a", "b", "10.0.0.1", "10.0.1.1", 7)));
  EXPECT_TRUE(Matches(m, From("a", "b", "10.0.0.1", "10.0.1.1", 700)));
  EXPECT_TRUE(Matches(m, From("a", "b", "10.0.0.1", "10.0.1.1", 350)));
  EXPECT_FALSE(Matches(m, From("a", "b", "10.0.0.1", "10.0.1.1", 351)));
}

// ---- Principals, namespaces, service accounts --------------------------

TEST(CompiledPolicyTest, PrincipalKindsAndNoScheme) {
  auto principal = [](pb::StringMatch sm) {
    pb::Match m;
    *m.add_principals() = std::move(sm);
    return m;
  };
  EXPECT_TRUE(Matches(principal(Exact("cluster.local/ns/shop/sa/cart")), kCart));
  EXPECT_FALSE(Matches(principal(Exact("spiffe://cluster.local/ns/shop/sa/cart")), kCart));
  EXPECT_FALSE(Matches(principal(Exact("cluster.local/ns/shop/sa/car")), kCart));
  EXPECT_TRUE(Matches(principal(Prefix("cluster.local/ns/shop/")), kCart));
  EXPECT_FALSE(Matches(principal(Prefix("cluster.local/ns/ops/")), kCart));
  EXPECT_TRUE(Matches(principal(Suffix("/sa/cart")), kCart));
  EXPECT_FALSE(Matches(principal(Suffix("/sa/cartx")), kCart));
  EXPECT_TRUE(Matches(principal(Presence()), kCart));
}

TEST(CompiledPolicyTest, NotPrincipals) {
  pb::Match m;
  *m.add_principals() = Prefix("cluster.local/ns/shop/");
  *m.add_not_principals() = Exact("cluster.local/ns/shop/sa/cart");
  EXPECT_FALSE(Matches(m, kCart));
  EXPECT_TRUE(Matches(m, From("shop", "checkout")));
}

TEST(CompiledPolicyTest, WithoutPeerIdentityNothingHits) {
  pb::Match principals;
  *principals.add_principals() = Presence();
  EXPECT_FALSE(Matches(principals, Plaintext()));
  pb::Match namespaces;
  *namespaces.add_namespaces() = Presence();
  EXPECT_FALSE(Matches(namespaces, Plaintext()));
  pb::Match empty_exact_ns;
  *empty_exact_ns.add_namespaces() = Exact("");
  EXPECT_FALSE(Matches(empty_exact_ns, Plaintext()));
  pb::Match sas;
  *sas.add_service_accounts() = Sa("", "");
  EXPECT_FALSE(Matches(sas, Plaintext()));
  // Negative lists pass: Istio's STRICT mTLS policy is DENY not_principals: presence.
  pb::Match strict;
  *strict.add_not_principals() = Presence();
  EXPECT_TRUE(Matches(strict, Plaintext()));
  EXPECT_FALSE(Matches(strict, kCart));
  pb::Match not_ns;
  *not_ns.add_not_namespaces() = Exact("shop");
  EXPECT_TRUE(Matches(not_ns, Plaintext()));
}

TEST(CompiledPolicyTest, NamespaceKinds) {
  auto ns = [](pb::StringMatch sm, bool negate = false) {
    pb::Match m;
    *(negate ? m.add_not_namespaces() : m.add_namespaces()) = std::move(sm);
    return m;
  };
  EXPECT_TRUE(Matches(ns(Exact("shop")), kCart));
  EXPECT_FALSE(Matches(ns(Exact("sho")), kCart));
  EXPECT_TRUE(Matches(ns(Prefix("sh")), kCart));
  EXPECT_FALSE(Matches(ns(Prefix("op")), kCart));
  EXPECT_TRUE(Matches(ns(Suffix("op")), kCart));
  EXPECT_FALSE(Matches(ns(Suffix("sh")), kCart));
  EXPECT_TRUE(Matches(ns(Presence()), kCart));
  EXPECT_FALSE(Matches(ns(Exact("shop"), true), kCart));
  EXPECT_TRUE(Matches(ns(Exact("ops"), true), kCart));
}

TEST(CompiledPolicyTest, ServiceAccountNeedsBothNamespaceAndName) {
  pb::Match m;
  *m.add_service_accounts() = Sa("shop", "cart");
  EXPECT_TRUE(Matches(m, kCart));
  EXPECT_FALSE(Matches(m, From("ops", "cart")));
  EXPECT_FALSE(Matches(m, From("shop", "checkout")));
  pb::Match n;
  *n.add_not_service_accounts() = Sa("shop", "cart");
  EXPECT_FALSE(Matches(n, kCart));
  EXPECT_TRUE(Matches(n, From("shop", "checkout")));
}

// ---- IP prefixes ---------------------------------------------------------

TEST(CompiledPolicyTest, SourcePrefixes) {
  pb::Match m;
  *m.add_source_ips() = Cidr("10.0.0.0", 24);
  EXPECT_TRUE(Matches(m, From("a", "b", "10.0.0.255")));
  EXPECT_FALSE(Matches(m, From("a", "b", "10.0.1.0")));
  pb::Match host;
  *host.add_source_ips() = Cidr("10.0.0.7", 32);
  EXPECT_TRUE(Matches(host, From("a", "b", "10.0.0.7")));
  EXPECT_FALSE(Matches(host, From("a", "b", "10.0.0.6")));
  pb::Match not_src;
  *not_src.add_not_source_ips() = Cidr("10.0.0.0", 8);
  EXPECT_FALSE(Matches(not_src, From("a", "b", "10.200.0.1")));
  EXPECT_TRUE(Matches(not_src, From("a", "b", "11.0.0.1")));
}

TEST(CompiledPolicyTest, PrefixHostBitsAreIgnored) {
  pb::Match m;
  *m.add_source_ips() = Cidr("10.0.0.77", 24);
  EXPECT_TRUE(Matches(m, From("a", "b", "10.0.0.5")));
}

TEST(CompiledPolicyTest, ZeroLengthPrefixMatchesItsFamilyOnly) {
  pb::Match v4_any;
  *v4_any.add_source_ips() = Cidr("0.0.0.0", 0);
  EXPECT_TRUE(Matches(v4_any, From("a", "b", "203.0.113.9")));
  EXPECT_FALSE(Matches(v4_any, From("a", "b", "fd00::1")));
  pb::Match v6_any;
  *v6_any.add_source_ips() = Cidr("::", 0);
  EXPECT_TRUE(Matches(v6_any, From("a", "b", "fd00::1")));
  EXPECT_FALSE(Matches(v6_any, From("a", "b", "10.0.0.1")));
}

TEST(CompiledPolicyTest, V6PrefixesAcrossTheHalves) {
  pb::Match m64;
  *m64.add_destination_ips() = Cidr("fd00:1:2:3::", 64);
  EXPECT_TRUE(Matches(m64, From("a", "b", "10.0.0.1", "fd00:1:2:3:ffff::1")));
  EXPECT_FALSE(Matches(m64, From("a", "b", "10.0.0.1", "fd00:1:2:4::1")));
  pb::Match m100;
  *m100.add_destination_ips() = Cidr("fd00::ab:c000:0", 100);
  EXPECT_TRUE(Matches(m100, From("a", "b", "10.0.0.1", "fd00::ab:cfff:ffff")));
  EXPECT_FALSE(Matches(m100, From("a", "b", "10.0.0.1", "fd00::ab:d000:0")));
  pb::Match m128;
  *m128.add_destination_ips() = Cidr("fd00::1", 128);
  EXPECT_TRUE(Matches(m128, From("a", "b", "10.0.0.1", "fd00::1")));
  EXPECT_FALSE(Matches(m128, From("a", "b", "10.0.0.1", "fd00::2")));
}

TEST(CompiledPolicyTest, DestinationPrefixesAndNegation) {
  pb::Match m;
  *m.add_destination_ips() = Cidr("10.0.1.0", 24);
  *m.add_not_destination_ips() = Cidr("10.0.1.128", 25);
  EXPECT_TRUE(Matches(m, From("a", "b", "10.0.0.1", "10.0.1.1")));
  EXPECT_FALSE(Matches(m, From("a", "b", "10.0.0.1", "10.0.1.200")));
  EXPECT_FALSE(Matches(m, From("a", "b", "10.0.0.1", "10.0.2.1")));
}

// ---- Compile errors, fail-closed, metadata -------------------------------

void ExpectRejected(const pb::Match& m, const std::string& needle) {
  auto c = CompiledPolicy::Compile(OneMatch(pb::ALLOW, m));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(c.error().ToString().find(needle), std::string::npos) << c.error().ToString();
  EXPECT_NE(c.error().ToString().find("ns/p"), std::string::npos) << c.error().ToString();
}

TEST(CompiledPolicyTest, RejectsMalformedValues) {
  pb::Match bad_len;
  pb::Address a;
  a.set_address("abc");
  *bad_len.add_source_ips() = a;
  ExpectRejected(bad_len, "source_ips[0]");
  pb::Match long_prefix;
  *long_prefix.add_not_destination_ips() = Cidr("10.0.0.0", 33);
  ExpectRejected(long_prefix, "not_destination_ips[0]");
  pb::Match big_port;
  big_port.add_destination_ports(80);
  big_port.add_destination_ports(65536);
  ExpectRejected(big_port, "destination_ports[1]");
  pb::Match unset;
  unset.add_principals();
  ExpectRejected(unset, "principals[0]");
}

TEST(CompiledPolicyTest, RejectsUnknownEnums) {
  auto p = Policy("ns", "p", pb::ALLOW, pb::NAMESPACE, {RuleOf({})});
  p.set_action(static_cast<pb::Action>(7));
  EXPECT_FALSE(CompiledPolicy::Compile(p).ok());
  p.set_action(pb::ALLOW);
  p.set_scope(static_cast<pb::Scope>(9));
  EXPECT_FALSE(CompiledPolicy::Compile(p).ok());
}

TEST(CompiledPolicyTest, FailClosed) {
  auto allow = CompiledPolicy::FailClosed(Policy("ns", "a", pb::ALLOW, pb::NAMESPACE, {RuleOf({})}));
  EXPECT_FALSE(allow.Matches(kCart));
  EXPECT_EQ(allow.action(), Action::kAllow);
  auto deny = CompiledPolicy::FailClosed(Policy("ns", "d", pb::DENY, pb::NAMESPACE, {}));
  EXPECT_TRUE(deny.Matches(kCart));
  EXPECT_TRUE(deny.Matches(Plaintext()));
  auto unknown = Policy("ns", "u", pb::ALLOW, pb::NAMESPACE, {});
  unknown.set_action(static_cast<pb::Action>(5));
  EXPECT_EQ(CompiledPolicy::FailClosed(unknown).action(), Action::kDeny);
  EXPECT_TRUE(CompiledPolicy::FailClosed(unknown).Matches(kCart));
}

TEST(CompiledPolicyTest, Metadata) {
  auto proto = Policy("shop", "allow-cart", pb::DENY, pb::GLOBAL, {});
  proto.set_dry_run(true);
  auto p = MustCompile(proto);
  EXPECT_EQ(p.key(), "shop/allow-cart");
  EXPECT_EQ(p.ns(), "shop");
  EXPECT_EQ(p.action(), Action::kDeny);
  EXPECT_EQ(p.scope(), Scope::kGlobal);
  EXPECT_TRUE(p.dry_run());
  EXPECT_EQ(MustCompile(Policy("a", "b", pb::ALLOW, pb::WORKLOAD_SELECTOR, {})).scope(), Scope::kWorkloadSelector);
  EXPECT_EQ(MustCompile(Policy("a", "b", pb::ALLOW, pb::NAMESPACE, {})).scope(), Scope::kNamespace);
}

TEST(CompiledPolicyTest, ExtensionsAloneMakeAnEmptyMatch) {
  pb::Match m;
  m.add_extensions()->set_name("x");
  EXPECT_FALSE(Matches(m, kCart));
}

}  // namespace
}  // namespace ambit::authz
