// The L7 route tables ambitd serves to waypoints (ambit.route.v1.RouteTable,
// docs/xds.md), one per Service bound to a waypoint (istio.io/use-waypoint,
// waypoints.h), as Istio ambient applies routes at the waypoint
// (https://istio.io/latest/docs/ambient/usage/l7-features/):
//   - HTTPRoutes and GRPCRoutes with the Service as a parentRef (GAMMA) and
//     VirtualServices (mesh-bound) whose hosts name it, with DestinationRule
//     subsets, lowered by route/lower.h; the table holds the routes whose
//     hosts cover the Service's FQDN (exactly or by wildcard).
//   - When both Gateway API routes and VirtualServices cover one Service, the
//     Gateway API routes make its table and the VirtualService is reported as
//     not applied to that Service (Istio does not support mixing them).
//   - A route on a Service without a waypoint does nothing (as in ambient:
//     ztunnel does no L7); it is reported.
// Pure; thread-compatible.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ambit/route/v1/route.pb.h"
#include "config/diagnostic.h"
#include "model/ambient_input.h"
#include "model/waypoints.h"

namespace ambit::model {

struct RouteTableModel {
  // Service FQDN -> its table (Services with a waypoint and at least one route).
  std::map<std::string, ambit::route::v1::RouteTable> tables;
  // Service FQDN -> the waypoint that serves it (the table's only audience).
  std::map<std::string, WaypointBinding> audience;
  // The lowering's diagnostics (resource and field path) and the warnings above.
  std::vector<config::Diagnostic> diagnostics;

  // name -> message, for xds::ResourceStore::SetAll.
  std::map<std::string, const google::protobuf::Message*> MessageView() const;
};

RouteTableModel BuildRouteTables(const AmbientInput& input);

}  // namespace ambit::model
