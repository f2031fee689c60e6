// OutboundPath: what happens to one connection accepted on the outbound
// capture listener (port 15001) of a source workload, in three steps that
// ztunnel's data path (node::DataPath, which adds telemetry, the connection
// tracker and the certificate wait around them) and the tests and benchmarks
// (through Serve) run alike:
//
//   Plan:  the app's address and its original destination (SO_ORIGINAL_DST),
//          a wait for the first discovery data if there is none yet, the
//          route decision (DecideRoute, a value) and, for an endpoint known
//          only by name, its resolution. No connection is made.
//   Open:  for HBONE a CONNECT stream from this loop's Pool (OpenTunnel: the
//          app's first bytes go with the CONNECT, before the answer); for
//          passthrough a plain TCP connection from the source's namespace.
//   Copy:  the bidirectional copy (hbone::CopyBidirectional), early data
//          counted as copied.
//
// A step that fails has reset the downstream connection (RST) when it
// returns; so has Open for a rejecting route. Plan and Open keep nothing once
// they return: what the copy needs for the connection's life is the
// OutboundLeg (small on purpose: a frame that holds it lasts as long as the
// connection).
//
// Threading: the steps run on the loop that owns the socket and use that
// loop's pool and stats shard. The path itself is immutable and shared by
// every loop.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "hbone/copy.h"
#include "hbone/open_tunnel.h"
#include "hbone/pool.h"
#include "hbone/route.h"
#include "hbone/stats.h"
#include "identity/spiffe_id.h"
#include "net/socket_address.h"
#include "net/socket_factory.h"
#include "net/wait_until.h"

namespace ambit::tls {
class TlsContext;
}  // namespace ambit::tls

namespace ambit::hbone {

// Where one outbound connection goes, decided before any connection is made.
struct OutboundPlan {
  enum class Outcome {
    kRouted,         // |route| holds the decision (which may be kReject)
    kNoDestination,  // the app's address or original destination is unknown
    kNotReady,       // no discovery data within Options::ready_wait
    kUnresolved,     // the endpoint's hostname did not resolve
  };
  Outcome outcome = Outcome::kRouted;
  std::string error;             // why, unless kRouted
  net::SocketAddress peer;       // the app's address (set unless kNoDestination)
  net::SocketAddress original;   // where the app meant to go (idem)
  RouteDecision route;           // kRouted only; hostnames resolved
  bool routed() const { return outcome == Outcome::kRouted; }
};

// The source workload of one connection, as Open needs it.
struct OutboundSource {
  identity::SpiffeId identity;  // the workload identity (pool key, client certificate)
  std::shared_ptr<const tls::TlsContext> tls;  // its client context (HBONE only)
  std::shared_ptr<const net::SocketFactory> sockets;  // in its network namespace
  std::string baggage;  // FormatBaggage() of the workload, sent with the CONNECT
};

// The far side of an open outbound connection: a stream (HBONE) or a socket
// (passthrough).
struct OutboundLeg {
  std::shared_ptr<h2::Stream> stream;            // HBONE
  std::optional<asio::ip::tcp::socket> upstream;  // passthrough
  std::uint64_t early_bytes = 0;  // HBONE: app bytes sent with the CONNECT
  bool hbone() const { return stream != nullptr; }
};

// Resolves |hostname| (preferring IPv6 addresses when |v6|) on the calling
// loop; empty = endpoints known only by name fail.
using HostnameResolver =
    std::function<asio::awaitable<Result<net::IpAddress>>(std::string hostname, bool v6)>;

class OutboundPath : public std::enable_shared_from_this<OutboundPath> {
 public:
  struct Options {
    // route.source_ip: the app's address of each connection unless set here
    // (tests whose client and waypoint share the loopback address).
    RouteOptions route;
    // Passthrough: the most a plain TCP connect may take.
    std::chrono::milliseconds connect_timeout{10'000};
    // Most app bytes sent with the CONNECT before its answer (OpenTunnel);
    // 0 = none: the copy starts only after the 200 (for A/B measurements).
    std::size_t early_data_limit = kEarlyDataLimit;
    // Where the app meant to go. Default: SO_ORIGINAL_DST of the socket
    // (tests connect to a plain listener and name the destination here).
    std::function<Result<net::SocketAddress>(asio::ip::tcp::socket&)> original_destination;
    // True once discovery data has arrived; until then Plan waits up to
    // |ready_wait| (woken through |when_ready|, net::WaitUntil) and then
    // gives up (an empty state would route mesh destinations as plaintext
    // passthrough). Empty = always ready.
    std::function<bool()> ready;
    net::WakeSubscriber when_ready;
    std::chrono::milliseconds ready_wait{5'000};
  };

  // |lookup|, |pools| and |stats| must outlive every connection.
  OutboundPath(std::shared_ptr<const DestinationLookup> lookup, PoolSet* pools, Stats* stats,
               Options options);

  // Counts the connection in this loop's shard (outbound_connections). On
  // any outcome but kRouted the downstream has been reset. A kRouted plan
  // whose route is kReject is left to the caller (see Open).
  asio::awaitable<OutboundPlan> Plan(asio::ip::tcp::socket& downstream, HostnameResolver resolve) const;

  // Opens the leg |plan| decided (kRouted). A rejecting route, a failed
  // connect or a refused or failed CONNECT resets the downstream and returns
  // the error. |plan| must stay alive until this returns.
  asio::awaitable<Result<OutboundLeg>> Open(asio::ip::tcp::socket& downstream, const OutboundPlan& plan,
                                            OutboundSource source) const;

  // Copies until both directions end; counted in this loop's shard, early
  // data included (in the shard and in the result's socket_to_peer). Adds no
  // coroutine frame of its own: the connection keeps only the copy's.
  asio::awaitable<CopyResult> Copy(asio::ip::tcp::socket& downstream, OutboundLeg& leg) const;

  // The three steps without telemetry, on the socket's loop (tests,
  // benchmarks). The path must be owned by a shared_ptr.
  void Serve(asio::ip::tcp::socket downstream, OutboundSource source);

 private:
  asio::awaitable<void> ServeConnection(asio::ip::tcp::socket downstream, OutboundSource source);
  asio::awaitable<std::optional<OutboundLeg>> Establish(asio::ip::tcp::socket& downstream,
                                                        OutboundSource source) const;

  std::shared_ptr<const DestinationLookup> lookup_;
  PoolSet* pools_;
  Stats* stats_;
  Options options_;
};

}  // namespace ambit::hbone
