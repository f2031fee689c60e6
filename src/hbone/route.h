// Outbound route decision: what to do with a captured connection, decided as
// a plain value before any I/O (docs/life-of-a-connection.md).
//
//   original destination is a service VIP:port -> pick an endpoint, map the
//       service port to its target port; HBONE if the endpoint is in the mesh
//   original destination is a workload IP       -> that workload
//   anything else                                -> passthrough (plain TCP)
// A destination with a waypoint (Service.waypoint when addressed by VIP,
// Workload.waypoint when addressed by pod IP) goes over HBONE to one of the
// waypoint's pods instead, keeping the original VIP:port (or pod IP:port) as
// the :authority so the waypoint picks the backend
// (https://istio.io/latest/docs/ambient/architecture/data-plane/).
// It goes direct when the waypoint cannot be resolved to a pod (as Istio: a
// missing waypoint is bypassed), when the connection comes from one of the
// waypoint's own pods (no loop), or when waypoints are off (the waypoint
// itself routes with use_waypoints = false).
// Fail closed: a destination marked waypoint_required (Ambit's
// "ambit.io/waypoint-required" extension) whose waypoint has no ready pod —
// or that names no waypoint at all — is rejected (waypoint_unavailable)
// instead of sent direct, unless RouteOptions::waypoint_fail_open.
// Mesh destinations get HBONE to <endpoint ip>:15008 with
// :authority <endpoint ip>:<target port> and the expected identities
// (the endpoint's SPIFFE id plus the service's extra SANs).
//
// The discovery state comes in through DestinationLookup (implemented over
// the xDS state by the node; a fake in tests). Thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hbone/ports.h"
#include "identity/spiffe_id.h"
#include "net/socket_address.h"

namespace ambit::hbone {

// A reference to a waypoint (istio.workload.GatewayAddress): by its Service
// ("namespace/hostname", istiod's usual form) or by address.
struct WaypointRef {
  std::string service_key;                // "" when given by address
  std::optional<net::IpAddress> address;  // when given by address
  std::uint16_t hbone_port = 0;  // GatewayAddress.hbone_mtls_port (0 = the default)
  friend bool operator==(const WaypointRef&, const WaypointRef&) = default;
};

struct WorkloadTarget {
  net::IpAddress ip;
  identity::SpiffeId identity;
  bool hbone = false;  // enrolled in the mesh (tunnel protocol HBONE)
  // Workload.waypoint (set only for waypoints that take workload traffic).
  std::optional<WaypointRef> waypoint = std::nullopt;
  bool waypoint_required = false;  // never reached direct when addressed by IP
  // Set for a workload known only by DNS name (|ip| is then unspecified).
  std::string hostname = std::string();
};

struct ServiceEndpoint {
  WorkloadTarget workload;
  std::uint16_t target_port = 0;  // the pod port this service port maps to
};

struct ServiceTarget {
  std::string hostname;                      // e.g. echo.default.svc.cluster.local
  // Healthy endpoints serving the port. DecideRoute takes
  // endpoints[pick % endpoints.size()]; a lookup that already chose with the
  // same |pick| (FindService) may return just that one.
  std::vector<ServiceEndpoint> endpoints;
  std::vector<identity::SpiffeId> extra_sans;  // Service.subject_alt_names
  std::optional<WaypointRef> waypoint = std::nullopt;  // Service.waypoint
  bool waypoint_required = false;  // never reached direct when addressed by VIP
};

// A waypoint resolved to the pods that run it.
struct WaypointTarget {
  std::vector<WorkloadTarget> pods;  // healthy waypoint pods; empty = none ready
  std::uint16_t hbone_port = 0;      // 0 = RouteOptions::hbone_port
  std::vector<identity::SpiffeId> extra_sans;  // the waypoint Service's subject_alt_names
};

// The route decision's view of discovery state. Implementations must be safe
// to call from every worker loop concurrently (e.g. read an immutable snapshot).
class DestinationLookup {
 public:
  virtual ~DestinationLookup() = default;
  // The service with VIP |vip.ip()| serving port |vip.port()|. |pick| is the
  // route decision's choice among the endpoints (see ServiceTarget::endpoints):
  // an implementation with many endpoints should return only the one
  // |pick| selects, so the cost per connection does not grow with them.
  virtual std::optional<ServiceTarget> FindService(const net::SocketAddress& vip,
                                                   std::uint64_t pick) const = 0;
  // Same, for a client at |source| (the downstream's IP), so that a service's
  // load balancing can prefer endpoints close to it (Service.load_balancing).
  // Default: the client is ignored.
  virtual std::optional<ServiceTarget> FindServiceFor(
      const net::SocketAddress& vip, std::uint64_t pick,
      const std::optional<net::IpAddress>& source) const {
    (void)source;
    return FindService(vip, pick);
  }
  // The workload that owns |ip|.
  virtual std::optional<WorkloadTarget> FindWorkload(const net::IpAddress& ip) const = 0;
  // The pods behind |ref|. Default: unknown (no waypoints).
  virtual std::optional<WaypointTarget> FindWaypoint(const WaypointRef& ref) const {
    (void)ref;
    return std::nullopt;
  }
};

struct RouteDecision {
  enum class Kind {
    kHbone,        // mTLS + CONNECT to next_hop
    kPassthrough,  // plain TCP to next_hop
    kReject,       // close the downstream connection
  };
  Kind kind = Kind::kReject;
  net::SocketAddress next_hop;         // where the TCP connection goes
  net::SocketAddress connect_target;   // HBONE :authority (kHbone only)
  std::vector<identity::SpiffeId> expected_identities;  // kHbone only, non-empty
  std::string service_hostname;        // for `forwarded: host=`, when via a service
  std::string reason;                  // kReject: why
  bool via_waypoint = false;           // kHbone to the destination's waypoint
  // kReject because the destination requires its waypoint and it has no
  // ready pod (fail closed).
  bool waypoint_unavailable = false;
  // Non-empty: the endpoint is known only by this DNS name; the caller
  // resolves it and puts the IP into next_hop (and connect_target for HBONE).
  std::string resolve_hostname;
};

struct RouteOptions {
  std::uint16_t hbone_port = kHbonePort;  // tests use an ephemeral port
  // Send destinations that have a waypoint to it. The waypoint's own
  // relay turns this off (it is the waypoint).
  bool use_waypoints = true;
  // The downstream's IP: when it is one of the destination waypoint's pods,
  // the connection goes direct (traffic from the waypoint is not looped back).
  std::optional<net::IpAddress> source_ip = std::nullopt;
  // Send a waypoint_required destination direct when its waypoint is down
  // (Istio's behaviour) instead of refusing it.
  bool waypoint_fail_open = false;
};

// |pick| chooses among service endpoints (e.g. a random number): endpoint
// index = pick % count. Deterministic for a given input.
RouteDecision DecideRoute(const net::SocketAddress& original_destination,
                          const DestinationLookup& lookup, std::uint64_t pick,
                          const RouteOptions& options = {});

}  // namespace ambit::hbone
