// Issues X.509 v3 certificates (roots, intermediates, workload leaves).
//
// Policy-free: the caller (src/ca, tests) decides lifetimes, SANs and usages;
// this file only encodes them. Thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "pki/cert.h"
#include "pki/openssl_ptr.h"

namespace ambit::pki {

struct CertSpec {
  // Subject: organisation and common name; both empty = empty subject (leaves).
  std::string subject_org;
  std::string subject_cn;
  EVP_PKEY* public_key = nullptr;  // the key being certified (required)
  // Issuer certificate and its private key. issuer_cert == nullptr makes the
  // certificate self-signed (issuer name = subject; signing_key must be the
  // private half of public_key).
  X509* issuer_cert = nullptr;
  EVP_PKEY* signing_key = nullptr;  // required
  TimePoint not_before;
  TimePoint not_after;
  bool is_ca = false;
  std::optional<int> path_len;        // CA only
  std::vector<std::string> uri_sans;  // empty = no SAN extension
  bool san_critical = true;           // Istio/ztunnel mark the URI SAN critical
  bool server_auth = false;           // extendedKeyUsage entries (leaf only)
  bool client_auth = false;
};

// A random positive 128-bit serial number (RFC 5280: at most 20 octets).
Result<UniqueAsn1Integer> RandomSerial();

// Builds and signs the certificate (SHA-256 for EC/RSA keys). Extensions:
// basicConstraints (critical), keyUsage (critical; keyCertSign+cRLSign for CAs,
// digitalSignature+keyEncipherment for leaves), extendedKeyUsage when
// requested, subjectKeyIdentifier, authorityKeyIdentifier, subjectAltName.
Result<UniqueX509> IssueCert(const CertSpec& spec);

}  // namespace ambit::pki
