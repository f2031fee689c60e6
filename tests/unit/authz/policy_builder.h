// Terse builders for istio.security.Authorization in authz tests.
#pragma once

#include <cstdlib>
#include <initializer_list>
#include <string>

#include "authz/connection.h"
#include "istio/security/authorization.pb.h"
#include "net/socket_address.h"

namespace ambit::authz::testing {

namespace pb = istio::security;

inline pb::StringMatch Exact(std::string v) { pb::StringMatch m; m.set_exact(std::move(v)); return m; }
inline pb::StringMatch Prefix(std::string v) { pb::StringMatch m; m.set_prefix(std::move(v)); return m; }
inline pb::StringMatch Suffix(std::string v) { pb::StringMatch m; m.set_suffix(std::move(v)); return m; }
inline pb::StringMatch Presence() { pb::StringMatch m; m.mutable_presence(); return m; }

// "10.0.0.0", 8 -> Address{4 bytes, 8}.
inline pb::Address Cidr(const std::string& ip, unsigned length) {
  auto parsed = net::IpAddress::Parse(ip);
  if (!parsed.ok()) std::abort();
  pb::Address a;
  a.set_address(std::string(reinterpret_cast<const char*>(parsed->bytes().data()), parsed->is_v4() ? 4 : 16));
  a.set_length(length);
  return a;
}

inline pb::ServiceAccountMatch Sa(std::string ns, std::string sa) {
  pb::ServiceAccountMatch m;
  m.set_namespace_(std::move(ns));
  m.set_serviceaccount(std::move(sa));
  return m;
}

inline pb::Clause ClauseOf(std::initializer_list<pb::Match> matches) {
  pb::Clause c;
  for (const auto& m : matches) *c.add_matches() = m;
  return c;
}
inline pb::Rule RuleOf(std::initializer_list<pb::Clause> clauses) {
  pb::Rule r;
  for (const auto& c : clauses) *r.add_clauses() = c;
  return r;
}

inline pb::Authorization Policy(std::string ns, std::string name, pb::Action action, pb::Scope scope,
                                std::initializer_list<pb::Rule> rules) {
  pb::Authorization p;
  p.set_namespace_(std::move(ns));
  p.set_name(std::move(name));
  p.set_action(action);
  p.set_scope(scope);
  for (const auto& r : rules) *p.add_rules() = r;
  return p;
}

// A single-rule, single-clause, single-match policy.
inline pb::Authorization OneMatch(pb::Action action, const pb::Match& m) {
  return Policy("ns", "p", action, pb::WORKLOAD_SELECTOR, {RuleOf({ClauseOf({m})})});
}

inline net::IpAddress Ip(const std::string& text) {
  auto ip = net::IpAddress::Parse(text);
  if (!ip.ok()) std::abort();
  return *ip;
}

// A connection from spiffe://cluster.local/ns/<ns>/sa/<sa> at |src| to |dst|:|port|.
inline Connection From(const std::string& ns, const std::string& sa, const std::string& src = "10.0.0.1",
                       const std::string& dst = "10.0.1.1", std::uint16_t port = 8080) {
  Connection c;
  c.peer = Peer::FromIdentity(identity::SpiffeId("cluster.local", ns, sa));
  c.source_ip = Ip(src);
  c.destination_ip = Ip(dst);
  c.destination_port = port;
  return c;
}

// A plaintext connection: no peer identity.
inline Connection Plaintext(const std::string& src = "10.0.0.1", const std::string& dst = "10.0.1.1",
                            std::uint16_t port = 8080) {
  Connection c;
  c.source_ip = Ip(src);
  c.destination_ip = Ip(dst);
  c.destination_port = port;
  return c;
}

}  // namespace ambit::authz::testing
