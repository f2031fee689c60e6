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
#include "telemetry/connection_record.h"
#include "waypoint/stream_copy.h"

namespace ambit::waypoint {
namespace {

// Keeps a gauge up for the lifetime of a relayed stream.
class ActiveGauge {
 public:
  explicit ActiveGauge(const metrics::Gauge& g) : g_(g) { g_.Inc(); }
  ~ActiveGauge() { g_.Dec(); }
  ActiveGauge(const ActiveGauge&) = delete;
  ActiveGauge& operator=(const ActiveGauge&) = delete;

 private:
  const metrics::Gauge& g_;
};

void Bump(const metrics::Counter& c) { c.Inc(); }

using Values = std::vector<std::string_view>;

hbone::Pool::Options PoolOptions(const Relay::Options& o) {
  hbone::Pool::Options p;
  p.connect_timeout = o.connect_timeout;
  return p;
}

}  // namespace

struct Relay::Families {
  explicit Families(metrics::Registry& r)
      : streams(r.AddCounter("ambit_waypoint_connect_streams_total",
                             "CONNECT streams the waypoint received.")),
        active(r.AddGauge("ambit_waypoint_connect_streams_active",
                          "CONNECT streams being served now.")),
        relayed(r.AddCounter("ambit_waypoint_relayed_total",
                             "Connections relayed (answered 200), by upstream protocol "
                             "(http: parsed and routed per request).",
                             {"via"})),
        refused(r.AddCounter("ambit_waypoint_refused_total",
                             "CONNECT streams refused, by HTTP status.", {"status"})),
        upstream_failures(r.AddCounter("ambit_waypoint_upstream_failures_total",
                                       "Relays whose upstream could not be opened.")),
        no_certificate(r.AddCounter("ambit_waypoint_no_certificate_total",
                                    "Relays refused because the waypoint had no certificate.")),
        aborted(r.AddCounter("ambit_waypoint_relays_aborted_total",
                             "Relays that ended with a reset.")),
        revoked(r.AddCounter("ambit_waypoint_relays_revoked_total",
                             "Relays closed because a policy change denied them.")),
        rechecks(r.AddCounter("ambit_waypoint_policy_rechecks_total",
                              "Times every open relay was authorized again.")),
        via_hbone(relayed.Key(Values{"hbone"})),
        via_tcp(relayed.Key(Values{"tcp"})),
        via_http(relayed.Key(Values{"http"})),
        status_400(refused.Key(Values{"400"})),
        status_401(refused.Key(Values{"401"})),
        status_503(refused.Key(Values{"503"})) {}

