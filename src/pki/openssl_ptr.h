// Move-only owners for OpenSSL objects (std::unique_ptr with a free-function deleter).
//
// Only forward declarations are visible here, so including this header does not
// pull in OpenSSL. Each deleter accepts nullptr. STACK_OF(X509) owners free the
// certificates they hold (sk_X509_pop_free).
#pragma once

#include <memory>

#include <openssl/types.h>

// Declared in <openssl/x509.h>; repeated so callers need not include it.
typedef struct X509_req_st X509_REQ;
typedef struct X509_extension_st X509_EXTENSION;
struct stack_st_X509;            // STACK_OF(X509)
struct stack_st_X509_EXTENSION;  // STACK_OF(X509_EXTENSION)
struct stack_st_GENERAL_NAME;    // GENERAL_NAMES

namespace ambit::pki {

#define AMBIT_PKI_DECLARE_OWNER(Name, Type) \
  struct Name##Deleter {                    \
    void operator()(Type* p) const;         \
  };                                        \
  using Unique##Name = std::unique_ptr<Type, Name##Deleter>

AMBIT_PKI_DECLARE_OWNER(EvpPkey, EVP_PKEY);
AMBIT_PKI_DECLARE_OWNER(EvpPkeyCtx, EVP_PKEY_CTX);
AMBIT_PKI_DECLARE_OWNER(EvpMdCtx, EVP_MD_CTX);
AMBIT_PKI_DECLARE_OWNER(X509, X509);
AMBIT_PKI_DECLARE_OWNER(X509Req, X509_REQ);
AMBIT_PKI_DECLARE_OWNER(X509Store, X509_STORE);
AMBIT_PKI_DECLARE_OWNER(X509StoreCtx, X509_STORE_CTX);
AMBIT_PKI_DECLARE_OWNER(X509Extension, X509_EXTENSION);
AMBIT_PKI_DECLARE_OWNER(X509Name, X509_NAME);
AMBIT_PKI_DECLARE_OWNER(X509Stack, stack_st_X509);
AMBIT_PKI_DECLARE_OWNER(X509ExtensionStack, stack_st_X509_EXTENSION);
AMBIT_PKI_DECLARE_OWNER(GeneralNames, stack_st_GENERAL_NAME);
AMBIT_PKI_DECLARE_OWNER(Bio, BIO);
AMBIT_PKI_DECLARE_OWNER(Bignum, BIGNUM);
AMBIT_PKI_DECLARE_OWNER(Asn1Integer, ASN1_INTEGER);
AMBIT_PKI_DECLARE_OWNER(Asn1Time, ASN1_TIME);

#undef AMBIT_PKI_DECLARE_OWNER

// Takes a new reference to |p| (X509_up_ref / EVP_PKEY_up_ref) and owns it.
UniqueX509 RefX509(X509* p);
UniqueEvpPkey RefEvpPkey(EVP_PKEY* p);

}  // namespace ambit::pki
