// CompiledPolicy: one istio.security.Authorization turned into a form that is
// cheap to test against a connection (Istio's L4 authorization as ztunnel
// enforces it, https://github.com/istio/ztunnel/blob/master/src/rbac.rs):
//
//   policy matches  <=>  some rule matches               (rules OR)
//   rule matches    <=>  every clause matches            (clauses AND)
//   clause matches  <=>  some non-empty match matches,   (matches OR)
//                        or the clause has no matches at all
//   match matches   <=>  for each field with values: the positive list hits
//                        (when non-empty) and the negative list does not
//                        (different fields AND, values of one field OR)
//
// Edge cases, as ztunnel: a policy with no rules never matches; a rule with
// no clauses matches everything; a match with no fields is skipped (never
// matches), so a clause whose matches are all empty never matches.
// Principals are the SPIFFE id without "spiffe://"; a connection without a
// peer identity hits no principal, namespace or service-account value.
// IP prefixes never contain an address of the other family; host bits of a
// prefix are ignored.
//
// Compile() rejects what ztunnel would silently drop (an address that is not
// 4 or 16 bytes, a prefix length beyond the address, a port above 65535, a
// StringMatch with no match type), since dropping a value widens a positive
// list; callers should NACK such a resource. The result does not reference
// the proto.
//
// Immutable after construction; Matches() is safe from any number of threads
// and does not allocate.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "authz/connection.h"
#include "core/result.h"

namespace istio::security {
class Authorization;
}

namespace ambit::authz {

enum class Action { kAllow, kDeny };
enum class Scope { kGlobal, kNamespace, kWorkloadSelector };

// A connection with its addresses pre-split for prefix tests. Built once per
// evaluation by Prepare(); borrows the peer's strings. Building one neither
// allocates nor copies a string.
struct PreparedConnection {
  struct Ip {
    bool v4 = true;
    std::uint64_t hi = 0;  // bytes 0..7 (IPv4: the 4 bytes in the top of hi)
    std::uint64_t lo = 0;  // bytes 8..15
  };
  bool has_peer = false;  // false: no authenticated identity (plaintext)
  PeerView peer;
  Ip source;
  Ip destination;
  std::uint16_t destination_port = 0;

  static PreparedConnection Prepare(const Connection& conn);
  // |peer| null = no identity.
  static PreparedConnection Prepare(const PeerView* peer, const net::IpAddress& source,
                                    const net::IpAddress& destination,
                                    std::uint16_t destination_port);
};

class CompiledPolicy {
 public:
  // InvalidArgument naming the policy and the offending rule/clause/match/field.
  static Result<CompiledPolicy> Compile(const istio::security::Authorization& policy);

  // A placeholder for a policy that failed to compile, enforced fail-closed:
  // an ALLOW one never matches (it still counts as an ALLOW that applies),
  // anything else is a DENY that matches every connection. A dry-run policy
  // stays dry-run (never enforced).
  static CompiledPolicy FailClosed(const istio::security::Authorization& policy);

  bool Matches(const Connection& conn) const { return Matches(PreparedConnection::Prepare(conn)); }
  bool Matches(const PreparedConnection& conn) const {
    return always_ || ((!gated_ || GateAdmits(gate_, conn)) && RulesMatch(conn));
  }

  // "namespace/name", the xDS resource name.
  const std::string& key() const { return key_; }
  const std::string& ns() const { return ns_; }
  Action action() const { return action_; }
  Scope scope() const { return scope_; }
  // Dry-run policies are evaluated for logs only, never enforced.
  bool dry_run() const { return dry_run_; }