  metrics::CounterFamily& streams;
  metrics::GaugeFamily& active;
  metrics::CounterFamily& relayed;
  metrics::CounterFamily& refused;
  metrics::CounterFamily& upstream_failures;
  metrics::CounterFamily& no_certificate;
  metrics::CounterFamily& aborted;
  metrics::CounterFamily& revoked;
  metrics::CounterFamily& rechecks;
  const metrics::LabelKey via_hbone, via_tcp, via_http, status_400, status_401, status_503;
};

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
      pools_(workers, PoolOptions(options_), &stats_),
      own_registry_(options_.registry != nullptr
                        ? nullptr
                        : std::make_unique<metrics::Registry>(
                              workers.size() + 1,
                              +[]() -> std::size_t {
                                return static_cast<std::size_t>(
                                    net::WorkerPool::CurrentIndex() + 1);
                              })),
      registry_(options_.registry != nullptr ? options_.registry : own_registry_.get()),
      families_(std::make_unique<Families>(*registry_)) {
  HttpProxy::Options http_options;
  http_options.hbone_port = options_.hbone_port;
  http_options.connect_timeout = options_.connect_timeout;
  http_options.baggage = options_.baggage;
  http_options.service_vip = options_.service_vip;
  http_options.service_endpoints = options_.service_endpoints;
  http_ = std::make_unique<HttpProxy>(workers_, lookup_, identity_, client_tls_, sockets_, pools_,
                                      route_tables_, std::move(http_options));
  Families& f = *families_;
  const metrics::LabelKey none;
  for (std::size_t cell = 0; cell < registry_->cells(); ++cell) {
    counters_.push_back(Counters{
        f.streams.Get(none, cell), f.relayed.Get(f.via_hbone, cell),
        f.relayed.Get(f.via_tcp, cell), f.relayed.Get(f.via_http, cell),
        f.refused.Get(f.status_400, cell),
        f.refused.Get(f.status_401, cell), f.refused.Get(f.status_503, cell),
        f.upstream_failures.Get(none, cell), f.no_certificate.Get(none, cell),
        f.aborted.Get(none, cell), f.revoked.Get(none, cell), f.rechecks.Get(none, cell),
        f.active.Get(none, cell)});
  }
}

Relay::Counters& Relay::Local() { return counters_[registry_->CurrentCell()]; }

Relay::~Relay() = default;

asio::awaitable<void> Relay::Serve(const hbone::InboundConnectionInfo& conn,
                                   std::shared_ptr<h2::Stream> stream) {
  Counters& counters = Local();
  Bump(counters.streams);
  ActiveGauge active(counters.active);
  hbone::StatsShard& shard = stats_.Local();
  h2::Session& session = stream->session();
  const std::string authority(stream->PeerHeader(":authority"));
  auto refuse = [&](int status, const std::string& reason) {
    Bump(status == 400   ? counters.refused_400
         : status == 401 ? counters.refused_401
                         : counters.refused_503);
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
  // Labels decided once, from one snapshot, before authorization.
  telemetry::TcpLabels labels;
  if (options_.labeler) labels = options_.labeler(conn, client.ip(), relay);
  // A denial before any byte flowed: 401, failed with flag DENY, one line.
  auto deny = [&](const std::string& reason) {
    const std::string error = proxy::RejectionError(reason);
    telemetry::ConnectionRecord::Refuse(options_.metrics, labels,
                                        {"waypoint", client, relay.target}, "DENY", error);
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
  const bool plain = route.kind == hbone::RouteDecision::Kind::kPassthrough;
  const bool http = options_.port_protocol && !route.service_hostname.empty() &&
                    options_.port_protocol(relay.target) == state::AppProtocol::kHttp11;
  const telemetry::ConnectionRecord record(
      options_.metrics, labels,
      {"waypoint", client, route.next_hop, route.connect_target.ToString(),
       http ? "http" : plain ? "tcp" : "hbone"},
      start);
  // Counts and logs a relayed connection once its copy has ended (|r| from
  // the client's side). One a policy change closed keeps its bytes on its
  // series and counts closed and failed under flag DENY.
  auto finished = [&](const hbone::CopyResult& r) {
    if (!watched.revoked.empty()) {
      Bump(counters.revoked);
      record.Revoked(r.peer_to_socket, r.socket_to_peer,
                     proxy::LateRejectionError(watched.revoked));
      return;
    }
    if (r.aborted) Bump(counters.aborted);
    record.Closed(r.peer_to_socket, r.socket_to_peer, r.aborted);
  };
  auto failed = [&] {
    Bump(counters.upstream_failures);
    record.Failed();
  };

  if (http) {
    // L7: the tunnel is answered at once; each request picks its own
    // endpoint (the one chosen above only labels the connection).
    if (stream->reset() || stream->closed()) co_return;
    if (!session.Respond(*stream, 200, {}, /*end_stream=*/false).ok()) co_return;
    shard.inbound_status_200.Inc();
    Bump(counters.relayed_http);
    record.Opened();
    watched.relaying = true;
    HttpProxy::Tunnel tunnel{HttpDestination{route.service_hostname, relay.target.port()},
                             relay.target, client.ip(), conn.local, relay.request.traceparent};
    HttpProxy::Outcome outcome = co_await http_->Serve(stream, std::move(tunnel));
    shard.bytes_downstream_to_upstream.Add(outcome.bytes_received);
    shard.bytes_upstream_to_downstream.Add(outcome.bytes_sent);
    finished(hbone::CopyResult{outcome.bytes_received, outcome.bytes_sent, outcome.aborted});
    co_return;
  }

  if (plain) {
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
    Bump(counters.relayed_plain);
    record.Opened();
    watched.relaying = true;
    watched.upstream_socket = &*upstream;
    // The upstream socket is the "socket" side: counters from its view.
    hbone::CopyResult r = co_await hbone::CopyBidirectional(
        *upstream, *stream,
        {&shard.bytes_upstream_to_downstream, &shard.bytes_downstream_to_upstream});
    watched.upstream_socket = nullptr;
    // Seen from the upstream socket: flip to the client's view.
    finished(hbone::CopyResult{r.peer_to_socket, r.socket_to_peer, r.aborted});
    co_return;
  }

  std::shared_ptr<const tls::TlsContext> tls = client_tls_();
  if (tls == nullptr) {
    Bump(counters.no_certificate);
    record.Failed();
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
  Bump(counters.relayed_hbone);
  record.Opened();
  watched.relaying = true;
  watched.upstream_stream = upstream->get();
  hbone::CopyResult r = co_await CopyStreams(
      *stream, **upstream,
      {&shard.bytes_downstream_to_upstream, &shard.bytes_upstream_to_downstream});
  watched.upstream_stream = nullptr;
  finished(r);
}

void Relay::RecheckAll() {
  Bump(Local().rechecks);
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
  // The HTTP path's per-loop counters, read on each loop.
  std::vector<std::future<HttpProxy::LoopCounters>> http_counts;
  for (std::size_t i = 0; http_ != nullptr && i < workers_.size(); ++i) {
    auto promise = std::make_shared<std::promise<HttpProxy::LoopCounters>>();
    http_counts.push_back(promise->get_future());
    workers_.Post(i, [promise, http = http_.get(), i] { promise->set_value(http->counters(i)); });
  }
  for (auto& f : counts) {
    if (f.wait_for(std::chrono::seconds(1)) == std::future_status::ready) {
      pooled += f.get();
    } else {
      complete = false;
    }
  }
  HttpProxy::LoopCounters http;
  for (auto& f : http_counts) {
    if (f.wait_for(std::chrono::seconds(1)) != std::future_status::ready) {
      complete = false;
      continue;
    }
    const HttpProxy::LoopCounters c = f.get();
    http.requests += c.requests;
    http.local_replies += c.local_replies;
    http.faults_delayed += c.faults_delayed;
    http.faults_aborted += c.faults_aborted;
    http.mirrors_sent += c.mirrors_sent;
    http.mirrors_failed += c.mirrors_failed;
    http.mirrors_too_large += c.mirrors_too_large;
    http.mirrors_dropped += c.mirrors_dropped;
  }
  const Families& f = *families_;
  const metrics::LabelKey none;
  out = nlohmann::json{
      {"downstream",
       {{"tlsConnectionsAccepted", s.tls_connections_accepted},
        {"tlsHandshakeFailures", s.tls_handshake_failures},
        {"streams", f.streams.Value(none)},
        {"streamsActive", f.active.Value(none)},
        {"status200", s.inbound_status_200},
        {"status400", s.inbound_status_400},
        {"status401", s.inbound_status_401},
        {"status503", s.inbound_status_503}}},
      {"relayed",
       {{"hbone", f.relayed.Value(f.via_hbone)},
        {"plaintext", f.relayed.Value(f.via_tcp)},
        {"http", f.relayed.Value(f.via_http)},
        {"aborted", f.aborted.Value(none)},
        {"revoked", f.revoked.Value(none)},
        {"active", tracker_->active()},
        {"policyRechecks", f.rechecks.Value(none)}}},
      {"refused",
       {{"status400", f.refused.Value(f.status_400)},
        {"status401", f.refused.Value(f.status_401)},
        {"status503", f.refused.Value(f.status_503)},
        {"upstreamFailures", f.upstream_failures.Value(none)},
        {"noCertificate", f.no_certificate.Value(none)}}},
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
  out["http"] = nlohmann::json{{"requests", http.requests},
                               {"localReplies", http.local_replies},
                               {"faultsDelayed", http.faults_delayed},
                               {"faultsAborted", http.faults_aborted},
                               {"mirrorsSent", http.mirrors_sent},
                               {"mirrorsFailed", http.mirrors_failed},
                               {"mirrorsTooLarge", http.mirrors_too_large},
                               {"mirrorsDropped", http.mirrors_dropped}};
  if (!complete) out["upstream"]["tlsConnectionsActiveIncomplete"] = true;
}

void Relay::ShutdownPools() {
  std::vector<std::future<void>> done;
  for (std::size_t i = 0; i < pools_.size(); ++i) {
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    workers_.Post(i, [promise, pool = &pools_.At(i), http = http_.get()] {
      http->DropIdleOnThisLoop();
      pool->Shutdown();
      promise->set_value();
    });
  }
  for (auto& f : done) f.wait_for(std::chrono::seconds(2));
}

}  // namespace ambit::waypoint
