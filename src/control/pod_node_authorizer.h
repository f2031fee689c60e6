// The CA's question "does a pod with this identity run on this node?", answered
// from the store: a Pod (bare or from a Deployment) in the identity's namespace,
// with the identity's service account, scheduled to the node. The trust domain
// is the CA's concern. Thread-safe (reads immutable store snapshots).
#pragma once

#include "ca/node_authorizer.h"
#include "control/store.h"

namespace ambit::control {

class PodNodeAuthorizer final : public ca::NodeAuthorizer {
 public:
  // |store| must outlive this object.
  explicit PodNodeAuthorizer(const Store* store) : store_(store) {}
  bool PodWithIdentityOnNode(std::string_view node, const identity::SpiffeId& id) const override;

 private:
  const Store* store_;
};

}  // namespace ambit::control
