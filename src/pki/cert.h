// Read-only inspection of X.509 certificates.
//
// Thread-safe for concurrent readers of the same X509 (OpenSSL caches the
// decoded extensions on first use under its own lock).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"
#include "pki/openssl_ptr.h"

namespace ambit::pki {

using TimePoint = std::chrono::system_clock::time_point;

struct CertInfo {
  std::string subject;                // RFC 2253 form; "" when empty
  std::string issuer;                 // RFC 2253 form
  std::string serial_hex;             // upper-case hex, no leading zeros
  TimePoint not_before;
  TimePoint not_after;
  bool is_ca = false;                 // basicConstraints cA=TRUE
  std::vector<std::string> uri_sans;  // in order
  bool san_critical = false;          // subjectAltName extension marked critical
};

Result<CertInfo> InspectCert(X509* cert);

// Individual accessors (InspectCert gathers all of them).
Result<std::vector<std::string>> CertUriSans(X509* cert);
Result<TimePoint> CertNotBefore(X509* cert);
Result<TimePoint> CertNotAfter(X509* cert);
Result<std::string> CertSerialHex(X509* cert);
bool CertIsCa(X509* cert);
// True if the certificate's issuer and subject names are equal and it verifies
// with its own key.
bool CertIsSelfSigned(X509* cert);

// Converts an ASN1_TIME (UTCTime or GeneralizedTime) to a time point.
Result<TimePoint> Asn1TimeToTimePoint(const ASN1_TIME* t);

}  // namespace ambit::pki
