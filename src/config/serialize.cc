#include "config/serialize.h"

#include <type_traits>

namespace ambit::config {
namespace {

using json = nlohmann::json;

void Merge(json* out, const json& extra) {
  if (!extra.is_object()) return;
  for (const auto& [k, v] : extra.items()) (*out)[k] = v;
}

json LabelsJson(const Labels& labels) {
  json out = json::object();
  for (const auto& [k, v] : labels) out[k] = v;
  return out;
}

json StrList(const std::vector<std::string>& v) {
  json out = json::array();
  for (const auto& s : v) out.push_back(s);
  return out;
}

json ContainerJson(const Container& c) {
  json out = json::object();
  Merge(&out, c.extra);
  out["name"] = c.name;
  out["image"] = c.image;
  if (!c.command.empty()) out["command"] = StrList(c.command);
  if (!c.args.empty()) out["args"] = StrList(c.args);
  if (!c.working_dir.empty()) out["workingDir"] = c.working_dir;
  if (!c.env.empty()) {
    json env = json::array();
    for (const EnvVar& e : c.env) {
      json v = {{"name", e.name}};
      if (e.value) v["value"] = *e.value;
      if (!e.value_from.is_null()) v["valueFrom"] = e.value_from;
      env.push_back(std::move(v));
    }
    out["env"] = std::move(env);
  }
  if (!c.ports.empty()) {
    json ports = json::array();
    for (const ContainerPort& p : c.ports) {
      json v = {{"containerPort", p.container_port}, {"protocol", p.protocol}};
      if (!p.name.empty()) v["name"] = p.name;
      if (p.host_port) v["hostPort"] = *p.host_port;
      if (!p.host_ip.empty()) v["hostIP"] = p.host_ip;
      ports.push_back(std::move(v));
    }
    out["ports"] = std::move(ports);
  }
  if (!c.readiness_probe.is_null()) out["readinessProbe"] = c.readiness_probe;
  if (!c.liveness_probe.is_null()) out["livenessProbe"] = c.liveness_probe;
  if (!c.startup_probe.is_null()) out["startupProbe"] = c.startup_probe;
  return out;
}

json PodSpecJson(const PodSpec& s) {
  json out = json::object();
  Merge(&out, s.extra);
  json containers = json::array();
  for (const Container& c : s.containers) containers.push_back(ContainerJson(c));
  out["containers"] = std::move(containers);
  if (!s.init_containers.empty()) {
    json init = json::array();
    for (const Container& c : s.init_containers) init.push_back(ContainerJson(c));
    out["initContainers"] = std::move(init);
  }
  out["restartPolicy"] = s.restart_policy;
  out["serviceAccountName"] = s.service_account_name;
  if (!s.node_name.empty()) out["nodeName"] = s.node_name;
  if (!s.node_selector.empty()) out["nodeSelector"] = LabelsJson(s.node_selector);
  out["terminationGracePeriodSeconds"] = s.termination_grace_period_seconds;
  if (!s.hostname.empty()) out["hostname"] = s.hostname;
  if (!s.subdomain.empty()) out["subdomain"] = s.subdomain;
  return out;
}

json SelectorJson(const LabelSelector& s) {
  json out = json::object();
  if (!s.match_labels.empty()) out["matchLabels"] = LabelsJson(s.match_labels);
  if (!s.match_expressions.empty()) {
    json exprs = json::array();
    for (const auto& e : s.match_expressions) {
      json v = {{"key", e.key}, {"operator", e.op}};
      if (!e.values.empty()) v["values"] = StrList(e.values);
      exprs.push_back(std::move(v));
    }
    out["matchExpressions"] = std::move(exprs);
  }
  return out;
}

json ServiceSpecJson(const ServiceSpec& s) {
  json out = json::object();
  Merge(&out, s.extra);
  out["type"] = s.type;
  if (!s.cluster_ip.empty()) out["clusterIP"] = s.cluster_ip;
  if (!s.selector.empty()) out["selector"] = LabelsJson(s.selector);
  if (!s.external_name.empty()) out["externalName"] = s.external_name;
  if (!s.ports.empty()) {
    json ports = json::array();
    for (const ServicePort& p : s.ports) {
      json v = {{"port", p.port}, {"protocol", p.protocol}};
      if (!p.name.empty()) v["name"] = p.name;
      if (!p.app_protocol.empty()) v["appProtocol"] = p.app_protocol;
      if (!p.target_port_name.empty()) {
        v["targetPort"] = p.target_port_name;
      } else {
        v["targetPort"] = p.target_port_number;
      }
      if (p.node_port) v["nodePort"] = *p.node_port;
      ports.push_back(std::move(v));
    }
    out["ports"] = std::move(ports);
  }
  return out;
}

json Envelope(std::string_view api_version, std::string_view kind, const ObjectMeta& meta) {
  return json{{"apiVersion", api_version}, {"kind", kind}, {"metadata", ToJson(meta)}};
}

}  // namespace

json ToJson(const ObjectMeta& m) {
  json out = json::object();
  if (!m.name.empty()) out["name"] = m.name;
  if (!m.ns.empty()) out["namespace"] = m.ns;
  if (!m.labels.empty()) out["labels"] = LabelsJson(m.labels);
  if (!m.annotations.empty()) out["annotations"] = LabelsJson(m.annotations);
  if (!m.uid.empty()) out["uid"] = m.uid;
  if (m.generation) out["generation"] = *m.generation;
  if (!m.resource_version.empty()) out["resourceVersion"] = m.resource_version;
  if (!m.creation_timestamp.empty()) out["creationTimestamp"] = m.creation_timestamp;
  if (!m.owner_references.empty()) {
    json refs = json::array();
    for (const OwnerReference& r : m.owner_references) {
      json v = {{"apiVersion", r.api_version}, {"kind", r.kind}, {"name", r.name}, {"uid", r.uid}};
      if (r.controller) v["controller"] = *r.controller;
      if (r.block_owner_deletion) v["blockOwnerDeletion"] = *r.block_owner_deletion;
      refs.push_back(std::move(v));
    }
    out["ownerReferences"] = std::move(refs);
  }
  if (!m.finalizers.empty()) out["finalizers"] = StrList(m.finalizers);
  return out;
}

json ToJson(const Resource& resource) {
  return std::visit(
      [](const auto& r) -> json {
        using T = std::decay_t<decltype(r)>;
        std::string_view api_version;
        if constexpr (requires { T::kApiVersion; }) {
          api_version = T::kApiVersion;
        } else {
          api_version = r.api_version;
        }
        json out = Envelope(api_version, T::kKind, r.metadata);
        if constexpr (std::is_same_v<T, Namespace>) {
          Merge(&out, r.extra);
        } else if constexpr (std::is_same_v<T, Pod>) {
          out["spec"] = PodSpecJson(r.spec);
        } else if constexpr (std::is_same_v<T, Service>) {
          out["spec"] = ServiceSpecJson(r.spec);
        } else if constexpr (std::is_same_v<T, ServiceAccount>) {
          Merge(&out, r.extra);
          if (r.automount_service_account_token) {
            out["automountServiceAccountToken"] = *r.automount_service_account_token;
          }
        } else if constexpr (std::is_same_v<T, ConfigMap>) {
          if (!r.data.empty()) out["data"] = r.data;
          if (!r.binary_data.empty()) out["binaryData"] = r.binary_data;
          if (r.immutable) out["immutable"] = *r.immutable;
        } else if constexpr (std::is_same_v<T, Deployment>) {
          json spec = json::object();
          Merge(&spec, r.spec.extra);
          spec["replicas"] = r.spec.replicas;
          spec["selector"] = SelectorJson(r.spec.selector);
          json tmpl = json::object();
          json tmeta = ToJson(r.spec.template_.metadata);
          if (!tmeta.empty()) tmpl["metadata"] = std::move(tmeta);
          tmpl["spec"] = PodSpecJson(r.spec.template_.spec);
          spec["template"] = std::move(tmpl);
          out["spec"] = std::move(spec);
        } else {
          out["spec"] = r.spec;
        }
        return out;
      },
      resource);
}

std::string ToJsonString(const Resource& resource, int indent) {
  return ToJson(resource).dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ambit::config
