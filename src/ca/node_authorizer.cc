#include "ca/node_authorizer.h"

namespace ambit::ca {

InMemoryNodeAuthorizer::Key InMemoryNodeAuthorizer::MakeKey(std::string_view node,
                                                            const identity::SpiffeId& id) {
  return {std::string(node), id.ns() + "/" + id.service_account()};
}

void InMemoryNodeAuthorizer::Add(std::string_view node, const identity::SpiffeId& id) {
  std::lock_guard lock(mu_);
  entries_.insert(MakeKey(node, id));
}

void InMemoryNodeAuthorizer::Remove(std::string_view node, const identity::SpiffeId& id) {
  std::lock_guard lock(mu_);
  entries_.erase(MakeKey(node, id));
}

bool InMemoryNodeAuthorizer::PodWithIdentityOnNode(std::string_view node,
                                                   const identity::SpiffeId& id) const {
  std::lock_guard lock(mu_);
  return entries_.count(MakeKey(node, id)) != 0;
}

}  // namespace ambit::ca
