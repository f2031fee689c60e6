#include "authz/connection.h"

namespace ambit::authz {

Peer Peer::FromIdentity(const identity::SpiffeId& id) {
  return Peer{id.Principal(), id.ns(), id.service_account()};
}

}  // namespace ambit::authz
