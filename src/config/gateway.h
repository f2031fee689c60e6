// Gateway API kinds (gateway.networking.k8s.io v1/v1beta1): Gateway, HTTPRoute,
// GRPCRoute.
//
// Value types; thread-compatible. As for the Istio kinds, `spec` is the validated
// tree as written and the typed members are read-only views of it. Waypoints are
// Gateways with gatewayClassName "istio-waypoint"
// (https://istio.io/latest/docs/ambient/usage/waypoint/).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/meta.h"

namespace ambit::config {

inline constexpr std::string_view kWaypointGatewayClass = "istio-waypoint";

struct GatewayListener {
  std::string name;
  std::string hostname;  // empty = any
  uint32_t port = 0;     // 1-65535
  std::string protocol;  // HTTP, HTTPS, TLS, TCP, UDP, HBONE, ...
  friend bool operator==(const GatewayListener&, const GatewayListener&) = default;
};

struct Gateway {
  static constexpr std::string_view kKind = "Gateway";
  static constexpr bool kNamespaced = true;
  std::string api_version;
  ObjectMeta metadata;
  nlohmann::json spec;
  std::string gateway_class_name;
  std::vector<GatewayListener> listeners;
  bool IsWaypoint() const { return gateway_class_name == kWaypointGatewayClass; }
  friend bool operator==(const Gateway&, const Gateway&) = default;
};

// A route's parentRefs entry. Defaults as in the Gateway API: group
// "gateway.networking.k8s.io", kind "Gateway"; a mesh (GAMMA) parent is
// group "" kind "Service".
struct ParentRef {
  std::string group = "gateway.networking.k8s.io";
  std::string kind = "Gateway";
  std::string ns;  // empty = the route's namespace
  std::string name;
  std::string section_name;
  std::optional<uint32_t> port;
  friend bool operator==(const ParentRef&, const ParentRef&) = default;
};

struct HttpRoute {
  static constexpr std::string_view kKind = "HTTPRoute";
  static constexpr bool kNamespaced = true;
  std::string api_version;
  ObjectMeta metadata;
  nlohmann::json spec;
  std::vector<ParentRef> parent_refs;
  std::vector<std::string> hostnames;
  friend bool operator==(const HttpRoute&, const HttpRoute&) = default;
};

struct GrpcRoute {
  static constexpr std::string_view kKind = "GRPCRoute";
  static constexpr bool kNamespaced = true;
  std::string api_version;
  ObjectMeta metadata;
  nlohmann::json spec;
  std::vector<ParentRef> parent_refs;
  std::vector<std::string> hostnames;
  friend bool operator==(const GrpcRoute&, const GrpcRoute&) = default;
};

}  // namespace ambit::config
