// CaRequestHandler: the CA's request policy, independent of gRPC.
//
// Decides one CreateCertificate call: authenticate the node from its bearer
// credential, work out the requested identity, check it against the trust
// domain and the node's pods, then have the CA sign. Each refusal is an Error
// whose code maps to a gRPC status (ca_service.cc):
//   kUnauthenticated   credential missing, malformed, expired or from another cluster
//   kPermissionDenied  identity in another trust domain; no pod with it on the node
//   kInvalidArgument   malformed CSR or ImpersonatedIdentity, CSR SAN differs from
//                      the requested identity, validity_duration negative or too long
// Thread-safe (all collaborators are); the referenced objects must outlive it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ca/certificate_authority.h"
#include "ca/node_authorizer.h"
#include "ca/node_credential.h"
#include "core/result.h"

namespace ambit::ca {

// Metadata key (in IstioCertificateRequest.metadata) naming the identity a node
// proxy requests on behalf of a pod.
inline constexpr std::string_view kImpersonatedIdentityKey = "ImpersonatedIdentity";

// One CreateCertificate call, decoded from the wire.
struct CaRequest {
  std::vector<std::string> authorization;  // every "authorization" metadata value
  std::string csr;
  std::int64_t validity_seconds = 0;       // 0: the CA's default lifetime
  // metadata["ImpersonatedIdentity"]: absent, a string, or present with another type.
  std::optional<std::string> impersonated_identity;
  bool impersonated_identity_wrong_type = false;
};

struct CaDecision {
  std::string node;                    // the authenticated node
  std::string identity;                // the identity certified
  std::vector<std::string> cert_chain; // leaf, intermediates, roots
};

class CaRequestHandler {
 public:
  CaRequestHandler(const CertificateAuthority& ca, const NodeCredentialVerifier& verifier,
                   const NodeAuthorizer& authorizer)
      : ca_(ca), verifier_(verifier), authorizer_(authorizer) {}

  Result<CaDecision> Handle(const CaRequest& request) const;

 private:
  Result<NodeCredential> Authenticate(const CaRequest& request) const;

  const CertificateAuthority& ca_;
  const NodeCredentialVerifier& verifier_;
  const NodeAuthorizer& authorizer_;
};

}  // namespace ambit::ca
