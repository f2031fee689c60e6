#include "tls/credential.h"

#include "pki/cert.h"

namespace ambit::tls {

Result<identity::SpiffeId> SpiffeIdOfCert(X509* cert) {
  auto uris = pki::CertUriSans(cert);
  if (!uris.ok()) {
    return Error(ErrorCode::kUnauthenticated, "peer certificate SANs: " + uris.error().ToString());
  }
  for (const std::string& uri : *uris) {
    auto id = identity::SpiffeId::Parse(uri);
    if (id.ok()) return std::move(id).value();
  }
  return Error(ErrorCode::kUnauthenticated, "peer certificate has no SPIFFE URI SAN");
}

}  // namespace ambit::tls
