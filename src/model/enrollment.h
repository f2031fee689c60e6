// Which pods ztunnel captures (reference/ztunnel.md §3, DESIGN.md §1):
//  - pod label istio.io/dataplane-mode=none opts the pod out;
//  - pods with a sidecar (label sidecar.istio.io/inject=true, annotation
//    sidecar.istio.io/status, or namespace label istio-injection=enabled unless
//    the pod says sidecar.istio.io/inject=false) are left alone;
//  - host-network pods are never captured;
//  - otherwise istio.io/dataplane-mode=ambient on the pod or, failing that, on
//    its namespace enrolls it.
// Pure functions; thread-safe.
#pragma once

#include <string_view>

#include "config/kube.h"

namespace ambit::model {

inline constexpr std::string_view kDataplaneModeLabel = "istio.io/dataplane-mode";

bool IsHostNetwork(const config::Pod& pod);
bool IsAmbientEnrolled(const config::Labels& namespace_labels, const config::Pod& pod);

}  // namespace ambit::model
