#include "pki/cert_builder.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/san.h"

namespace ambit::pki {
namespace {

Status AddExt(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  UniqueX509Extension ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext) return OpenSslError(std::string("building extension ") + OBJ_nid2sn(nid) + "=" + value);
  if (X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(std::string("adding extension ") + OBJ_nid2sn(nid));
  }
  return Ok();
}

Status SetTime(ASN1_TIME* field, TimePoint t, const char* what) {
  if (ASN1_TIME_set(field, std::chrono::system_clock::to_time_t(t)) == nullptr) {
    return OpenSslError(std::string("setting ") + what);
  }
  return Ok();
}

Status SetSubject(X509* cert, const CertSpec& spec) {
  X509_NAME* name = X509_get_subject_name(cert);
  auto add = [&](const char* field, const std::string& value) -> Status {
    if (value.empty()) return Ok();
    if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1) {
      return OpenSslError(std::string("setting subject ") + field);
    }
    return Ok();
  };
  AMBIT_RETURN_IF_ERROR(add("O", spec.subject_org));
  AMBIT_RETURN_IF_ERROR(add("CN", spec.subject_cn));
  return Ok();
}

}  // namespace

Result<UniqueAsn1Integer> RandomSerial() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return OpenSslError("generating serial number");
  bytes[0] &= 0x7f;  // positive (top bit clear) ...
  bytes[0] |= 0x40;  // ... and always a full 16 octets, so serials have equal length
  UniqueBignum bn(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  if (!bn) return OpenSslError("converting serial number");
  UniqueAsn1Integer serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial) return OpenSslError("encoding serial number");
  return serial;
}

Result<UniqueX509> IssueCert(const CertSpec& spec) {
  if (spec.public_key == nullptr || spec.signing_key == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "certificate spec needs a public key and a signing key");
  }
  if (spec.not_after <= spec.not_before) {
    return Error(ErrorCode::kInvalidArgument, "certificate not_after must be later than not_before");
  }
  ERR_clear_error();
  UniqueX509 cert(X509_new());
  if (!cert) return OpenSslError("allocating X509");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) return OpenSslError("setting version");
  AMBIT_ASSIGN_OR_RETURN(UniqueAsn1Integer serial, RandomSerial());
  if (X509_set_serialNumber(cert.get(), serial.get()) != 1) return OpenSslError("setting serial");
  AMBIT_RETURN_IF_ERROR(SetTime(X509_getm_notBefore(cert.get()), spec.not_before, "not_before"));
  AMBIT_RETURN_IF_ERROR(SetTime(X509_getm_notAfter(cert.get()), spec.not_after, "not_after"));
  if (X509_set_pubkey(cert.get(), spec.public_key) != 1) return OpenSslError("setting public key");
  AMBIT_RETURN_IF_ERROR(SetSubject(cert.get(), spec));
  X509* issuer = spec.issuer_cert != nullptr ? spec.issuer_cert : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) != 1) {
    return OpenSslError("setting issuer name");
  }

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert.get(), nullptr, nullptr, 0);
  std::string bc = spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE";
  if (spec.is_ca && spec.path_len.has_value()) bc += ",pathlen:" + std::to_string(*spec.path_len);
  AMBIT_RETURN_IF_ERROR(AddExt(cert.get(), &ctx, NID_basic_constraints, bc));
  AMBIT_RETURN_IF_ERROR(AddExt(cert.get(), &ctx, NID_key_usage,
                               spec.is_ca ? "critical,keyCertSign,cRLSign,digitalSignature"
                                          : "critical,digitalSignature,keyEncipherment"));
  std::string eku;
  if (spec.server_auth) eku = "serverAuth";
  if (spec.client_auth) eku += eku.empty() ? "clientAuth" : ",clientAuth";
  if (!eku.empty()) AMBIT_RETURN_IF_ERROR(AddExt(cert.get(), &ctx, NID_ext_key_usage, eku));
  AMBIT_RETURN_IF_ERROR(AddExt(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  AMBIT_RETURN_IF_ERROR(AddExt(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!spec.uri_sans.empty()) {
    if (spec.uri_sans.size() != 1) {
      return Error(ErrorCode::kInvalidArgument, "at most one URI SAN is supported");
    }
    AMBIT_ASSIGN_OR_RETURN(UniqueX509Extension san,
                           MakeUriSanExtension(spec.uri_sans.front(), spec.san_critical));
    if (X509_add_ext(cert.get(), san.get(), -1) != 1) return OpenSslError("adding subjectAltName");
  }

  int key_type = EVP_PKEY_get_base_id(spec.signing_key);
  const EVP_MD* md = (key_type == EVP_PKEY_ED25519 || key_type == EVP_PKEY_ED448) ? nullptr : EVP_sha256();
  if (X509_sign(cert.get(), spec.signing_key, md) <= 0) return OpenSslError("signing certificate");
  return cert;
}

}  // namespace ambit::pki
