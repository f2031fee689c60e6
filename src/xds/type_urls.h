// xDS type URLs Ambit serves and consumes (docs/xds.md; as ztunnel's
// https://github.com/istio/ztunnel/blob/master/src/xds/types.rs).
#pragma once

#include <string_view>

namespace ambit::xds {

inline constexpr std::string_view kAddressTypeUrl = "type.googleapis.com/istio.workload.Address";
inline constexpr std::string_view kAuthorizationTypeUrl =
    "type.googleapis.com/istio.security.Authorization";

}  // namespace ambit::xds
