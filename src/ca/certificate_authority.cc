#include "ca/certificate_authority.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "core/duration.h"
#include "core/log.h"
#include "pki/cert_builder.h"
#include "pki/chain.h"
#include "pki/csr.h"
#include "pki/file.h"
#include "pki/key.h"
#include "pki/pem.h"

namespace ambit::ca {
namespace {

using pki::UniqueX509;

std::string PathIn(const std::string& dir, std::string_view file) {
  return dir + "/" + std::string(file);
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool SameCert(X509* a, X509* b) { return X509_cmp(a, b) == 0; }

bool InList(X509* cert, const std::vector<UniqueX509>& list) {
  return std::any_of(list.begin(), list.end(), [&](const UniqueX509& c) { return SameCert(c.get(), cert); });
}

// A certificate usable as an issuer: basicConstraints CA:TRUE and, if keyUsage is present, keyCertSign.
Status CheckSigningCa(X509* cert, const std::string& source) {
  if (!pki::CertIsCa(cert)) {
    return Error(ErrorCode::kInvalidArgument,
                 source + ": not a CA certificate (basicConstraints CA:TRUE missing)");
  }
  if ((X509_get_extension_flags(cert) & EXFLAG_KUSAGE) != 0 &&
      (X509_get_key_usage(cert) & KU_KEY_CERT_SIGN) == 0) {
    return Error(ErrorCode::kInvalidArgument, source + ": keyUsage does not allow keyCertSign");
  }
  return Ok();
}

Status EnsureDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError("creating CA directory " + dir, errno);
  }
  return Ok();
}

}  // namespace

CertificateAuthority::~CertificateAuthority() = default;

Result<std::unique_ptr<CertificateAuthority>> CertificateAuthority::Open(const std::string& dir,
                                                                         const CaOptions& options) {
  if (Exists(PathIn(dir, kCaCertFile))) return LoadPluggedIn(dir, options);
  return LoadOrCreateSelfSigned(dir, options);
}

Result<std::unique_ptr<CertificateAuthority>> CertificateAuthority::LoadOrCreateSelfSigned(
    const std::string& dir, const CaOptions& options) {
  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority());
  ca->options_ = options;
  ca->dir_ = dir;
  const std::string cert_path = PathIn(dir, kRootCertFile);
  const std::string key_path = PathIn(dir, kRootKeyFile);
  bool have_cert = Exists(cert_path);
  bool have_key = Exists(key_path);
  if (have_cert != have_key) {
    return Error(ErrorCode::kInvalidArgument,
                 "CA directory " + dir + " has " + (have_cert ? cert_path : key_path) + " but not " +
                     (have_cert ? key_path : cert_path) +
                     "; restore it, or remove both to generate a new root");
  }
  if (have_cert) {
    AMBIT_ASSIGN_OR_RETURN(ca->signing_cert_, pki::CertFromFile(cert_path));
    AMBIT_ASSIGN_OR_RETURN(ca->signing_key_, pki::PrivateKeyFromFile(key_path));
    AMBIT_LOG_INFO("CA: loaded self-signed root from {}", cert_path);
  } else {
    AMBIT_RETURN_IF_ERROR(EnsureDir(dir));
    AMBIT_ASSIGN_OR_RETURN(ca->signing_key_, pki::GenerateEcP256Key());
    pki::CertSpec spec;
    spec.subject_org = options.trust_domain;
    spec.subject_cn = "Ambit root CA";
    spec.public_key = ca->signing_key_.get();
    spec.signing_key = ca->signing_key_.get();
    spec.not_before = std::chrono::system_clock::now() - options.clock_skew_allowance;
    spec.not_after = std::chrono::system_clock::now() + options.self_signed_root_ttl;
    spec.is_ca = true;
    AMBIT_ASSIGN_OR_RETURN(ca->signing_cert_, pki::IssueCert(spec));
    AMBIT_ASSIGN_OR_RETURN(std::string key_pem, pki::PrivateKeyToPem(ca->signing_key_.get()));
    AMBIT_ASSIGN_OR_RETURN(std::string cert_pem, pki::CertToPem(ca->signing_cert_.get()));
    // Key first: a crash in between leaves "key without cert", which is refused loudly above.
    AMBIT_RETURN_IF_ERROR(pki::WriteFileAtomically(key_path, key_pem, 0600));
    AMBIT_RETURN_IF_ERROR(pki::WriteFileAtomically(cert_path, cert_pem, 0644));
    AMBIT_LOG_INFO("CA: generated self-signed root {} for trust domain {}", cert_path,
                   options.trust_domain);
  }
  ca->roots_.push_back(pki::RefX509(ca->signing_cert_.get()));
  if (Status st = ca->Finish(); !st.ok()) {
    return std::move(st).error().WithContext("self-signed CA in " + dir);
  }
  return ca;
}

