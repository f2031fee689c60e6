#include "pki/pem.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pki/bio_util.h"
#include "pki/file.h"

namespace ambit::pki {
namespace {

Error Invalid(std::string_view source, std::string_view what) {
  return Error(ErrorCode::kInvalidArgument, std::string(source) + ": " + std::string(what));
}

// True if the last OpenSSL error is "no more PEM blocks" (a clean end of input).
bool AtCleanEnd() {
  unsigned long e = ERR_peek_last_error();
  return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

}  // namespace

Result<std::vector<UniqueX509>> CertsFromPem(std::string_view pem, std::string_view source) {
  ERR_clear_error();
  AMBIT_ASSIGN_OR_RETURN(UniqueBio bio, internal::BioFromView(pem));
  std::vector<UniqueX509> certs;
  while (true) {
    UniqueX509 cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
      if (AtCleanEnd()) {
        ERR_clear_error();
        break;
      }
      Error e = OpenSslError("decoding certificate #" + std::to_string(certs.size() + 1));
      return Invalid(source, e.message());
    }
    certs.push_back(std::move(cert));
  }
  if (certs.empty()) return Invalid(source, "no PEM certificate found");
  return certs;
}

Result<UniqueX509> CertFromPem(std::string_view pem, std::string_view source) {
  AMBIT_ASSIGN_OR_RETURN(std::vector<UniqueX509> certs, CertsFromPem(pem, source));
  if (certs.size() != 1) {
    return Invalid(source, "expected exactly one certificate, found " + std::to_string(certs.size()));
  }
  return std::move(certs.front());
}

Result<UniqueX509> CertFromFile(const std::string& path) {
  AMBIT_ASSIGN_OR_RETURN(std::string pem, ReadFileToString(path));
  return CertFromPem(pem, path);
}

Result<std::vector<UniqueX509>> CertsFromFile(const std::string& path) {
  AMBIT_ASSIGN_OR_RETURN(std::string pem, ReadFileToString(path));
  return CertsFromPem(pem, path);
}

Result<std::string> CertToPem(X509* cert) {
  UniqueBio bio(BIO_new(BIO_s_mem()));
  if (!bio) return OpenSslError("allocating BIO");
  if (PEM_write_bio_X509(bio.get(), cert) != 1) return OpenSslError("encoding certificate PEM");
  return internal::BioToString(bio.get());
}

Result<std::string> CertsToPem(std::span<const UniqueX509> certs) {
  std::string out;
  for (const auto& c : certs) {
    AMBIT_ASSIGN_OR_RETURN(std::string pem, CertToPem(c.get()));
    out += pem;
  }
  return out;
}

std::vector<UniqueX509> CopyCerts(std::span<const UniqueX509> certs) {
  std::vector<UniqueX509> out;
  out.reserve(certs.size());
  for (const auto& c : certs) out.push_back(RefX509(c.get()));
  return out;
}

}  // namespace ambit::pki
