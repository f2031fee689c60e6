// CompiledPolicy: one istio.security.Authorization turned into a form that is
// cheap to test against a connection (reference/ztunnel.md §6):
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
  bool Matches(const PreparedConnection& conn) const;

  // "namespace/name", the xDS resource name.
  const std::string& key() const { return key_; }
  const std::string& ns() const { return ns_; }
  Action action() const { return action_; }
  Scope scope() const { return scope_; }
  // Dry-run policies are evaluated for logs only, never enforced.
  bool dry_run() const { return dry_run_; }

  // Internal representation (public for the .cc's helpers and tests of size).
  struct StringMatcher {
    enum class Kind : std::uint8_t { kExact, kPrefix, kSuffix, kPresence };
    Kind kind = Kind::kExact;
    std::string value;
    bool Hits(std::string_view s) const;
  };
  struct ServiceAccountMatcher {
    std::string ns;
    std::string service_account;
  };
  struct IpPrefix {
    bool v4 = true;
    std::uint64_t hi = 0, lo = 0;            // network, host bits cleared
    std::uint64_t mask_hi = 0, mask_lo = 0;  // prefix mask
    bool Contains(const PreparedConnection::Ip& ip) const {
      return ip.v4 == v4 && (ip.hi & mask_hi) == hi && (ip.lo & mask_lo) == lo;
    }
  };
  // One istio.security.Match with at least one field set.
  struct Match {
    std::vector<std::uint16_t> ports, not_ports;
    std::vector<IpPrefix> source_ips, not_source_ips;
    std::vector<IpPrefix> destination_ips, not_destination_ips;
    std::vector<StringMatcher> principals, not_principals;
    std::vector<StringMatcher> namespaces, not_namespaces;
    std::vector<ServiceAccountMatcher> service_accounts, not_service_accounts;
    bool Matches(const PreparedConnection& conn) const;
  };
  using Clause = std::vector<Match>;  // OR; never empty once compiled
  using Rule = std::vector<Clause>;   // AND; empty = matches everything

 private:
  CompiledPolicy() = default;

  std::string key_;
  std::string ns_;
  Action action_ = Action::kDeny;
  Scope scope_ = Scope::kWorkloadSelector;
  bool dry_run_ = false;
  // Rules that can match at all (a rule with a clause that can never match is
  // dropped). |always_| short-cuts a rule with no clauses.
  std::vector<Rule> rules_;
  bool always_ = false;
};

}  // namespace ambit::authz
