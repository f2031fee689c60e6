// Feeds the ambient model (src/model) from the store and the reconciler's view
// and publishes the resulting istio.workload.Address set into the xDS resource
// store, which pushes only what changed to connected node proxies. Called on the
// reconciler thread after each pass; skips the model build when nothing the
// model reads (store generation, pods' IP/node/phase/readiness) changed.
#pragma once

#include <string>

#include "control/reconciler.h"
#include "control/store.h"

namespace ambit::xds {
class ResourceStore;
}

namespace ambit::control {

class MeshScope;

class XdsPublisher {
 public:
  // |resources| and |scope| must outlive this object. |scope| supplies the
  // mesh settings (discoverySelectors, revision, ...); null = defaults.
  explicit XdsPublisher(xds::ResourceStore* resources, MeshScope* scope = nullptr)
      : resources_(resources), scope_(scope) {}

  void Publish(const StoreState& state, const RuntimeView& view);

 private:
  xds::ResourceStore* resources_;
  MeshScope* scope_;
  std::string last_digest_;
};

}  // namespace ambit::control
