// Ztunnel: the whole node proxy process as one object, so apps/ztunnel/main
// stays a thin CLI and tests can run a real ztunnel in-process. What it shares
// with the waypoint (certificates, discovery, worker loops, the service loop
// and its servers) is a proxy::Runtime; this adds the pods, the data path,
// DNS, policy re-checks and the node agent.
//
// Threads (docs/threading.md):
//   - N worker loops (net::WorkerPool): every pod listener's connections,
//     HBONE pools, TLS and HTTP/2 — the data plane;
//   - one service loop: admin (15000), metrics (15020), readiness (15021) and
//     pod drain timers;
//   - the xDS client thread (gRPC delta ADS stream), the ZDS client thread
//     (node agent socket), the certificate scheduler and fetch threads.
// Readiness: not ready until the first xDS push of every type is applied
// ("xds") and the node agent's snapshot is reconciled on the current ZDS
// connection ("zds"); not ready again while draining.
//
// Thread-safety: Start/Shutdown from the owner; the rest is internal.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "net/socket_address.h"
#include "proxy/config.h"

namespace ambit::node {

struct ZtunnelConfig : proxy::ProxyConfig {
  std::string zds_socket;                 // node agent's ZDS socket path (required)
  std::string network;                    // "" = default network
  std::size_t pool_max_streams = 100;     // streams per pooled HBONE connection (>= 1)
  std::chrono::milliseconds drain{5000};  // per removed pod and on shutdown
  // How often memory left by bursts and closed connections is given back to
  // the OS (proxy::MemoryTrimmer); 0 = never.
  std::chrono::milliseconds memory_trim_period{10000};
  bool preserve_source_ip = true;         // IP_TRANSPARENT to apps on inbound
  std::uint16_t hbone_port = 15008;       // destination HBONE port (tests)
  // Send destinations marked "ambit.io/waypoint-required" direct while their
  // waypoint is down (Istio's fallback) instead of refusing them.
  bool waypoint_fail_open = false;
  // DNS proxy (docs/dns.md): per pod on 127.0.0.1/::1 |dns_port| in the pod's
  // namespace. Upstreams as "ip" or "ip:port"/"[v6]:port"; empty = the
  // nameservers of |resolv_conf| (ztunnel's own, as in Istio).
  bool dns_proxy = true;
  std::uint16_t dns_port = 15053;
  std::vector<std::string> dns_upstreams;
  std::string resolv_conf = "/etc/resolv.conf";
  std::string cluster_domain = "cluster.local";
  // The node's pods have IPv6 (Istio's IPV6_ENABLED): AAAA questions are
  // answered from IPv6 VIPs; false makes them NODATA.
  bool ipv6 = true;
};

class Ztunnel {
 public:
  // Starts every component; fails naming the one that could not start (e.g.
  // a port already bound). Connections to ambitd and the node agent are
  // retried in the background, so they need not be up yet.
  static Result<std::unique_ptr<Ztunnel>> Start(ZtunnelConfig config);
  ~Ztunnel();  // Shutdown(0) if not done

  // Drains (listeners close, open connections get |drain|, then are
  // aborted) and stops every thread. Idempotent.
  void Shutdown(std::chrono::milliseconds drain);

  // Calls |on_quit| (from the admin thread) for POST /quitquitquit.
  void SetQuitHandler(std::function<void()> on_quit);

  bool ready() const;
  net::SocketAddress admin_address() const;
  net::SocketAddress metrics_address() const;
  net::SocketAddress readiness_address() const;
  std::string ConfigDump() const;

  struct Impl;

 private:
  explicit Ztunnel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambit::node
