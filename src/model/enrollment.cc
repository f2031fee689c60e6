#include "model/enrollment.h"

#include "config/mesh_config.h"

namespace ambit::model {
namespace {

bool Is(const config::Labels& labels, std::string_view key, std::string_view value) {
  auto it = labels.find(std::string(key));
  return it != labels.end() && it->second == value;
}

}  // namespace

std::string_view ToString(Enrollment decision) {
  switch (decision) {
    case Enrollment::kEnroll:
      return "enroll";
    case Enrollment::kNotAmbient:
      return "not ambient";
    case Enrollment::kOptedOut:
      return "opted out (istio.io/dataplane-mode=none)";
    case Enrollment::kSidecar:
      return "sidecar pod";
    case Enrollment::kHostNetwork:
      return "host network";
    case Enrollment::kNotDiscovered:
      return "namespace outside meshConfig.discoverySelectors";
    case Enrollment::kOtherRevision:
      return "istio.io/rev names another revision";
  }
  return "unknown";
}

bool IsManagedNamespace(const MeshSettings& mesh, const config::Labels& namespace_labels) {
  return config::ScopeOfNamespace(mesh.discovery_selectors, mesh.revision, namespace_labels) ==
         config::NamespaceScope::kManaged;
}

Enrollment DecideEnrollment(const MeshSettings& mesh, const EnrollmentInput& in) {
  const config::Labels& ns = *in.namespace_labels;
  const config::Labels& pod = *in.pod_labels;
  switch (config::ScopeOfNamespace(mesh.discovery_selectors, mesh.revision, ns)) {
    case config::NamespaceScope::kNotSelected:
      return Enrollment::kNotDiscovered;
    case config::NamespaceScope::kOtherRevision:
      return Enrollment::kOtherRevision;
    case config::NamespaceScope::kManaged:
      break;
  }
  const std::string_view served = mesh.revision.empty() ? config::kDefaultRevision : mesh.revision;
  if (config::RequestedRevision(ns, &pod) != served) return Enrollment::kOtherRevision;
  if (Is(pod, kDataplaneModeLabel, "none")) return Enrollment::kOptedOut;
  const bool has_sidecar = in.pod_annotations->contains(std::string(kSidecarStatusAnnotation));
  const bool pod_inject = Is(pod, kSidecarInjectLabel, "true");
  const bool namespace_inject =
      Is(ns, kNamespaceInjectionLabel, "enabled") && !Is(pod, kSidecarInjectLabel, "false");
  if (has_sidecar || pod_inject || namespace_inject) return Enrollment::kSidecar;
  if (in.host_network) return Enrollment::kHostNetwork;
  if (Is(pod, kDataplaneModeLabel, "ambient")) return Enrollment::kEnroll;
  if (Is(ns, kDataplaneModeLabel, "ambient")) return Enrollment::kEnroll;
  return Enrollment::kNotAmbient;
}

Enrollment DecideEnrollment(const MeshSettings& mesh, const config::Labels& namespace_labels,
                            const config::Pod& pod) {
  return DecideEnrollment(mesh, EnrollmentInput{&namespace_labels, &pod.metadata.labels,
                                                &pod.metadata.annotations, IsHostNetwork(pod)});
}

bool IsHostNetwork(const config::Pod& pod) {
  const auto& extra = pod.spec.extra;
  if (!extra.is_object()) return false;
  auto it = extra.find("hostNetwork");
  return it != extra.end() && it->is_boolean() && it->get<bool>();
}

std::optional<bool> DnsCaptureAnnotation(const config::Labels& pod_annotations) {
  auto it = pod_annotations.find(std::string(kDnsCaptureAnnotation));
  if (it == pod_annotations.end()) return std::nullopt;
  const std::string& v = it->second;
  if (v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "true" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "false" || v == "False") return false;
  return std::nullopt;
}

}  // namespace ambit::model
