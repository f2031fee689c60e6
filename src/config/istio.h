// Istio kinds: security.istio.io AuthorizationPolicy, PeerAuthentication,
// RequestAuthentication; networking.istio.io VirtualService, DestinationRule,
// ServiceEntry.
//
// Value types; thread-compatible. `spec` is the validated spec tree exactly as
// written (field names and types checked against the Istio API, unknown fields
// rejected) and is what ToJson writes back; the typed members are read from it
// for convenience and must not be edited independently.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/meta.h"

namespace ambit::config {

// A policy targetRef / targetRefs entry (istio.type.v1beta1.PolicyTargetReference).
struct PolicyTargetRef {
  std::string group;  // "" for core (Service)
  std::string kind;   // Gateway, GatewayClass, Service, ServiceEntry
  std::string name;
  std::string ns;     // optional "namespace"; empty = the policy's namespace
  friend bool operator==(const PolicyTargetRef&, const PolicyTargetRef&) = default;
};

struct AuthorizationPolicy {
  static constexpr std::string_view kKind = "AuthorizationPolicy";
  static constexpr bool kNamespaced = true;
  std::string api_version;        // security.istio.io/v1 or v1beta1
  ObjectMeta metadata;
  nlohmann::json spec;            // object
  // Typed views of spec:
  std::optional<Labels> selector;              // selector.matchLabels, when present
  std::vector<PolicyTargetRef> target_refs;    // targetRef and targetRefs, in order
  std::string action = "ALLOW";                // ALLOW, DENY, AUDIT, CUSTOM
  friend bool operator==(const AuthorizationPolicy&, const AuthorizationPolicy&) = default;
};

struct PeerAuthentication {
  static constexpr std::string_view kKind = "PeerAuthentication";
  static constexpr bool kNamespaced = true;
  std::string api_version;
  ObjectMeta metadata;
  nlohmann::json spec;
  std::optional<Labels> selector;
  std::string mtls_mode = "UNSET";                    // UNSET, DISABLE, PERMISSIVE, STRICT
  std::map<uint32_t, std::string> port_level_mtls;    // port -> mode
  friend bool operator==(const PeerAuthentication&, const PeerAuthentication&) = default;
};

struct RequestAuthentication {
  static constexpr std::string_view kKind = "RequestAuthentication";
  static constexpr bool kNamespaced = true;
  std::string api_version;
  ObjectMeta metadata;
  nlohmann::json spec;
  std::optional<Labels> selector;
  std::vector<PolicyTargetRef> target_refs;
  friend bool operator==(const RequestAuthentication&, const RequestAuthentication&) = default;
};

struct VirtualService {
  static constexpr std::string_view kKind = "VirtualService";
  static constexpr bool kNamespaced = true;
  std::string api_version;        // networking.istio.io/v1, v1beta1 or v1alpha3
  ObjectMeta metadata;
  nlohmann::json spec;
  std::vector<std::string> hosts;
  std::vector<std::string> gateways;
  std::vector<std::string> export_to;
  friend bool operator==(const VirtualService&, const VirtualService&) = default;
};

struct DestinationRuleSubset {
  std::string name;
  Labels labels;
  friend bool operator==(const DestinationRuleSubset&, const DestinationRuleSubset&) = default;
};

struct DestinationRule {
  static constexpr std::string_view kKind = "DestinationRule";
  static constexpr bool kNamespaced = true;
  std::string api_version;
  ObjectMeta metadata;
  nlohmann::json spec;
  std::string host;
  std::vector<DestinationRuleSubset> subsets;
  std::vector<std::string> export_to;
  friend bool operator==(const DestinationRule&, const DestinationRule&) = default;
};

struct ServiceEntryPort {
  uint32_t number = 0;   // 1-65535
  std::string protocol;  // HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP, TLS (as written; may be empty)
  std::string name;
  uint32_t target_port = 0;  // 0 = same as number
  friend bool operator==(const ServiceEntryPort&, const ServiceEntryPort&) = default;
};

struct ServiceEntry {
  static constexpr std::string_view kKind = "ServiceEntry";
  static constexpr bool kNamespaced = true;
  std::string api_version;
  ObjectMeta metadata;
  nlohmann::json spec;
  std::vector<std::string> hosts;
  std::vector<std::string> addresses;
  std::vector<ServiceEntryPort> ports;
  std::string location = "MESH_EXTERNAL";  // MESH_EXTERNAL, MESH_INTERNAL
  std::string resolution = "NONE";         // NONE, STATIC, DNS, DNS_ROUND_ROBIN
  std::optional<Labels> workload_selector;  // workloadSelector.labels
  std::vector<std::string> export_to;
  friend bool operator==(const ServiceEntry&, const ServiceEntry&) = default;
};

}  // namespace ambit::config
