// SPIFFE workload identities as used by Istio: spiffe://<trust-domain>/ns/<ns>/sa/<sa>.
//
// Value type; thread-compatible. Parse() accepts exactly that shape (the only
// one Istio issues); anything else is an InvalidArgument naming what is wrong.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace ambit::identity {

inline constexpr std::string_view kDefaultTrustDomain = "cluster.local";

class SpiffeId {
 public:
  SpiffeId(std::string trust_domain, std::string ns, std::string service_account);

  // Parses "spiffe://td/ns/NS/sa/SA".
  static Result<SpiffeId> Parse(std::string_view uri);

  const std::string& trust_domain() const { return trust_domain_; }
  const std::string& ns() const { return ns_; }
  const std::string& service_account() const { return service_account_; }

  // "spiffe://td/ns/NS/sa/SA".
  std::string ToString() const;
  // The Istio principal form without the scheme: "td/ns/NS/sa/SA".
  std::string Principal() const;

  // Trust domains compare case-insensitively (they are DNS-like names).
  bool SameTrustDomain(const SpiffeId& other) const;
  bool SameTrustDomain(std::string_view trust_domain) const;

  friend bool operator==(const SpiffeId& a, const SpiffeId& b) {
    return a.SameTrustDomain(b) && a.ns_ == b.ns_ && a.service_account_ == b.service_account_;
  }

 private:
  std::string trust_domain_;
  std::string ns_;
  std::string service_account_;
};

}  // namespace ambit::identity
