// L4 authorization where traffic arrives (Istio's AuthorizationPolicy as
// ztunnel enforces it: assert_rbac, https://github.com/istio/ztunnel/blob/master/src/state.rs):
//
//   connection = {peer identity (from the verified client certificate; none
//                 for plaintext), source IP, destination IP, destination port}
//   ztunnel:  the destination workload is the one owning the destination IP;
//             its namespace's, the global and its own listed policies apply
//             (authz::PolicyIndex::Evaluate). A destination address the state
//             does not know is decided with the global policies and those of
//             the pod's namespace.
//   waypoint: only the policies its own workload (its pod IP) lists apply,
//             i.e. those that target the waypoint
//             (authz::PolicyIndex::EvaluateListed).
//
// Decisions read the snapshot's PolicyIndex and the destination workload's
// policies resolved into it when the snapshot was built
// (WorkloadState::FindWorkloadPolicies); on a worker loop they take no lock,
// allocate nothing and look no policy up by name.
//
// node::PodAuthorizer (src/node/pod_authorizer.h) applies the ztunnel decision
// to a pod's HBONE server; the waypoint's relay applies DecideAtWaypoint.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "authz/decision.h"
#include "authz/connection.h"
#include "net/socket_address.h"
#include "state/workload_state.h"

namespace ambit::proxy {

// What a decision about one inbound connection looks at.
struct InboundConnectionFacts {
  const authz::PeerView* peer = nullptr;  // null: no identity (plaintext)
  net::IpAddress source;
  net::SocketAddress destination;         // the address the client asked for
};

// ztunnel's decision for |facts| (see the file comment). |fallback_namespace|:
// the namespace of the pod the connection arrived at.
authz::Decision DecideInbound(const state::WorkloadState& state, std::string_view network,
                              std::string_view fallback_namespace,
                              const InboundConnectionFacts& facts);

// A waypoint's decision: the policies listed by its own workload, the one
// owning |self| (none when the state does not know it: allowed).
authz::Decision DecideAtWaypoint(const state::WorkloadState& state, std::string_view network,
                                 const net::IpAddress& self, const InboundConnectionFacts& facts);

// Ztunnel's access-log error texts (https://github.com/istio/ztunnel/blob/master/src/proxy.rs
// Error): a refused connection and one closed by a later policy change, each
// followed by authz::DenialReason ("explicitly denied by: ns/name" or "allow
// policies exist, but none allowed").
std::string RejectionError(std::string_view denial_reason);
std::string LateRejectionError(std::string_view denial_reason);

}  // namespace ambit::proxy
