// HttpProxy: the waypoint's HTTP/1.1 data path for one tunnel whose Service
// port speaks HTTP (docs/waypoint.md, "HTTP"). The Relay hands it a CONNECT
// stream it has answered 200; HttpProxy parses the tunneled requests and, one
// request at a time (keep-alive; pipelined requests wait their turn), runs
// one step per concern:
//
//   parse        http1::Parser over the tunnel (h2::StreamByteStream); a bad
//                request is answered with the parser's status (400, 431,
//                501, 505) and the tunnel closed
//   decide       DecideRequest (http_decision.h): route table of the Service
//                (RouteTables), 404 NR, redirects, direct answers, the
//                weighted backend; then the proxy headers
//   fault        the route's fault injection (DecideFault): a delay waits
//                on a timer (the request dropped if the client goes away
//                meanwhile; flag DI), an abort is answered locally (flag
//                FI); both before any upstream is chosen or contacted
//   resolve      the backend Service's VIP -> hbone::DecideRoute (waypoints
//                off): one healthy endpoint, HBONE or plain TCP; none: 503
//                flag UH
//   send         an HTTP/1.1 connection to that endpoint from this loop's
//                idle set, or a new one: a CONNECT from the waypoint's HBONE
//                pool with its own identity (or TCP for an endpoint outside
//                the mesh); failure: 503 flag UF; each try bounded by the
//                route's timeouts and repeated as its retry policy says
//   mirror       for each of the route's mirrors drawn by its percentage, a
//                copy of the request (head as sent upstream, Host with
//                "-shadow", body buffered up to Options::mirror_body_limit)
//                sent by a child task of this loop once the request body has
//                been read; its answer is discarded; it never delays or
//                fails the request (MirrorRequest)
//   answer       the response streamed back (Content-Length kept, otherwise
//                chunked to an HTTP/1.1 client), with the route's response
//                header changes and x-envoy-upstream-service-time; an
//                upstream that ends before the response head: 503 flag UC
//
// A client whose first bytes are HTTP/2's connection preface (h2c with prior
// knowledge, RFC 9113 §3.3) is detected before any parsing and relayed byte
// for byte to one endpoint of the Service, as an L4 port would be (HTTP/2
// inside the tunnel is not parsed yet).
//
// Request bodies (Content-Length or chunked, trailers kept) stream to the
// upstream as they arrive, and are kept (up to Options::retry_body_limit) to
// be sent again by a retry. `Expect: 100-continue` is answered by the
// waypoint itself (as Envoy does by default) and not forwarded. Upgrades
// (WebSocket) are not handled yet: an upgrade request ends the tunnel.
//
// Timeouts and retries (the route's, docs/traffic-management.md): each try
// (connect, request, response head) runs under net::WithTimeout with the
// per-try timeout or what is left of the request timeout, whichever is
// shorter; a try cut short is cancelled and its upstream connection dropped
// (an HBONE stream reset), never reused. A failed try that the route's
// retryOn allows is sent again (x-envoy-attempt-count counts the tries)
// after a jittered back-off, to another endpoint when the Service has one.
// Request timeout expired: 504 "upstream request timeout", flag UT; retries
// exhausted: the last try's answer, flag URX.
//
// Threading: Serve runs on the loop that owns the downstream stream; every
// upstream connection it uses was opened on, and is pooled on, that loop
// (one idle set per worker loop, no lock). The HttpProxy is shared by every
// loop; RouteTables is read through an atomic snapshot.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "h2/stream.h"
#include "h2/stream_byte_stream.h"
#include "hbone/pool.h"
#include "hbone/route.h"
#include "http1/parser.h"
#include "identity/spiffe_id.h"
#include "net/socket_factory.h"
#include "net/worker_pool.h"
#include "route/table.h"
#include "tls/context.h"
#include "waypoint/http_decision.h"

namespace ambit::waypoint {

// The route table of each Service the waypoint serves, by the Service's FQDN
// (the routes whose parentRefs or hosts name it, lowered and compiled: one
// table per Service). A Service with no table gets Istio's default route.
// Publish swaps the whole map at once; readers see one snapshot per request.
// Thread-safe.
class RouteTables {
 public:
  using Map = std::unordered_map<std::string, std::shared_ptr<const route::RouteTable>>;

