// TLS contexts for HBONE (https://istio.io/latest/docs/ambient/architecture/hbone/): TLS 1.3 only
// (TLS_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256), ALPN "h2" by default, no
// SNI, no session resumption (no tickets, no cache).
//
// ALPN (RFC 7301) is configurable per context (ContextOptions::alpn): a client
// offers the list in order; a server picks the first protocol of its own list
// that the client offered (server preference) and refuses the handshake with
// no_application_protocol when there is none. A connection whose handshake
// agreed no protocol of the list fails (TlsStream::Handshake); HBONE keeps the
// default {"h2"}, an HTTP listener may take {"h2", "http/1.1"}.
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
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "identity/spiffe_id.h"
#include "tls/credential.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace ambit::tls {

enum class Role { kClient, kServer };

struct ContextOptions {
  // Application protocols, most preferred first (each 1..255 bytes). Empty
  // means no ALPN at all (neither offered nor required).
  std::vector<std::string> alpn = {"h2"};
};

class TlsContext {
 public:
  static Result<std::shared_ptr<const TlsContext>> Client(const WorkloadCredential& credential,
                                                          ContextOptions options = {});
  static Result<std::shared_ptr<const TlsContext>> Server(const WorkloadCredential& credential,
                                                          ContextOptions options = {});

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  Role role() const { return role_; }
  SSL_CTX* native() const { return ctx_; }
  // The identity in our own leaf certificate.
  const identity::SpiffeId& local_identity() const { return local_identity_; }
  // The ALPN protocols of this context, most preferred first.
  const std::vector<std::string>& alpn() const { return alpn_; }
  // Server side: the first protocol of alpn() that |offered| (ALPN wire
  // format: length-prefixed names) contains, or an empty view.
  std::string_view SelectAlpn(std::span<const unsigned char> offered) const;

 private:
  TlsContext(Role role, SSL_CTX* ctx, identity::SpiffeId local, std::vector<std::string> alpn)
      : role_(role), ctx_(ctx), local_identity_(std::move(local)), alpn_(std::move(alpn)) {}
  static Result<std::shared_ptr<const TlsContext>> Build(Role role,
                                                         const WorkloadCredential& credential,
                                                         ContextOptions options);

  Role role_;
  SSL_CTX* ctx_;
  identity::SpiffeId local_identity_;
  std::vector<std::string> alpn_;
};

// What a connection requires of its peer, checked during the handshake.
struct PeerPolicy {
  // Client side: the server's identity must be one of these (non-empty).
  std::vector<identity::SpiffeId> expected_identities;
  // Server side: the client's trust domain must equal this (our own).
  std::string required_trust_domain;
};

}  // namespace ambit::tls
