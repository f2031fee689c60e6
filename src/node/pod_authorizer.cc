#include "node/pod_authorizer.h"

#include "proxy/state_lookup.h"

namespace ambit::node {

namespace {

// A stream watched through the pod's tracker; unregisters when destroyed.
class TrackedWatch final : public hbone::AuthorizationWatch {
 public:
  explicit TrackedWatch(ConnectionTracker::Token token) : token_(std::move(token)) {}

 private:
  ConnectionTracker::Token token_;
};

}  // namespace

PodAuthorizer::PodAuthorizer(std::string pod_namespace,
                             std::shared_ptr<const proxy::StateLookup> lookup,
                             std::shared_ptr<ConnectionTracker> tracker)
    : pod_namespace_(std::move(pod_namespace)),
      lookup_(std::move(lookup)),
      tracker_(std::move(tracker)) {}

authz::Decision PodAuthorizer::Decide(const hbone::InboundRequestInfo& request) const {
  const authz::PeerView peer = authz::PeerView::Of(request.peer_identity, request.peer_principal);
  const proxy::InboundConnectionFacts facts{&peer, request.peer_address.ip(), request.target};
  std::shared_ptr<const state::WorkloadState> hold;
  return proxy::DecideInbound(lookup_->Current(hold), lookup_->network(), pod_namespace_, facts);
}

hbone::AuthorizationResult PodAuthorizer::Authorize(
    const hbone::InboundRequestInfo& request) const {
  const authz::Decision d = Decide(request);
  if (d.allowed()) return {};
  return {false, authz::DenialReason(d)};
}

std::unique_ptr<hbone::AuthorizationWatch> PodAuthorizer::Watch(
    const hbone::InboundRequestInfo& request, asio::any_io_executor executor, Revoke revoke) const {
  // The recheck runs on the stream's loop while the token is registered; the
  // token lives in the stream's frame (with |request|), and the server keeps
  // this authorizer alive while it serves streams.
  auto token =
      tracker_->Register(std::move(executor), {}, {}, [this, &request, revoke = std::move(revoke)] {
        const authz::Decision d = Decide(request);
        if (!d.allowed()) revoke(authz::DenialReason(d));
      });
  if (!token) return nullptr;  // the pod is draining: the session is going away
  return std::make_unique<TrackedWatch>(std::move(*token));
}

}  // namespace ambit::node
