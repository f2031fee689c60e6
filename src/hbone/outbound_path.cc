#include "hbone/outbound_path.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include <random>

#include "core/log.h"
#include "hbone/connect_headers.h"
#include "net/connect.h"
#include "net/socket_options.h"

namespace ambit::hbone {

using asio::ip::tcp;

OutboundPath::OutboundPath(std::shared_ptr<const DestinationLookup> lookup, PoolSet* pools,
                           Stats* stats, Options options)
    : lookup_(std::move(lookup)), pools_(pools), stats_(stats), options_(std::move(options)) {}

asio::awaitable<OutboundPlan> OutboundPath::Plan(tcp::socket& downstream, HostnameResolver resolve) const {
  stats_->Local().outbound_connections.Inc();
  OutboundPlan plan;
  auto peer = net::PeerAddress(downstream.native_handle());
  // Family from the peer address (saves a getsockopt): a v4 client of a
  // dual-stack socket reads as v4, and its conntrack entry is under IPv4 too.
  Result<net::SocketAddress> original =
      options_.original_destination ? options_.original_destination(downstream)
      : peer.ok()                   ? net::OriginalDestination(downstream.native_handle(), peer->family())
                                    : net::OriginalDestination(downstream.native_handle());
  if (!peer.ok() || !original.ok()) {
    plan.outcome = OutboundPlan::Outcome::kNoDestination;
    plan.error = "no original destination: " +
                 (original.ok() ? peer.error().ToString() : original.error().ToString());
    AbortSocket(downstream);
    co_return plan;
  }
  plan.peer = *peer;
  plan.original = *original;
  if (options_.ready && !options_.ready()) {
    // Right after a (re)start: wait for the first xDS push rather than route
    // against an empty state (which would send mesh traffic in plaintext).
    bool ready = false;
    if (options_.when_ready) {
      const auto deadline = std::chrono::steady_clock::now() + options_.ready_wait;
      ready = co_await net::WaitUntil(options_.ready, options_.when_ready, deadline);
    }
    if (!ready) {
      plan.outcome = OutboundPlan::Outcome::kNotReady;
      plan.error = "no discovery data yet";
      AbortSocket(downstream);
      co_return plan;
    }
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  RouteOptions route_options = options_.route;
  // A waypoint's own traffic is not sent back to it.
  if (!route_options.source_ip) route_options.source_ip = plan.peer.ip();
  plan.route = DecideRoute(plan.original, *lookup_, rng(), route_options);
  if (!plan.route.resolve_hostname.empty() && plan.route.kind != RouteDecision::Kind::kReject) {
    // An endpoint known only by name: resolve it now (ztunnel's on-demand DNS).
    Result<net::IpAddress> ip = Error(ErrorCode::kUnavailable, "no hostname resolver");
    if (resolve) {
      // Called apart from the co_await: GCC 12 mishandles temporaries (the
      // std::string argument) inside a co_await expression.
      auto resolving = resolve(plan.route.resolve_hostname, plan.original.ip().is_v6());
      ip = co_await std::move(resolving);
    }
    if (!ip.ok()) {
      plan.outcome = OutboundPlan::Outcome::kUnresolved;
      plan.error = "resolving endpoint " + plan.route.resolve_hostname + ": " + ip.error().ToString();
      AbortSocket(downstream);
      co_return plan;
    }
    plan.route.next_hop = net::SocketAddress(*ip, plan.route.next_hop.port());
    if (plan.route.kind == RouteDecision::Kind::kHbone) {
      plan.route.connect_target = net::SocketAddress(*ip, plan.route.connect_target.port());
    }
  }
  co_return plan;
}

asio::awaitable<Result<OutboundLeg>> OutboundPath::Open(tcp::socket& downstream, const OutboundPlan& plan,
                                                        OutboundSource source) const {
  const RouteDecision& route = plan.route;
  switch (route.kind) {
    case RouteDecision::Kind::kReject:
      AbortSocket(downstream);
      co_return Error(ErrorCode::kPermissionDenied, "rejected: " + route.reason);
    case RouteDecision::Kind::kPassthrough: {
      net::ConnectOptions opts;
      opts.timeout = options_.connect_timeout;
      auto upstream = co_await net::Connect(*source.sockets, route.next_hop, opts);
      if (!upstream.ok()) {
        AbortSocket(downstream);
        co_return std::move(upstream).error().WithContext("passthrough to " + route.next_hop.ToString());
      }
      stats_->Local().passthrough_connections.Inc();
      OutboundLeg leg;
      leg.upstream.emplace(std::move(*upstream));
      co_return leg;
    }
    case RouteDecision::Kind::kHbone:
      break;
  }
  if (source.tls == nullptr) {
    AbortSocket(downstream);
    co_return Error(ErrorCode::kUnavailable, "no client certificate for " + source.identity.ToString());
  }
  PoolKey key{std::move(source.identity), plan.peer.ip(), route.next_hop, route.expected_identities};
  DialParams dial{std::move(source.tls), std::move(source.sockets)};
  ConnectRequest request;
  request.target = route.connect_target;
  request.downstream = plan.peer;
  request.service_host = route.service_hostname;
  request.baggage = std::move(source.baggage);
  // Early data: the app's first bytes follow the CONNECT before its answer;
  // a refused CONNECT drops them (the server never connects upstream) and
  // nothing reaches the app.
  h2::Headers headers = BuildConnectHeaders(request);
  asio::awaitable<Result<OpenedTunnel>> opening = OpenTunnel(
      pools_->Local(), std::move(key), std::move(dial), std::move(headers), downstream, options_.early_data_limit);
  auto tunnel = co_await std::move(opening);
  if (!tunnel.ok()) {
    AbortSocket(downstream);
    co_return std::move(tunnel).error().WithContext("via " + route.next_hop.ToString());
  }
  OutboundLeg leg;
  leg.stream = std::move(tunnel->stream);
  leg.early_bytes = tunnel->early_bytes;
  co_return leg;
}

// Not a coroutine: the copy's own frame is the only one kept for the
// connection's life.
asio::awaitable<CopyResult> OutboundPath::Copy(tcp::socket& downstream, OutboundLeg& leg) const {
  StatsShard& shard = stats_->Local();
  if (!leg.hbone()) return CopyBidirectional(downstream, *leg.upstream, DownstreamCounters(shard));
  // Early data (moved while the CONNECT was answered) counts as copied.
  shard.bytes_downstream_to_upstream.Add(leg.early_bytes);
  return CopyBidirectional(downstream, *leg.stream, DownstreamCounters(shard), leg.early_bytes);
}

void OutboundPath::Serve(tcp::socket downstream, OutboundSource source) {
  auto executor = downstream.get_executor();
  asio::co_spawn(executor, ServeConnection(std::move(downstream), std::move(source)), asio::detached);
}

asio::awaitable<void> OutboundPath::ServeConnection(tcp::socket downstream, OutboundSource source) {
  auto self = shared_from_this();
  // Set up in a frame of its own, which ends once the leg is open: this one
  // lasts as long as the connection and keeps only the leg.
  asio::awaitable<std::optional<OutboundLeg>> establishing = Establish(downstream, std::move(source));
  std::optional<OutboundLeg> leg = co_await std::move(establishing);
  if (!leg) co_return;
  asio::awaitable<CopyResult> copying = Copy(downstream, *leg);
  co_await std::move(copying);
}

asio::awaitable<std::optional<OutboundLeg>> OutboundPath::Establish(tcp::socket& downstream,
                                                                    OutboundSource source) const {
  asio::awaitable<OutboundPlan> planning = Plan(downstream, HostnameResolver());
  const OutboundPlan plan = co_await std::move(planning);
  if (!plan.routed()) {
    AMBIT_LOG_DEBUG("outbound: {}", plan.error);
    co_return std::nullopt;
  }
  asio::awaitable<Result<OutboundLeg>> opening = Open(downstream, plan, std::move(source));
  auto leg = co_await std::move(opening);
  if (!leg.ok()) {
    AMBIT_LOG_DEBUG("outbound {} -> {}: {}", plan.peer.ToString(), plan.original.ToString(),
                    leg.error().ToString());
    co_return std::nullopt;
  }
  co_return std::move(*leg);
}

}  // namespace ambit::hbone
