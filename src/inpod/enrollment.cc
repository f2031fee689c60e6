#include "inpod/enrollment.h"

namespace ambit::inpod {
namespace {

const std::string* Find(const Labels& labels, std::string_view key) {
  auto it = labels.find(std::string(key));
  return it == labels.end() ? nullptr : &it->second;
}

bool Is(const Labels& labels, std::string_view key, std::string_view value) {
  const std::string* v = Find(labels, key);
  return v != nullptr && *v == value;
}

}  // namespace

Enrollment DecideEnrollment(const EnrollmentInput& in) {
  if (Is(in.pod_labels, kDataplaneModeLabel, "none")) return Enrollment::kOptedOut;
  const bool has_sidecar = Find(in.pod_annotations, kSidecarStatusAnnotation) != nullptr;
  const bool pod_inject = Is(in.pod_labels, kSidecarInjectLabel, "true");
  const bool namespace_inject = Is(in.namespace_labels, kNamespaceInjectionLabel, "enabled") &&
                                !Is(in.pod_labels, kSidecarInjectLabel, "false");
  if (has_sidecar || pod_inject || namespace_inject) return Enrollment::kSidecar;
  if (in.host_network) return Enrollment::kHostNetwork;
  if (Is(in.pod_labels, kDataplaneModeLabel, "ambient")) return Enrollment::kEnroll;
  if (Is(in.namespace_labels, kDataplaneModeLabel, "ambient")) return Enrollment::kEnroll;
  return Enrollment::kNotAmbient;
}

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
  }
  return "unknown";
}

}  // namespace ambit::inpod
