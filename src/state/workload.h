// The ztunnel-side view of discovery resources: plain, validated copies of
// istio.workload.Workload / Service (see address_decode.h for the mapping).
//
// Value types; thread-compatible. Inside a published WorkloadState they are
// immutable and shared by every reader.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "identity/spiffe_id.h"

namespace ambit::state {

// The istio.workload.Extension name that marks a Service or Workload as
// reachable only through its waypoint: when the bound waypoint has no ready
// endpoint, ztunnel refuses the connection instead of sending it direct
// (Istio's fallback). Ambit's control plane sets it; see docs/ztunnel.md.
inline constexpr std::string_view kWaypointRequiredExtension = "ambit.io/waypoint-required";

enum class TunnelProtocol {
  kNone,   // plain TCP to the workload (not enrolled in the mesh)
  kHbone,  // HTTP/2 CONNECT over mTLS to port 15008
};

enum class WorkloadType { kDeployment, kCronJob, kPod, kJob };

// The application protocol a Service port declares (istio.workload.AppProtocol,
// from the port's appProtocol or name prefix as Istio selects it,
// https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/).
// A waypoint parses HTTP on kHttp11/kHttp2/kGrpc ports; kUnknown stays L4.
enum class AppProtocol { kUnknown, kHttp11, kHttp2, kGrpc };

// One frontend -> backend port pair. target_port 0 = "not known here".
// app_protocol is set on a Service's own ports (not on a workload's map).
struct PortMapping {
  uint16_t service_port = 0;
  uint16_t target_port = 0;
  AppProtocol app_protocol = AppProtocol::kUnknown;
  friend bool operator==(const PortMapping&, const PortMapping&) = default;
};

// A waypoint or gateway reference (kept for the route decision; Ambit's
// control plane does not emit waypoints yet).
struct GatewayRef {
  std::string service_key;     // "namespace/hostname", when named by hostname
  std::string network;         // when given as an address
  std::string address;         // packed IP, when given as an address
  uint16_t hbone_mtls_port = 0;
  friend bool operator==(const GatewayRef&, const GatewayRef&) = default;
};

// Where a workload runs (istio.workload.Locality; from the node's
// topology.kubernetes.io/region, zone and topology.istio.io/subzone labels).
struct Locality {
  std::string region;
  std::string zone;
  std::string subzone;
  friend bool operator==(const Locality&, const Locality&) = default;
};

// istio.workload.LoadBalancing: how a client's ztunnel chooses among a
// service's endpoints (https://github.com/istio/ztunnel/blob/master/src/state.rs,
// load_balance). kStandard: uniformly among the healthy ones. kFailover: only
// those matching the client on the longest prefix of routing_preference
// (falling back to the next best when none match more). kStrict: only those
// matching every scope, else none. kPassthrough (istiod's ServiceEntry with
// resolution NONE) is picked like kStandard here.
enum class LbScope : std::uint8_t { kRegion, kZone, kSubzone, kNode, kCluster, kNetwork };
enum class LbMode : std::uint8_t { kStandard, kStrict, kFailover, kPassthrough };
struct LoadBalancing {
  std::vector<LbScope> routing_preference;
  LbMode mode = LbMode::kStandard;
  bool allow_unhealthy = false;  // health_policy ALLOW_ALL
  friend bool operator==(const LoadBalancing&, const LoadBalancing&) = default;
};

struct Workload {
  std::string uid;                     // the xDS resource name
  std::string name;
  std::string ns;
  std::vector<std::string> addresses;  // packed IPs (4 or 16 bytes each); empty only with hostname
  // DNS name to resolve when connecting, for workloads known only by name
  // (e.g. a ServiceEntry endpoint with resolution DNS).
  std::string hostname;
  std::string network;                 // "" = default network
  TunnelProtocol tunnel_protocol = TunnelProtocol::kNone;
  std::string trust_domain;            // defaulted to cluster.local when the wire elides it
  std::string service_account;         // defaulted to "default" when the wire elides it
  std::string node;
  Locality locality;
  std::string canonical_name;
  std::string canonical_revision;
  WorkloadType workload_type = WorkloadType::kDeployment;
  std::string workload_name;
  std::string cluster_id;
  bool healthy = true;
  bool host_network = false;           // address shared with the host: not indexed by IP
  std::optional<GatewayRef> waypoint;
  // "namespace/hostname" -> the ports this workload serves for that service.
  std::map<std::string, std::vector<PortMapping>> services;
  std::vector<std::string> authorization_policies;  // "namespace/name" keys
  bool waypoint_required = false;      // extension kWaypointRequiredExtension

  identity::SpiffeId Identity() const {
    return identity::SpiffeId(trust_domain, ns, service_account);
  }
  friend bool operator==(const Workload&, const Workload&) = default;
};

struct ServiceVip {
  std::string network;  // "" = default network
  std::string address;  // packed IP
  friend bool operator==(const ServiceVip&, const ServiceVip&) = default;
};

struct Service {
  std::string name;
  std::string ns;
  std::string hostname;                  // e.g. reviews.default.svc.cluster.local
  std::vector<ServiceVip> vips;          // empty for a headless service
  std::vector<PortMapping> ports;        // target_port 0 = named; resolved per workload
  std::vector<std::string> subject_alt_names;
  std::optional<GatewayRef> waypoint;
  bool waypoint_required = false;        // extension kWaypointRequiredExtension
  std::optional<LoadBalancing> load_balancing;  // absent: kStandard, healthy only

  // The xDS resource name and the key workloads use in their services map.
  std::string Key() const { return ns + "/" + hostname; }
  friend bool operator==(const Service&, const Service&) = default;
};

}  // namespace ambit::state
