// PolicyAudience: which istio.security.Authorization resources each proxy
// receives (ambitd's per-node filtering of the Authorization type):
//  - a node proxy (ztunnel) of node N: every GLOBAL policy, the NAMESPACE
//    policies of each namespace that has a workload on N, and every key that a
//    workload on N lists in authorization_policies;
//  - a waypoint proxy (its xDS node names the waypoint Gateway: NAMESPACE =
//    the Gateway's namespace, NAME = its name): exactly the keys its own pods'
//    workloads list (authorization.h puts the policies targeting it there).
// Built from the published model, so a policy becomes visible to a node the
// moment a workload there needs it (same model pass, pushed before the
// Address that lists it; see control/xds_publisher.h).
//
// Immutable once built; Visible() is thread-safe and does not allocate.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "istio/security/authorization.pb.h"

namespace ambit::model {

class PolicyAudience {
 public:
  // Registers a waypoint Gateway whose own workloads list |keys|: a proxy
  // naming it is served as that waypoint.
  void AddWaypoint(const std::string& ns, const std::string& name,
                   const std::vector<std::string>& keys);
  // A workload of namespace |ns| on |node| listing |keys|.
  void AddNodeWorkload(const std::string& node, const std::string& ns,
                       const std::vector<std::string>& keys);
  // Resolves scopes against the published |policies| (by xDS name). Call once,
  // after every Add*.
  void Finish(const std::map<std::string, istio::security::Authorization>& policies);

  // Whether the proxy (xDS metadata NODE_NAME |node|, NAMESPACE |proxy_ns|,
  // NAME |proxy_name|) receives the policy named |key|.
  bool Visible(std::string_view node, std::string_view proxy_ns, std::string_view proxy_name,
               std::string_view key) const;

  // For tests and debug output: what a node proxy / a waypoint receives.
  std::set<std::string> ForNode(std::string_view node) const;
  std::set<std::string> ForWaypoint(std::string_view ns, std::string_view name) const;

 private:
  using KeySet = std::set<std::string, std::less<>>;
  const KeySet* WaypointKeys(std::string_view ns, std::string_view name) const;

  KeySet global_;
  std::map<std::string, KeySet, std::less<>> node_keys_;
  std::map<std::string, std::set<std::string>, std::less<>> node_namespaces_;
  // ns -> gateway name -> keys.
  std::map<std::string, std::map<std::string, KeySet, std::less<>>, std::less<>> waypoint_keys_;
};

}  // namespace ambit::model