  RouteTables() : current_(std::make_shared<const Map>()) {}
  void Publish(Map tables) { current_.store(std::make_shared<const Map>(std::move(tables))); }
  std::shared_ptr<const Map> Snapshot() const { return current_.load(); }
  // The table for |service_host|, or null (the default route).
  std::shared_ptr<const route::RouteTable> Find(std::string_view service_host) const;

 private:
  std::atomic<std::shared_ptr<const Map>> current_;
};

class HttpProxy {
 public:
  using ClientTlsSource = std::function<std::shared_ptr<const tls::TlsContext>()>;
  // A Service's VIP by FQDN (for backends other than the addressed Service),
  // or nullopt when the waypoint knows no such Service or it has no VIP.
  using ServiceVip = std::function<std::optional<net::IpAddress>(std::string_view host)>;
  // The healthy endpoints of the Service at |vip| (VIP and service port) as
  // stable keys ("ip:port"), in the order hbone::DecideRoute indexes them with
  // its |pick|: what DestinationRule load balancing chooses among.
  using ServiceEndpoints = std::function<std::vector<std::string>(const net::SocketAddress& vip)>;

  struct Options {
    std::uint16_t hbone_port = 15008;  // HBONE port dialed on endpoints (tests)
    std::chrono::milliseconds connect_timeout{10'000};
    std::string baggage;  // sent on the upstream CONNECTs (the waypoint's metadata)
    http1::Limits limits;
    std::size_t max_idle_per_endpoint = 32;  // idle upstream connections kept per endpoint and loop
    ServiceVip service_vip;                  // null: only the addressed Service is reachable
    // Null (or an empty answer): endpoints picked at random, without the
    // backend's load balancing policy.
    ServiceEndpoints service_endpoints;
    // A request body is kept for a retry up to this size; a bigger one is
    // sent once, never retried (Envoy likewise stops retrying a request whose
    // body overflows its buffer).
    std::size_t retry_body_limit = 64 * 1024;
    // Mirroring: bodies above this are not mirrored (counted); mirror copies
    // in flight per loop beyond max_mirrors_in_flight are dropped (counted);
    // a mirror exchange is abandoned after mirror_timeout (Envoy's default
    // route timeout).
    std::size_t mirror_body_limit = 1 << 20;
    std::size_t max_mirrors_in_flight = 256;
    std::chrono::milliseconds mirror_timeout{15'000};
  };

  // What the Relay learned about one tunnel.
  struct Tunnel {
    HttpDestination destination;
    net::SocketAddress target;  // the CONNECT's :authority (the Service VIP:port)
    net::IpAddress client;      // the original client (forwarded for), for x-forwarded-for
    net::SocketAddress local;   // the waypoint's end of the downstream connection
    std::string traceparent;    // of the downstream CONNECT ("" = none)
  };

  struct Outcome {
    std::uint64_t bytes_received = 0;  // from the client (tunnel payload)
    std::uint64_t bytes_sent = 0;      // to the client
    std::uint64_t requests = 0;
    bool aborted = false;  // ended by a reset or an I/O error
  };

  // Counters per worker loop (plain integers: each written by its loop only).
  struct LoopCounters {
    std::uint64_t requests = 0, local_replies = 0, upstream_opened = 0, upstream_reused = 0;
    std::uint64_t retries = 0;            // attempts after the first
    std::uint64_t upstream_timeouts = 0;  // attempts ended by a per-try or request timeout
    std::uint64_t faults_delayed = 0, faults_aborted = 0;
    // Mirror copies: answered (any status), failed (no endpoint, connect or
    // I/O error, timeout), not sent because the body was over the limit or
    // too many were in flight.
    std::uint64_t mirrors_sent = 0, mirrors_failed = 0, mirrors_too_large = 0, mirrors_dropped = 0;
  };

  // Everything passed in outlives the HttpProxy. |pools| is the waypoint's
  // HBONE PoolSet (one Pool per loop).
  HttpProxy(net::WorkerPool& workers, std::shared_ptr<const hbone::DestinationLookup> lookup,
            identity::SpiffeId identity, ClientTlsSource client_tls,
            std::shared_ptr<const net::SocketFactory> sockets, hbone::PoolSet& pools,
            const RouteTables& tables, Options options);
  ~HttpProxy();

  // Serves the HTTP/1.1 requests of |downstream| (already answered 200)
  // until the client finishes, an error, or a request that closes the
  // connection; then ends the stream.
  asio::awaitable<Outcome> Serve(std::shared_ptr<h2::Stream> downstream, Tunnel tunnel);

  // Drops the calling loop's idle upstream connections and cancels its
  // mirror requests; call on each loop before its HBONE pool shuts down.
  void DropIdleOnThisLoop();
  // This loop's counters (read on the loop, or after the loops stopped).
  const LoopCounters& counters(std::size_t loop) const;

  struct Upstream;    // one HTTP/1.1 connection to an endpoint
  struct MirrorCopy;  // a request as it is mirrored

 private:
  struct Loop;
  Loop& Local();
  hbone::RouteDecision Resolve(const ForwardRequest& forward, const Tunnel& tunnel,
                               std::uint64_t pick) const;
  std::optional<net::IpAddress> BackendVip(const ForwardRequest& forward,
                                           const Tunnel& tunnel) const;
  // Load balancing (load_balancer.h): the |pick| for Resolve that selects
  // the endpoint of try |attempt| by |forward|'s policy and this loop's state;
  // a random one when the endpoints are not known.
  std::uint64_t PickFor(const ForwardRequest& forward, const Tunnel& tunnel,
                        std::optional<std::uint64_t> hash, std::uint32_t attempt);
  // The endpoint of a retry: |forward|'s Service again, preferring an
  // endpoint whose key ("next_hop connect_target") is not in |tried|;
  // |last| when none resolves.
  hbone::RouteDecision ResolveRetry(const ForwardRequest& forward, const Tunnel& tunnel,
                                    const std::vector<std::string>& tried,
                                    const hbone::RouteDecision& last,
                                    std::optional<std::uint64_t> hash, std::uint32_t retry);
  // A connection to |route|'s endpoint: an idle one of this loop, or
  // (always when |fresh|) a new one.
  asio::awaitable<Result<std::unique_ptr<Upstream>>> Acquire(const hbone::RouteDecision& route,
                                                             const Tunnel& tunnel, bool fresh);
  // A client that opened with HTTP/2's preface: relayed byte for byte to one
  // endpoint of the addressed Service (|prefix| first) until both sides end.
  asio::awaitable<void> RelayOpaque(h2::StreamByteStream& down, const std::string& prefix,
                                    const Tunnel& tunnel, Outcome& outcome);
  void Release(std::unique_ptr<Upstream> upstream);
  // Waits |delay| (fault injection). Bytes the client sends meanwhile are
  // read into |pending| (parsed afterwards) up to a bound, so that a client
  // that goes away is seen: false then, and the request is dropped.
  asio::awaitable<bool> InjectDelay(h2::StreamByteStream& down, std::chrono::milliseconds delay,
                                    std::string& pending, std::uint64_t& bytes_read);
  // Starts a child task of this loop sending |copy| to |mirror|'s backend
  // (fire and forget), unless too many are in flight.
  void StartMirror(const asio::any_io_executor& executor, std::shared_ptr<const MirrorCopy> copy,
                   const route::Mirror& mirror, const Tunnel& tunnel);
  // One mirror exchange: |copy| to |backend|, the answer read and dropped.
  asio::awaitable<void> MirrorRequest(std::shared_ptr<const MirrorCopy> copy,
                                      std::string backend_host, std::uint16_t backend_port,
                                      Tunnel tunnel);
  asio::awaitable<Result<int>> MirrorExchange(std::shared_ptr<const MirrorCopy> copy,
                                              hbone::RouteDecision route, Tunnel tunnel);

  // Timeouts and retries (http_proxy.cc, "attempts"): one try of a forwarded
  // request, up to its response head, and the response streamed to the client.
  struct AttemptState;
  struct ResponseState;
  asio::awaitable<Status> RunAttempt(AttemptState* s);
  asio::awaitable<Status> StreamResponse(ResponseState* s);

  net::WorkerPool& workers_;
  std::shared_ptr<const hbone::DestinationLookup> lookup_;
  identity::SpiffeId identity_;
  ClientTlsSource client_tls_;
  std::shared_ptr<const net::SocketFactory> sockets_;
  hbone::PoolSet& pools_;
  const RouteTables& tables_;
  Options options_;
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace ambit::waypoint
