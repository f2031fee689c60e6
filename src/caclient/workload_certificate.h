// WorkloadCertificate: a private key plus the certificate chain the CA issued
// for one workload identity, as ztunnel holds it.
//
// Value type; thread-compatible.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"
#include "identity/spiffe_id.h"

namespace ambit::caclient {

using TimePoint = std::chrono::system_clock::time_point;

struct WorkloadCertificate {
  identity::SpiffeId identity;
  std::string key_pem;                  // PKCS#8 private key
  std::string leaf_pem;                 // the issued certificate
  std::vector<std::string> chain_pems;  // intermediates, leaf-side first (may be empty)
  std::vector<std::string> root_pems;   // trust anchors, one certificate each
  TimePoint not_before;
  TimePoint not_after;
  // When to fetch a replacement: the half-life, not_before + (not_after - not_before) / 2.
  TimePoint refresh_at;
};

// Builds a WorkloadCertificate from a CreateCertificate response: |cert_chain|
// is leaf first, roots last (the last element may hold several concatenated
// roots). Checks that the leaf's only URI SAN equals |identity|, that the leaf
// is not a CA, that its public key matches |key_pem|, and that the chain
// verifies against the returned roots. Failures are kProtocol (the CA sent
// something unusable) naming what is wrong.
Result<WorkloadCertificate> AssembleWorkloadCertificate(const identity::SpiffeId& identity,
                                                        std::string key_pem,
                                                        const std::vector<std::string>& cert_chain);

}  // namespace ambit::caclient
