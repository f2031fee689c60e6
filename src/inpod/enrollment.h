// Which pods join the mesh, from labels and annotations alone (pure function).
// The cluster store / informer supplies the labels; NodeAgent's policy calls
// this. Rules (DESIGN.md §1, Istio ambient):
//   - pod label istio.io/dataplane-mode=none opts the pod out;
//   - pods with a sidecar (annotation sidecar.istio.io/status), or set up for
//     injection (pod label sidecar.istio.io/inject=true, or namespace label
//     istio-injection=enabled unless the pod says inject=false) are left alone;
//   - host-network pods cannot be captured;
//   - otherwise pod label istio.io/dataplane-mode=ambient, or the same label
//     on the namespace, enrolls the pod (the pod's label wins).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace ambit::inpod {

using Labels = std::map<std::string, std::string>;

inline constexpr std::string_view kDataplaneModeLabel = "istio.io/dataplane-mode";
inline constexpr std::string_view kSidecarInjectLabel = "sidecar.istio.io/inject";
inline constexpr std::string_view kSidecarStatusAnnotation = "sidecar.istio.io/status";
inline constexpr std::string_view kNamespaceInjectionLabel = "istio-injection";

struct EnrollmentInput {
  Labels pod_labels;
  Labels pod_annotations;
  Labels namespace_labels;
  bool host_network = false;
};

enum class Enrollment {
  kEnroll,       // capture this pod
  kNotAmbient,   // neither pod nor namespace asks for ambient
  kOptedOut,     // pod label dataplane-mode=none
  kSidecar,      // has or will get a sidecar
  kHostNetwork,  // shares the node's network namespace
};

Enrollment DecideEnrollment(const EnrollmentInput& input);
std::string_view ToString(Enrollment decision);

}  // namespace ambit::inpod
