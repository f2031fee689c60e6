// Which pods join the mesh: the one copy of the enrollment rules, used by the
// ambient model (Workload.tunnel_protocol) and by ambitd's node agents
// (whether a pod's traffic is captured), so the two can never disagree.
// In order (Istio ambient, https://istio.io/latest/docs/ambient/usage/add-workloads/):
//  - a namespace outside meshConfig.discoverySelectors, or labelled
//    istio.io/rev for a revision this control plane does not serve, is not
//    managed: its pods are neither captured nor published (Istio captures but
//    does not publish them, istio/istio#54969; Ambit does neither);
//  - a pod labelled istio.io/rev for another revision is not captured;
//  - pod label istio.io/dataplane-mode=none opts the pod out;
//  - pods with a sidecar (annotation sidecar.istio.io/status) or set up for
//    injection (pod label sidecar.istio.io/inject=true, or namespace label
//    istio-injection=enabled unless the pod says inject=false) are left alone;
//  - host-network pods are never captured;
//  - otherwise istio.io/dataplane-mode=ambient on the pod or, failing that, on
//    its namespace enrolls it.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string_view>

#include "config/kube.h"
#include "model/ambient_input.h"

namespace ambit::model {

inline constexpr std::string_view kDataplaneModeLabel = "istio.io/dataplane-mode";
inline constexpr std::string_view kSidecarInjectLabel = "sidecar.istio.io/inject";
inline constexpr std::string_view kSidecarStatusAnnotation = "sidecar.istio.io/status";
inline constexpr std::string_view kNamespaceInjectionLabel = "istio-injection";

enum class Enrollment {
  kEnroll,          // capture this pod
  kNotAmbient,      // neither pod nor namespace asks for ambient
  kOptedOut,        // pod label dataplane-mode=none
  kSidecar,         // has or will get a sidecar
  kHostNetwork,     // shares the node's network namespace
  kNotDiscovered,   // namespace outside meshConfig.discoverySelectors
  kOtherRevision,   // namespace or pod labelled istio.io/rev for another revision
};
std::string_view ToString(Enrollment decision);

// The labels and facts the decision reads.
struct EnrollmentInput {
  const config::Labels* namespace_labels = nullptr;  // required
  const config::Labels* pod_labels = nullptr;        // required
  const config::Labels* pod_annotations = nullptr;   // required
  bool host_network = false;
};

Enrollment DecideEnrollment(const MeshSettings& mesh, const EnrollmentInput& input);
Enrollment DecideEnrollment(const MeshSettings& mesh, const config::Labels& namespace_labels,
                            const config::Pod& pod);

// Whether the control plane manages namespace |labels| at all (selectors and
// revision): unmanaged namespaces get no Workload or Service in xDS.
bool IsManagedNamespace(const MeshSettings& mesh, const config::Labels& namespace_labels);

bool IsHostNetwork(const config::Pod& pod);

// The pod's own DNS capture setting: annotation ambient.istio.io/dns-capture
// (https://istio.io/latest/docs/reference/config/annotations/#AmbientDnsCapture)
// when it holds a boolean as Go's strconv.ParseBool reads it (1/t/T/TRUE/true/
// True, 0/f/F/FALSE/false/False); nullopt otherwise (the node default applies).
inline constexpr std::string_view kDnsCaptureAnnotation = "ambient.istio.io/dns-capture";
std::optional<bool> DnsCaptureAnnotation(const config::Labels& pod_annotations);

}  // namespace ambit::model
