// Node credentials: bearer tokens the cluster issues to each node's ztunnel.
//
// A token is "v1.<payload>.<mac>" where payload is base64url JSON
// {"cluster":..., "node":..., "exp": <unix seconds>} and mac is base64url
// HMAC-SHA256 over "v1.<payload>" with a per-cluster secret (32 random bytes
// kept in the CA directory as node-credential-key, mode 0600). ztunnel sends
// it as gRPC metadata "authorization: Bearer <token>".
//
// Verify() failures are kUnauthenticated with distinct messages for: malformed
// tokens, tokens signed with another secret (another cluster), and expired
// tokens. Both classes are immutable after construction and thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"

namespace ambit::ca {

using TimePoint = std::chrono::system_clock::time_point;

inline constexpr std::chrono::seconds kDefaultNodeCredentialLifetime{365LL * 24 * 3600};
inline constexpr std::string_view kNodeCredentialKeyFile = "node-credential-key";

// Reads <ca_dir>/node-credential-key, creating it (and ca_dir, mode 0700) with
// a fresh random secret on first use. Returns the raw secret bytes.
Result<std::string> LoadOrCreateNodeCredentialSecret(const std::string& ca_dir);

// Names usable as a node: 1..253 characters of [a-z0-9.-] (a DNS name).
bool ValidNodeName(std::string_view node);

struct NodeCredential {
  std::string cluster;
  std::string node;
  TimePoint expiry;
};

class NodeCredentialIssuer {
 public:
  // |secret| is the raw secret (at least 16 bytes, see AMBIT_CHECK in the .cc).
  NodeCredentialIssuer(std::string cluster, std::string secret);

  // A token for |node| valid until |expiry|. kInvalidArgument for a bad node name.
  Result<std::string> Issue(std::string_view node, TimePoint expiry) const;
  Result<std::string> Issue(std::string_view node,
                            std::chrono::seconds lifetime = kDefaultNodeCredentialLifetime) const;

  const std::string& cluster() const { return cluster_; }

 private:
  std::string cluster_;
  std::string secret_;
};

class NodeCredentialVerifier {
 public:
  NodeCredentialVerifier(std::string cluster, std::string secret);

  // The verified claims, or kUnauthenticated explaining why the token is refused.
  Result<NodeCredential> Verify(std::string_view token,
                                TimePoint now = std::chrono::system_clock::now()) const;

  const std::string& cluster() const { return cluster_; }

 private:
  std::string cluster_;
  std::string secret_;
};

}  // namespace ambit::ca
