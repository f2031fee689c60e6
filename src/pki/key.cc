#include "pki/key.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pki/file.h"
#include "pki/bio_util.h"

namespace ambit::pki {

Result<UniqueEvpPkey> GenerateEcP256Key() {
  UniqueEvpPkey key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("generating ECDSA P-256 key");
  return key;
}

Result<std::string> PrivateKeyToPem(EVP_PKEY* key) {
  UniqueBio bio(BIO_new(BIO_s_mem()));
  if (!bio) return OpenSslError("allocating BIO");
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("encoding private key as PKCS#8 PEM");
  }
  return internal::BioToString(bio.get());
}

Result<std::string> PublicKeyToPem(EVP_PKEY* key) {
  UniqueBio bio(BIO_new(BIO_s_mem()));
  if (!bio) return OpenSslError("allocating BIO");
  if (PEM_write_bio_PUBKEY(bio.get(), key) != 1) return OpenSslError("encoding public key PEM");
  return internal::BioToString(bio.get());
}

Result<UniqueEvpPkey> PrivateKeyFromPem(std::string_view pem, std::string_view source) {
  AMBIT_ASSIGN_OR_RETURN(UniqueBio bio, internal::BioFromView(pem));
  // A null password callback with an empty passphrase makes encrypted keys fail
  // instead of prompting on the terminal.
  static char kEmpty[] = "";
  UniqueEvpPkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, kEmpty));
  if (!key) {
    return Error(ErrorCode::kInvalidArgument,
                 OpenSslError(std::string(source) + ": no readable unencrypted private key").message());
  }
  return key;
}

Result<UniqueEvpPkey> PrivateKeyFromFile(const std::string& path) {
  AMBIT_ASSIGN_OR_RETURN(std::string pem, ReadFileToString(path));
  return PrivateKeyFromPem(pem, path);
}

bool SamePublicKey(const EVP_PKEY* a, const EVP_PKEY* b) {
  if (a == nullptr || b == nullptr) return false;
  return EVP_PKEY_eq(a, b) == 1;
}

Status CheckKeyMatchesCert(EVP_PKEY* key, X509* cert) {
  EVP_PKEY* cert_key = X509_get0_pubkey(cert);
  if (cert_key == nullptr) return OpenSslError("reading certificate public key");
  if (!SamePublicKey(key, cert_key)) {
    return Error(ErrorCode::kInvalidArgument,
                 "private key (" + DescribeKey(key) + ") does not match the certificate's public key (" +
                     DescribeKey(cert_key) + ")");
  }
  return Ok();
}

std::string DescribeKey(const EVP_PKEY* key) {
  if (key == nullptr) return "no key";
  int id = EVP_PKEY_get_base_id(key);
  int bits = EVP_PKEY_get_bits(key);
  switch (id) {
    case EVP_PKEY_EC: {
      char group[64] = {0};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) == 1) {
        std::string g(group, len);
        if (g == "prime256v1") g = "P-256";
        if (g == "secp384r1") g = "P-384";
        if (g == "secp521r1") g = "P-521";
        return "EC " + g;
      }
      return "EC " + std::to_string(bits) + " bits";
    }
    case EVP_PKEY_RSA:
      return "RSA " + std::to_string(bits);
    case EVP_PKEY_ED25519:
      return "Ed25519";
    default:
      return std::string(OBJ_nid2sn(id) ? OBJ_nid2sn(id) : "unknown") + " key";
  }
}

}  // namespace ambit::pki
