#include "hbone/route.h"

#include <algorithm>

namespace ambit::hbone {
namespace {

RouteDecision ToWorkload(const WorkloadTarget& w, std::uint16_t port, const RouteOptions& options) {
  RouteDecision d;
  d.resolve_hostname = w.hostname;
  if (!w.hbone) {
    d.kind = RouteDecision::Kind::kPassthrough;
    d.next_hop = net::SocketAddress(w.ip, port);
    return d;
  }
  d.kind = RouteDecision::Kind::kHbone;
  d.next_hop = net::SocketAddress(w.ip, options.hbone_port);
  d.connect_target = net::SocketAddress(w.ip, port);
  d.expected_identities.push_back(w.identity);
  return d;
}

std::string Describe(const WaypointRef& ref) {
  if (!ref.service_key.empty()) return ref.service_key;
  return ref.address.has_value() ? ref.address->ToString() : std::string("(unnamed)");
}

// A refusal of a destination that must go through its waypoint.
RouteDecision WaypointUnavailable(const std::string& destination,
                                  const std::optional<WaypointRef>& ref) {
  RouteDecision d;
  d.kind = RouteDecision::Kind::kReject;
  d.waypoint_unavailable = true;
  d.reason = ref.has_value()
                 ? destination + " requires its waypoint " + Describe(*ref) +
                       ", which has no ready endpoint"
                 : destination + " requires a waypoint but none is bound";
  return d;
}

// HBONE to one of |ref|'s pods with the original destination as :authority,
// or nullopt to go direct (waypoints off, unresolvable, or we come from it).
// |unavailable| is set when there is a waypoint to use but no pod to use.
std::optional<RouteDecision> ViaWaypoint(const std::optional<WaypointRef>& ref,
                                         const net::SocketAddress& original_destination,
                                         const DestinationLookup& lookup, std::uint64_t pick,
                                         const RouteOptions& options, bool& unavailable) {
  unavailable = false;
  if (!options.use_waypoints) return std::nullopt;
  if (!ref.has_value()) {
    unavailable = true;
    return std::nullopt;
  }
  std::optional<WaypointTarget> waypoint = lookup.FindWaypoint(*ref);
  if (!waypoint.has_value() || waypoint->pods.empty()) {
    unavailable = true;
    return std::nullopt;
  }
  if (options.source_ip.has_value()) {
    for (const WorkloadTarget& pod : waypoint->pods) {
      if (pod.ip == *options.source_ip) return std::nullopt;
    }
  }
  const WorkloadTarget& pod = waypoint->pods[pick % waypoint->pods.size()];
  RouteDecision d;
  d.kind = RouteDecision::Kind::kHbone;
  d.via_waypoint = true;
  d.next_hop = net::SocketAddress(pod.ip, waypoint->hbone_port != 0 ? waypoint->hbone_port
                                                                    : options.hbone_port);
  d.connect_target = original_destination;
  d.expected_identities.push_back(pod.identity);
  for (const auto& san : waypoint->extra_sans) {
    if (std::find(d.expected_identities.begin(), d.expected_identities.end(), san) ==
        d.expected_identities.end()) {
      d.expected_identities.push_back(san);
    }
  }
  return d;
}

}  // namespace

RouteDecision DecideRoute(const net::SocketAddress& original_destination,
                          const DestinationLookup& lookup, std::uint64_t pick,
                          const RouteOptions& options) {
  bool unavailable = false;
  if (auto service = lookup.FindServiceFor(original_destination, pick, options.source_ip)) {
    if (auto via = ViaWaypoint(service->waypoint, original_destination, lookup, pick, options,
                               unavailable)) {
      via->service_hostname = service->hostname;
      return *std::move(via);
    }
    if (unavailable && service->waypoint_required && !options.waypoint_fail_open) {
      return WaypointUnavailable("service " + service->hostname, service->waypoint);
    }
    if (service->endpoints.empty()) {
      RouteDecision d;
      d.kind = RouteDecision::Kind::kReject;
      d.reason = "service " + service->hostname + " has no healthy endpoint for port " +
                 std::to_string(original_destination.port());
      return d;
    }
    const ServiceEndpoint& ep = service->endpoints[pick % service->endpoints.size()];
    const std::uint16_t port = ep.target_port != 0 ? ep.target_port : original_destination.port();
    RouteDecision d = ToWorkload(ep.workload, port, options);
    d.service_hostname = service->hostname;
    if (d.kind == RouteDecision::Kind::kHbone) {
      for (const auto& san : service->extra_sans) {
        if (std::find(d.expected_identities.begin(), d.expected_identities.end(), san) ==
            d.expected_identities.end()) {
          d.expected_identities.push_back(san);
        }
      }
    }
    return d;
  }
  if (auto workload = lookup.FindWorkload(original_destination.ip())) {
    if (auto via = ViaWaypoint(workload->waypoint, original_destination, lookup, pick, options,
                               unavailable)) {
      return *std::move(via);
    }
    if (unavailable && workload->waypoint_required && !options.waypoint_fail_open) {
      return WaypointUnavailable("workload " + original_destination.ip().ToString(),
                                 workload->waypoint);
    }
    return ToWorkload(*workload, original_destination.port(), options);
  }
  RouteDecision d;
  d.kind = RouteDecision::Kind::kPassthrough;
  d.next_hop = original_destination;
  return d;
}

}  // namespace ambit::hbone
