#include "hbone/inbound_server.h"

#include <asio/post.hpp>

#include "core/check.h"
#include "core/log.h"
#include "h2/session.h"
#include "hbone/connect_request.h"
#include "hbone/copy.h"
#include "net/connect.h"
#include "net/with_timeout.h"
#include "net/worker_pool.h"
#include "net/socket_options.h"
#include "tls/tls_stream.h"

namespace ambit::hbone {

struct InboundServer::Connection {
  identity::SpiffeId peer_identity;
  net::SocketAddress local;
  net::SocketAddress peer;
  std::string principal;  // peer_identity.Principal(), made once for every stream
};

InboundServer::InboundServer(TlsContextSource tls, std::shared_ptr<const net::SocketFactory> upstream_sockets,
                             std::shared_ptr<const Authorizer> authorizer, Stats* stats, Options options)
    : tls_(std::move(tls)),
      upstream_sockets_(std::move(upstream_sockets)),
      authorizer_(std::move(authorizer)),
      stats_(stats),
      options_(std::move(options)) {
  AMBIT_CHECK(tls_ != nullptr, "InboundServer needs a TLS context source");
  AMBIT_CHECK(upstream_sockets_ != nullptr, "InboundServer needs a socket factory");
  AMBIT_CHECK(authorizer_ != nullptr, "InboundServer needs an authorizer");
  AMBIT_CHECK(stats_ != nullptr, "InboundServer needs stats");
}

void InboundServer::Serve(asio::ip::tcp::socket socket) {
  auto executor = socket.get_executor();
  // The connection counts in this loop's load for its whole life, so that a
  // listener with least-loaded placement spreads HBONE connections (and so
  // their streams) over the loops.
  asio::awaitable<void> task = ServeConnection(std::move(socket), net::WorkerPool::HoldCurrentLoop());
  // Refused once stopped: the unstarted task (and with it the socket) is dropped.
  (void)tasks_.Spawn(executor, std::move(task));
}

asio::awaitable<void> InboundServer::ServeConnection(asio::ip::tcp::socket socket, net::LoadHold load) {
  auto self = shared_from_this();
  auto local = net::LocalAddress(socket.native_handle());
  auto peer = net::PeerAddress(socket.native_handle());
  if (!local.ok() || !peer.ok()) co_return;  // already gone
  auto context = tls_();
  if (context == nullptr) {
    // No certificate (yet, or any more): nothing to present.
    stats_->Local().tls_handshake_failures.Inc();
    AMBIT_LOG_WARN("inbound {}: refused, no server certificate", peer->ToString());
    asio::error_code ec;
    socket.close(ec);
    co_return;
  }
  tls::PeerPolicy policy;
  policy.required_trust_domain = context->local_identity().trust_domain();
  auto stream = tls::TlsStream::Create(std::move(socket), context, std::move(policy));
  if (!stream.ok()) {
    AMBIT_LOG_WARN("inbound {}: {}", peer->ToString(), stream.error().ToString());
    co_return;
  }
  tls::TlsStream* raw = stream->get();
  asio::awaitable<Status> handshake = raw->Handshake();
  Status hs = co_await net::WithTimeout(std::move(handshake), options_.handshake_timeout);
  if (!hs.ok()) {
    stats_->Local().tls_handshake_failures.Inc();
    AMBIT_LOG_DEBUG("inbound {} rejected: {}", peer->ToString(), hs.error().ToString());
    co_return;
  }
  stats_->Local().tls_connections_accepted.Inc();
  const identity::SpiffeId& peer_identity = *raw->peer_identity();
  auto conn = std::make_shared<Connection>(
      Connection{peer_identity, *local, *peer, peer_identity.Principal()});
  auto on_request = [self, conn](std::shared_ptr<h2::Stream> s) {
    auto executor = s->session().executor();
    asio::awaitable<void> task = self->ServeStream(conn, s);
    // Refused once stopped: the stream is reset instead of left unanswered.
    if (!self->tasks_.Spawn(executor, std::move(task))) s->Reset(h2::ErrorCodeH2::kRefusedStream);
  };
  auto session = h2::Session::Create(h2::Role::kServer, std::move(*stream), options_.h2, on_request);
  if (!session.ok()) {
    AMBIT_LOG_WARN("inbound {}: {}", peer->ToString(), session.error().ToString());
    co_return;
  }
  {
    std::lock_guard lock(sessions_mu_);
    if (shut_down_) {
      (*session)->Shutdown();  // arrived while draining: serve nothing new
    }
    sessions_[session->get()] = *session;
  }
  (*session)->AddOnClose([self, key = session->get()] {
    std::lock_guard lock(self->sessions_mu_);
    self->sessions_.erase(key);
    if (self->sessions_.empty()) self->sessions_idle_.notify_all();
  });
  (*session)->AddOnClose([hold = std::make_shared<net::LoadHold>(std::move(load))]() mutable { hold.reset(); });
  if (options_.observer) {
    options_.observer->SessionStarted(
        *session, InboundConnectionInfo{conn->peer_identity, conn->local, conn->peer, conn->principal});
  }
  (*session)->Start();
}

void InboundServer::Shutdown() {
  std::vector<std::shared_ptr<h2::Session>> live;
  {
    std::lock_guard lock(sessions_mu_);
    shut_down_ = true;
    for (auto& [key, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) {
    auto executor = s->executor();
    asio::post(executor, [s] { s->Shutdown(); });
  }
}

bool InboundServer::WaitDrained(std::chrono::steady_clock::time_point deadline) const {
  {
    std::unique_lock lock(sessions_mu_);
    if (!sessions_idle_.wait_until(lock, deadline, [this] { return sessions_.empty(); })) return false;
  }
  return tasks_.WaitIdle(deadline);
}

void InboundServer::Stop() {
  tasks_.Close();
  tasks_.CancelAll();
}

bool InboundServer::WaitStopped(std::chrono::steady_clock::time_point deadline) const {
  return tasks_.WaitIdle(deadline);
}

std::size_t InboundServer::connection_count() const {
  std::lock_guard lock(sessions_mu_);
  return sessions_.size();
}

asio::awaitable<void> InboundServer::ServeStream(std::shared_ptr<Connection> conn,
                                                 std::shared_ptr<h2::Stream> stream) {
  auto self = shared_from_this();
  StatsShard& stats = stats_->Local();
  stats.inbound_streams.Inc();
  if (options_.stream_handler) {
    const InboundConnectionInfo info{conn->peer_identity, conn->local, conn->peer, conn->principal};
    co_await options_.stream_handler(info, std::move(stream));
    co_return;
  }
  h2::Session& session = stream->session();
  auto reject = [&](int status, const std::string& reason) {
    AMBIT_LOG_DEBUG("inbound CONNECT from {} ({}) answered {}: {}", conn->peer_identity.ToString(),
                    conn->peer.ToString(), status, reason);
    (status == 400 ? stats.inbound_status_400 : status == 401 ? stats.inbound_status_401
                                                              : stats.inbound_status_503).Inc();
    (void)session.Respond(*stream, status, {}, /*end_stream=*/true);
  };

  InboundContext context{conn->local.ip(), options_.illegal_ports};
  ConnectDecision decision = DecideConnect(stream->peer_headers(), context);
  if (auto* rejected = std::get_if<RejectedConnect>(&decision)) {
    reject(rejected->status, rejected->reason);
    co_return;
  }
  auto& accepted = std::get<AcceptedConnect>(decision);
  const InboundRequestInfo info{conn->peer_identity,    conn->peer,      accepted.target,
                                accepted.forwarded_for, conn->principal, accepted.forwarded_host};
  // Set by a revocation (a later decision denies the stream); |app| is the
  // app connection once there is one. Declared before the watch, which is
  // destroyed first.
  struct Revocation {
    std::string reason;
    asio::ip::tcp::socket* app = nullptr;
  } revocation;
  std::unique_ptr<InboundStreamObserver> observer =
      options_.observer ? options_.observer->StreamAccepted(info) : nullptr;
  std::unique_ptr<AuthorizationWatch> watch = authorizer_->Watch(
      info, session.executor(), [&revocation, stream](std::string reason) {
        if (!revocation.reason.empty()) return;
        revocation.reason = reason.empty() ? std::string("revoked") : std::move(reason);
        stream->Reset(h2::ErrorCodeH2::kCancel);
        if (revocation.app != nullptr) AbortSocket(*revocation.app);
      });
  AuthorizationResult authz = authorizer_->Authorize(info);
  if (!authz.allow) {
    reject(401, "denied by policy: " + authz.reason);
    if (observer) observer->Refused(401, authz.reason);
    co_return;
  }
  net::ConnectOptions connect_options;
  connect_options.timeout = options_.upstream_connect_timeout;
  if (options_.spoof_source_ip) connect_options.source = conn->peer.ip();
  auto upstream = co_await net::Connect(*upstream_sockets_, accepted.target, connect_options);
  if (!revocation.reason.empty()) {
    // Denied while the app connection was being made: nothing flowed.
    stats.inbound_status_401.Inc();
    if (observer) observer->Refused(401, revocation.reason);
    if (upstream.ok()) AbortSocket(*upstream);
    co_return;
  }
  if (!upstream.ok()) {
    reject(503, upstream.error().ToString());
    if (observer) observer->Refused(503, upstream.error().ToString());
    co_return;
  }
  if (stream->reset() || stream->closed()) co_return;  // the client gave up meanwhile
  Status st = session.Respond(*stream, 200, {}, /*end_stream=*/false);
  if (!st.ok()) co_return;
  stats.inbound_status_200.Inc();
  revocation.app = &*upstream;
  if (observer) observer->Opened();
  // Inbound: the HBONE peer is downstream, the app socket is upstream.
  CopyResult result = co_await CopyBidirectional(*upstream, *stream, UpstreamCounters(stats));
  revocation.app = nullptr;
  watch.reset();
  if (observer) {
    observer->Closed(result.peer_to_socket, result.socket_to_peer,
                     result.aborted || !revocation.reason.empty(), revocation.reason);
  }
  AMBIT_LOG_DEBUG("inbound {} -> {} done: {} bytes in, {} bytes out{}", conn->peer_identity.ToString(),
                  accepted.target.ToString(), result.peer_to_socket, result.socket_to_peer,
                  result.aborted ? " (aborted)" : "");
}

}  // namespace ambit::hbone
