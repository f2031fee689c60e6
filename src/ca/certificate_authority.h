// CertificateAuthority: the mesh CA that signs workload certificates.
//
// Two ways to hold the signing key, both in one CA directory:
//  * self-signed (default): root-cert.pem + root-key.pem (key mode 0600),
//    generated on first start (ECDSA P-256, 10 years) and reloaded later;
//  * plugged-in (Istio's "cacerts" layout): ca-cert.pem + ca-key.pem (the
//    signing CA, a root or an intermediate), root-cert.pem (trust anchors,
//    one or more), and optionally cert-chain.pem (ca-cert up to the root).
//    Chosen whenever ca-cert.pem exists.
// Loading validates that the key matches the certificate, that it is a CA
// allowed to sign certificates, and that the signing chain verifies against
// the roots.
//
// Sign() issues a leaf with exactly one critical URI SAN (the SPIFFE ID), an
// empty subject, the CSR's public key, a random serial, EKU serverAuth +
// clientAuth, keyUsage digitalSignature + keyEncipherment, basicConstraints
// CA:FALSE, SKI/AKI. The response order is Istio's: leaf, intermediates,
// then all roots concatenated as the last element.
//
// Immutable after loading; Sign() is thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "identity/spiffe_id.h"
#include "pki/cert.h"
#include "pki/openssl_ptr.h"

namespace ambit::ca {

inline constexpr std::string_view kRootCertFile = "root-cert.pem";
inline constexpr std::string_view kRootKeyFile = "root-key.pem";
inline constexpr std::string_view kCaCertFile = "ca-cert.pem";
inline constexpr std::string_view kCaKeyFile = "ca-key.pem";
inline constexpr std::string_view kCertChainFile = "cert-chain.pem";

struct CaOptions {
  std::string trust_domain{identity::kDefaultTrustDomain};
  std::chrono::seconds default_workload_ttl{24 * 3600};   // Istio DEFAULT_WORKLOAD_CERT_TTL
  std::chrono::seconds max_workload_ttl{90 * 24 * 3600};  // Istio MAX_WORKLOAD_CERT_TTL
  std::chrono::seconds self_signed_root_ttl{10LL * 365 * 24 * 3600};
  // not_before is set this far in the past to tolerate small clock differences.
  std::chrono::seconds clock_skew_allowance{60};
};

class CertificateAuthority {
 public:
  // Plugged-in mode if <dir>/ca-cert.pem exists, otherwise self-signed mode.
  static Result<std::unique_ptr<CertificateAuthority>> Open(const std::string& dir,
                                                            const CaOptions& options);
  // Loads <dir>/root-{cert,key}.pem, or creates both (and <dir>, mode 0700) if
  // neither exists. Exactly one of them existing is an error (nothing is overwritten).
  static Result<std::unique_ptr<CertificateAuthority>> LoadOrCreateSelfSigned(
      const std::string& dir, const CaOptions& options);
  // Loads Istio's plugged-in layout from <dir>.
  static Result<std::unique_ptr<CertificateAuthority>> LoadPluggedIn(const std::string& dir,
                                                                     const CaOptions& options);

  CertificateAuthority(const CertificateAuthority&) = delete;
  CertificateAuthority& operator=(const CertificateAuthority&) = delete;
  ~CertificateAuthority();

  // Validates |csr_pem| (well formed, valid signature, exactly one URI SAN equal
  // to |id|, no other SANs), checks |id|'s trust domain and |ttl|, and issues
  // the certificate. ttl == 0 means default_workload_ttl; negative or above
  // max_workload_ttl is refused. Returns PEMs: leaf, intermediates..., roots.
  // Errors: kInvalidArgument (CSR, SAN mismatch, ttl), kPermissionDenied
  // (trust domain), kCrypto/kInternal (signing failed).
  Result<std::vector<std::string>> Sign(std::string_view csr_pem, const identity::SpiffeId& id,
                                        std::chrono::seconds ttl) const;

  // Checks ttl and trust domain the same way and certifies |public_key| for |id|.
  Result<pki::UniqueX509> IssueLeaf(EVP_PKEY* public_key, const identity::SpiffeId& id,
                                    std::chrono::seconds ttl) const;

  // Ok if |id| is in this CA's trust domain; kPermissionDenied otherwise.
  Status CheckTrustDomain(const identity::SpiffeId& id) const;
  // Ok for 0 <= ttl <= max_workload_ttl; kInvalidArgument otherwise.
  Status CheckTtl(std::chrono::seconds ttl) const;

  const CaOptions& options() const { return options_; }
  const std::string& dir() const { return dir_; }
  bool plugged_in() const { return plugged_in_; }
  // Trust anchors (root-cert.pem), one PEM string holding all of them.
  const std::string& roots_pem() const { return roots_pem_; }
  // Intermediates between a leaf and the roots, one PEM per element (empty for self-signed).
  const std::vector<std::string>& intermediate_pems() const { return intermediate_pems_; }
  X509* signing_cert() const { return signing_cert_.get(); }

 private:
  CertificateAuthority() = default;
  // Validates and renders the loaded material; shared by both constructors.
  Status Finish();

  CaOptions options_;
  std::string dir_;
  bool plugged_in_ = false;
  pki::UniqueX509 signing_cert_;
  pki::UniqueEvpPkey signing_key_;
  pki::TimePoint signing_not_after_;
  std::vector<pki::UniqueX509> intermediates_;  // signing cert first, when it is not a root
  std::vector<pki::UniqueX509> roots_;
  std::vector<std::string> intermediate_pems_;
  std::string roots_pem_;
};

}  // namespace ambit::ca
