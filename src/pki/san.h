// subjectAltName extensions: building a URI SAN and decoding one.
//
// Thread-compatible.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pki/openssl_ptr.h"

namespace ambit::pki {

// A subjectAltName extension holding exactly one uniformResourceIdentifier.
// |uri| must be non-empty printable ASCII (kInvalidArgument otherwise).
Result<UniqueX509Extension> MakeUriSanExtension(std::string_view uri, bool critical);

struct SanEntries {
  std::vector<std::string> uris;  // URI entries, in order
  std::size_t other_count = 0;    // DNS, IP, e-mail, directory name, ... entries
};

// Decodes a subjectAltName extension. Undecodable DER, or a URI containing a
// NUL or non-printable byte, is kInvalidArgument.
Result<SanEntries> DecodeSanExtension(X509_EXTENSION* ext);

}  // namespace ambit::pki
