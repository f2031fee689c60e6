#include "pki/csr.h"

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "pki/bio_util.h"
#include "pki/key.h"
#include "pki/san.h"

namespace ambit::pki {
namespace {

Error Malformed(std::string_view why) {
  ERR_clear_error();
  return Error(ErrorCode::kInvalidArgument, "CSR: " + std::string(why));
}

// Owner for the buffers PEM_read_bio() allocates.
struct PemBlock {
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  PemBlock() = default;
  PemBlock(const PemBlock&) = delete;
  PemBlock& operator=(const PemBlock&) = delete;
  ~PemBlock() {
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
  }
};

Status CheckKeyType(EVP_PKEY* key) {
  int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1) {
      return Malformed("EC public key without a named curve");
    }
    std::string_view g(group, len);
    if (g != "prime256v1" && g != "secp384r1") {
      return Malformed("unsupported EC curve " + std::string(g) + " (want P-256 or P-384)");
    }
    return Ok();
  }
  if (id == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(key) < 2048) {
      return Malformed("RSA key of " + std::to_string(EVP_PKEY_get_bits(key)) +
                       " bits is too small (want >= 2048)");
    }
    return Ok();
  }
  return Malformed("unsupported public key type " + DescribeKey(key) + " (want EC P-256)");
}

}  // namespace

Result<std::string> BuildCsrPem(EVP_PKEY* key, std::string_view uri_san) {
  UniqueX509Req req(X509_REQ_new());
  if (!req) return OpenSslError("allocating X509_REQ");
  if (X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_pubkey(req.get(), key) != 1) {
    return OpenSslError("setting CSR public key");
  }
  // The subject stays empty: identity is carried only by the URI SAN.
  AMBIT_ASSIGN_OR_RETURN(UniqueX509Extension san, MakeUriSanExtension(uri_san, /*critical=*/true));
  UniqueX509ExtensionStack exts(sk_X509_EXTENSION_new_null());
  if (!exts || sk_X509_EXTENSION_push(exts.get(), san.get()) == 0) {
    return OpenSslError("building CSR extension list");
  }
  san.release();  // now owned by |exts|
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1) {
    return OpenSslError("adding extensions to CSR");
  }
  if (X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) return OpenSslError("signing CSR");
  UniqueBio bio(BIO_new(BIO_s_mem()));
  if (!bio) return OpenSslError("allocating BIO");
  if (PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) return OpenSslError("encoding CSR PEM");
  return internal::BioToString(bio.get());
}

Result<ParsedCsr> ParseCsr(std::string_view pem) {
  ERR_clear_error();
  if (pem.size() > kMaxCsrPemBytes) {
    return Malformed("too large (" + std::to_string(pem.size()) + " bytes, limit " +
                     std::to_string(kMaxCsrPemBytes) + ")");
  }
  if (pem.find('\0') != std::string_view::npos) return Malformed("contains a NUL byte");
  AMBIT_ASSIGN_OR_RETURN(UniqueBio bio, internal::BioFromView(pem));

  ParsedCsr out;
  {
    PemBlock block;
    if (PEM_read_bio(bio.get(), &block.name, &block.header, &block.data, &block.len) != 1) {
      return Malformed("not PEM (no '-----BEGIN CERTIFICATE REQUEST-----' block could be decoded)");
    }
    if (std::strcmp(block.name, PEM_STRING_X509_REQ) != 0 &&
        std::strcmp(block.name, PEM_STRING_X509_REQ_OLD) != 0) {
      return Malformed("PEM block is '" + std::string(block.name) +
                       "', expected 'CERTIFICATE REQUEST'");
    }
    if (block.header != nullptr && block.header[0] != '\0') {
      return Malformed("PEM block has headers (encrypted or non-standard PEM)");
    }
    const unsigned char* p = block.data;
    out.req.reset(d2i_X509_REQ(nullptr, &p, block.len));
    if (!out.req) return Malformed("DER does not decode as a PKCS#10 request");
    if (p != block.data + block.len) return Malformed("trailing bytes after the DER request");
  }
  {
    PemBlock extra;
    if (PEM_read_bio(bio.get(), &extra.name, &extra.header, &extra.data, &extra.len) == 1) {
      return Malformed("more than one PEM block");
    }
    ERR_clear_error();
  }

  out.public_key.reset(X509_REQ_get_pubkey(out.req.get()));
  if (!out.public_key) return Malformed("public key does not decode");
  AMBIT_RETURN_IF_ERROR(CheckKeyType(out.public_key.get()));
  if (X509_REQ_verify(out.req.get(), out.public_key.get()) != 1) {
    return Malformed("signature does not verify with the request's own public key");
  }

  const X509_NAME* subject = X509_REQ_get_subject_name(out.req.get());
  out.subject_empty = subject == nullptr || X509_NAME_entry_count(subject) == 0;

  UniqueX509ExtensionStack exts(X509_REQ_get_extensions(out.req.get()));
  if (!exts) return Malformed("extension request attribute does not decode");
  bool seen_san = false;
  for (int i = 0; i < sk_X509_EXTENSION_num(exts.get()); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    if (seen_san) return Malformed("more than one subjectAltName extension");
    seen_san = true;
    out.san_critical = X509_EXTENSION_get_critical(ext) == 1;
    Result<SanEntries> sans = DecodeSanExtension(ext);
    if (!sans.ok()) return Malformed(sans.error().message());
    out.uri_sans = std::move(sans->uris);
    out.other_san_count = sans->other_count;
  }
  ERR_clear_error();
  return out;
}

}  // namespace ambit::pki
