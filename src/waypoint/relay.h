// Relay: the waypoint's data path. Serves each CONNECT stream that the
// waypoint's HBONE server (hbone::InboundServer with a stream handler)
// accepted:
//
//   DecideRelay (refusal: 400/503 and one log line naming why)
//   -> L4 authorization (Options::authorize: the policies that target this
//      waypoint; denied: 401, istio_tcp_connections_failed_total with
//      response_flags="DENY" and one "connection failed" line naming the
//      policy)
//   -> HBONE: a CONNECT from this loop's pool to the endpoint's node ztunnel,
//      presenting the waypoint's own certificate and expecting the
//      endpoint's identity (refusal or failure upstream: 503)
//      plain TCP: a connection to an endpoint outside the mesh (failure: 503)
//   -> 200 downstream, then bytes both ways until both sides finish.
// A tunnel to a Service port whose declared protocol is HTTP/1.1
// (Options::port_protocol) is not relayed byte for byte: after the 200 its
// requests are parsed, routed and sent to endpoints one by one (HttpProxy,
// http_proxy.h), with the Service's table from route_tables().
// The 200 is sent only after the upstream is open, so a client sees the
// outcome in the CONNECT status, as with ztunnel. Relayed connections count
// in istio_tcp_* (reporter "waypoint") and log one access line each.
//
// Policy changes (RecheckAll, called when the waypoint's policies change):
// every CONNECT being relayed, or being opened, is decided again on its own
// loop with Options::authorize. One now denied before its 200 is answered
// 401 as if denied at once; one already relaying has both streams reset (the
// client's ztunnel resets the app connection), is counted in
// counters.relayed.revoked and closed + failed with response_flags="DENY",
// and logs "access: connection complete ... error=\"connection closed due to
// policy change: <reason>\"" (ztunnel's AuthorizationPolicyLateRejection).
//
// Threading (docs/threading.md): Serve runs on the loop that owns the
// downstream stream; the upstream stream comes from that loop's pool, so the
// copy never crosses threads. The Relay is shared by every loop and
// immutable after construction; counters are per-loop shards or relaxed
// atomics. The lookup and the TLS source must be thread-safe.
#pragma once

#include <asio/awaitable.hpp>
#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "h2/stream.h"
#include "hbone/inbound_server.h"
#include "hbone/pool.h"
#include "hbone/route.h"
#include "hbone/stats.h"
#include "metrics/registry.h"
#include "identity/spiffe_id.h"
#include "net/socket_factory.h"
#include "net/worker_pool.h"
#include "node/connection_tracker.h"
#include "telemetry/tcp_metrics.h"
#include "tls/context.h"
#include "state/workload.h"
#include "waypoint/http_proxy.h"
#include "waypoint/relay_decision.h"

namespace ambit::waypoint {

class Relay {
 public:
  // The waypoint's current client context (certificate rotation swaps it);
  // null while it has no certificate.
  using ClientTlsSource = std::function<std::shared_ptr<const tls::TlsContext>()>;

  // The istio_tcp_* labels of one relayed connection (telemetry.h);
  // |client_ip| is the original client's (forwarded for) or the peer's.
  using Labeler = std::function<telemetry::TcpLabels(const hbone::InboundConnectionInfo& connection,
                                                const net::IpAddress& client_ip,
                                                const RelayRoute& relay)>;

  struct Options {
    WaypointSelf self;
    std::uint16_t hbone_port = 15008;       // HBONE port dialed on endpoints (tests)
    std::chrono::milliseconds connect_timeout{10'000};
    std::string baggage;                    // sent upstream (the waypoint's metadata)
    // Telemetry: each relayed connection gets a telemetry::ConnectionRecord
    // with labeler's labels (decided once, before authorization), counts in
    // |metrics| (null: not counted) and logs one access line.
    telemetry::TcpMetrics* metrics = nullptr;
    // Where the relay's own counters go (ambit_waypoint_*, see
    // docs/waypoint.md); null: a private registry (read by DumpCounters).
    metrics::Registry* registry = nullptr;
    Labeler labeler;
    // Decides each relayed CONNECT from the client's identity, the original
    // client address and the target; null = allow all. Called on the
    // stream's loop; must not block.
    std::function<hbone::AuthorizationResult(const hbone::InboundConnectionInfo& connection,
                                             const net::IpAddress& client_ip,
                                             const net::SocketAddress& target)>
        authorize;
    // The declared protocol of a Service port (the CONNECT's target, a
    // Service VIP:port); null: every tunnel is relayed at L4. HTTP/1.1 ports
    // get the HTTP path; HTTP/2 and gRPC ports stay L4 until h2c is parsed.
    std::function<state::AppProtocol(const net::SocketAddress& service_vip)> port_protocol;
    // A Service's VIP by FQDN, for route backends other than the addressed
    // Service (HttpProxy::Options::service_vip).
    HttpProxy::ServiceVip service_vip;
    // A Service's endpoints, for load balancing (HttpProxy::Options::service_endpoints).
    HttpProxy::ServiceEndpoints service_endpoints;
  };

  // |identity|: the waypoint's own workload identity (presented upstream).
  // |workers|, |lookup| and the sockets outlive the Relay.
  Relay(net::WorkerPool& workers, std::shared_ptr<const hbone::DestinationLookup> lookup,
        identity::SpiffeId identity, ClientTlsSource client_tls, std::shared_ptr<const net::SocketFactory> sockets,
        Options options);
  ~Relay();

  // The InboundServer stream handler; |connection| must stay valid until
  // the returned awaitable completes.
  asio::awaitable<void> Serve(const hbone::InboundConnectionInfo& connection,
                              std::shared_ptr<h2::Stream> stream);

  // The route tables the HTTP path reads (tests and the config path publish).
  RouteTables& route_tables() { return route_tables_; }
  const HttpProxy& http() const { return *http_; }

  // Data-path counters (hbone::Stats) shared with the HBONE server.
  hbone::Stats& stats() { return stats_; }
  // The "counters" section of /config_dump. Asks each loop for its pool size
  // (waits up to 1 s); call off the worker loops.
  void DumpCounters(nlohmann::json& out);
  // GOAWAY on every pooled upstream connection; call with the loops running.
  void ShutdownPools();
  // Has every open relay decided again (posted to its own loop; see the
  // file comment). Thread-safe; call after the new policies are published.
  void RecheckAll();

 private:
  net::WorkerPool& workers_;
  std::shared_ptr<const hbone::DestinationLookup> lookup_;
  identity::SpiffeId identity_;
  ClientTlsSource client_tls_;
  std::shared_ptr<const net::SocketFactory> sockets_;
  Options options_;
  hbone::Stats stats_;
  hbone::PoolSet pools_;
  RouteTables route_tables_;
  std::unique_ptr<HttpProxy> http_;
  // The relays that can be decided again (only with Options::authorize).
  std::shared_ptr<node::ConnectionTracker> tracker_ = node::ConnectionTracker::Create();

  // The relay's counters: one set of handles per registry cell (worker
  // loop), so loops never share a counter.
  struct Counters {
    metrics::Counter streams, relayed_hbone, relayed_plain, relayed_http, refused_400, refused_401,
        refused_503, upstream_failures, no_certificate, aborted, revoked, rechecks;
    metrics::Gauge active;
  };
  struct Families;
  Counters& Local();
  std::unique_ptr<metrics::Registry> own_registry_;  // when Options::registry is null
  metrics::Registry* registry_;
  std::unique_ptr<Families> families_;
  std::vector<Counters> counters_;  // by cell
};

}  // namespace ambit::waypoint
