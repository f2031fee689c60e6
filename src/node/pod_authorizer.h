// PodAuthorizer: the hbone::Authorizer of one pod's HBONE server. It decides
// each CONNECT with ztunnel's rule (proxy::DecideInbound, see
// src/proxy/authorization.h) and watches allowed streams through the pod's
// ConnectionTracker, so a policy change (PolicyWatcher) decides them again on
// their own loop and revokes the ones now denied.
//
// Thread-safety: immutable; safe from every worker loop.
#pragma once

#include <memory>
#include <string>

#include "hbone/inbound_server.h"
#include "node/connection_tracker.h"
#include "proxy/authorization.h"

namespace ambit::proxy {
class StateLookup;
}

namespace ambit::node {

class PodAuthorizer final : public hbone::Authorizer {
 public:
  // |pod_namespace|: the fallback namespace (see proxy::DecideInbound).
  // |tracker|:
  // the pod's connections, where allowed streams are watched.
  PodAuthorizer(std::string pod_namespace, std::shared_ptr<const proxy::StateLookup> lookup,
                std::shared_ptr<ConnectionTracker> tracker);

  // The CONNECT target is the destination; the TCP source of the HBONE
  // connection is the source (the client pod, or a waypoint).
  hbone::AuthorizationResult Authorize(const hbone::InboundRequestInfo& request) const override;
  std::unique_ptr<hbone::AuthorizationWatch> Watch(const hbone::InboundRequestInfo& request,
                                                   asio::any_io_executor executor,
                                                   Revoke revoke) const override;

 private:
  authz::Decision Decide(const hbone::InboundRequestInfo& request) const;

  std::string pod_namespace_;
  std::shared_ptr<const proxy::StateLookup> lookup_;
  std::shared_ptr<ConnectionTracker> tracker_;
};

}  // namespace ambit::node
