// A DestinationRule's load balancing policy, as the waypoint enforces it
// (Istio's trafficPolicy.loadBalancer,
// https://istio.io/latest/docs/reference/config/networking/destination-rule/#LoadBalancerSettings).
// Lowered by ambitd from the DestinationRule that applies to a backend's
// host (the subset's trafficPolicy replacing the top-level one), carried per
// backend in the route table and applied by waypoint::PickEndpoint.
#pragma once

#include <cstdint>
#include <string>

namespace ambit::route {

struct LoadBalancer {
  // loadBalancer.simple (used when `hash` is kNone).
  enum class Simple : std::uint8_t { kRoundRobin, kLeastRequest, kRandom };
  // loadBalancer.consistentHash: what the request's hash is taken from.
  enum class Hash : std::uint8_t { kNone, kHeader, kQueryParameter, kSourceIp, kCookie };

  Simple simple = Simple::kRoundRobin;  // Istio's default
  Hash hash = Hash::kNone;
  // kHeader: the header name (lower-case); kQueryParameter: the parameter
  // name; kCookie: the cookie name. Empty for kNone and kSourceIp.
  std::string hash_key{};

  friend bool operator==(const LoadBalancer&, const LoadBalancer&) = default;
};

}  // namespace ambit::route
