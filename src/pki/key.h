// Private keys: ECDSA P-256 generation, PKCS#8 PEM encoding, key/cert matching.
//
// Thread-compatible; EVP_PKEY objects may be shared read-only across threads.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "pki/openssl_ptr.h"

namespace ambit::pki {

// A fresh ECDSA key on curve P-256 (prime256v1), the only workload key type Ambit issues.
Result<UniqueEvpPkey> GenerateEcP256Key();

// PKCS#8 "-----BEGIN PRIVATE KEY-----" PEM (unencrypted).
Result<std::string> PrivateKeyToPem(EVP_PKEY* key);
// SubjectPublicKeyInfo "-----BEGIN PUBLIC KEY-----" PEM.
Result<std::string> PublicKeyToPem(EVP_PKEY* key);

// Parses one unencrypted private key (PKCS#8, or traditional EC/RSA PEM).
// |source| names the input in errors (a file name, "CA key", ...).
Result<UniqueEvpPkey> PrivateKeyFromPem(std::string_view pem, std::string_view source = "PEM input");
Result<UniqueEvpPkey> PrivateKeyFromFile(const std::string& path);

// True if |a| and |b| hold the same public key.
bool SamePublicKey(const EVP_PKEY* a, const EVP_PKEY* b);
// Ok if |cert|'s public key is the public half of |key|; kInvalidArgument otherwise.
Status CheckKeyMatchesCert(EVP_PKEY* key, X509* cert);

// "EC P-256", "RSA 2048", ... for messages.
std::string DescribeKey(const EVP_PKEY* key);

}  // namespace ambit::pki
