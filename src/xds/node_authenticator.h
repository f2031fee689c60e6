// NodeAuthenticator: who is on the other end of an xDS stream.
//
// ztunnel presents its node credential as gRPC metadata
// "authorization: Bearer <token>". ambitd backs this interface with src/ca's
// NodeCredentialVerifier (see FunctionNodeAuthenticator for a one-line
// adapter). Implementations must be thread-safe: streams authenticate
// concurrently.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"

namespace ambit::xds {

class NodeAuthenticator {
 public:
  virtual ~NodeAuthenticator() = default;
  // |bearer_token| is what follows "Bearer " (empty when the header is
  // absent). Returns the node name the credential was issued to; the stream's
  // Node metadata NODE_NAME must then equal it. An empty name means "not
  // verified, trust the metadata" (InsecureNodeAuthenticator only). Failure:
  // kUnauthenticated with the reason.
  virtual Result<std::string> Authenticate(std::string_view bearer_token) const = 0;
};

// Adapts a function, e.g. [&verifier](std::string_view t) -> Result<std::string> {
//   AMBIT_ASSIGN_OR_RETURN(auto cred, verifier.Verify(t)); return cred.node; }.
class FunctionNodeAuthenticator final : public NodeAuthenticator {
 public:
  using Fn = std::function<Result<std::string>(std::string_view bearer_token)>;
  explicit FunctionNodeAuthenticator(Fn fn) : fn_(std::move(fn)) {}
  Result<std::string> Authenticate(std::string_view bearer_token) const override {
    return fn_(bearer_token);
  }

 private:
  Fn fn_;
};

// Accepts every stream and trusts its NODE_NAME. For tests and local
// development only; never for a control plane reachable by pods.
class InsecureNodeAuthenticator final : public NodeAuthenticator {
 public:
  Result<std::string> Authenticate(std::string_view) const override { return std::string(); }
};

}  // namespace ambit::xds
