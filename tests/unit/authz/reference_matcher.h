// A deliberately naive interpreter of istio.security.Authorization straight
// off the proto (the semantics of ztunnel's
// https://github.com/istio/ztunnel/blob/master/src/rbac.rs), used as the oracle that
// CompiledPolicy is checked against (randomized unit test, fuzz_authz).
// Only meaningful for policies CompiledPolicy::Compile accepts.
#pragma once

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "authz/connection.h"
#include "istio/security/authorization.pb.h"

namespace ambit::authz::testing {

inline bool RefStringHit(const istio::security::StringMatch& m, const std::string& s) {
  switch (m.match_type_case()) {
    case istio::security::StringMatch::kExact: return s == m.exact();
    case istio::security::StringMatch::kPrefix: return s.rfind(m.prefix(), 0) == 0;
    case istio::security::StringMatch::kSuffix:
      return s.size() >= m.suffix().size() && s.compare(s.size() - m.suffix().size(), m.suffix().size(), m.suffix()) == 0;
    case istio::security::StringMatch::kPresence: return !s.empty();
    default: return false;
  }
}

inline bool RefIpHit(const istio::security::Address& a, const net::IpAddress& ip) {
  const std::size_t n = ip.is_v4() ? 4 : 16;
  if (a.address().size() != n) return false;
  unsigned bits = a.length();
  for (std::size_t i = 0; i < n && bits > 0; ++i) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - take));
    if ((static_cast<std::uint8_t>(a.address()[i]) & mask) != (ip.bytes()[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

template <typename List, typename Hit>
bool RefField(const List& positive, const List& negative, Hit hit) {
  bool pos = positive.empty();
  for (const auto& v : positive) pos = pos || hit(v);
  bool neg = true;
  for (const auto& v : negative) neg = neg && !hit(v);
  return pos && neg;
}

inline bool RefMatchEmpty(const istio::security::Match& m) {
  return m.namespaces().empty() && m.not_namespaces().empty() && m.principals().empty() &&
         m.not_principals().empty() && m.source_ips().empty() && m.not_source_ips().empty() &&
         m.destination_ips().empty() && m.not_destination_ips().empty() && m.destination_ports().empty() &&
         m.not_destination_ports().empty() && m.service_accounts().empty() && m.not_service_accounts().empty();
}

inline bool RefMatch(const istio::security::Match& m, const Connection& c) {
  const Peer* peer = c.peer ? &*c.peer : nullptr;
  return RefField(m.destination_ports(), m.not_destination_ports(),
                  [&](std::uint32_t p) { return p == c.destination_port; }) &&
         RefField(m.source_ips(), m.not_source_ips(), [&](const auto& a) { return RefIpHit(a, c.source_ip); }) &&
         RefField(m.destination_ips(), m.not_destination_ips(),
                  [&](const auto& a) { return RefIpHit(a, c.destination_ip); }) &&
         RefField(m.principals(), m.not_principals(),
                  [&](const auto& s) { return peer && RefStringHit(s, peer->principal); }) &&
         RefField(m.namespaces(), m.not_namespaces(),
                  [&](const auto& s) { return peer && RefStringHit(s, peer->ns); }) &&
         RefField(m.service_accounts(), m.not_service_accounts(), [&](const auto& sa) {
           return peer && peer->ns == sa.namespace_() && peer->service_account == sa.serviceaccount();
         });
}

inline bool RefPolicyMatches(const istio::security::Authorization& p, const Connection& c) {
  for (const auto& rule : p.rules()) {
    bool rule_ok = true;
    for (const auto& clause : rule.clauses()) {
      bool clause_ok = clause.matches().empty();
      for (const auto& m : clause.matches()) {
        if (!RefMatchEmpty(m) && RefMatch(m, c)) clause_ok = true;
      }
      rule_ok = rule_ok && clause_ok;
    }
    if (rule_ok) return true;
  }
  return false;
}

// The decision for |c| to a workload of namespace |ns| listing |keys|, by
// Istio's rules read straight off the protos (ztunnel's assert_rbac): the
// applicable enforced policies are the GLOBAL ones, the NAMESPACE ones of
// |ns| and the listed ones that exist; any DENY match denies, no ALLOW
// allows, an ALLOW match allows, otherwise deny. Returns the verdict and the
// set of policy keys that could be named (every matching DENY when denied
// by one, every matching ALLOW when allowed by one, else empty).
struct RefDecision {
  bool allowed = false;
  std::vector<std::string> could_name;
};

template <typename PolicyMapT>
RefDecision RefDecide(const PolicyMapT& policies, const std::string& ns,
                      const std::vector<std::string>& keys, const Connection& c) {
  std::vector<std::pair<std::string, const istio::security::Authorization*>> applicable;
  for (const auto& [key, p] : policies) {
    if (p->scope() == istio::security::GLOBAL ||
        (p->scope() == istio::security::NAMESPACE && p->namespace_() == ns)) {
      applicable.emplace_back(key, p.get());
    }
  }
  for (const std::string& key : keys) {
    auto it = policies.find(key);
    if (it != policies.end()) applicable.emplace_back(key, it->second.get());
  }
  RefDecision out;
  bool any_allow = false;
  for (const auto& [key, p] : applicable) {
    if (p->dry_run()) continue;
    if (p->action() == istio::security::ALLOW) {
      any_allow = true;
    } else if (RefPolicyMatches(*p, c)) {
      out.could_name.push_back(key);
    }
  }
  if (!out.could_name.empty()) return out;  // denied by a DENY
  if (!any_allow) {
    out.allowed = true;
    return out;
  }
  for (const auto& [key, p] : applicable) {
    if (!p->dry_run() && p->action() == istio::security::ALLOW && RefPolicyMatches(*p, c)) {
      out.could_name.push_back(key);
    }
  }
  out.allowed = !out.could_name.empty();
  return out;
}

}  // namespace ambit::authz::testing
