#include "hbone/outbound_proxy.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include <random>

#include "core/log.h"
#include "hbone/connect_headers.h"
#include "hbone/copy.h"
#include "hbone/open_tunnel.h"
#include "net/connect.h"
#include "net/socket_options.h"

namespace ambit::hbone {

OutboundProxy::OutboundProxy(Source source, std::shared_ptr<const DestinationLookup> lookup,
                             PoolSet* pools, Stats* stats, Options options)
    : source_(std::move(source)),
      lookup_(std::move(lookup)),
      pools_(pools),
      stats_(stats),
      options_(std::move(options)) {
  if (!options_.original_destination) {
    options_.original_destination = [](asio::ip::tcp::socket& s) {
      return net::OriginalDestination(s.native_handle());
    };
  }
}

void OutboundProxy::Serve(asio::ip::tcp::socket downstream) {
  auto executor = downstream.get_executor();
  asio::co_spawn(executor, ServeConnection(std::move(downstream)), asio::detached);
}

asio::awaitable<void> OutboundProxy::ServeConnection(asio::ip::tcp::socket downstream) {
  auto self = shared_from_this();
  StatsShard& stats = stats_->Local();
  stats.outbound_connections.Inc();
  auto peer = net::PeerAddress(downstream.native_handle());
  auto original = options_.original_destination(downstream);
  if (!peer.ok() || !original.ok()) {
    AMBIT_LOG_WARN("outbound: no original destination: {}",
                   original.ok() ? peer.error().ToString() : original.error().ToString());
    AbortSocket(downstream);
    co_return;
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const RouteDecision route = DecideRoute(*original, *lookup_, rng(), options_.route);

  switch (route.kind) {
    case RouteDecision::Kind::kReject:
      AMBIT_LOG_DEBUG("outbound {} -> {} rejected: {}", peer->ToString(), original->ToString(), route.reason);
      AbortSocket(downstream);
      co_return;
    case RouteDecision::Kind::kPassthrough: {
      net::ConnectOptions opts;
      opts.timeout = options_.passthrough_connect_timeout;
      auto upstream = co_await net::Connect(*source_.sockets, route.next_hop, opts);
      if (!upstream.ok()) {
        AMBIT_LOG_DEBUG("outbound passthrough {}: {}", peer->ToString(), upstream.error().ToString());
        AbortSocket(downstream);
        co_return;
      }
      stats.passthrough_connections.Inc();
      co_await CopyBidirectional(downstream, *upstream, DownstreamCounters(stats));
      co_return;
    }
    case RouteDecision::Kind::kHbone:
      break;
  }

  PoolKey key{source_.identity, peer->ip(), route.next_hop, route.expected_identities};
  DialParams dial{source_.tls(), source_.sockets};
  ConnectRequest request;
  request.target = route.connect_target;
  request.downstream = *peer;
  request.service_host = route.service_hostname;
  request.baggage = source_.baggage;
  auto tunnel = co_await OpenTunnel(pools_->Local(), std::move(key), std::move(dial),
                                    BuildConnectHeaders(request), downstream,
                                    options_.early_data_limit);
  if (!tunnel.ok()) {
    AMBIT_LOG_DEBUG("outbound {} -> {}: {}", peer->ToString(), original->ToString(),
                    tunnel.error().ToString());
    AbortSocket(downstream);
    co_return;
  }
  // Early data (moved while the CONNECT was answered) counts as copied.
  stats.bytes_downstream_to_upstream.Add(tunnel->early_bytes);
  co_await CopyBidirectional(downstream, *tunnel->stream, DownstreamCounters(stats));
}

}  // namespace ambit::hbone
