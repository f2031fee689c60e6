#include "ca/ca_metrics.h"

#include <chrono>
#include <limits>

#include "pki/cert.h"
#include "pki/pem.h"

namespace ambit::ca {
namespace {

double UnixSeconds(pki::TimePoint t) {
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

// The earliest notAfter among the trust roots; 0 when they cannot be read
// (an unreadable bundle cannot be loaded by the CA in the first place).
double EarliestRootExpiry(const CertificateAuthority& ca) {
  auto roots = pki::CertsFromPem(ca.roots_pem(), "CA roots");
  if (!roots.ok()) return 0;
  double earliest = std::numeric_limits<double>::infinity();
  for (const auto& root : *roots) {
    auto not_after = pki::CertNotAfter(root.get());
    if (not_after.ok()) earliest = std::min(earliest, UnixSeconds(*not_after));
  }
  return earliest == std::numeric_limits<double>::infinity() ? 0 : earliest;
}

}  // namespace

CaMetrics::CaMetrics(metrics::Registry& registry, const CertificateAuthority& ca) {
  csr_ = registry.AddCounter("citadel_server_csr_count",
                             "The number of CSRs received by the CA server.")
             .Get(metrics::LabelKey(), 0);
  issued_ = registry.AddCounter("citadel_server_success_cert_issuance_count",
                                "The number of certificate issuances that have succeeded.")
                .Get(metrics::LabelKey(), 0);
  authentication_failures_ =
      registry.AddCounter("citadel_server_authentication_failure_count",
                          "The number of requests refused because the caller could not be "
                          "authenticated or may not have the requested identity.")
          .Get(metrics::LabelKey(), 0);
  parsing_errors_ = registry.AddCounter("citadel_server_csr_parsing_err_count",
                                        "The number of malformed certificate requests.")
                        .Get(metrics::LabelKey(), 0);
  sign_errors_ = registry.AddCounter("citadel_server_csr_sign_err_count",
                                     "The number of valid requests whose signing failed.")
                     .Get(metrics::LabelKey(), 0);
  // The roots and the signing certificate do not change while ambitd runs;
  // read them once.
  const double root_expiry = EarliestRootExpiry(ca);
  registry.AddCallback("citadel_server_root_cert_expiry_timestamp",
                       "The Unix timestamp, in seconds, when the earliest trust root expires.",
                       metrics::MetricType::kGauge, [root_expiry] { return root_expiry; });
  double chain_expiry = 0;
  if (ca.signing_cert() != nullptr) {
    if (auto t = pki::CertNotAfter(ca.signing_cert()); t.ok()) chain_expiry = UnixSeconds(*t);
  }
  registry.AddCallback("citadel_server_cert_chain_expiry_timestamp",
                       "The Unix timestamp, in seconds, when the CA's signing certificate expires.",
                       metrics::MetricType::kGauge, [chain_expiry] { return chain_expiry; });
}

void CaMetrics::Record(const Status& result) const {
  csr_.Inc();
  if (result.ok()) {
    issued_.Inc();
    return;
  }
  switch (result.error().code()) {
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kPermissionDenied: authentication_failures_.Inc(); break;
    case ErrorCode::kInvalidArgument: parsing_errors_.Inc(); break;
    default: sign_errors_.Inc(); break;
  }
}

}  // namespace ambit::ca
