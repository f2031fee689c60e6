#include "proxy/tls_secret.h"

#include "pki/key.h"
#include "pki/pem.h"
#include "tls/context.h"

namespace ambit::proxy {

Result<tls::WorkloadCredential> CredentialFromCertificate(const caclient::WorkloadCertificate& cert) {
  tls::WorkloadCredential cred;
  AMBIT_ASSIGN_OR_RETURN(pki::UniqueX509 leaf, pki::CertFromPem(cert.leaf_pem, "leaf certificate"));
  cred.chain.push_back(std::move(leaf));
  for (const auto& pem : cert.chain_pems) {
    AMBIT_ASSIGN_OR_RETURN(pki::UniqueX509 c, pki::CertFromPem(pem, "intermediate certificate"));
    cred.chain.push_back(std::move(c));
  }
  for (const auto& pem : cert.root_pems) {
    AMBIT_ASSIGN_OR_RETURN(pki::UniqueX509 c, pki::CertFromPem(pem, "root certificate"));
    cred.roots.push_back(std::move(c));
  }
  if (cred.roots.empty()) return Error(ErrorCode::kProtocol, "certificate comes with no roots");
  AMBIT_ASSIGN_OR_RETURN(cred.key, pki::PrivateKeyFromPem(cert.key_pem, "workload key"));
  return cred;
}

Result<std::shared_ptr<const Secret>> BuildTlsSecret(caclient::WorkloadCertificate cert) {
  const std::string who = cert.identity.ToString();
  auto cred = CredentialFromCertificate(cert);
  if (!cred.ok()) return std::move(cred).error().WithContext("building TLS credential for " + who);
  auto client = tls::TlsContext::Client(*cred);
  if (!client.ok()) return std::move(client).error().WithContext("client TLS context for " + who);
  auto server = tls::TlsContext::Server(*cred);
  if (!server.ok()) return std::move(server).error().WithContext("server TLS context for " + who);
  return std::shared_ptr<const Secret>(std::make_shared<Secret>(
      Secret{std::move(cert), std::move(client).value(), std::move(server).value()}));
}

}  // namespace ambit::proxy
