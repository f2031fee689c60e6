// WorkloadCredential: what one workload presents and whom it trusts.
//
// Move-only value; the X509/EVP_PKEY objects are reference counted and are
// shared (not copied) into the SSL_CTX built from it.
#pragma once

#include <vector>

#include "core/result.h"
#include "identity/spiffe_id.h"
#include "pki/openssl_ptr.h"

namespace ambit::tls {

struct WorkloadCredential {
  std::vector<pki::UniqueX509> chain;  // leaf first, then intermediates (not the root)
  pki::UniqueEvpPkey key;              // private key of the leaf
  std::vector<pki::UniqueX509> roots;  // mesh trust anchors
};

// The SPIFFE identity in |cert|'s URI SANs (the first that parses).
// kUnauthenticated when there is none.
Result<identity::SpiffeId> SpiffeIdOfCert(X509* cert);

}  // namespace ambit::tls
