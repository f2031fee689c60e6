#include "proxy/authorization.h"

#include "authz/compiled_policy.h"
#include "proxy/state_lookup.h"

namespace ambit::proxy {

authz::Decision DecideInbound(const state::WorkloadState& state, std::string_view network,
                              std::string_view fallback_namespace,
                              const InboundConnectionFacts& facts) {
  const authz::PolicyIndex& index = state.policy_index();
  if (index.size() == 0) {
    return {authz::Verdict::kAllow, authz::DecisionReason::kNoAllowPolicies, {}};
  }
  const auto conn = authz::PreparedConnection::Prepare(facts.peer, facts.source,
                                                       facts.destination.ip(),
                                                       facts.destination.port());
  const state::Workload* workload =
      state.FindWorkloadByAddress(network, PackedFromIp(facts.destination.ip()));
  if (workload == nullptr) {
    // Not a known address: one lookup of the namespace, nothing listed.
    return authz::PolicyIndex::Evaluate(index.ScopedPolicies(fallback_namespace),
                                        authz::PolicyIndex::EmptySet(), conn);
  }
  const state::WorkloadState::WorkloadPolicies* resolved = state.FindWorkloadPolicies(*workload);
  if (resolved == nullptr) {  // not reached: every workload of a snapshot with policies has one
    return index.Evaluate(workload->ns, workload->authorization_policies, conn);
  }
  return authz::PolicyIndex::Evaluate(*resolved->scoped, *resolved->listed, conn);
}

authz::Decision DecideAtWaypoint(const state::WorkloadState& state, std::string_view network,
                                 const net::IpAddress& self, const InboundConnectionFacts& facts) {
  const authz::PolicyIndex& index = state.policy_index();
  const state::Workload* workload = index.size() == 0 ? nullptr
                                        : state.FindWorkloadByAddress(network, PackedFromIp(self));
  if (workload == nullptr || workload->authorization_policies.empty()) {
    return {authz::Verdict::kAllow, authz::DecisionReason::kNoAllowPolicies, {}};
  }
  const auto conn = authz::PreparedConnection::Prepare(facts.peer, facts.source,
                                                       facts.destination.ip(),
                                                       facts.destination.port());
  const state::WorkloadState::WorkloadPolicies* resolved = state.FindWorkloadPolicies(*workload);
  if (resolved == nullptr) {  // not reached (see DecideInbound)
    return index.EvaluateListed(workload->authorization_policies, conn);
  }
  return authz::PolicyIndex::Evaluate(authz::PolicyIndex::EmptySet(), *resolved->listed, conn);
}

std::string RejectionError(std::string_view denial_reason) {
  return "connection closed due to policy rejection: " + std::string(denial_reason);
}

std::string LateRejectionError(std::string_view denial_reason) {
  return "connection closed due to policy change: " + std::string(denial_reason);
}

}  // namespace ambit::proxy
