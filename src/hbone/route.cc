#include "hbone/route.h"

#include <algorithm>

namespace ambit::hbone {
namespace {

RouteDecision ToWorkload(const WorkloadTarget& w, std::uint16_t port, const RouteOptions& options) {
  RouteDecision d;
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

}  // namespace

RouteDecision DecideRoute(const net::SocketAddress& original_destination,
                          const DestinationLookup& lookup, std::uint64_t pick,
                          const RouteOptions& options) {
  if (auto service = lookup.FindService(original_destination)) {
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
    return ToWorkload(*workload, original_destination.port(), options);
  }
  RouteDecision d;
  d.kind = RouteDecision::Kind::kPassthrough;
  d.next_hop = original_destination;
  return d;
}

}  // namespace ambit::hbone
