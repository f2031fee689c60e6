// Lowering of the traffic-management kinds (config/gateway.h, config/istio.h)
// into route rules (route/route.h), ready for route::Compile.
//
//   - HTTPRoutes and GRPCRoutes with Service parentRefs (GAMMA,
//   https://gateway-api.sigs.k8s.io/mesh/)
//     -> one RouteRules with Gateway API precedence; the route applies to each
//     parent Service's host (<name>.<namespace>.svc.<domain>), on the parent's
//     port when parentRefs[].port is set. Parents of other kinds (ingress
//     Gateways) are not mesh routing and are left to their own consumer.
//   - VirtualServices bound to the mesh (no `gateways`, or "mesh" among them)
//     -> one RouteRules in first-match order; short host names resolve in the
//     VirtualService's namespace as Istio does
//     (https://istio.io/latest/docs/reference/config/networking/virtual-service/#VirtualService);
//     DestinationRules resolve `subset`s.
//
// Pure functions of their input. Problems become diagnostics naming the
// resource and field path (e.g. spec.http[0].route[1].destination.subset):
// errors for what cannot be honoured as written (the rule is dropped, or the
// backend kept with its weight and answered with an error status, as the APIs
// require), warnings for fields that are accepted but not enforced by the
// route table. Inputs are assumed validated by config's schemas.
#pragma once

#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/gateway.h"
#include "config/istio.h"
#include "route/retry.h"  // IstioDefaultRetry
#include "route/route.h"

namespace ambit::route {

struct LowerOptions {
  std::string domain_suffix = "cluster.local";
};

struct Lowered {
  RouteRules rules;
  std::vector<config::Diagnostic> diagnostics;
};

Lowered LowerHttpRoutes(const std::vector<config::HttpRoute>& routes,
                        const LowerOptions& options = {});

// HTTPRoutes and GRPCRoutes together (one table per mesh, ordered across both
// kinds by age). A GRPCRoute method match becomes a path match on
// "/<service>/<method>": exact, the service's prefix, or a regex; a match
// without a method has no path condition and ranks below every method match.
Lowered LowerGatewayRoutes(const std::vector<config::HttpRoute>& http_routes,
                           const std::vector<config::GrpcRoute>& grpc_routes,
                           const LowerOptions& options = {});

Lowered LowerVirtualServices(const std::vector<config::VirtualService>& services,
                             const std::vector<config::DestinationRule>& destination_rules,
                             const LowerOptions& options = {});

// DestinationRule trafficPolicy.loadBalancer as the waypoint enforces it
// (https://istio.io/latest/docs/reference/config/networking/destination-rule/#LoadBalancerSettings):
// `simple` ROUND_ROBIN (also UNSPECIFIED and PASSTHROUGH, which the support
// table reports as not enforced), LEAST_REQUEST (and its deprecated alias
// LEAST_CONN), RANDOM; `consistentHash` by httpHeaderName (lower-cased),
// httpQueryParameterName, useSourceIp or httpCookie.name. Null or absent:
// Istio's default, round robin.
LoadBalancer LowerLoadBalancer(const nlohmann::json& load_balancer);

// Sets every backend's load_balancer in |rules| (route backends, not
// mirrors) from the DestinationRule for its host: the oldest one, as for
// subsets; its subset's trafficPolicy.loadBalancer when the backend names a
// subset that sets one, else the top-level trafficPolicy.loadBalancer (Istio
// replaces the top-level policy field by field with the subset's).
void ApplyDestinationRuleLoadBalancing(
    RouteRules& rules, const std::vector<config::DestinationRule>& destination_rules,
    const LowerOptions& options = {});

}  // namespace ambit::route
