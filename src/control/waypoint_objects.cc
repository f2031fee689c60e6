#include "control/waypoint_objects.h"

namespace ambit::control {
namespace {

config::OwnerReference GatewayOwner(const config::Gateway& gw) {
  config::OwnerReference ref;
  ref.api_version = "gateway.networking.k8s.io/v1";
  ref.kind = "Gateway";
  ref.name = gw.metadata.name;
  ref.uid = gw.metadata.uid;
  ref.controller = true;
  return ref;
}

}  // namespace

bool OwnedByGateway(const config::ObjectMeta& meta, const std::string& gateway_name) {
  for (const auto& ref : meta.owner_references) {
    if (ref.kind == "Gateway" && ref.name == gateway_name) return true;
  }
  return false;
}

WaypointObjects BuildWaypointObjects(const config::Gateway& gw, std::vector<std::string> argv) {
  const std::string& name = gw.metadata.name;
  const std::string& ns = gw.metadata.ns;
  const config::Labels selector = {{"gateway.networking.k8s.io/gateway-name", name}};
  config::Labels labels = selector;
  labels["gateway.networking.k8s.io/gateway-class-name"] = gw.gateway_class_name;
  labels["gateway.istio.io/managed"] = "istio.io-mesh-controller";

  WaypointObjects out;
  config::Deployment& d = out.deployment;
  d.metadata.name = name;
  d.metadata.ns = ns;
  d.metadata.labels = labels;
  d.metadata.owner_references = {GatewayOwner(gw)};
  d.spec.replicas = 1;
  d.spec.selector.match_labels = selector;
  d.spec.extra = nlohmann::json::object();
  config::PodTemplate& t = d.spec.template_;
  t.metadata.labels = labels;
  t.metadata.labels["istio.io/dataplane-mode"] = "none";
  t.metadata.labels["sidecar.istio.io/inject"] = "false";
  t.metadata.labels["service.istio.io/canonical-name"] = name;
  t.metadata.labels["service.istio.io/canonical-revision"] = "latest";
  t.metadata.annotations["prometheus.io/port"] = "15020";
  t.spec.service_account_name = name;
  t.spec.restart_policy = "Always";
  t.spec.termination_grace_period_seconds = 2;
  t.spec.extra = nlohmann::json::object();
  config::Container c;
  c.name = "istio-proxy";
  c.image = "ambit/waypoint";
  c.command = std::move(argv);
  c.extra = nlohmann::json::object();
  for (auto [port_name, port] : {std::pair{"mesh", 15008}, {"metrics", 15020}, {"status", 15021}}) {
    config::ContainerPort p;
    p.name = port_name;
    p.container_port = port;
    c.ports.push_back(p);
  }
  t.spec.containers = {std::move(c)};

  config::Service& s = out.service;
  s.metadata.name = name;
  s.metadata.ns = ns;
  s.metadata.labels = labels;
  s.metadata.owner_references = {GatewayOwner(gw)};
  s.spec.selector = selector;
  s.spec.extra = nlohmann::json::object();
  config::ServicePort mesh;
  mesh.name = "mesh";
  mesh.port = 15008;
  mesh.target_port_number = 15008;
  s.spec.ports = {mesh};
  return out;
}

}  // namespace ambit::control
