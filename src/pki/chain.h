// Certificate chain verification: leaf + untrusted intermediates against roots.
//
// Thread-compatible. Stores built here are immutable after construction and
// may be shared across threads read-only (e.g. by SSL_CTX).
#pragma once

#include <optional>
#include <span>

#include "core/result.h"
#include "pki/cert.h"
#include "pki/openssl_ptr.h"

namespace ambit::pki {

// An X509_STORE holding |roots| as trust anchors (each must be a CA certificate).
Result<UniqueX509Store> MakeTrustStore(std::span<const UniqueX509> roots);

// A STACK_OF(X509) holding new references to |certs|.
Result<UniqueX509Stack> MakeCertStack(std::span<const UniqueX509> certs);

struct VerifyOptions {
  // Verification time; the current time when unset.
  std::optional<TimePoint> at;
};

// Verifies that |leaf| chains to one of |roots| through |intermediates|
// (standard RFC 5280 path validation by OpenSSL: signatures, validity periods,
// basicConstraints, critical extensions). Failures are kUnauthenticated with
// OpenSSL's reason and the depth at which it failed.
Status VerifyChain(X509* leaf, std::span<const UniqueX509> intermediates,
                   std::span<const UniqueX509> roots, const VerifyOptions& options = {});

}  // namespace ambit::pki
