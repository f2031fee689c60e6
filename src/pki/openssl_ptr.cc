#include "pki/openssl_ptr.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace ambit::pki {

void EvpPkeyDeleter::operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
void EvpPkeyCtxDeleter::operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
void EvpMdCtxDeleter::operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
void X509Deleter::operator()(X509* p) const { X509_free(p); }
void X509ReqDeleter::operator()(X509_REQ* p) const { X509_REQ_free(p); }
void X509StoreDeleter::operator()(X509_STORE* p) const { X509_STORE_free(p); }
void X509StoreCtxDeleter::operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
void X509ExtensionDeleter::operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
void X509NameDeleter::operator()(X509_NAME* p) const { X509_NAME_free(p); }
void X509StackDeleter::operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
void X509ExtensionStackDeleter::operator()(STACK_OF(X509_EXTENSION) * p) const {
  sk_X509_EXTENSION_pop_free(p, X509_EXTENSION_free);
}
void GeneralNamesDeleter::operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
void BioDeleter::operator()(BIO* p) const { BIO_free_all(p); }
void BignumDeleter::operator()(BIGNUM* p) const { BN_free(p); }
void Asn1IntegerDeleter::operator()(ASN1_INTEGER* p) const { ASN1_INTEGER_free(p); }
void Asn1TimeDeleter::operator()(ASN1_TIME* p) const { ASN1_TIME_free(p); }

UniqueX509 RefX509(X509* p) {
  if (p != nullptr) X509_up_ref(p);
  return UniqueX509(p);
}

UniqueEvpPkey RefEvpPkey(EVP_PKEY* p) {
  if (p != nullptr) EVP_PKEY_up_ref(p);
  return UniqueEvpPkey(p);
}

}  // namespace ambit::pki
