#include "pki/cert.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "pki/bio_util.h"
#include "pki/san.h"

namespace ambit::pki {
namespace {

std::string NameToString(const X509_NAME* name) {
  if (name == nullptr) return {};
  UniqueBio bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  return internal::BioToString(bio.get());
}

}  // namespace

Result<TimePoint> Asn1TimeToTimePoint(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return Error(ErrorCode::kInvalidArgument, "certificate time does not decode");
  }
  time_t secs = timegm(&tm);
  return std::chrono::system_clock::from_time_t(secs);
}

Result<std::vector<std::string>> CertUriSans(X509* cert) {
  int idx = X509_get_ext_by_NID(cert, NID_subject_alt_name, -1);
  if (idx < 0) return std::vector<std::string>{};
  if (X509_get_ext_by_NID(cert, NID_subject_alt_name, idx) >= 0) {
    return Error(ErrorCode::kInvalidArgument, "certificate has more than one subjectAltName extension");
  }
  AMBIT_ASSIGN_OR_RETURN(SanEntries sans, DecodeSanExtension(X509_get_ext(cert, idx)));
  return std::move(sans.uris);
}

Result<TimePoint> CertNotBefore(X509* cert) { return Asn1TimeToTimePoint(X509_get0_notBefore(cert)); }
Result<TimePoint> CertNotAfter(X509* cert) { return Asn1TimeToTimePoint(X509_get0_notAfter(cert)); }

Result<std::string> CertSerialHex(X509* cert) {
  UniqueBignum bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) return OpenSslError("decoding certificate serial number");
  char* hex = BN_bn2hex(bn.get());
  if (hex == nullptr) return OpenSslError("printing certificate serial number");
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

bool CertIsCa(X509* cert) {
  // X509_get_extension_flags() decodes and caches the extensions first.
  uint32_t flags = X509_get_extension_flags(cert);
  return (flags & EXFLAG_CA) != 0 && (flags & EXFLAG_BCONS) != 0;
}

bool CertIsSelfSigned(X509* cert) {
  return X509_check_issued(cert, cert) == X509_V_OK && X509_verify(cert, X509_get0_pubkey(cert)) == 1;
}

Result<CertInfo> InspectCert(X509* cert) {
  CertInfo info;
  info.subject = NameToString(X509_get_subject_name(cert));
  info.issuer = NameToString(X509_get_issuer_name(cert));
  AMBIT_ASSIGN_OR_RETURN(info.serial_hex, CertSerialHex(cert));
  AMBIT_ASSIGN_OR_RETURN(info.not_before, CertNotBefore(cert));
  AMBIT_ASSIGN_OR_RETURN(info.not_after, CertNotAfter(cert));
  info.is_ca = CertIsCa(cert);
  AMBIT_ASSIGN_OR_RETURN(info.uri_sans, CertUriSans(cert));
  int idx = X509_get_ext_by_NID(cert, NID_subject_alt_name, -1);
  info.san_critical = idx >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, idx)) == 1;
  ERR_clear_error();
  return info;
}

}  // namespace ambit::pki
