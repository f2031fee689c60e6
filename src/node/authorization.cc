#include "node/authorization.h"

#include "authz/compiled_policy.h"
#include "node/state_lookup.h"

namespace ambit::node {

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

namespace {

// A stream watched through the pod's tracker; unregisters when destroyed.
class TrackedWatch final : public hbone::AuthorizationWatch {
 public:
  explicit TrackedWatch(ConnectionTracker::Token token) : token_(std::move(token)) {}

 private:
  ConnectionTracker::Token token_;
};

}  // namespace

PodAuthorizer::PodAuthorizer(std::string pod_namespace, std::shared_ptr<const StateLookup> lookup,
                             std::shared_ptr<ConnectionTracker> tracker)
    : pod_namespace_(std::move(pod_namespace)),
      lookup_(std::move(lookup)),
      tracker_(std::move(tracker)) {}

authz::Decision PodAuthorizer::Decide(const hbone::InboundRequestInfo& request) const {
  const authz::PeerView peer = authz::PeerView::Of(request.peer_identity, request.peer_principal);
  const InboundConnectionFacts facts{&peer, request.peer_address.ip(), request.target};
  std::shared_ptr<const state::WorkloadState> hold;
  return DecideInbound(lookup_->Current(hold), lookup_->network(), pod_namespace_, facts);
}

hbone::AuthorizationResult PodAuthorizer::Authorize(const hbone::InboundRequestInfo& request) const {
  const authz::Decision d = Decide(request);
  if (d.allowed()) return {};
  return {false, authz::DenialReason(d)};
}

std::unique_ptr<hbone::AuthorizationWatch> PodAuthorizer::Watch(
    const hbone::InboundRequestInfo& request, asio::any_io_executor executor, Revoke revoke) const {
  // The recheck runs on the stream's loop while the token is registered; the
  // token lives in the stream's frame (with |request|), and the server keeps
  // this authorizer alive while it serves streams.
  auto token = tracker_->Register(
      std::move(executor), {}, {}, [this, &request, revoke = std::move(revoke)] {
        const authz::Decision d = Decide(request);
        if (!d.allowed()) revoke(authz::DenialReason(d));
      });
  if (!token) return nullptr;  // the pod is draining: the session is going away
  return std::make_unique<TrackedWatch>(std::move(*token));
}

}  // namespace ambit::node
