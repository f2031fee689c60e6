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

class XdsPublisher {
 public:
  // |resources| must outlive this object.
  explicit XdsPublisher(xds::ResourceStore* resources) : resources_(resources) {}

  void Publish(const StoreState& state, const RuntimeView& view);

 private:
  xds::ResourceStore* resources_;
  std::string last_digest_;
};

}  // namespace ambit::control
