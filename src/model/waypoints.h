// Waypoint bindings (https://istio.io/latest/docs/ambient/usage/waypoint/): which Services
// and pods send their traffic through which waypoint.
//
//  - A waypoint is a Gateway with gatewayClassName istio-waypoint. The label
//    istio.io/waypoint-for on it says what it takes: service (default),
//    workload, all or none.
//  - istio.io/use-waypoint: <gateway name> on a Service (or pod) binds it;
//    failing that, the label on its Namespace does. The value "none" opts
//    out. istio.io/use-waypoint-namespace (beside it) names the Gateway's
//    namespace when it is not the resource's own.
//  - A binding holds only if the Gateway exists and takes that kind of
//    traffic (service for Services, workload for pods); otherwise there is
//    no waypoint (as Istio: the resource is reached directly).
//  - The waypoint's own Service and pods (label
//    gateway.networking.k8s.io/gateway-name, or gateway.istio.io/managed)
//    never get a waypoint.
// A binding is published as GatewayAddress{hostname{ns, <name>.<ns>.svc.<suffix>},
// hbone_mtls_port 15008}, istiod's form.
//
// Pure; thread-compatible.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/gateway.h"
#include "config/kube.h"

namespace ambit::model {

inline constexpr std::string_view kUseWaypointLabel = "istio.io/use-waypoint";
inline constexpr std::string_view kUseWaypointNamespaceLabel = "istio.io/use-waypoint-namespace";
inline constexpr std::string_view kWaypointForLabel = "istio.io/waypoint-for";
inline constexpr std::string_view kGatewayNameLabel = "gateway.networking.k8s.io/gateway-name";
inline constexpr std::string_view kManagedLabel = "gateway.istio.io/managed";
inline constexpr std::uint32_t kWaypointHbonePort = 15008;

enum class WaypointFor { kService, kWorkload, kAll, kNone };

// istio.io/waypoint-for of |gateway|; unknown values count as the default (service).
WaypointFor TrafficTypeOf(const config::Gateway& gateway);

struct WaypointBinding {
  std::string ns;    // the Gateway's namespace
  std::string name;  // the Gateway's name (= its Service's name)
  friend bool operator==(const WaypointBinding&, const WaypointBinding&) = default;
};

class WaypointIndex {
 public:
  // Non-waypoint Gateways are ignored. The pointers must outlive the index.
  explicit WaypointIndex(const std::vector<const config::Gateway*>& gateways);

  std::optional<WaypointBinding> ForService(const config::Service& service,
                                            const config::Labels& namespace_labels) const;
  std::optional<WaypointBinding> ForPod(const config::Pod& pod,
                                        const config::Labels& namespace_labels) const;

 private:
  std::optional<WaypointBinding> Resolve(const config::ObjectMeta& meta,
                                         const config::Labels& namespace_labels,
                                         bool service_traffic) const;
  std::map<std::pair<std::string, std::string>, const config::Gateway*> waypoints_;  // (ns, name)
};

}  // namespace ambit::model
