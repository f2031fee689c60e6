#include "model/ambient_model.h"

#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <optional>

#include <nlohmann/json.hpp>

#include "model/enrollment.h"
#include "model/service_entries.h"
#include "model/waypoints.h"

namespace ambit::model {
namespace {

namespace wl = istio::workload;

std::optional<std::string> PackIp(const std::string& text) {
  std::array<unsigned char, 16> buf{};
  if (inet_pton(AF_INET, text.c_str(), buf.data()) == 1) {
    return std::string(reinterpret_cast<const char*>(buf.data()), 4);
  }
  if (inet_pton(AF_INET6, text.c_str(), buf.data()) == 1) {
    return std::string(reinterpret_cast<const char*>(buf.data()), 16);
  }
  return std::nullopt;
}

const std::string* Label(const config::Labels& labels, const char* key) {
  auto it = labels.find(key);
  return it == labels.end() || it->second.empty() ? nullptr : &it->second;
}

bool IsTcp(const std::string& protocol) { return protocol.empty() || protocol == "TCP"; }

wl::AppProtocol AppProtocolOf(const config::ServicePort& port) {
  const std::string& p = port.app_protocol.empty() ? port.name : port.app_protocol;
  auto starts = [&](std::string_view prefix) { return p.rfind(prefix, 0) == 0; };
  if (starts("grpc")) return wl::GRPC;
  if (starts("http2") || p == "kubernetes.io/h2c") return wl::HTTP2;
  if (starts("http")) return wl::HTTP11;
  return wl::UNKNOWN;
}

// Deployment pods are owned by a ReplicaSet "<deployment>-<pod-template-hash>".
void SetWorkloadKind(const config::Pod& pod, wl::Workload* out) {
  const auto& meta = pod.metadata;
  for (const config::OwnerReference& owner : meta.owner_references) {
    if (owner.kind == "ReplicaSet") {
      const std::string* hash = Label(meta.labels, "pod-template-hash");
      std::string suffix = hash ? "-" + *hash : "";
      if (hash && owner.name.size() > suffix.size() &&
          owner.name.compare(owner.name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        out->set_workload_type(wl::DEPLOYMENT);
        out->set_workload_name(owner.name.substr(0, owner.name.size() - suffix.size()));
      } else {
        out->set_workload_type(wl::POD);
        out->set_workload_name(owner.name);
      }
      return;
    }
    if (owner.kind == "Deployment") {
      out->set_workload_type(wl::DEPLOYMENT);
      out->set_workload_name(owner.name);
      return;
    }
    if (owner.kind == "Job") {
      out->set_workload_type(wl::JOB);
      out->set_workload_name(owner.name);
      return;
    }
    if (owner.kind == "CronJob") {
      out->set_workload_type(wl::CRONJOB);
      out->set_workload_name(owner.name);
      return;
    }
  }
  out->set_workload_type(wl::POD);
  out->set_workload_name(meta.name);
}

void SetCanonicalLabels(const config::Labels& labels, wl::Workload* out) {
  const std::string* name = Label(labels, "service.istio.io/canonical-name");
  if (!name) name = Label(labels, "app.kubernetes.io/name");
  if (!name) name = Label(labels, "app");
  out->set_canonical_name(name ? *name : out->workload_name());
  const std::string* rev = Label(labels, "service.istio.io/canonical-revision");
  if (!rev) rev = Label(labels, "app.kubernetes.io/version");
  if (!rev) rev = Label(labels, "version");
  out->set_canonical_revision(rev ? *rev : "latest");
}

// The pod's port for a service port, or nullopt when a named targetPort is
// not declared by any of the pod's containers.
std::optional<uint32_t> ResolveTargetPort(const config::ServicePort& sp, const config::Pod& pod) {
  if (sp.target_port_name.empty()) {
    return static_cast<uint32_t>(sp.target_port_number != 0 ? sp.target_port_number : sp.port);
  }
  for (const config::Container& c : pod.spec.containers) {
    for (const config::ContainerPort& cp : c.ports) {
      if (cp.name == sp.target_port_name && cp.protocol == sp.protocol) {
        return static_cast<uint32_t>(cp.container_port);
      }
    }
  }
  return std::nullopt;
}

// Service.load_balancing as istiod sets it
// (https://github.com/istio/istio/blob/master/pilot/pkg/serviceregistry/ambient/services.go):
// internalTrafficPolicy Local first (same node only), else the traffic
// distribution: spec.trafficDistribution, else the Service's, else the
// namespace's networking.istio.io/traffic-distribution annotation (PreferClose
// and PreferSameZone: same zone first; PreferSameNode: same node first; each
// failing over to the next best). publishNotReadyAddresses admits unready
// endpoints. Unknown annotation values fall back to no preference, with a warning.
void SetLoadBalancing(const config::Service& svc, const config::Labels* ns_annotations,
                      wl::Service* out, std::vector<std::string>* warnings) {
  const nlohmann::json& extra = svc.spec.extra;
  auto field = [&](const char* key) -> std::string {
    auto it = extra.is_object() ? extra.find(key) : extra.end();
    return it != extra.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto lower = [](std::string v) {
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return v;
  };
  enum class Distribution { kAny, kSameZone, kSameNode };
  auto from_value = [&](const std::string& value, const std::string& where) {
    const std::string v = lower(value);
    if (v == "preferclose" || v == "prefersamezone") return Distribution::kSameZone;
    if (v == "prefersamenode") return Distribution::kSameNode;
    warnings->push_back("Service " + svc.metadata.ns + "/" + svc.metadata.name + ": " + where +
                        " '" + value +
                        "' is not PreferClose, PreferSameZone or PreferSameNode; no preference");
    return Distribution::kAny;
  };
  static constexpr const char* kAnnotation = "networking.istio.io/traffic-distribution";
  Distribution distribution = Distribution::kAny;
  if (std::string spec = field("trafficDistribution"); !spec.empty()) {
    distribution = from_value(spec, "spec.trafficDistribution");
  } else if (const std::string* a = Label(svc.metadata.annotations, kAnnotation)) {
    distribution = from_value(*a, std::string("annotation ") + kAnnotation);
  } else if (ns_annotations != nullptr) {
    if (const std::string* n = Label(*ns_annotations, kAnnotation)) {
      distribution = from_value(*n, std::string("namespace annotation ") + kAnnotation);
    }
  }
  wl::LoadBalancing lb;
  bool set = false;
  if (field("internalTrafficPolicy") == "Local") {
    lb.add_routing_preference(wl::LoadBalancing::NODE);
    lb.set_mode(wl::LoadBalancing::STRICT);
    set = true;
  } else if (distribution != Distribution::kAny) {
    for (auto scope : {wl::LoadBalancing::NETWORK, wl::LoadBalancing::REGION, wl::LoadBalancing::ZONE}) {
      lb.add_routing_preference(scope);
    }
    if (distribution == Distribution::kSameNode) {
      lb.add_routing_preference(wl::LoadBalancing::SUBZONE);
      lb.add_routing_preference(wl::LoadBalancing::NODE);
    }
    lb.set_mode(wl::LoadBalancing::FAILOVER);
    set = true;
  }
  if (auto it = extra.is_object() ? extra.find("publishNotReadyAddresses") : extra.end();
      it != extra.end() && it->is_boolean() && it->get<bool>()) {
    lb.set_health_policy(wl::LoadBalancing::ALLOW_ALL);
    set = true;
  }
  if (set) *out->mutable_load_balancing() = std::move(lb);
}

void SetWaypoint(const MeshSettings& mesh, const std::optional<WaypointBinding>& binding,
                 wl::GatewayAddress* out) {
  out->mutable_hostname()->set_namespace_(binding->ns);
  out->mutable_hostname()->set_hostname(ServiceHostname(mesh, binding->ns, binding->name));
  out->set_hbone_mtls_port(kWaypointHbonePort);
}

}  // namespace

std::string WorkloadUid(const MeshSettings& mesh, const std::string& ns, const std::string& pod) {
  return mesh.cluster_id + "//Pod/" + ns + "/" + pod;
}

std::string ServiceHostname(const MeshSettings& mesh, const std::string& ns,
                            const std::string& name) {
  return name + "." + ns + ".svc." + mesh.domain_suffix;
}

std::map<std::string, const google::protobuf::Message*> AddressSet::MessageView() const {
  std::map<std::string, const google::protobuf::Message*> out;
  for (const auto& [name, address] : resources) out.emplace(name, &address);
  return out;
}

std::map<std::string, const google::protobuf::Message*> AuthorizationSet::MessageView() const {
  std::map<std::string, const google::protobuf::Message*> out;
  for (const auto& [name, policy] : resources) out.emplace(name, &policy);
  return out;
}

AddressSet BuildAddresses(const AmbientInput& input) { return BuildAmbientModel(input).addresses; }

AmbientModel BuildAmbientModel(const AmbientInput& input) {
  const MeshSettings& mesh = input.mesh;
  AmbientModel model;
  AddressSet& out = model.addresses;
  const PolicyModel policies(input);
  auto require_waypoint = [&](const std::optional<WaypointBinding>& binding,
                              google::protobuf::RepeatedPtrField<wl::Extension>* extensions) {
    if (mesh.waypoint_fail_closed && binding && policies.RequiresWaypoint(*binding)) {
      extensions->Add()->set_name(std::string(kWaypointRequiredExtension));
    }
  };
  for (const config::Gateway* gw : input.gateways) {
    if (gw->IsWaypoint()) {
      model.audience.AddWaypoint(gw->metadata.ns, gw->metadata.name,
                                 policies.WaypointPolicies({gw->metadata.ns, gw->metadata.name}));
    }
  }
  std::map<std::string, const config::Labels*> namespace_labels;
  std::map<std::string, const config::Labels*> namespace_annotations;
  for (const config::Namespace* ns : input.namespaces) {
    // Unmanaged namespaces (discoverySelectors, istio.io/rev) publish nothing.
    if (!IsManagedNamespace(mesh, ns->metadata.labels)) continue;
    namespace_labels[ns->metadata.name] = &ns->metadata.labels;
    namespace_annotations[ns->metadata.name] = &ns->metadata.annotations;
  }

  const WaypointIndex waypoints(input.gateways);

  // Services first: workloads reference them.
  std::vector<const config::Service*> selecting;  // services with endpoints from selectors
  for (const ServiceInput& in : input.services) {
    const config::Service& svc = *in.service;
    const std::string& ns = svc.metadata.ns;
    if (!namespace_labels.contains(ns) || svc.spec.type == "ExternalName") continue;
    std::string hostname = ServiceHostname(mesh, ns, svc.metadata.name);
    wl::Address address;
    wl::Service* s = address.mutable_service();
    s->set_name(svc.metadata.name);
    s->set_namespace_(ns);
    s->set_hostname(hostname);
    if (!in.vip.empty() && in.vip != "None") {
      if (auto packed = PackIp(in.vip)) {
        wl::NetworkAddress* a = s->add_addresses();
        a->set_network(mesh.network);
        a->set_address(*packed);
      } else {
        out.warnings.push_back("Service " + ns + "/" + svc.metadata.name + ": VIP '" + in.vip +
                               "' is not an IP address; published without one");
      }
    }
    for (const config::ServicePort& sp : svc.spec.ports) {
      if (!IsTcp(sp.protocol)) continue;
      wl::Port* p = s->add_ports();
      p->set_service_port(static_cast<uint32_t>(sp.port));
      p->set_target_port(sp.target_port_name.empty()
                             ? static_cast<uint32_t>(sp.target_port_number != 0
                                                         ? sp.target_port_number
                                                         : sp.port)
                             : 0);
      p->set_app_protocol(AppProtocolOf(sp));
    }
    SetLoadBalancing(svc, namespace_annotations.at(ns), s, &out.warnings);
    if (auto binding = waypoints.ForService(svc, *namespace_labels.at(ns))) {
      SetWaypoint(mesh, binding, s->mutable_waypoint());
      require_waypoint(binding, s->mutable_extensions());
    }
    if (!svc.spec.selector.empty()) selecting.push_back(&svc);
    out.resources.emplace(ns + "/" + hostname, std::move(address));
  }

  for (const ServiceEntryInput& se : input.service_entries) {
    if (!namespace_labels.contains(se.entry->metadata.ns)) continue;
    AddServiceEntryServices(mesh, se, &out.resources, &out.warnings);
    AddServiceEntryWorkloads(mesh, se, &out.resources, &out.warnings);
  }

  for (const PodInput& in : input.pods) {
    const config::Pod& pod = *in.pod;
    const std::string& ns = pod.metadata.ns;
    auto ns_labels = namespace_labels.find(ns);
    if (ns_labels == namespace_labels.end()) continue;
    if (in.runtime.ip.empty() || in.runtime.phase == PodPhase::kSucceeded ||
        in.runtime.phase == PodPhase::kFailed) {
      continue;
    }
    std::optional<std::string> ip = PackIp(in.runtime.ip);
    if (!ip) {
      out.warnings.push_back("Pod " + ns + "/" + pod.metadata.name + ": IP '" + in.runtime.ip +
                             "' is not an IP address; left out");
      continue;
    }
    std::string uid = WorkloadUid(mesh, ns, pod.metadata.name);
    wl::Address address;
    wl::Workload* w = address.mutable_workload();
    w->set_uid(uid);
    w->set_name(pod.metadata.name);
    w->set_namespace_(ns);
    w->add_addresses(*ip);
    w->set_network(mesh.network);
    w->set_tunnel_protocol(DecideEnrollment(mesh, *ns_labels->second, pod) == Enrollment::kEnroll
                               ? wl::HBONE
                               : wl::NONE);
    w->set_trust_domain(mesh.trust_domain);
    w->set_service_account(pod.spec.service_account_name.empty() ? "default"
                                                                 : pod.spec.service_account_name);
    w->set_node(in.runtime.node.empty() ? pod.spec.node_name : in.runtime.node);
    if (auto node = input.node_localities.find(w->node()); node != input.node_localities.end()) {
      wl::Locality* locality = w->mutable_locality();
      locality->set_region(node->second.region);
      locality->set_zone(node->second.zone);
      locality->set_subzone(node->second.subzone);
    }
    SetWorkloadKind(pod, w);
    SetCanonicalLabels(pod.metadata.labels, w);
    w->set_status(in.runtime.phase == PodPhase::kRunning && in.runtime.ready ? wl::HEALTHY
                                                                             : wl::UNHEALTHY);
    w->set_cluster_id(mesh.cluster_id);
    if (IsHostNetwork(pod)) w->set_network_mode(wl::HOST_NETWORK);
    if (auto binding = waypoints.ForPod(pod, *ns_labels->second)) {
      SetWaypoint(mesh, binding, w->mutable_waypoint());
      require_waypoint(binding, w->mutable_extensions());
    }
    std::vector<std::string> keys = policies.WorkloadPolicies(pod);
    for (const std::string& key : keys) w->add_authorization_policies(key);
    if (!policies.WaypointOf(pod)) model.audience.AddNodeWorkload(w->node(), ns, keys);
    for (const config::Service* svc : selecting) {
      if (svc->metadata.ns != ns || !config::SelectorMatches(svc->spec.selector, pod.metadata.labels)) {
        continue;
      }
      wl::PortList& ports =
          (*w->mutable_services())[ns + "/" + ServiceHostname(mesh, ns, svc->metadata.name)];
      for (const config::ServicePort& sp : svc->spec.ports) {
        if (!IsTcp(sp.protocol)) continue;
        std::optional<uint32_t> target = ResolveTargetPort(sp, pod);
        if (!target) continue;
        wl::Port* p = ports.add_ports();
        p->set_service_port(static_cast<uint32_t>(sp.port));
        p->set_target_port(*target);
      }
    }
    for (const ServiceEntryInput& se : input.service_entries) AddServiceEntryMembership(se, pod, w);
    out.resources.emplace(std::move(uid), std::move(address));
  }
  model.authorization.resources = policies.resources();
  model.authorization.warnings = policies.warnings();
  model.audience.Finish(model.authorization.resources);
  return model;
}

}  // namespace ambit::model
