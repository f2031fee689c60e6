// Outbound route decision: what to do with a captured connection, decided as
// a plain value before any I/O (reference/ztunnel.md §1.2, DESIGN.md §3 step 3).
//
//   original destination is a service VIP:port -> pick an endpoint, map the
//       service port to its target port; HBONE if the endpoint is in the mesh
//   original destination is a workload IP       -> that workload
//   anything else                                -> passthrough (plain TCP)
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

struct WorkloadTarget {
  net::IpAddress ip;
  identity::SpiffeId identity;
  bool hbone = false;  // enrolled in the mesh (tunnel protocol HBONE)
};

struct ServiceEndpoint {
  WorkloadTarget workload;
  std::uint16_t target_port = 0;  // the pod port this service port maps to
};

struct ServiceTarget {
  std::string hostname;                      // e.g. echo.default.svc.cluster.local
  std::vector<ServiceEndpoint> endpoints;    // healthy endpoints serving the port
  std::vector<identity::SpiffeId> extra_sans;  // Service.subject_alt_names
};

// The route decision's view of discovery state. Implementations must be safe
// to call from every worker loop concurrently (e.g. read an immutable snapshot).
class DestinationLookup {
 public:
  virtual ~DestinationLookup() = default;
  // The service with VIP |vip.ip()| serving port |vip.port()|.
  virtual std::optional<ServiceTarget> FindService(const net::SocketAddress& vip) const = 0;
  // The workload that owns |ip|.
  virtual std::optional<WorkloadTarget> FindWorkload(const net::IpAddress& ip) const = 0;
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
};

struct RouteOptions {
  std::uint16_t hbone_port = kHbonePort;  // tests use an ephemeral port
};

// |pick| chooses among service endpoints (e.g. a random number): endpoint
// index = pick % count. Deterministic for a given input.
RouteDecision DecideRoute(const net::SocketAddress& original_destination,
                          const DestinationLookup& lookup, std::uint64_t pick,
                          const RouteOptions& options = {});

}  // namespace ambit::hbone
