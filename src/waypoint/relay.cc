#include "waypoint/relay.h"

#include <asio/this_coro.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <future>
#include <random>
#include <vector>

#include "core/log.h"
#include "h2/session.h"
#include "hbone/connect_headers.h"
#include "hbone/copy.h"
#include "net/connect.h"
#include "proxy/authorization.h"
#include "waypoint/stream_copy.h"

namespace ambit::waypoint {
namespace {

// Keeps a gauge up for the lifetime of a relayed stream.
class ActiveGauge {
 public:
  explicit ActiveGauge(std::atomic<std::int64_t>& g) : g_(g) {
    g_.fetch_add(1, std::memory_order_relaxed);
  }
  ~ActiveGauge() { g_.fetch_sub(1, std::memory_order_relaxed); }
  ActiveGauge(const ActiveGauge&) = delete;
  ActiveGauge& operator=(const ActiveGauge&) = delete;

 private:
  std::atomic<std::int64_t>& g_;
};

void Bump(std::atomic<std::uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

hbone::Pool::Options PoolOptions(const Relay::Options& o) {
  hbone::Pool::Options p;
  p.connect_timeout = o.connect_timeout;
  return p;
}

}  // namespace

Relay::Relay(net::WorkerPool& workers, std::shared_ptr<const hbone::DestinationLookup> lookup,
             identity::SpiffeId identity, ClientTlsSource client_tls, std::shared_ptr<const net::SocketFactory> sockets,
             Options options)
    : workers_(workers),
      lookup_(std::move(lookup)),
      identity_(std::move(identity)),
      client_tls_(std::move(client_tls)),
      sockets_(std::move(sockets)),
      options_(std::move(options)),
      stats_(workers.size()),
      pools_(workers, PoolOptions(options_), &stats_) {}

Relay::~Relay() = default;

asio::awaitable<void> Relay::Serve(const hbone::InboundConnectionInfo& conn,
                                   std::shared_ptr<h2::Stream> stream) {
  Bump(streams_);
  ActiveGauge active(active_);
  hbone::StatsShard& shard = stats_.Local();
  h2::Session& session = stream->session();
  const std::string authority(stream->PeerHeader(":authority"));
  auto refuse = [&](int status, const std::string& reason) {
    Bump(status == 400 ? refused_400_ : status == 401 ? refused_401_ : refused_503_);
    (status == 400   ? shard.inbound_status_400
     : status == 401 ? shard.inbound_status_401
                     : shard.inbound_status_503)
        .Inc();
    AMBIT_LOG_INFO("waypoint: CONNECT {} from {} ({}) refused with {}: {}", authority,
                   conn.peer_identity.ToString(), conn.peer.ToString(), status, reason);
    (void)session.Respond(*stream, status, {}, /*end_stream=*/true);
  };

  thread_local std::mt19937_64 rng{std::random_device{}()};
  hbone::RouteOptions route_options;
  route_options.hbone_port = options_.hbone_port;
  RelayDecision decision =
      DecideRelay(stream->peer_headers(), *lookup_, options_.self, rng(), route_options);
  if (auto* refusal = std::get_if<RelayRefusal>(&decision)) {
    refuse(refusal->status, refusal->reason);
    co_return;
  }
  const RelayRoute& relay = std::get<RelayRoute>(decision);
  const hbone::RouteDecision& route = relay.route;
  const auto start = std::chrono::steady_clock::now();
  const net::SocketAddress client = relay.request.forwarded_for.value_or(conn.peer);
  node::TcpLabels labels;
  if (options_.metrics != nullptr && options_.labeler) {
    labels = options_.labeler(conn, client.ip(), relay);
  }
  // A denial before any byte flowed: 401, failed with flag DENY, one line.
  auto deny = [&](const std::string& reason) {
    const std::string error = proxy::RejectionError(reason);
    if (options_.metrics != nullptr && options_.labeler) {
      node::TcpLabels denied = labels;
      denied.response_flags = "DENY";
      options_.metrics->Get(denied)->Failed();
    }
    AMBIT_LOG_WARN(
        "access: connection failed src.addr={} src.workload={} src.namespace={} "
        "src.identity={} dst.addr={} dst.service={} dst.workload={} dst.namespace={} "
        "direction=waypoint error=\"{}\"",
        client.ToString(), labels.source_workload, labels.source_workload_namespace,
        conn.peer_identity.ToString(), relay.target.ToString(), labels.destination_service,
        labels.destination_workload, labels.destination_workload_namespace, error);
    refuse(401, error);
  };
  // What a policy change leaves behind (see RecheckAll). The recheck is
  // posted to this loop and runs only while this frame is suspended; the
  // token (declared after everything it touches) unregisters it first.
  struct Watched {
    std::string revoked;                               // the denial, once one came
    bool relaying = false;                             // 200 sent, bytes flowing
    h2::Stream* upstream_stream = nullptr;             // while relaying over HBONE
    asio::ip::tcp::socket* upstream_socket = nullptr;  // while relaying plain TCP
  } watched;
  std::optional<node::ConnectionTracker::Token> token;
  if (options_.authorize) {
    // Registered before the first decision, so a policy published in
    // between is not missed (as ztunnel's connection manager).
    auto registered = tracker_->Register(session.executor(), {}, {}, [&, stream] {
      if (!watched.revoked.empty()) return;
      const hbone::AuthorizationResult again = options_.authorize(conn, client.ip(), relay.target);
      if (again.allow) return;
      watched.revoked = again.reason.empty() ? std::string("revoked") : again.reason;
      if (!watched.relaying) return;  // still opening: answered 401 once the upstream is there
      stream->Reset(h2::ErrorCodeH2::kCancel);
      if (watched.upstream_stream != nullptr) {
        watched.upstream_stream->Reset(h2::ErrorCodeH2::kCancel);
      }
      if (watched.upstream_socket != nullptr) hbone::AbortSocket(*watched.upstream_socket);
    });
    if (registered) token.emplace(std::move(*registered));
    const hbone::AuthorizationResult authz = options_.authorize(conn, client.ip(), relay.target);
    if (!authz.allow) {
      deny(authz.reason);
      co_return;
    }
  }
  std::shared_ptr<node::TcpSeries> series;
  if (options_.metrics != nullptr && options_.labeler) series = options_.metrics->Get(labels);
  // Counts and logs a relayed connection once its copy has ended. One a
  // policy change closed keeps its bytes in |series| and counts closed and
  // failed under flag DENY.
  auto finished = [&](const hbone::CopyResult& r, const char* how) {
    const bool revoked = !watched.revoked.empty();
    if (revoked) {
      Bump(revoked_);
    } else if (r.aborted) {
      Bump(aborted_);
    }
    if (series != nullptr) {
      series->AddReceived(r.socket_to_peer);  // client -> server
      series->AddSent(r.peer_to_socket);      // server -> client
      if (revoked) {
        node::TcpLabels denied = labels;
        denied.response_flags = "DENY";
        auto late = options_.metrics->Get(denied);
        late->Closed();
        late->Failed();
      } else {
        series->Closed();
      }
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    const std::string error = revoked
                                  ? " error=\"" + proxy::LateRejectionError(watched.revoked) + "\""
                              : r.aborted ? " error=aborted"
                                          : "";
    const std::string line = fmt::format(
        "access: connection complete src.addr={} src.workload={} src.namespace={} "
        "src.identity={} dst.addr={} dst.hbone_addr={} dst.service={} dst.workload={} "
        "dst.namespace={} dst.identity={} direction=waypoint via={} bytes_sent={} "
        "bytes_recv={} duration={}ms{}",
        client.ToString(), labels.source_workload, labels.source_workload_namespace,
        conn.peer_identity.ToString(), route.next_hop.ToString(), route.connect_target.ToString(),
        labels.destination_service, labels.destination_workload,
        labels.destination_workload_namespace, labels.destination_principal, how, r.peer_to_socket,
        r.socket_to_peer, ms, error);
    if (revoked) {
      AMBIT_LOG_WARN("{}", line);
    } else {
      AMBIT_LOG_INFO("{}", line);
    }
  };
  auto failed = [&] {
    Bump(upstream_failures_);
    if (series != nullptr) series->Failed();
  };

  if (route.kind == hbone::RouteDecision::Kind::kPassthrough) {
    net::ConnectOptions connect_options;
    connect_options.timeout = options_.connect_timeout;
    auto upstream = co_await net::Connect(*sockets_, route.next_hop, connect_options);
    if (!watched.revoked.empty()) {  // a policy change denied it meanwhile
      if (upstream.ok()) hbone::AbortSocket(*upstream);
      deny(watched.revoked);
      co_return;
    }
    if (!upstream.ok()) {
      failed();
      refuse(503, relay.destination + " endpoint " + route.next_hop.ToString() +
                      " (outside the mesh): " + upstream.error().ToString());
      co_return;
    }
    if (stream->reset() || stream->closed()) co_return;  // the client gave up meanwhile
    if (!session.Respond(*stream, 200, {}, /*end_stream=*/false).ok()) co_return;
    shard.inbound_status_200.Inc();
    Bump(relayed_plain_);
    if (series != nullptr) series->Opened();
    watched.relaying = true;
    watched.upstream_socket = &*upstream;
    // The upstream socket is the "socket" side: counters from its view.
    hbone::CopyResult r = co_await hbone::CopyBidirectional(
        *upstream, *stream,
        {&shard.bytes_upstream_to_downstream, &shard.bytes_downstream_to_upstream});
    watched.upstream_socket = nullptr;
    // Seen from the upstream socket: flip to the client's view.
    finished(hbone::CopyResult{r.peer_to_socket, r.socket_to_peer, r.aborted}, "tcp");
    co_return;
  }

  std::shared_ptr<const tls::TlsContext> tls = client_tls_();
  if (tls == nullptr) {
    Bump(no_certificate_);
    if (series != nullptr) series->Failed();
    refuse(503, "the waypoint has no certificate for " + identity_.ToString() + " yet");
    co_return;
  }
  hbone::PoolKey key{identity_, conn.local.ip(), route.next_hop,
                     route.expected_identities};
  hbone::ConnectRequest request;
  request.target = route.connect_target;
  request.downstream = relay.request.forwarded_for.value_or(conn.peer);
  request.service_host = route.service_hostname;
  request.baggage = options_.baggage;
  request.traceparent = relay.request.traceparent;
  hbone::DialParams dial{std::move(tls), sockets_};
  h2::Headers headers = hbone::BuildConnectHeaders(request);
  auto upstream = co_await pools_.Local().Connect(std::move(key), std::move(dial), std::move(headers));
  if (!watched.revoked.empty()) {  // a policy change denied it meanwhile
    if (upstream.ok()) (*upstream)->Reset(h2::ErrorCodeH2::kCancel);
    deny(watched.revoked);
    co_return;
  }
  if (!upstream.ok()) {
    failed();
    refuse(503, relay.destination + " endpoint " + route.connect_target.ToString() + " via " +
                    route.next_hop.ToString() + ": " + upstream.error().ToString());
    co_return;
  }
  if (stream->reset() || stream->closed()) {
    (*upstream)->Reset(h2::ErrorCodeH2::kCancel);
    co_return;
  }
  if (!session.Respond(*stream, 200, {}, /*end_stream=*/false).ok()) {
    (*upstream)->Reset(h2::ErrorCodeH2::kCancel);
    co_return;
  }
  shard.inbound_status_200.Inc();
  Bump(relayed_hbone_);
  if (series != nullptr) series->Opened();
  watched.relaying = true;
  watched.upstream_stream = upstream->get();
  hbone::CopyResult r = co_await CopyStreams(
      *stream, **upstream,
      {&shard.bytes_downstream_to_upstream, &shard.bytes_upstream_to_downstream});
  watched.upstream_stream = nullptr;
  finished(r, "hbone");
}

void Relay::RecheckAll() {
  rechecks_.fetch_add(1, std::memory_order_relaxed);
  tracker_->RecheckAll();
}

void Relay::DumpCounters(nlohmann::json& out) {
  const hbone::StatsSnapshot s = stats_.Snapshot();
  std::size_t pooled = 0;
  bool complete = true;
  std::vector<std::future<std::size_t>> counts;
  hbone::PoolSet& pools = pools_;
  for (std::size_t i = 0; i < pools.size(); ++i) {
    auto promise = std::make_shared<std::promise<std::size_t>>();
    counts.push_back(promise->get_future());
    workers_.Post(i, [promise, pool = &pools.At(i)] { promise->set_value(pool->connection_count()); });
  }
  for (auto& f : counts) {
    if (f.wait_for(std::chrono::seconds(1)) == std::future_status::ready) {
      pooled += f.get();
    } else {
      complete = false;
    }
  }
  auto load = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  out = nlohmann::json{
      {"downstream",
       {{"tlsConnectionsAccepted", s.tls_connections_accepted},
        {"tlsHandshakeFailures", s.tls_handshake_failures},
        {"streams", load(streams_)},
        {"streamsActive", load(active_)},
        {"status200", s.inbound_status_200},
        {"status400", s.inbound_status_400},
        {"status401", s.inbound_status_401},
        {"status503", s.inbound_status_503}}},
      {"relayed",
       {{"hbone", load(relayed_hbone_)},
        {"plaintext", load(relayed_plain_)},
        {"aborted", load(aborted_)},
        {"revoked", load(revoked_)},
        {"active", tracker_->active()},
        {"policyRechecks", load(rechecks_)}}},
      {"refused",
       {{"status400", load(refused_400_)},
        {"status401", load(refused_401_)},
        {"status503", load(refused_503_)},
        {"upstreamFailures", load(upstream_failures_)},
        {"noCertificate", load(no_certificate_)}}},
      {"upstream",
       {{"tlsConnectionsOpened", s.tls_connections_opened},
        {"tlsConnectionsActive", pooled},
        {"tlsConnectFailures", s.tls_connect_failures},
        {"streamsOpened", s.streams_opened},
        {"streamFailures", s.stream_failures}}},
      {"bytes",
       {{"downstreamToUpstream", s.bytes_downstream_to_upstream},
        {"upstreamToDownstream", s.bytes_upstream_to_downstream}}},
  };
  if (!complete) out["upstream"]["tlsConnectionsActiveIncomplete"] = true;
}

void Relay::ShutdownPools() {
  std::vector<std::future<void>> done;
  for (std::size_t i = 0; i < pools_.size(); ++i) {
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    workers_.Post(i, [promise, pool = &pools_.At(i)] {
      pool->Shutdown();
      promise->set_value();
    });
  }
  for (auto& f : done) f.wait_for(std::chrono::seconds(2));
}

}  // namespace ambit::waypoint
