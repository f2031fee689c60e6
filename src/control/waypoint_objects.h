// What ambitd runs for a waypoint Gateway (gatewayClassName istio-waypoint),
// as istiod does from its waypoint template
// (https://github.com/istio/istio/blob/master/manifests/charts/istio-control/istio-discovery/files/waypoint.yaml):
// a Deployment "<name>" (1 replica) and a Service "<name>" (port 15008
// "mesh"), both owned by the Gateway. The pod runs as service account
// <name> and carries the waypoint labels, among them
// istio.io/dataplane-mode=none: waypoint pods are not captured by ztunnel.
//
// Pure; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "config/gateway.h"
#include "config/kube.h"

namespace ambit::control {

struct WaypointObjects {
  config::Deployment deployment;
  config::Service service;
};

// |argv|: the waypoint proxy's command line (program first).
WaypointObjects BuildWaypointObjects(const config::Gateway& gateway, std::vector<std::string> argv);

// True if |meta| names |gateway_name| as its owning Gateway.
bool OwnedByGateway(const config::ObjectMeta& meta, const std::string& gateway_name);

}  // namespace ambit::control
