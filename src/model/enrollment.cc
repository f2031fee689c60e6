#include "model/enrollment.h"

namespace ambit::model {
namespace {

std::string_view Get(const config::Labels& labels, std::string_view key) {
  auto it = labels.find(std::string(key));
  return it == labels.end() ? std::string_view() : std::string_view(it->second);
}

bool HasSidecar(const config::Labels& namespace_labels, const config::Pod& pod) {
  const auto& labels = pod.metadata.labels;
  std::string_view inject = Get(labels, "sidecar.istio.io/inject");
  if (inject == "true") return true;
  if (pod.metadata.annotations.contains("sidecar.istio.io/status")) return true;
  return Get(namespace_labels, "istio-injection") == "enabled" && inject != "false";
}

}  // namespace

bool IsHostNetwork(const config::Pod& pod) {
  const auto& extra = pod.spec.extra;
  if (!extra.is_object()) return false;
  auto it = extra.find("hostNetwork");
  return it != extra.end() && it->is_boolean() && it->get<bool>();
}

bool IsAmbientEnrolled(const config::Labels& namespace_labels, const config::Pod& pod) {
  std::string_view pod_mode = Get(pod.metadata.labels, kDataplaneModeLabel);
  if (pod_mode == "none") return false;
  if (HasSidecar(namespace_labels, pod) || IsHostNetwork(pod)) return false;
  if (pod_mode == "ambient") return true;
  return Get(namespace_labels, kDataplaneModeLabel) == "ambient";
}

}  // namespace ambit::model
