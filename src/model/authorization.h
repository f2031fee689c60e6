// Security policies for the node proxies: AuthorizationPolicy and
// PeerAuthentication lowered to istio.security.Authorization resources, the
// way istiod lowers them for ztunnel (istio/istio
// pilot/pkg/serviceregistry/ambient/authorization.go and policies.go;
// https://istio.io/latest/docs/ambient/usage/l4-policy/).
//
// AuthorizationPolicy -> one resource named "<namespace>/<name>":
//  - scope: no selector in the root namespace -> GLOBAL; no selector elsewhere
//    -> NAMESPACE; a selector -> WORKLOAD_SELECTOR, listed by key in the
//    authorization_policies of every matching workload of its namespace (a
//    root-namespace selector matches workloads of every namespace). A
//    selector without matchLabels selects nothing (as istiod; warned).
//  - rules: each Istio rule is one Rule whose clauses are, in order, the
//    `to` list (one Match per operation: ports/notPorts), the `from` list
//    (one Match per source: principals, namespaces, serviceAccounts,
//    ipBlocks and their not- forms) and one clause per `when` condition on
//    source.ip, source.namespace, source.principal, destination.ip or
//    destination.port. Strings: "*" presence, "x*" prefix, "*x" suffix,
//    else exact (principals are compared without "spiffe://").
//  - HTTP-only attributes (hosts, methods, paths, requestPrincipals,
//    remoteIpBlocks, any other `when` key) cannot be checked at L4: an ALLOW
//    rule using one is left out (matches nothing: an ALLOW policy left with
//    no rule denies everything it applies to); in a DENY rule those parts
//    become empty matches, so the rest is enforced, and a clause left with
//    nothing to match makes the rule never match (a DENY rule made only of
//    HTTP attributes has no effect). Each case is a warning naming the rule
//    and the fields.
//  - AUDIT and CUSTOM are not published (warned). The istio.io/dry-run
//    annotation sets dry_run.
//  - targetRefs policies are not ztunnel's. Those naming a waypoint Gateway
//    (class istio-waypoint) of their namespace are lowered the same way with
//    scope WORKLOAD_SELECTOR and listed on the Workloads of that waypoint's own
//    pods (and nothing else is listed there): the waypoint enforces exactly
//    the policies its own workload lists. targetRefs to a Service,
//    ServiceEntry or GatewayClass are not enforced yet (warned).
//
// PeerAuthentication (effective mode per workload: workload selector policy >
// namespace policy > root-namespace policy without selector; UNSET inherits;
// DISABLE acts as PERMISSIVE since HBONE is always mTLS; the oldest policy
// wins a tie, by creationTimestamp, then name):
//  - "<root>/istio_converted_static_strict" (DENY when no principal) is
//    published whenever any PeerAuthentication exists, and listed on every
//    workload whose effective mode is STRICT on all its ports;
//  - a workload policy (selector, outside the root namespace) with
//    portLevelMtls that makes some ports differ from its effective mode is
//    published as "<ns>/converted_peer_authentication_<name>" (DENY,
//    WORKLOAD_SELECTOR) and listed instead: for a STRICT base one Rule
//    {no principal AND port not p1 AND port not p2 ...}; for a PERMISSIVE base
//    one Rule {no principal, port p} per STRICT port. Port-level settings of
//    root-namespace policies are ignored (as Istio; warned).
//
// Waypoint fail-closed (an Ambit extension, see docs/authorization-policy.md):
// RequiresWaypoint() is true for a waypoint that some enforced (ALLOW or DENY,
// not dry-run) AuthorizationPolicy targets; with MeshSettings
// waypoint_fail_closed the ambient model then adds the Extension
// kWaypointRequiredExtension (no config) to every Service and Workload bound
// to it.
//
// Pure: the same input gives byte-identical resources. Thread-compatible.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/resource_key.h"
#include "istio/security/authorization.pb.h"
#include "model/ambient_input.h"
#include "model/waypoints.h"