Result<std::unique_ptr<CertificateAuthority>> CertificateAuthority::LoadPluggedIn(
    const std::string& dir, const CaOptions& options) {
  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority());
  ca->options_ = options;
  ca->dir_ = dir;
  ca->plugged_in_ = true;
  const std::string cert_path = PathIn(dir, kCaCertFile);
  const std::string chain_path = PathIn(dir, kCertChainFile);
  AMBIT_ASSIGN_OR_RETURN(ca->signing_cert_, pki::CertFromFile(cert_path));
  AMBIT_ASSIGN_OR_RETURN(ca->signing_key_, pki::PrivateKeyFromFile(PathIn(dir, kCaKeyFile)));
  AMBIT_ASSIGN_OR_RETURN(ca->roots_, pki::CertsFromFile(PathIn(dir, kRootCertFile)));

  // Intermediates: ca-cert first, then the rest of cert-chain.pem; roots are
  // sent separately (last element), so they are dropped from this list.
  std::vector<UniqueX509> chain;
  if (Exists(chain_path)) {
    AMBIT_ASSIGN_OR_RETURN(chain, pki::CertsFromFile(chain_path));
  }
  if (!InList(ca->signing_cert_.get(), ca->roots_)) {
    ca->intermediates_.push_back(pki::RefX509(ca->signing_cert_.get()));
  }
  for (auto& c : chain) {
    if (SameCert(c.get(), ca->signing_cert_.get()) || InList(c.get(), ca->roots_)) continue;
    ca->intermediates_.push_back(std::move(c));
  }
  if (Status st = ca->Finish(); !st.ok()) {
    return std::move(st).error().WithContext("plugged-in CA in " + dir);
  }
  AMBIT_LOG_INFO("CA: loaded plugged-in CA {} ({} intermediate(s), {} root(s))", cert_path,
                 ca->intermediates_.size(), ca->roots_.size());
  return ca;
}

Status CertificateAuthority::Finish() {
  std::string signing_name = plugged_in_ ? std::string(kCaCertFile) : std::string(kRootCertFile);
  if (Status st = pki::CheckKeyMatchesCert(signing_key_.get(), signing_cert_.get()); !st.ok()) {
    return std::move(st).error().WithContext(signing_name);
  }
  AMBIT_RETURN_IF_ERROR(CheckSigningCa(signing_cert_.get(), signing_name));
  for (std::size_t i = 0; i < roots_.size(); ++i) {
    AMBIT_RETURN_IF_ERROR(CheckSigningCa(roots_[i].get(), std::string(kRootCertFile) + " certificate #" +
                                                              std::to_string(i + 1)));
  }
  AMBIT_ASSIGN_OR_RETURN(signing_not_after_, pki::CertNotAfter(signing_cert_.get()));
  auto now = std::chrono::system_clock::now();
  if (signing_not_after_ <= now) {
    return Error(ErrorCode::kInvalidArgument,
                 signing_name + " expired at " + FormatUtcTimestamp(signing_not_after_));
  }
  // The signing certificate must itself chain to the roots through the intermediates.
  std::vector<UniqueX509> above;
  for (const auto& c : intermediates_) {
    if (!SameCert(c.get(), signing_cert_.get())) above.push_back(pki::RefX509(c.get()));
  }
  if (Status st = pki::VerifyChain(signing_cert_.get(), above, roots_); !st.ok()) {
    return Error(ErrorCode::kInvalidArgument,
                 signing_name + " does not chain to " + std::string(kRootCertFile) + ": " +
                     st.error().message());
  }
  for (const auto& c : intermediates_) {
    AMBIT_ASSIGN_OR_RETURN(std::string pem, pki::CertToPem(c.get()));
    intermediate_pems_.push_back(std::move(pem));
  }
  AMBIT_ASSIGN_OR_RETURN(roots_pem_, pki::CertsToPem(roots_));
  return Ok();
}

