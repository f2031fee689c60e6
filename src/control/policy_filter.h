// PolicyAudienceFilter: the xDS node filter (xds/node_filter.h) that sends
// each proxy only the istio.security.Authorization resources it needs, as
// decided by the latest model pass (model/policy_audience.h), and each
// ambit.route.v1.RouteTable only to the waypoint serving its Service
// (model/route_tables.h: the proxy's pod namespace/name is the waypoint
// Gateway's). Every other type is sent in full.
//
// The audience is swapped in by the publisher before it changes the store, so
// the push that store change triggers already sees it; a delta session
// re-checks visibility on every push and removes what is no longer visible.
//
// Thread-safe: Set() from the publisher, Visible() from any stream's writer.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "model/policy_audience.h"
#include "model/waypoints.h"
#include "xds/node_filter.h"

namespace ambit::control {

class PolicyAudienceFilter final : public xds::NodeResourceFilter {
 public:
  // Until the first Set(), no proxy receives any Authorization.
  PolicyAudienceFilter() : audience_(std::make_shared<const model::PolicyAudience>()) {}

  void Set(std::shared_ptr<const model::PolicyAudience> audience);
  // Service FQDN -> the waypoint that receives its route table. Until the
  // first call, no proxy receives any RouteTable.
  using RouteAudience = std::map<std::string, model::WaypointBinding, std::less<>>;
  void SetRouteAudience(std::shared_ptr<const RouteAudience> audience);

  bool Visible(const xds::ProxyNode& node, std::string_view type_url,
               const xds::VersionedResource& resource) const override;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const model::PolicyAudience> audience_;  // guarded by mu_; never null
  std::shared_ptr<const RouteAudience> routes_ =
      std::make_shared<const RouteAudience>();  // guarded; never null
};

}  // namespace ambit::control
