// PKCS#10 certificate signing requests, shaped as ztunnel sends them: empty
// subject, exactly one critical URI SAN (the SPIFFE ID), signed with SHA-256.
//
// ParseCsr() is the trust boundary for bytes arriving from the network: it
// never crashes on hostile input and rejects anything malformed with an
// InvalidArgument error starting "CSR: ". Policy (which SANs are acceptable)
// is the CA's job; the parser only reports what the CSR contains.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pki/openssl_ptr.h"

namespace ambit::pki {

// CSRs larger than this are refused before any parsing (a P-256 CSR is ~500 bytes).
inline constexpr std::size_t kMaxCsrPemBytes = 16 * 1024;

// Builds a CSR for |key| with an empty subject and a single critical URI SAN.
Result<std::string> BuildCsrPem(EVP_PKEY* key, std::string_view uri_san);

struct ParsedCsr {
  UniqueX509Req req;
  UniqueEvpPkey public_key;           // the key the CSR asks to be certified
  std::vector<std::string> uri_sans;  // URI entries of the SAN extension, in order
  std::size_t other_san_count = 0;    // DNS, IP, e-mail, ... SAN entries
  bool san_critical = false;          // the SAN extension is marked critical
  bool subject_empty = true;
};

// Decodes one PEM "CERTIFICATE REQUEST" block and checks that it is well
// formed: one block only, no trailing DER, a supported public key (EC P-256 /
// P-384, RSA >= 2048 bits), a valid self-signature, decodable extensions and at
// most one SAN extension.
Result<ParsedCsr> ParseCsr(std::string_view pem);

}  // namespace ambit::pki
