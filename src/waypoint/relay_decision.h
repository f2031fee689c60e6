// What the waypoint does with one CONNECT it received, decided as a plain
// value before any I/O (docs/waypoint.md;
// https://istio.io/latest/docs/ambient/architecture/data-plane/).
//
//   not CONNECT, bad :authority              -> 400
//   target port is 15001/15006/15008         -> 503 (would loop)
//   authority is a service VIP:port
//     whose Service.waypoint is this one     -> relay to one healthy endpoint
//     bound to another waypoint or none      -> 400 (not served here)
//     with no healthy endpoint               -> 503
//   authority is a workload IP:port
//     whose Workload.waypoint is this one    -> relay to that workload
//     otherwise                              -> 400 (not served here)
//   anything else                            -> 503 (unknown destination)
// A relay is an hbone::RouteDecision computed with waypoints off (the
// waypoint never sends to itself): HBONE to the endpoint's node ztunnel
// (<pod ip>:15008, :authority <pod ip>:<target port>, expected identity the
// endpoint's), or plain TCP for an endpoint outside the mesh.
//
// Pure; thread-compatible (the lookup must be safe to call concurrently).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "h2/headers.h"
#include "hbone/connect_request.h"
#include "hbone/route.h"
#include "net/socket_address.h"

namespace ambit::waypoint {

// Which waypoint this process is: the Service istiod-style GatewayAddresses
// name ("namespace/hostname"), and optionally its own pod addresses (for
// GatewayAddresses given by address).
struct WaypointSelf {
  std::string service_key;
  std::vector<net::IpAddress> addresses;

  bool Serves(const hbone::WaypointRef& ref) const;
};

struct RelayRoute {
  hbone::RouteDecision route;      // kHbone or kPassthrough
  net::SocketAddress target;       // the :authority received
  std::string destination;         // "service <hostname>" or "workload <ip>", for logs
  hbone::AcceptedConnect request;  // forwarded/traceparent/baggage as received
};

struct RelayRefusal {
  int status;          // 400 or 503
  std::string reason;  // for the log line; not sent to the peer
};

using RelayDecision = std::variant<RelayRoute, RelayRefusal>;

// |pick| chooses among endpoints (endpoint index = pick % count).
// |options.use_waypoints| is ignored (always off here).
RelayDecision DecideRelay(const h2::Headers& headers, const hbone::DestinationLookup& lookup,
                          const WaypointSelf& self, std::uint64_t pick,
                          hbone::RouteOptions options = {});

}  // namespace ambit::waypoint
