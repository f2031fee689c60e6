// InboundServer: the HBONE server (port 15008) for one workload.
//
// Per accepted TCP connection: TLS handshake (client certificate required,
// same trust domain), then an HTTP/2 server session. Per CONNECT request:
//   DecideConnect (400/503)  ->  Authorizer::Watch, then Authorize (401)  ->
//   connect to the app with the SocketFactory, optionally from the client's
//   IP (503 on failure)  ->  200  ->  bidirectional copy until both sides
//   finish.
// The 200 is sent only after the upstream connect succeeded. A stream the
// Authorizer later revokes (a policy change denies it) is reset towards the
// peer and its app connection aborted (RST).
//
// Threading: Serve() is called on the loop that owns the socket (the
// Listener's AcceptHandler); the connection and its streams stay there.
// The server object is shared by all loops and immutable after construction;
// Authorizer and the TLS-context source must be thread-safe.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "h2/session.h"
#include "h2/settings.h"
#include "h2/stream.h"
#include "hbone/ports.h"
#include "hbone/stats.h"
#include "identity/spiffe_id.h"
#include "net/worker_pool.h"
#include "net/socket_address.h"
#include "net/socket_factory.h"
#include "net/task_set.h"
#include "tls/context.h"

namespace ambit::h2 {
class Session;
}

namespace ambit::hbone {

// What authorization sees of one inbound CONNECT.
struct InboundRequestInfo {
  identity::SpiffeId peer_identity;     // from the client certificate
  net::SocketAddress peer_address;      // TCP source of the HBONE connection
  net::SocketAddress target;            // the CONNECT target (local app)
  std::optional<net::SocketAddress> forwarded_for;
  // peer_identity without "spiffe://" (an Istio principal), made once per
  // HBONE connection; valid as long as the request.
  std::string_view peer_principal;
  // `forwarded: ...;host=<service hostname>` when the client named the
  // Service it routed by ("" otherwise); valid as long as the request.
  std::string_view forwarded_host;
};

// One served HBONE connection: who the peer proved to be, and the addresses.
struct InboundConnectionInfo {
  identity::SpiffeId peer_identity;  // from the client certificate
  net::SocketAddress local;          // local end of the TCP connection
  net::SocketAddress peer;           // TCP source of the HBONE connection
  std::string_view peer_principal;   // as in InboundRequestInfo
};

struct AuthorizationResult {
  bool allow = true;
  std::string reason;  // for logs when denied (e.g. the matching policy)
};

// An Authorizer's hold on one stream it keeps re-checking; destroying it
// (on the stream's loop) ends the watch.
class AuthorizationWatch {
 public:
  virtual ~AuthorizationWatch() = default;
};

// L4 authorization hook (AuthorizationPolicy lives elsewhere). Must be
// thread-safe; called on the connection's loop, must not block.
class Authorizer {
 public:
  // Called on the stream's loop when a later decision denies a stream that
  // was allowed, with why (the server resets the stream and aborts its app
  // connection).
  using Revoke = std::function<void(std::string reason)>;

  virtual ~Authorizer() = default;
  virtual AuthorizationResult Authorize(const InboundRequestInfo& request) const = 0;
  // Starts watching |request| for as long as the returned handle lives:
  // when what the decision depends on changes (e.g. policies), decide again
  // and call |revoke| on |executor| if now denied. Called before the first
  // Authorize so a change in between is not missed; |request| stays valid
  // while the handle lives. Default: no watching (null).
  virtual std::unique_ptr<AuthorizationWatch> Watch(const InboundRequestInfo& request,
                                                    asio::any_io_executor executor,
                                                    Revoke revoke) const {
    (void)request;
    (void)executor;
    (void)revoke;
    return nullptr;
  }
};

class AllowAllAuthorizer final : public Authorizer {
 public:
  AuthorizationResult Authorize(const InboundRequestInfo&) const override { return {}; }
};

// Telemetry of one CONNECT stream that passed validation, made by
// InboundObserver::StreamAccepted; lives as long as the stream is served and
// is called on the stream's loop.
class InboundStreamObserver {
 public:
  virtual ~InboundStreamObserver() = default;
  // Answered 401 (denied) or 503 (app unreachable) before any byte flowed;
  // |reason| says why (for 401, the Authorizer's reason).
  virtual void Refused(int status, std::string_view reason) = 0;
  // Answered 200; bytes are about to flow.
  virtual void Opened() = 0;
  // The stream's copy ended: |to_app| bytes went to the app, |from_app| came
  // back. |revoked|: the Authorizer's reason when it revoked the stream
  // (empty otherwise).
  virtual void Closed(std::uint64_t to_app, std::uint64_t from_app, bool aborted,
                      std::string_view revoked) = 0;
};

// Telemetry hook: sees each CONNECT that passed validation (so the request
// is known). Called on the stream's loop; must be thread-safe and not block.
class InboundObserver {
 public:
  virtual ~InboundObserver() = default;
  // An HBONE connection passed its handshake; its HTTP/2 session is about to
  // start (e.g. to track it for draining). Default: nothing.
  virtual void SessionStarted(const std::shared_ptr<h2::Session>& session,
                              const InboundConnectionInfo& connection) {
    (void)session;
    (void)connection;
  }
  // A CONNECT passed validation, before it is authorized: the observer of
  // its outcome (e.g. with its telemetry labels decided once, from one
  // snapshot). Null = not observed.
  virtual std::unique_ptr<InboundStreamObserver> StreamAccepted(
      const InboundRequestInfo& request) = 0;
};

class InboundServer : public std::enable_shared_from_this<InboundServer> {
 public:
  // Returns the current server context (certificate rotation swaps it);
  // null while there is none (the connection is then refused).
  using TlsContextSource = std::function<std::shared_ptr<const tls::TlsContext>()>;

