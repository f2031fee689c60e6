// ClusterCa: everything ambitd needs for the CA of one cluster, opened from
// one directory: the CertificateAuthority, the node-credential secret with its
// issuer and verifier, and the gRPC service.
//
//   AMBIT_ASSIGN_OR_RETURN(auto cluster_ca, ca::ClusterCa::Open(state_dir + "/ca", cluster, {}));
//   AMBIT_RETURN_IF_ERROR(cluster_ca->WriteNodeCredential("node1", state_dir + "/nodes/node1/credential"));
//   auto service = cluster_ca->MakeService(authorizer);   // register with the grpc::ServerBuilder
//
// Immutable after Open(); thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "ca/ca_metrics.h"
#include "ca/certificate_authority.h"
#include "ca/node_authorizer.h"
#include "ca/node_credential.h"
#include "core/result.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace ambit::ca {

class ClusterCa {
 public:
  // Opens (creating on first use) the CA material in |ca_dir| (see
  // CertificateAuthority::Open) and the node-credential secret for |cluster|.
  static Result<std::unique_ptr<ClusterCa>> Open(const std::string& ca_dir, std::string cluster,
                                                 const CaOptions& options);

  const CertificateAuthority& authority() const { return *authority_; }
  const NodeCredentialIssuer& issuer() const { return issuer_; }
  const NodeCredentialVerifier& verifier() const { return verifier_; }

  // Issues a credential for |node| and writes it to |path| (mode 0600, atomic
  // replace). The parent directory must exist.
  Status WriteNodeCredential(const std::string& node, const std::string& path,
                             std::chrono::seconds lifetime = kDefaultNodeCredentialLifetime) const;

  // The istio.v1.auth.IstioCertificateService implementation. This ClusterCa
  // and |authorizer| (and |metrics|, when not null) must outlive the returned
  // service (and the server).
  std::unique_ptr<grpc::Service> MakeService(const NodeAuthorizer& authorizer,
                                             const CaMetrics* metrics = nullptr) const;

 private:
  ClusterCa(std::unique_ptr<CertificateAuthority> authority, const std::string& cluster,
            const std::string& secret)
      : authority_(std::move(authority)), issuer_(cluster, secret), verifier_(cluster, secret) {}

  std::unique_ptr<CertificateAuthority> authority_;
  NodeCredentialIssuer issuer_;
  NodeCredentialVerifier verifier_;
};

}  // namespace ambit::ca
