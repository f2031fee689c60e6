// NodeAuthorizer: the CA's question to the cluster state, "does a pod running
// with this identity (namespace + service account) exist on this node?".
//
// A node proxy may only obtain certificates for identities of pods on its own
// node (Istio's node authorizer). The cluster store implements this from its
// pod index; InMemoryNodeAuthorizer serves tests and simple setups.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "identity/spiffe_id.h"

namespace ambit::ca {

class NodeAuthorizer {
 public:
  virtual ~NodeAuthorizer() = default;
  // Must be thread-safe: called concurrently from gRPC handler threads.
  virtual bool PodWithIdentityOnNode(std::string_view node, const identity::SpiffeId& id) const = 0;
};

// A set of (node, identity) pairs. Thread-safe.
class InMemoryNodeAuthorizer final : public NodeAuthorizer {
 public:
  void Add(std::string_view node, const identity::SpiffeId& id);
  void Remove(std::string_view node, const identity::SpiffeId& id);
  bool PodWithIdentityOnNode(std::string_view node, const identity::SpiffeId& id) const override;

 private:
  // Key: (node, "ns/sa"). The trust domain is the CA's concern, not the pod index's.
  using Key = std::pair<std::string, std::string>;
  static Key MakeKey(std::string_view node, const identity::SpiffeId& id);

  mutable std::mutex mu_;
  std::set<Key> entries_;
};

}  // namespace ambit::ca
