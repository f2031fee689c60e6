// TestMesh: a throwaway certificate authority for tests. One self-signed root
// (ECDSA P-256) issues workload credentials for any SPIFFE identity, made at
// test time with src/pki. Thread-compatible.
#pragma once

#include <string>

#include "core/result.h"
#include "identity/spiffe_id.h"
#include "pki/openssl_ptr.h"
#include "tls/credential.h"

namespace ambit::testing {

class TestMesh {
 public:
  // A root for |trust_domain| ("cluster.local" in most tests).
  static Result<TestMesh> Create(std::string trust_domain);

  // A leaf for spiffe://<trust_domain>/ns/<ns>/sa/<sa>, valid for an hour,
  // trusting this mesh's root.
  Result<tls::WorkloadCredential> Issue(const std::string& ns, const std::string& sa) const;
  // A leaf with an arbitrary identity (any trust domain), signed by this root.
  Result<tls::WorkloadCredential> Issue(const identity::SpiffeId& id) const;

  identity::SpiffeId Id(const std::string& ns, const std::string& sa) const {
    return identity::SpiffeId(trust_domain_, ns, sa);
  }
  const std::string& trust_domain() const { return trust_domain_; }

 private:
  std::string trust_domain_;
  pki::UniqueX509 root_;
  pki::UniqueEvpPkey root_key_;
};

}  // namespace ambit::testing
