// TLS contexts for HBONE (https://istio.io/latest/docs/ambient/architecture/hbone/): TLS 1.3 only
// (TLS_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256), ALPN "h2", no SNI, no
// session resumption (no tickets, no cache).
//
// Client: presents the workload certificate, verifies the server's chain
// against the mesh roots and requires its SPIFFE URI SAN to be one of the
// identities expected for that connection (given per connection, see PeerPolicy).
// Server: requires a client certificate chained to the mesh roots whose SPIFFE
// trust domain equals the server's own.
//
// Thread-safety: a TlsContext is immutable after construction; one instance is
// shared by every loop (SSL_CTX is internally reference counted and SSL_new
// may be called concurrently). A certificate rotation builds a new context.
#pragma once

#include <memory>
#include <vector>

#include "core/result.h"
#include "identity/spiffe_id.h"
#include "tls/credential.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace ambit::tls {

enum class Role { kClient, kServer };

class TlsContext {
 public:
  static Result<std::shared_ptr<const TlsContext>> Client(const WorkloadCredential& credential);
  static Result<std::shared_ptr<const TlsContext>> Server(const WorkloadCredential& credential);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  Role role() const { return role_; }
  SSL_CTX* native() const { return ctx_; }
  // The identity in our own leaf certificate.
  const identity::SpiffeId& local_identity() const { return local_identity_; }

 private:
  TlsContext(Role role, SSL_CTX* ctx, identity::SpiffeId local)
      : role_(role), ctx_(ctx), local_identity_(std::move(local)) {}
  static Result<std::shared_ptr<const TlsContext>> Build(Role role,
                                                         const WorkloadCredential& credential);

  Role role_;
  SSL_CTX* ctx_;
  identity::SpiffeId local_identity_;
};

// What a connection requires of its peer, checked during the handshake.
struct PeerPolicy {
  // Client side: the server's identity must be one of these (non-empty).
  std::vector<identity::SpiffeId> expected_identities;
  // Server side: the client's trust domain must equal this (our own).
  std::string required_trust_domain;
};

}  // namespace ambit::tls
