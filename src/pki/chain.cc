#include "pki/chain.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <string>

namespace ambit::pki {

Result<UniqueX509Store> MakeTrustStore(std::span<const UniqueX509> roots) {
  if (roots.empty()) return Error(ErrorCode::kInvalidArgument, "no trust roots given");
  UniqueX509Store store(X509_STORE_new());
  if (!store) return OpenSslError("allocating X509_STORE");
  for (const auto& root : roots) {
    if (X509_STORE_add_cert(store.get(), root.get()) != 1) {
      return OpenSslError("adding a root to the trust store");
    }
  }
  return store;
}

Result<UniqueX509Stack> MakeCertStack(std::span<const UniqueX509> certs) {
  UniqueX509Stack stack(sk_X509_new_null());
  if (!stack) return OpenSslError("allocating certificate stack");
  for (const auto& c : certs) {
    UniqueX509 ref = RefX509(c.get());
    if (sk_X509_push(stack.get(), ref.get()) == 0) return OpenSslError("building certificate stack");
    ref.release();  // owned by |stack|
  }
  return stack;
}

Status VerifyChain(X509* leaf, std::span<const UniqueX509> intermediates,
                   std::span<const UniqueX509> roots, const VerifyOptions& options) {
  ERR_clear_error();
  AMBIT_ASSIGN_OR_RETURN(UniqueX509Store store, MakeTrustStore(roots));
  AMBIT_ASSIGN_OR_RETURN(UniqueX509Stack untrusted, MakeCertStack(intermediates));
  UniqueX509StoreCtx ctx(X509_STORE_CTX_new());
  if (!ctx) return OpenSslError("allocating X509_STORE_CTX");
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1) {
    return OpenSslError("initialising chain verification");
  }
  if (options.at.has_value()) {
    X509_STORE_CTX_set_time(ctx.get(), 0, std::chrono::system_clock::to_time_t(*options.at));
  }
  int rc = X509_verify_cert(ctx.get());
  if (rc == 1) return Ok();
  int err = X509_STORE_CTX_get_error(ctx.get());
  int depth = X509_STORE_CTX_get_error_depth(ctx.get());
  ERR_clear_error();
  return Error(ErrorCode::kUnauthenticated, std::string("certificate chain does not verify: ") +
                                                X509_verify_cert_error_string(err) + " (depth " +
                                                std::to_string(depth) + ")");
}

}  // namespace ambit::pki
