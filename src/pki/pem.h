// PEM encoding and decoding of X.509 certificates and chains.
//
// |source| names the input in error messages (a file name, "cert_chain[1]", ...);
// the *FromFile variants use the path. Thread-compatible.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pki/openssl_ptr.h"

namespace ambit::pki {

// Exactly one certificate; more than one, none, or undecodable input is kInvalidArgument.
Result<UniqueX509> CertFromPem(std::string_view pem, std::string_view source = "PEM input");
// One or more concatenated certificates in order; text outside PEM blocks is ignored.
Result<std::vector<UniqueX509>> CertsFromPem(std::string_view pem,
                                             std::string_view source = "PEM input");
Result<UniqueX509> CertFromFile(const std::string& path);
Result<std::vector<UniqueX509>> CertsFromFile(const std::string& path);

Result<std::string> CertToPem(X509* cert);
// Concatenation of CertToPem() of each certificate.
Result<std::string> CertsToPem(std::span<const UniqueX509> certs);

// Deep copies that share the underlying objects by reference count.
std::vector<UniqueX509> CopyCerts(std::span<const UniqueX509> certs);

}  // namespace ambit::pki
