#include "ca/cluster_ca.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include "ca/ca_service.h"
#include "pki/file.h"

namespace ambit::ca {

Result<std::unique_ptr<ClusterCa>> ClusterCa::Open(const std::string& ca_dir, std::string cluster,
                                                   const CaOptions& options) {
  AMBIT_ASSIGN_OR_RETURN(std::unique_ptr<CertificateAuthority> authority,
                         CertificateAuthority::Open(ca_dir, options));
  AMBIT_ASSIGN_OR_RETURN(std::string secret, LoadOrCreateNodeCredentialSecret(ca_dir));
  return std::unique_ptr<ClusterCa>(new ClusterCa(std::move(authority), cluster, secret));
}

Status ClusterCa::WriteNodeCredential(const std::string& node, const std::string& path,
                                      std::chrono::seconds lifetime) const {
  AMBIT_ASSIGN_OR_RETURN(std::string token, issuer_.Issue(node, lifetime));
  return pki::WriteFileAtomically(path, token + "\n", 0600);
}

std::unique_ptr<grpc::Service> ClusterCa::MakeService(const NodeAuthorizer& authorizer,
                                                      const CaMetrics* metrics) const {
  return MakeCaService(*authority_, verifier_, authorizer, metrics);
}

}  // namespace ambit::ca
