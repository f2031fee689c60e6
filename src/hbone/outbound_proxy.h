// OutboundProxy: the outbound capture listener's connection handler (port
// 15001) for one source workload.
//
// Per downstream connection: original destination (SO_ORIGINAL_DST) ->
// DecideRoute (a value, no I/O) -> for HBONE a CONNECT stream from this
// loop's Pool (OpenTunnel: the app's first bytes go with the CONNECT, before
// the answer), for passthrough a plain TCP connection -> bidirectional copy.
// A failed route or tunnel closes the downstream connection with an RST.
//
// Threading: Serve() runs on the loop that owns the socket and uses that
// loop's pool. The proxy itself is immutable and shared by every loop.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <functional>
#include <memory>

#include "core/result.h"
#include "hbone/open_tunnel.h"
#include "hbone/pool.h"
#include "hbone/route.h"
#include "hbone/stats.h"
#include "identity/spiffe_id.h"
#include "net/socket_address.h"
#include "net/socket_factory.h"

namespace ambit::hbone {

class OutboundProxy : public std::enable_shared_from_this<OutboundProxy> {
 public:
  struct Source {
    identity::SpiffeId identity;  // the pod's workload identity
    // The pod's client TLS context (current certificate; rotation swaps it).
    std::function<std::shared_ptr<const tls::TlsContext>()> tls;
    std::shared_ptr<const net::SocketFactory> sockets;  // in the pod's netns
    std::string baggage;  // FormatBaggage() of the pod
  };
  struct Options {
    RouteOptions route;
    std::chrono::milliseconds passthrough_connect_timeout{10'000};
    // Most app bytes sent with the CONNECT before its answer (OpenTunnel);
    // 0 = none: the copy starts only after the 200 (for A/B measurements).
    std::size_t early_data_limit = kEarlyDataLimit;
    // Where the app meant to go. Default: SO_ORIGINAL_DST of the socket.
    std::function<Result<net::SocketAddress>(asio::ip::tcp::socket&)> original_destination;
  };

  OutboundProxy(Source source, std::shared_ptr<const DestinationLookup> lookup, PoolSet* pools,
                Stats* stats, Options options);

  void Serve(asio::ip::tcp::socket downstream);

 private:
  asio::awaitable<void> ServeConnection(asio::ip::tcp::socket downstream);

  Source source_;
  std::shared_ptr<const DestinationLookup> lookup_;
  PoolSet* pools_;
  Stats* stats_;
  Options options_;
};

}  // namespace ambit::hbone