  // The compiled form (the .cc's helpers build it), flat so that Matches()
  // walks a few contiguous arrays and compares pre-parsed values: ports as
  // integers, addresses as masked 64-bit halves, strings by length and one
  // 8-byte window before a memcmp.
  struct Span {
    std::uint32_t first = 0;
    std::uint32_t count = 0;
  };
  // A string value stored in text_: [offset, offset + size).
  struct StringMatcher {
    enum class Kind : std::uint8_t { kExact, kPrefix, kSuffix, kPresence };
    Kind kind = Kind::kExact;
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
    // For size >= 8: the 8 bytes of the value most likely to differ between
    // values of one field (the last 8 of an exact or prefix value, the first
    // 8 of a suffix), compared before the whole value.
    std::uint64_t window = 0;
  };
  struct ServiceAccountMatcher {
    std::uint32_t ns_offset = 0, ns_size = 0;
    std::uint32_t sa_offset = 0, sa_size = 0;
  };
  struct IpPrefix {
    bool v4 = true;
    std::uint64_t hi = 0, lo = 0;            // network, host bits cleared
    std::uint64_t mask_hi = 0, mask_lo = 0;  // prefix mask
    bool Contains(const PreparedConnection::Ip& ip) const {
      return ip.v4 == v4 && (ip.hi & mask_hi) == hi && (ip.lo & mask_lo) == lo;
    }
  };
  // The fields of istio.security.Match, cheapest test first.
  enum class Field : std::uint8_t {
    kPort,
    kDestinationIp,
    kSourceIp,
    kServiceAccount,
    kPrincipal,
    kNamespace,
  };
  // One non-empty value list of a Match: the positive one hits / the
  // negative one does not. |values| indexes the field's array (ports_,
  // prefixes_, accounts_ or strings_).
  struct Test {
    Field field = Field::kPort;
    bool negative = false;
    Span values;
  };
  // The gate: a necessary condition for Matches(), tested first. When every
  // rule has a clause each of whose matches requires the peer's principal
  // or namespace to be one of a few values (exact, or a prefix/suffix of at
  // least 8 bytes; a service account requires its namespace), the policy can
  // only match a peer whose principal or namespace agrees with one of these
  // keys on length and one 8-byte window. Most policies are about who
  // calls, so most connections are turned away here in a few compares.
  struct GateKey {
    // As StringMatcher::window; for an exact value under 8 bytes, the value
    // itself, zero-padded.
    std::uint64_t window = 0;
    std::uint32_t size = 0;
    Field field = Field::kPrincipal;  // kPrincipal or kNamespace
    StringMatcher::Kind kind = StringMatcher::Kind::kExact;
  };
  static constexpr std::size_t kMaxGateKeys = 8;

  // The gate, for callers that keep its keys next to the policy pointer
  // (PolicySet): gated() false means no gate (every connection is
  // evaluated); else Matches(c) == GateAdmits(gate_keys(), c) &&
  // MatchesPastGate(c).
  bool gated() const { return gated_; }
  std::span<const GateKey> gate_keys() const { return gate_; }
  static bool GateAdmits(std::span<const GateKey> keys, const PreparedConnection& c);
  bool MatchesPastGate(const PreparedConnection& conn) const { return always_ || RulesMatch(conn); }

 private:
  CompiledPolicy() = default;
  friend class CompiledPolicyBuilder;

  bool RulesMatch(const PreparedConnection& c) const;
  bool TestPasses(const Test& t, const PreparedConnection& c) const;
  bool StringHits(const StringMatcher& m, std::string_view s) const;

  std::string key_;
  std::string ns_;
  Action action_ = Action::kDeny;
  Scope scope_ = Scope::kWorkloadSelector;
  bool dry_run_ = false;
  // |always_| short-cuts a rule with no clauses (matches everything).
  bool always_ = false;
  // Only rules that can match at all (a rule with a clause whose matches
  // are all empty is dropped; an empty match is dropped from its clause).
  // rules_[i] spans clauses_, clauses_[j] spans matches_ (OR), matches_[k]
  // spans tests_ (AND).
  std::vector<Span> rules_;
  std::vector<Span> clauses_;
  std::vector<Span> matches_;
  std::vector<Test> tests_;
  std::vector<std::uint16_t> ports_;  // each test's run sorted and unique
  std::vector<IpPrefix> prefixes_;
  std::vector<StringMatcher> strings_;
  std::vector<ServiceAccountMatcher> accounts_;
  std::string text_;  // every string value, back to back
  // The gate (see GateKey); without one every connection is evaluated.
  bool gated_ = false;
  std::vector<GateKey> gate_;
};

namespace detail {
inline std::uint64_t Load64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
}  // namespace detail

inline bool CompiledPolicy::GateAdmits(std::span<const GateKey> keys, const PreparedConnection& c) {
  if (!c.has_peer) return false;  // every gate key is a positive identity requirement
  for (const GateKey& k : keys) {
    const std::string_view s = k.field == Field::kPrincipal ? c.peer.principal : c.peer.ns;
    switch (k.kind) {
      case StringMatcher::Kind::kExact:
        if (s.size() != k.size) continue;
        if (k.size >= 8 ? detail::Load64(s.data() + k.size - 8) == k.window
                        : std::memcmp(s.data(), &k.window, k.size) == 0) {
          return true;
        }
        break;
      case StringMatcher::Kind::kPrefix:
        if (s.size() >= k.size && detail::Load64(s.data() + k.size - 8) == k.window) return true;
        break;
      case StringMatcher::Kind::kSuffix:
        if (s.size() >= k.size && detail::Load64(s.data() + s.size() - k.size) == k.window)
          return true;
        break;
      case StringMatcher::Kind::kPresence:
        return true;  // never built
    }
  }
  return false;
}

}  // namespace ambit::authz