Status CertificateAuthority::CheckTrustDomain(const identity::SpiffeId& id) const {
  if (!id.SameTrustDomain(options_.trust_domain)) {
    return Error(ErrorCode::kPermissionDenied,
                 "identity " + id.ToString() + " is in trust domain '" + id.trust_domain() +
                     "', this CA signs only for '" + options_.trust_domain + "'");
  }
  return Ok();
}

Status CertificateAuthority::CheckTtl(std::chrono::seconds ttl) const {
  if (ttl.count() < 0) {
    return Error(ErrorCode::kInvalidArgument,
                 "requested validity " + std::to_string(ttl.count()) + "s is negative");
  }
  if (ttl > options_.max_workload_ttl) {
    return Error(ErrorCode::kInvalidArgument,
                 "requested validity " + std::to_string(ttl.count()) + "s exceeds the maximum of " +
                     std::to_string(options_.max_workload_ttl.count()) + "s");
  }
  return Ok();
}

Result<pki::UniqueX509> CertificateAuthority::IssueLeaf(EVP_PKEY* public_key,
                                                        const identity::SpiffeId& id,
                                                        std::chrono::seconds ttl) const {
  AMBIT_RETURN_IF_ERROR(CheckTtl(ttl));
  AMBIT_RETURN_IF_ERROR(CheckTrustDomain(id));
  if (ttl.count() == 0) ttl = options_.default_workload_ttl;
  auto now = std::chrono::system_clock::now();
  pki::CertSpec spec;
  spec.public_key = public_key;
  spec.issuer_cert = signing_cert_.get();
  spec.signing_key = signing_key_.get();
  spec.not_before = now - options_.clock_skew_allowance;
  // A leaf cannot outlive its issuer (it would fail path validation after that).
  spec.not_after = std::min<pki::TimePoint>(now + ttl, signing_not_after_);
  spec.uri_sans = {id.ToString()};
  spec.san_critical = true;
  spec.server_auth = true;
  spec.client_auth = true;
  return pki::IssueCert(spec);
}

Result<std::vector<std::string>> CertificateAuthority::Sign(std::string_view csr_pem,
                                                            const identity::SpiffeId& id,
                                                            std::chrono::seconds ttl) const {
  AMBIT_RETURN_IF_ERROR(CheckTtl(ttl));
  AMBIT_RETURN_IF_ERROR(CheckTrustDomain(id));
  AMBIT_ASSIGN_OR_RETURN(pki::ParsedCsr csr, pki::ParseCsr(csr_pem));
  if (csr.other_san_count != 0) {
    return Error(ErrorCode::kInvalidArgument,
                 "CSR: carries " + std::to_string(csr.other_san_count) +
                     " non-URI subjectAltName entries; only one URI SAN (the SPIFFE ID) is allowed");
  }
  if (csr.uri_sans.size() != 1) {
    return Error(ErrorCode::kInvalidArgument,
                 "CSR: must carry exactly one URI SAN (the SPIFFE ID), found " +
                     std::to_string(csr.uri_sans.size()));
  }
  Result<identity::SpiffeId> csr_id = identity::SpiffeId::Parse(csr.uri_sans.front());
  if (!csr_id.ok()) {
    return Error(ErrorCode::kInvalidArgument, "CSR: URI SAN is not a workload identity: " +
                                                  csr_id.error().message());
  }
  if (!(*csr_id == id)) {
    return Error(ErrorCode::kInvalidArgument, "CSR: URI SAN '" + csr.uri_sans.front() +
                                                  "' differs from the requested identity '" +
                                                  id.ToString() + "'");
  }
  AMBIT_ASSIGN_OR_RETURN(UniqueX509 leaf, IssueLeaf(csr.public_key.get(), id, ttl));
  AMBIT_ASSIGN_OR_RETURN(std::string leaf_pem, pki::CertToPem(leaf.get()));
  std::vector<std::string> out;
  out.reserve(intermediate_pems_.size() + 2);
  out.push_back(std::move(leaf_pem));
  out.insert(out.end(), intermediate_pems_.begin(), intermediate_pems_.end());
  out.push_back(roots_pem_);
  return out;
}

}  // namespace ambit::ca
