// LocalCaClient: a CaClient that signs with an in-process CertificateAuthority.
//
// Skips the wire and the node checks (credential, pod-on-node) but runs the
// same key/CSR generation, CA validation and response checks as the gRPC
// client. For tests of components that consume certificates (ztunnel's
// certificate manager, HBONE) and for single-process demos. Thread-safe; the
// CA must outlive the client.
#pragma once

#include <atomic>
#include <chrono>

#include "ca/certificate_authority.h"
#include "caclient/ca_client.h"

namespace ambit::caclient {

class LocalCaClient final : public CaClient {
 public:
  explicit LocalCaClient(const ca::CertificateAuthority& ca,
                         std::chrono::seconds ttl = std::chrono::seconds(0))
      : ca_(ca), ttl_(ttl) {}

  Result<WorkloadCertificate> Fetch(const identity::SpiffeId& identity) override;

  // Number of Fetch() calls so far (successful or not).
  int fetch_count() const { return fetch_count_.load(); }

 private:
  const ca::CertificateAuthority& ca_;
  std::chrono::seconds ttl_;  // 0: the CA's default
  std::atomic<int> fetch_count_{0};
};

}  // namespace ambit::caclient
