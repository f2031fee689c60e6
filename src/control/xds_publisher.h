// Feeds the ambient model (src/model) from the store and the reconciler's view
// and publishes its result into the xDS resource store, which pushes only what
// changed to connected proxies: the istio.security.Authorization set first,
// then the istio.workload.Address set, so a proxy holds a policy before any
// workload lists it, then the ambit.route.v1.RouteTable set (one table per
// waypoint-bound Service, model/route_tables.h; each sent only to its waypoint). When a filter is given, the model's policy audience is
// installed in it before either set changes (per-node filtering of policies).
// Policy warnings are logged when they change.
//
// Called on the reconciler thread after each pass; skips the model build when
// nothing the model reads (store generation, pods' IP/node/phase/readiness)
// changed.
#pragma once

#include <string>
#include <vector>

#include "control/policy_filter.h"
#include "control/reconciler.h"
#include "control/store.h"
#include "model/ambient_input.h"

namespace ambit::xds {
class ResourceStore;
}

namespace ambit::control {

class MeshScope;

class XdsPublisher {
 public:
  // |resources| (and |scope| and |filter|, which may be null) must outlive
  // this object. |scope| supplies the mesh settings (discoverySelectors,
  // revision, root namespace, ...; null = defaults).
  explicit XdsPublisher(xds::ResourceStore* resources, MeshScope* scope = nullptr,
                        PolicyAudienceFilter* filter = nullptr)
      : resources_(resources), scope_(scope), filter_(filter) {}

  void Publish(const StoreState& state, const RuntimeView& view);

 private:
  xds::ResourceStore* resources_;
  MeshScope* scope_;
  PolicyAudienceFilter* filter_;
  std::string last_digest_;
  std::vector<std::string> last_policy_warnings_;
  std::vector<std::string> last_route_warnings_;
};

}  // namespace ambit::control