  struct Options {
    h2::Settings h2;  // server defaults: 200 concurrent streams
    std::chrono::milliseconds handshake_timeout{10'000};
    std::chrono::milliseconds upstream_connect_timeout{10'000};
    // Connect to the app from the client's IP (IP_TRANSPARENT); needs
    // CAP_NET_ADMIN and routing for the replies (in-pod mode).
    bool spoof_source_ip = false;
    std::vector<std::uint16_t> illegal_ports{kIllegalDestinationPorts.begin(),
                                             kIllegalDestinationPorts.end()};
    std::shared_ptr<InboundObserver> observer;  // optional
    // When set, each CONNECT stream goes to this handler instead of the
    // built-in path (DecideConnect, Authorizer, connect to the local app):
    // e.g. the waypoint relays it to another HBONE peer. The handler answers
    // the request itself; it runs on the stream's loop. Only inbound_streams
    // is counted by the server then.
    // |connection| stays valid until the returned awaitable completes.
    std::function<asio::awaitable<void>(const InboundConnectionInfo& connection,
                                        std::shared_ptr<h2::Stream> stream)>
        stream_handler;
  };

  InboundServer(TlsContextSource tls, std::shared_ptr<const net::SocketFactory> upstream_sockets,
                std::shared_ptr<const Authorizer> authorizer, Stats* stats, Options options);

  // Takes over an accepted connection on the calling loop.
  void Serve(asio::ip::tcp::socket socket);

  // Drain: sends GOAWAY on every HBONE connection being served (each on its
  // own loop, posted), so peers open new streams elsewhere (e.g. on the new
  // ztunnel beside us with SO_REUSEPORT) while open streams finish. Stop
  // accepting first (close the listener). Thread-safe.
  void Shutdown();
  // Blocks the calling thread (never a loop thread) until no HBONE
  // connection is served and no stream or handshake task runs, woken by the
  // last one's end; false if |deadline| passed first. Thread-safe.
  bool WaitDrained(std::chrono::steady_clock::time_point deadline) const;
  // After a drain: refuses new connections and streams, and cancels every
  // handshake and stream task still running (each on its own loop; the
  // cancellation aborts the stream's copy, and a stream cancelled mid-copy
  // may end without its observer's Closed: use it when stopping, not to
  // enforce policy). Thread-safe.
  void Stop();
  // After Stop(): blocks the calling thread (never a loop thread) until every
  // handshake and stream task has ended (a cancelled stream task still
  // awaits its copy's other direction: a few loop turns); false if
  // |deadline| passed first. Call it before stopping the loops or destroying
  // what the stream handler refers to: a task still suspended when its loop
  // stops is destroyed with the loop, never resumed. Thread-safe.
  bool WaitStopped(std::chrono::steady_clock::time_point deadline) const;
  // HBONE connections currently served (all loops). Thread-safe.
  std::size_t connection_count() const;

 private:
  struct Connection;
  asio::awaitable<void> ServeConnection(asio::ip::tcp::socket socket, net::LoadHold load);
  asio::awaitable<void> ServeStream(std::shared_ptr<Connection> conn, std::shared_ptr<h2::Stream> stream);

  // Live sessions, for Shutdown(). Touched once per connection (register,
  // unregister), never per byte; the lock is not on the data path.
  mutable std::mutex sessions_mu_;
  std::unordered_map<const h2::Session*, std::weak_ptr<h2::Session>> sessions_;  // GUARDED_BY(sessions_mu_)
  bool shut_down_ = false;                                                       // GUARDED_BY(sessions_mu_)
  mutable std::condition_variable sessions_idle_;  // notified when sessions_ becomes empty
  // Handshakes (ServeConnection) and streams (ServeStream) in progress, on
  // every loop: owned by the server, so Stop() can cancel them.
  net::TaskSet tasks_;

  TlsContextSource tls_;
  std::shared_ptr<const net::SocketFactory> upstream_sockets_;
  std::shared_ptr<const Authorizer> authorizer_;
  Stats* stats_;
  Options options_;
};

}  // namespace ambit::hbone
