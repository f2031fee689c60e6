#include "waypoint/relay_decision.h"

#include <algorithm>

namespace ambit::waypoint {
namespace {

std::string_view Authority(const h2::Headers& headers) {
  for (const auto& h : headers) {
    if (h.name == ":authority") return h.value;
  }
  return {};
}

std::string Describe(const std::optional<hbone::WaypointRef>& ref) {
  if (!ref.has_value()) return "no waypoint";
  if (!ref->service_key.empty()) return "waypoint " + ref->service_key;
  return ref->address.has_value() ? "waypoint at " + ref->address->ToString() : "a waypoint";
}

}  // namespace

bool WaypointSelf::Serves(const hbone::WaypointRef& ref) const {
  if (!ref.service_key.empty()) return ref.service_key == service_key;
  return ref.address.has_value() &&
         std::find(addresses.begin(), addresses.end(), *ref.address) != addresses.end();
}

RelayDecision DecideRelay(const h2::Headers& headers, const hbone::DestinationLookup& lookup,
                          const WaypointSelf& self, std::uint64_t pick,
                          hbone::RouteOptions options) {
  // The generic CONNECT checks (method, authority, self-call ports, and the
  // forwarded/traceparent/baggage parsing). Its "target must be our own IP"
  // rule is ztunnel's; a waypoint's targets are other addresses, so the
  // target itself stands in for the local IP.
  auto parsed = net::SocketAddress::Parse(Authority(headers));
  hbone::InboundContext context{parsed.ok() ? parsed->ip() : net::IpAddress()};
  hbone::ConnectDecision connect = hbone::DecideConnect(headers, context);
  if (auto* rejected = std::get_if<hbone::RejectedConnect>(&connect)) {
    return RelayRefusal{rejected->status, rejected->reason};
  }
  auto& accepted = std::get<hbone::AcceptedConnect>(connect);
  const net::SocketAddress target = accepted.target;
  options.use_waypoints = false;

  if (auto service = lookup.FindService(target, pick)) {
    if (!service->waypoint.has_value() || !self.Serves(*service->waypoint)) {
      return RelayRefusal{400, "service " + service->hostname + " (" + target.ToString() +
                                   ") is bound to " + Describe(service->waypoint) +
                                   ", not to this waypoint (" + self.service_key + ")"};
    }
    hbone::RouteDecision route = hbone::DecideRoute(target, lookup, pick, options);
    if (route.kind == hbone::RouteDecision::Kind::kReject) {
      return RelayRefusal{503, route.reason};
    }
    return RelayRoute{std::move(route), target, "service " + service->hostname,
                      std::move(accepted)};
  }
  if (auto workload = lookup.FindWorkload(target.ip())) {
    if (!workload->waypoint.has_value() || !self.Serves(*workload->waypoint)) {
      return RelayRefusal{400, "workload " + target.ip().ToString() + " (" +
                                   workload->identity.ToString() + ") is bound to " +
                                   Describe(workload->waypoint) + ", not to this waypoint (" +
                                   self.service_key + ")"};
    }
    hbone::RouteDecision route = hbone::DecideRoute(target, lookup, pick, options);
    if (route.kind == hbone::RouteDecision::Kind::kReject) {
      return RelayRefusal{503, route.reason};
    }
    return RelayRoute{std::move(route), target, "workload " + target.ip().ToString(),
                      std::move(accepted)};
  }
  return RelayRefusal{503, "unknown destination " + target.ToString() +
                               ": neither a service VIP nor a workload address"};
}

}  // namespace ambit::waypoint
