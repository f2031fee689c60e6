// Typed Kubernetes core kinds: v1 Namespace, Pod, Service, ServiceAccount,
// ConfigMap and apps/v1 Deployment.
//
// Value types; thread-compatible. The parser applies Kubernetes defaults, so
// every field below holds its effective value. Fields Kubernetes defines but
// Ambit does not model (resources, securityContext, volumes, probes' details,
// ...) are validated by name, kept verbatim in `extra` (a JSON object, possibly
// empty) and written back by ToJson; see docs/config.md for the lists.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/meta.h"

namespace ambit::config {

struct EnvVar {
  std::string name;
  std::optional<std::string> value;   // absent when valueFrom is used
  nlohmann::json value_from;          // null when absent; kept, not resolved
  friend bool operator==(const EnvVar&, const EnvVar&) = default;
};

struct ContainerPort {
  int32_t container_port = 0;   // 1-65535
  std::string name;             // IANA service name or empty
  std::string protocol = "TCP"; // TCP, UDP or SCTP
  std::optional<int32_t> host_port;
  std::string host_ip;
  friend bool operator==(const ContainerPort&, const ContainerPort&) = default;
};

struct Container {
  std::string name;                  // DNS-1123 label, unique within the pod
  std::string image;                 // recorded, never pulled
  std::vector<std::string> command;  // may be empty (the local runtime decides)
  std::vector<std::string> args;
  std::string working_dir;
  std::vector<EnvVar> env;
  std::vector<ContainerPort> ports;
  nlohmann::json readiness_probe;    // null when absent; top-level fields checked
  nlohmann::json liveness_probe;     // null when absent
  nlohmann::json startup_probe;      // null when absent
  nlohmann::json extra;              // known-but-unmodelled fields (object)
  friend bool operator==(const Container&, const Container&) = default;
};

struct PodSpec {
  std::vector<Container> init_containers;
  std::vector<Container> containers;            // at least one
  std::string restart_policy = "Always";        // Always, OnFailure, Never
  std::string service_account_name = "default"; // DNS-1123 subdomain
  std::string node_name;                        // empty = unscheduled
  Labels node_selector;
  int64_t termination_grace_period_seconds = 30;
  std::string hostname;
  std::string subdomain;
  nlohmann::json extra;                         // known-but-unmodelled fields (object)
  friend bool operator==(const PodSpec&, const PodSpec&) = default;
};

struct PodTemplate {
  ObjectMeta metadata;  // name/namespace usually empty here
  PodSpec spec;
  friend bool operator==(const PodTemplate&, const PodTemplate&) = default;
};

struct Namespace {
  static constexpr std::string_view kKind = "Namespace";
  static constexpr std::string_view kApiVersion = "v1";
  static constexpr bool kNamespaced = false;
  ObjectMeta metadata;
  nlohmann::json extra;  // spec/status as given (object; spec.finalizers only)
  friend bool operator==(const Namespace&, const Namespace&) = default;
};

struct Pod {
  static constexpr std::string_view kKind = "Pod";
  static constexpr std::string_view kApiVersion = "v1";
  static constexpr bool kNamespaced = true;
  ObjectMeta metadata;
  PodSpec spec;
  friend bool operator==(const Pod&, const Pod&) = default;
};

struct ServicePort {
  std::string name;           // required (IANA-like DNS label) when >1 port
  std::string protocol = "TCP";
  std::string app_protocol;   // empty when absent
  int32_t port = 0;           // 1-65535
  // targetPort: a number (1-65535) or a container port name. Defaults to `port`.
  int32_t target_port_number = 0;  // 0 when target_port_name is set
  std::string target_port_name;
  std::optional<int32_t> node_port;
  friend bool operator==(const ServicePort&, const ServicePort&) = default;
};

struct ServiceSpec {
  std::string type = "ClusterIP";  // ClusterIP, NodePort, LoadBalancer, ExternalName
  std::string cluster_ip;          // empty = allocate; "None" = headless
  Labels selector;                 // empty = no managed endpoints
  std::vector<ServicePort> ports;
  std::string external_name;       // ExternalName only
  nlohmann::json extra;            // known-but-unmodelled fields (object)
  bool Headless() const { return cluster_ip == "None"; }
  friend bool operator==(const ServiceSpec&, const ServiceSpec&) = default;
};

struct Service {
  static constexpr std::string_view kKind = "Service";
  static constexpr std::string_view kApiVersion = "v1";
  static constexpr bool kNamespaced = true;
  ObjectMeta metadata;
  ServiceSpec spec;
  friend bool operator==(const Service&, const Service&) = default;
};

struct ServiceAccount {
  static constexpr std::string_view kKind = "ServiceAccount";
  static constexpr std::string_view kApiVersion = "v1";
  static constexpr bool kNamespaced = true;
  ObjectMeta metadata;
  std::optional<bool> automount_service_account_token;
  nlohmann::json extra;  // secrets, imagePullSecrets (object)
  friend bool operator==(const ServiceAccount&, const ServiceAccount&) = default;
};

// v1 ConfigMap. Keys of data and binaryData are checked as Kubernetes does
// ([-._a-zA-Z0-9]+, at most 253 characters, not "." or "..", no key in both);
// binaryData values are base64 text, kept as written. The total size is at
// most 1 MiB. Ambit reads one ConfigMap itself: istio-system/istio (data.mesh,
// Istio's MeshConfig; see mesh_config.h and docs/mesh-config.md).
struct ConfigMap {
  static constexpr std::string_view kKind = "ConfigMap";
  static constexpr std::string_view kApiVersion = "v1";
  static constexpr bool kNamespaced = true;
  ObjectMeta metadata;
  std::map<std::string, std::string> data;
  std::map<std::string, std::string> binary_data;  // base64 text as written
  std::optional<bool> immutable;
  friend bool operator==(const ConfigMap&, const ConfigMap&) = default;
};

struct DeploymentSpec {
  int32_t replicas = 1;      // >= 0
  LabelSelector selector;    // required; matches template labels
  PodTemplate template_;     // "template"
  nlohmann::json extra;      // strategy, minReadySeconds, ... (object)
  friend bool operator==(const DeploymentSpec&, const DeploymentSpec&) = default;
};

struct Deployment {
  static constexpr std::string_view kKind = "Deployment";
  static constexpr std::string_view kApiVersion = "apps/v1";
  static constexpr bool kNamespaced = true;
  ObjectMeta metadata;
  DeploymentSpec spec;
  friend bool operator==(const Deployment&, const Deployment&) = default;
};

}  // namespace ambit::config
