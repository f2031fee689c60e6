#include "control/pod_node_authorizer.h"

namespace ambit::control {

bool PodNodeAuthorizer::PodWithIdentityOnNode(std::string_view node,
                                              const identity::SpiffeId& id) const {
  auto snap = store_->Snapshot();
  for (const auto* pod : snap->Pods()) {
    if (pod->spec.node_name == node && pod->metadata.ns == id.ns() &&
        pod->spec.service_account_name == id.service_account()) {
      return true;
    }
  }
  return false;
}

}  // namespace ambit::control
