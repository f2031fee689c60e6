// Waypoint: the whole waypoint proxy process as one object, so
// apps/waypoint/main stays a thin CLI and tests can run a real waypoint
// in-process. This is the L4 slice of Istio's waypoint: it terminates HBONE
// on 15008 and relays each CONNECT addressed to a service (or workload) bound
// to it to one healthy endpoint over a new HBONE connection with its own
// identity (relay.h). Tunnels to a Service port declared HTTP/1.1 are parsed
// and each request routed by the Service's route table (http_proxy.h); no L7
// policy yet. Route tables come from ambitd as ambit.route.v1.RouteTable
// resources (route_updates.h) and are published into route_tables(); a
// Service without one gets Istio's default route.
//
// It learns workloads and services from ambitd's delta xDS (like ztunnel)
// and gets its certificate, spiffe://<td>/ns/<namespace>/sa/<service account>,
// from ambitd's CA with the credential of the node it runs on: what it shares
// with ztunnel is a proxy::Runtime (src/proxy); it does not link ztunnel
// (ambit_node).
//
// Threads (docs/threading.md): N worker loops (net::WorkerPool: the 15008
// listener's connections, TLS, HTTP/2, the per-loop upstream pools and the
// copy loops); one service loop (admin 127.0.0.1:15000 with /config_dump,
// metrics 15020, readiness 15021); the xDS client thread; the certificate
// scheduler and fetch threads.
// Readiness: not ready until the first xDS push of every type is applied
// ("xds") and the certificate is there ("certificate"); "draining" once
// shutdown starts.
//
// Thread-safety: Start/Shutdown from the owner; the rest is internal.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "net/socket_address.h"
#include "proxy/config.h"

namespace ambit::waypoint {

struct WaypointConfig : proxy::ProxyConfig {
  std::string name;             // the Gateway's name, e.g. "waypoint" (required)
  std::string ns;               // its namespace (required)
  std::string service_account;  // defaults to name (as istiod's deployment)
  std::string domain_suffix = "cluster.local";  // service hostname <name>.<ns>.svc.<suffix>
  net::SocketAddress hbone_address{net::IpAddress(), 15008};
  std::chrono::milliseconds connect_timeout{10'000};
  std::uint16_t hbone_port = 15008;  // HBONE port dialed on endpoints (tests)
};

class RouteTables;

class Waypoint {
 public:
  // Binds the side servers and 15008 and starts every component; fails
  // naming what could not start. ambitd is retried in the background.
  static Result<std::unique_ptr<Waypoint>> Start(WaypointConfig config);
  ~Waypoint();  // Shutdown(0) if not done

  // Stops accepting, sends GOAWAY on served connections, lets open streams
  // run up to |drain|, then stops every thread. Idempotent.
  void Shutdown(std::chrono::milliseconds drain);

  // Calls |on_quit| (from the admin thread) for POST /quitquitquit.
  void SetQuitHandler(std::function<void()> on_quit);

  bool ready() const;
  net::SocketAddress hbone_address() const;
  net::SocketAddress admin_address() const;
  net::SocketAddress metrics_address() const;
  net::SocketAddress readiness_address() const;
  std::string ConfigDump() const;
  // The route table of each Service, read by the HTTP path per request.
  RouteTables& route_tables();

  struct Impl;

 private:
  explicit Waypoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambit::waypoint
