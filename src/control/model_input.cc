#include "control/model_input.h"

namespace ambit::control {
namespace {

model::PodPhase ToPhase(const std::string& phase) {
  if (phase == "Running") return model::PodPhase::kRunning;
  if (phase == "Succeeded") return model::PodPhase::kSucceeded;
  if (phase == "Failed") return model::PodPhase::kFailed;
  return model::PodPhase::kPending;
}

}  // namespace

model::AmbientInput BuildModelInput(const StoreState& state, const RuntimeView* view,
                                    const model::MeshSettings& mesh) {
  // "default" exists without being applied; give the model an object for it.
  static const config::Namespace kDefaultNamespace = [] {
    config::Namespace ns;
    ns.metadata.name = "default";
    return ns;
  }();
  model::AmbientInput input;
  input.mesh = mesh;
  bool has_default = false;
  for (const auto& [key, r] : state.resources) {
    if (const auto* ns = std::get_if<config::Namespace>(&r)) {
      input.namespaces.push_back(ns);
      has_default = has_default || ns->metadata.name == "default";
    } else if (const auto* gw = std::get_if<config::Gateway>(&r)) {
      input.gateways.push_back(gw);
    } else if (const auto* ap = std::get_if<config::AuthorizationPolicy>(&r)) {
      input.authorization_policies.push_back(ap);
    } else if (const auto* pa = std::get_if<config::PeerAuthentication>(&r)) {
      input.peer_authentications.push_back(pa);
    } else if (const auto* hr = std::get_if<config::HttpRoute>(&r)) {
      input.http_routes.push_back(hr);
    } else if (const auto* gr = std::get_if<config::GrpcRoute>(&r)) {
      input.grpc_routes.push_back(gr);
    } else if (const auto* vs = std::get_if<config::VirtualService>(&r)) {
      input.virtual_services.push_back(vs);
    } else if (const auto* dr = std::get_if<config::DestinationRule>(&r)) {
      input.destination_rules.push_back(dr);
    }
  }
  if (!has_default) input.namespaces.push_back(&kDefaultNamespace);
  for (const auto* pod : state.Pods()) {
    model::PodInput in;
    in.pod = pod;
    in.runtime.node = pod->spec.node_name;
    // Each node of the local cluster is its own zone (no region): a
    // Service's PreferClose keeps traffic on the client's node while an
    // endpoint there is healthy.
    if (!pod->spec.node_name.empty()) {
      input.node_localities[pod->spec.node_name].zone = pod->spec.node_name;
    }
    if (view != nullptr) {
      auto it = view->pods.find({"Pod", pod->metadata.ns, pod->metadata.name});
      if (it != view->pods.end() && it->second.uid == pod->metadata.uid) {
        in.runtime.ip = it->second.ip;
        in.runtime.phase = ToPhase(it->second.phase);
        in.runtime.ready = it->second.ready;
      }
    }
    input.pods.push_back(in);
  }
  for (const auto* svc : state.Services()) input.services.push_back({svc, svc->spec.cluster_ip});
  return input;
}

}  // namespace ambit::control
