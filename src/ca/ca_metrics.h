// The CA's metrics, with the names and meanings istiod's CA server reports
// (https://istio.io/latest/docs/reference/commands/pilot-discovery/#metrics),
// so dashboards and alerts written for istiod read ambitd unchanged.
//
//   citadel_server_csr_count                    CreateCertificate calls received
//   citadel_server_success_cert_issuance_count  certificates issued
//   citadel_server_authentication_failure_count refused: the node credential is
//                                               missing/invalid, or the node may
//                                               not have the identity (Istio
//                                               counts its authorizer's refusals
//                                               here too)
//   citadel_server_csr_parsing_err_count        refused: malformed request (CSR,
//                                               identity, lifetime)
//   citadel_server_csr_sign_err_count           the request was valid but signing
//                                               failed
//   citadel_server_root_cert_expiry_timestamp   Unix seconds when the earliest
//                                               trust root expires
//   citadel_server_cert_chain_expiry_timestamp  Unix seconds when the signing
//                                               certificate expires
//
// Thread-safety: Record is thread-safe (gRPC calls it from its threads).
#pragma once

#include "ca/certificate_authority.h"
#include "core/result.h"
#include "metrics/registry.h"

namespace ambit::ca {

class CaMetrics {
 public:
  // Registers the families in |registry| (once per registry); |ca| must
  // outlive the registry's scrapes (the expiry gauges read it).
  CaMetrics(metrics::Registry& registry, const CertificateAuthority& ca);

  // One CreateCertificate call: issued (ok) or refused with |result|'s error.
  void Record(const Status& result) const;

 private:
  metrics::Counter csr_;
  metrics::Counter issued_;
  metrics::Counter authentication_failures_;
  metrics::Counter parsing_errors_;
  metrics::Counter sign_errors_;
};

}  // namespace ambit::ca
