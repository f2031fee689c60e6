// The wire form of a route table: ambit.route.v1.RouteTable
// (api/ambit/route/v1/route.proto), one xDS resource per Service FQDN.
//
//   ambit::route::v1::RouteTable msg = route::EncodeRouteTable(rules);   // ambitd
//   Result<RouteRules> rules = route::DecodeRouteTable(name, msg);       // waypoint
//
// Decode checks every field's range and enum (what the wire can carry that the
// value types cannot hold); route::Compile then checks the semantics (regexes,
// paths, outcomes). Errors (kInvalidArgument) name the resource and the field:
// "RouteTable 'reviews.default.svc.cluster.local': routes[0].matches[1].port:
// 70000 is not a port (0-65535)". Pure functions; thread-compatible.
#pragma once

#include <string>
#include <string_view>

#include "ambit/route/v1/route.pb.h"
#include "core/result.h"
#include "route/route.h"

namespace ambit::route {

// The type URL of the resource in xDS.
inline constexpr std::string_view kRouteTableTypeUrl =
    "type.googleapis.com/ambit.route.v1.RouteTable";

// Every field of |rules| (Compile's outputs — compiled regexes, total_weight —
// are not carried).
ambit::route::v1::RouteTable EncodeRouteTable(const RouteRules& rules);

// The rules in |table|, the resource named |name| (a Service FQDN, used in
// errors). Decode(Encode(r)) == r for every r Compile accepts.
Result<RouteRules> DecodeRouteTable(std::string_view name,
                                    const ambit::route::v1::RouteTable& table);

// Parses the serialized message (an xDS resource's Any value) and decodes it.
Result<RouteRules> DecodeRouteTableBytes(std::string_view name, std::string_view bytes);

}  // namespace ambit::route
