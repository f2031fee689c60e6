// DataPath: what ztunnel does with each connection accepted on a pod's
// listeners (docs/life-of-a-connection.md):
//
//  15001 outbound: original destination (SO_ORIGINAL_DST) -> route decision
//        from the current WorkloadState snapshot (hbone::DecideRoute) ->
//        HBONE through this loop's pool, presenting the pod's certificate,
//        from the pod's IP; or plain TCP from inside the pod's namespace for
//        destinations outside the mesh; or a reset (loops, unknown ports).
//        These steps are hbone::OutboundPath's (Plan, Open, Copy); DataPath
//        adds the certificate wait, telemetry and connection tracking.
//  15006 inbound plaintext: traffic from outside the mesh to the pod; L4
//        authorization (no peer identity: node/pod_authorizer.h), then connect
//        to the app inside the pod's namespace from the client's IP; denied
//        -> reset.
//  15008 HBONE: hbone::InboundServer with the pod's certificate and its
//        PodAuthorizer (denied CONNECT -> 401); each allowed CONNECT goes to
//        the app inside the pod's namespace from the client's IP.
// Open inbound connections (plaintext and HBONE streams) are watched through
// the pod's ConnectionTracker: a PolicyWatcher re-check closes the ones a new
// policy denies. A destination that requires its waypoint is refused while
// the waypoint has no ready pod (Options::waypoint_fail_open turns that off).
//
// A connection that arrives before the pod's certificate is fetched waits for
// it (up to cert_wait), then is reset if there is still none.
//
// Telemetry: every connection (outbound, inbound plaintext, each inbound
// HBONE stream) gets one telemetry::ConnectionRecord, its istio_tcp_* labels
// decided once when it is accepted, which counts it and writes its access
// line; HBONE counters (TLS connections, streams) come from hbone::Stats.
// Denials count in istio_tcp_connections_failed_total with
// response_flags="DENY" and log one access line naming the deciding policy.
//
// Threading: every connection lives on the worker loop that accepted it.
// Reading the configuration takes no lock (per-worker StateReader); counters
// are per-worker shards or relaxed atomics.
#pragma once

#include <asio/awaitable.hpp>
#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "net/wait_until.h"
#include "net/worker_pool.h"
#include "node/pod.h"
#include "telemetry/tcp_metrics.h"
#include "state/state_store.h"

namespace ambit::hbone {
class Stats;
class PoolSet;
}  // namespace ambit::hbone

namespace ambit::proxy {
class StateLookup;
}  // namespace ambit::proxy

namespace ambit::node {

class DataPath final : public PodTrafficHandler {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds cert_wait{5'000};
    std::string network;     // this node's network ("" = default)
    std::string cluster_id;  // telemetry labels
    // Connect to the app from the client's source IP (IP_TRANSPARENT; the
    // in-pod rules route the replies back). Off only in tests without them.
    bool preserve_source_ip = true;
    // HBONE port dialed on destinations (tests use another).
    std::uint16_t hbone_port = 15008;
    // Most streams (app connections) one pooled HBONE connection carries;
    // 1 = a TLS connection (full handshake) per app connection.
    std::size_t pool_max_streams = 100;
    // True once discovery has been received at least once. Until then an
    // outbound connection waits (up to cert_wait) and is then reset: an empty
    // state would route mesh destinations as plaintext passthrough. Empty =
    // always ready. |when_discovery_ready| is how the wait is woken
    // (net::WaitUntil's subscribe; e.g. DeltaAdsClient::WhenSynced).
    std::function<bool()> discovery_ready;
    net::WakeSubscriber when_discovery_ready;
    // Send a destination that requires its waypoint direct while the
    // waypoint is down (Istio's fallback) instead of refusing it.
    bool waypoint_fail_open = false;
    // Resolves the DNS name of an endpoint known only by hostname (a
    // ServiceEntry endpoint with resolution DNS) from inside the source pod's
    // namespace, preferring |v6| addresses; runs on the connection's loop.
    // Unset: such endpoints fail.
    std::function<asio::awaitable<Result<net::IpAddress>>(const Pod& pod, std::string hostname, bool v6)>
        resolve_hostname;
  };

  // Everything passed in must outlive the DataPath. L4 authorization follows
  // the policies in |state|.
  DataPath(net::WorkerPool& workers, const state::StateStore& state,
           telemetry::TcpMetrics& metrics, Options options);
  ~DataPath() override;

  // The pod's proxies (its HBONE inbound server); they serve the pod's three
  // listeners.
  Result<std::unique_ptr<PodTraffic>> Attach(const Pod& pod) override;

  // The "counters" section of /config_dump.
  void DumpCounters(nlohmann::json& out) const;
  // /config_dump "workers": one {index, connections, bytes} per worker loop
  // (see proxy::DumpWorkers). Safe from any thread.
  void DumpWorkers(nlohmann::json& out) const;
  // Closes every pooled HBONE connection (GOAWAY); call on shutdown, with the
  // worker loops still running.
  void ShutdownPools();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambit::node
