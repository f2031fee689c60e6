#include "model/waypoints.h"

namespace ambit::model {
namespace {

const std::string* Label(const config::Labels& labels, std::string_view key) {
  auto it = labels.find(std::string(key));
  return it == labels.end() ? nullptr : &it->second;
}

bool IsWaypointItself(const config::ObjectMeta& meta) {
  return Label(meta.labels, kGatewayNameLabel) != nullptr ||
         Label(meta.labels, kManagedLabel) != nullptr;
}

}  // namespace

WaypointFor TrafficTypeOf(const config::Gateway& gateway) {
  const std::string* v = Label(gateway.metadata.labels, kWaypointForLabel);
  if (v == nullptr) return WaypointFor::kService;
  if (*v == "workload") return WaypointFor::kWorkload;
  if (*v == "all") return WaypointFor::kAll;
  if (*v == "none") return WaypointFor::kNone;
  return WaypointFor::kService;
}

WaypointIndex::WaypointIndex(const std::vector<const config::Gateway*>& gateways) {
  for (const config::Gateway* gw : gateways) {
    if (gw->IsWaypoint()) waypoints_[{gw->metadata.ns, gw->metadata.name}] = gw;
  }
}

std::optional<WaypointBinding> WaypointIndex::Resolve(const config::ObjectMeta& meta,
                                                      const config::Labels& namespace_labels,
                                                      bool service_traffic) const {
  if (IsWaypointItself(meta)) return std::nullopt;
  // The resource's own label wins over its namespace's; "none" opts out.
  const config::Labels* source = &meta.labels;
  const std::string* name = Label(meta.labels, kUseWaypointLabel);
  if (name == nullptr) {
    source = &namespace_labels;
    name = Label(namespace_labels, kUseWaypointLabel);
  }
  if (name == nullptr || name->empty() || *name == "none") return std::nullopt;
  const std::string* ns = Label(*source, kUseWaypointNamespaceLabel);
  WaypointBinding binding{ns != nullptr && !ns->empty() ? *ns : meta.ns, *name};
  auto it = waypoints_.find({binding.ns, binding.name});
  if (it == waypoints_.end()) return std::nullopt;
  const WaypointFor takes = TrafficTypeOf(*it->second);
  const bool accepted = takes == WaypointFor::kAll ||
                        (service_traffic ? takes == WaypointFor::kService
                                         : takes == WaypointFor::kWorkload);
  if (!accepted) return std::nullopt;
  return binding;
}

std::optional<WaypointBinding> WaypointIndex::ForService(
    const config::Service& service, const config::Labels& namespace_labels) const {
  return Resolve(service.metadata, namespace_labels, /*service_traffic=*/true);
}

std::optional<WaypointBinding> WaypointIndex::ForPod(const config::Pod& pod,
                                                     const config::Labels& namespace_labels) const {
  return Resolve(pod.metadata, namespace_labels, /*service_traffic=*/false);
}

}  // namespace ambit::model
