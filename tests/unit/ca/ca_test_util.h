// Helpers shared by the CA unit tests.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <string>

#include "pki/cert_builder.h"
#include "pki/csr.h"
#include "pki/file.h"
#include "pki/key.h"
#include "pki/pem.h"

namespace ambit::ca::testing {

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) {
    ADD_FAILURE() << r.error().ToString();
    std::abort();
  }
  return std::move(r).value();
}

inline std::string CsrFor(std::string_view uri) {
  pki::UniqueEvpPkey key = Must(pki::GenerateEcP256Key());
  return Must(pki::BuildCsrPem(key.get(), uri));
}

// A CSR whose SAN extension is given in OpenSSL config syntax ("DNS:a,URI:b").
inline std::string CsrWithSan(const std::string& san) {
  pki::UniqueEvpPkey key = Must(pki::GenerateEcP256Key());
  pki::UniqueX509Req req(X509_REQ_new());
  X509_REQ_set_pubkey(req.get(), key.get());
  pki::UniqueX509ExtensionStack exts(sk_X509_EXTENSION_new_null());
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  EXPECT_NE(ext, nullptr);
  sk_X509_EXTENSION_push(exts.get(), ext);
  X509_REQ_add_extensions(req.get(), exts.get());
  EXPECT_GT(X509_REQ_sign(req.get(), key.get(), EVP_sha256()), 0);
  pki::UniqueBio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

struct KeyAndCert {
  pki::UniqueEvpPkey key;
  pki::UniqueX509 cert;
};

inline KeyAndCert MakeCaCert(const std::string& cn, const KeyAndCert* parent, bool is_ca = true) {
  KeyAndCert out;
  out.key = Must(pki::GenerateEcP256Key());
  pki::CertSpec spec;
  spec.subject_org = "ext";
  spec.subject_cn = cn;
  spec.public_key = out.key.get();
  spec.issuer_cert = parent ? parent->cert.get() : nullptr;
  spec.signing_key = parent ? parent->key.get() : out.key.get();
  spec.not_before = std::chrono::system_clock::now() - std::chrono::minutes(5);
  spec.not_after = spec.not_before + std::chrono::hours(24 * 365);
  spec.is_ca = is_ca;
  out.cert = Must(pki::IssueCert(spec));
  return out;
}

inline void WritePem(const std::string& path, X509* cert) {
  ASSERT_TRUE(pki::WriteFileAtomically(path, Must(pki::CertToPem(cert)), 0644).ok());
}
inline void WriteKey(const std::string& path, EVP_PKEY* key) {
  ASSERT_TRUE(pki::WriteFileAtomically(path, Must(pki::PrivateKeyToPem(key)), 0600).ok());
}

}  // namespace ambit::ca::testing
