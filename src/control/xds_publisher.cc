#include "control/xds_publisher.h"

#include "control/mesh_scope.h"
#include "core/log.h"
#include "model/ambient_model.h"
#include "xds/resource_store.h"
#include "xds/type_urls.h"

namespace ambit::control {
namespace {

model::PodPhase ToPhase(const std::string& phase) {
  if (phase == "Running") return model::PodPhase::kRunning;
  if (phase == "Succeeded") return model::PodPhase::kSucceeded;
  if (phase == "Failed") return model::PodPhase::kFailed;
  return model::PodPhase::kPending;
}

}  // namespace

void XdsPublisher::Publish(const StoreState& state, const RuntimeView& view) {
  std::string digest = std::to_string(state.generation);
  for (const auto& [key, pv] : view.pods) {
    digest += "|" + key.ns + "/" + key.name + "," + pv.uid + "," + pv.ip + "," + pv.phase +
              (pv.ready ? ",r" : ",-");
  }
  if (digest == last_digest_) return;

  // "default" exists without being applied; give the model an object for it.
  static const config::Namespace kDefaultNamespace = [] {
    config::Namespace ns;
    ns.metadata.name = "default";
    return ns;
  }();
  model::AmbientInput input;
  if (scope_) input.mesh = *scope_->For(state);
  bool has_default = false;
  for (const auto& [key, r] : state.resources) {
    if (const auto* ns = std::get_if<config::Namespace>(&r)) {
      input.namespaces.push_back(ns);
      has_default = has_default || ns->metadata.name == "default";
    }
  }
  if (!has_default) input.namespaces.push_back(&kDefaultNamespace);
  for (const auto* pod : state.Pods()) {
    model::PodInput in;
    in.pod = pod;
    in.runtime.node = pod->spec.node_name;
    auto it = view.pods.find({"Pod", pod->metadata.ns, pod->metadata.name});
    if (it != view.pods.end() && it->second.uid == pod->metadata.uid) {
      in.runtime.ip = it->second.ip;
      in.runtime.phase = ToPhase(it->second.phase);
      in.runtime.ready = it->second.ready;
    }
    input.pods.push_back(in);
  }
  for (const auto* svc : state.Services()) input.services.push_back({svc, svc->spec.cluster_ip});
  for (const auto& [key, r] : state.resources) {
    if (const auto* gw = std::get_if<config::Gateway>(&r)) input.gateways.push_back(gw);
  }

  model::AddressSet set = model::BuildAddresses(input);
  for (const auto& w : set.warnings) AMBIT_LOG_WARN("ambient model: {}", w);
  auto change = resources_->SetAll(xds::kAddressTypeUrl, set.MessageView());
  if (!change.ok()) {
    AMBIT_LOG_ERROR("publishing addresses: {}", change.error().ToString());
    return;
  }
  if (!change->empty()) {
    AMBIT_LOG_DEBUG("xds: {} address(es) upserted, {} removed", change->upserted.size(),
                    change->removed.size());
  }
  last_digest_ = std::move(digest);
}

}  // namespace ambit::control
