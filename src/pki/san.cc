#include "pki/san.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace ambit::pki {
namespace {

bool PrintableAscii(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e) return false;
  }
  return true;
}

}  // namespace

Result<UniqueX509Extension> MakeUriSanExtension(std::string_view uri, bool critical) {
  if (uri.empty() || !PrintableAscii(uri)) {
    return Error(ErrorCode::kInvalidArgument,
                 "URI SAN '" + std::string(uri) + "' is empty or not printable ASCII");
  }
  UniqueGeneralNames names(GENERAL_NAMES_new());
  if (!names) return OpenSslError("allocating GENERAL_NAMES");
  GENERAL_NAME* name = GENERAL_NAME_new();
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  if (name == nullptr || ia5 == nullptr ||
      ASN1_STRING_set(ia5, uri.data(), static_cast<int>(uri.size())) != 1) {
    GENERAL_NAME_free(name);
    ASN1_IA5STRING_free(ia5);
    return OpenSslError("building URI SAN");
  }
  GENERAL_NAME_set0_value(name, GEN_URI, ia5);
  if (sk_GENERAL_NAME_push(names.get(), name) == 0) {
    GENERAL_NAME_free(name);
    return OpenSslError("building URI SAN list");
  }
  UniqueX509Extension ext(X509V3_EXT_i2d(NID_subject_alt_name, critical ? 1 : 0, names.get()));
  if (!ext) return OpenSslError("encoding subjectAltName extension");
  return ext;
}

Result<SanEntries> DecodeSanExtension(X509_EXTENSION* ext) {
  UniqueGeneralNames names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
  if (!names) {
    ERR_clear_error();
    return Error(ErrorCode::kInvalidArgument, "subjectAltName extension does not decode");
  }
  SanEntries out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) {
      ++out.other_count;
      continue;
    }
    const ASN1_IA5STRING* ia5 = name->d.uniformResourceIdentifier;
    std::string_view uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ia5)),
                         static_cast<std::size_t>(ASN1_STRING_length(ia5)));
    if (uri.empty() || !PrintableAscii(uri)) {
      return Error(ErrorCode::kInvalidArgument,
                   "URI SAN #" + std::to_string(out.uris.size() + 1) +
                       " is empty or contains non-printable bytes");
    }
    out.uris.emplace_back(uri);
  }
  return out;
}

}  // namespace ambit::pki