namespace ambit::model {

inline constexpr std::string_view kStaticStrictPolicyName = "istio_converted_static_strict";
inline constexpr std::string_view kConvertedPeerAuthenticationPrefix = "converted_peer_authentication_";
inline constexpr std::string_view kDryRunAnnotation = "istio.io/dry-run";
inline constexpr std::string_view kWaypointRequiredExtension = "ambit.io/waypoint-required";

// Something about one policy that the user should know: a part that is not
// enforced, or enforced differently than written.
struct PolicyWarning {
  config::ResourceKey object;  // the AuthorizationPolicy or PeerAuthentication
  std::string message;         // one line

  // "AuthorizationPolicy ns/name: message".
  std::string ToString() const;
  friend bool operator==(const PolicyWarning&, const PolicyWarning&) = default;
};

class PolicyModel {
 public:
  // Lowers every policy of |input|. The input's pointers must outlive this.
  explicit PolicyModel(const AmbientInput& input);

  // Every Authorization to publish, by xDS resource name ("namespace/name").
  const std::map<std::string, istio::security::Authorization>& resources() const {
    return resources_;
  }
  // In policy order (AuthorizationPolicies, then PeerAuthentications).
  const std::vector<PolicyWarning>& warnings() const { return warnings_; }

  // Workload.authorization_policies for |pod|: for a waypoint's own pod the
  // keys of the policies targeting that waypoint; otherwise the keys of the
  // matching selector AuthorizationPolicies (sorted) followed by its
  // PeerAuthentication keys (sorted).
  std::vector<std::string> WorkloadPolicies(const config::Pod& pod) const;
  // The keys of the policies targeting |waypoint| (sorted): what its own
  // pods' workloads list.
  std::vector<std::string> WaypointPolicies(const WaypointBinding& waypoint) const;
  // The waypoint Gateway |pod| belongs to (label
  // gateway.networking.k8s.io/gateway-name naming a waypoint of its namespace).
  std::optional<WaypointBinding> WaypointOf(const config::Pod& pod) const;
  // True when an enforced AuthorizationPolicy targets |waypoint|.
  bool RequiresWaypoint(const WaypointBinding& waypoint) const;

 private:
  struct SelectorPolicy {
    std::string key;
    std::string ns;
    const config::Labels* labels = nullptr;
  };
  // A workload-level PeerAuthentication's lowering.
  struct PeerPolicy {
    const config::PeerAuthentication* pa = nullptr;
    bool strict_base = false;         // its effective mode without port overrides
    bool has_exceptions = false;      // some port differs: the converted policy is listed
  };

  void LowerAuthorizationPolicy(const config::AuthorizationPolicy& ap);
  void LowerPeerAuthentications(const std::vector<const config::PeerAuthentication*>& pas);
  void CheckPods(const std::vector<PodInput>& pods);
  // Effective STRICT-ness of the namespace/mesh level for workloads of |ns|.
  bool ParentStrict(const std::string& ns) const;
  // The workload-level PeerAuthentication that applies to |pod| (oldest match).
  const PeerPolicy* WorkloadPeerPolicy(const config::Pod& pod) const;
  void Warn(std::string_view kind, const config::ObjectMeta& meta, std::string message);

  MeshSettings mesh_;
  std::map<std::pair<std::string, std::string>, const config::Gateway*> gateways_;  // (ns, name)
  std::map<std::string, istio::security::Authorization> resources_;
  std::vector<PolicyWarning> warnings_;
  std::vector<SelectorPolicy> selector_policies_;
  // (gateway ns, name) -> keys of the policies targeting it, sorted.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> waypoint_policies_;
  std::set<std::pair<std::string, std::string>> required_waypoints_;
  // PeerAuthentication levels.
  const config::PeerAuthentication* mesh_peer_ = nullptr;
  std::map<std::string, const config::PeerAuthentication*> namespace_peer_;
  std::map<std::string, std::vector<PeerPolicy>> workload_peers_;  // by namespace, oldest first
  bool any_peer_authentication_ = false;
};

}  // namespace ambit::model
