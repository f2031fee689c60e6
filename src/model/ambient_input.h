// The inputs of the ambient model: typed config resources (src/config) plus
// what only the running cluster knows (pod IP, node, phase, readiness; the
// service VIP it allocated). Plain data, so BuildAddresses stays a pure
// function that tests can feed directly.
//
// Value types; the pointers borrow from the caller's store and must stay valid
// for the duration of the BuildAddresses call.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/gateway.h"
#include "config/istio.h"
#include "config/kube.h"
#include "config/meta.h"

namespace ambit::model {

struct MeshSettings {
  std::string cluster_id = "Kubernetes";     // Workload.cluster_id and the uid prefix
  std::string trust_domain = "cluster.local";
  std::string network;                       // "" = the default network
  std::string domain_suffix = "cluster.local";  // hostname = <svc>.<ns>.svc.<suffix>
  // From MeshConfig (config/mesh_config.h, docs/mesh-config.md):
  // Istio's root namespace: policies here without a selector apply mesh-wide
  // (authorization.h).
  std::string root_namespace = "istio-system";  // meshConfig.rootNamespace
  // meshConfig.discoverySelectors: only namespaces they select (OR; empty =
  // all) are published and enrolled.
  std::vector<config::LabelSelector> discovery_selectors;
  // The control plane's revision: namespaces and pods labelled istio.io/rev
  // for another revision are not managed.
  std::string revision = "default";
  // Ambit extension (data.ambit.waypointFailClosed of the mesh ConfigMap):
  // Services and Workloads bound to a waypoint that an AuthorizationPolicy
  // targets carry the ambit.io/waypoint-required extension, so ztunnel never
  // bypasses a missing waypoint (authorization.h).
  bool waypoint_fail_closed = true;
};

enum class PodPhase { kPending, kRunning, kSucceeded, kFailed, kUnknown };

// The runtime status of one pod, as the local cluster (or the Kubernetes API) reports it.
struct PodRuntime {
  std::string ip;    // pod IP, IPv4 or IPv6 text; "" = not assigned yet (pod is skipped)
  std::string node;  // node the pod runs on; "" = use spec.nodeName
  PodPhase phase = PodPhase::kPending;
  bool ready = false;  // all containers ready; with kRunning the workload is HEALTHY
};

// A node's topology (Kubernetes' topology.kubernetes.io/region and zone and
// Istio's topology.istio.io/subzone node labels): the Workload.locality of its
// pods, what PreferClose (same zone) ranks endpoints by.
struct NodeLocality {
  std::string region;
  std::string zone;
  std::string subzone;
};

struct PodInput {
  const config::Pod* pod = nullptr;
  PodRuntime runtime;
};

struct ServiceInput {
  const config::Service* service = nullptr;
  // The effective ClusterIP ("" or "None" = headless/none). Usually
  // spec.clusterIP, or what the cluster allocated when that was empty.
  std::string vip;
};

struct ServiceEntryInput {
  const config::ServiceEntry* entry = nullptr;
  // host -> the addresses allocated for it (service_entries.h), when the
  // entry gets auto-allocated addresses.
  std::map<std::string, std::vector<std::string>> auto_addresses;
};

struct AmbientInput {
  MeshSettings mesh;
  // Namespaces that exist (their labels drive enrollment). Pods and services
  // of namespaces not listed here, or not managed under mesh.discovery_selectors
  // and mesh.revision (enrollment.h), are left out.
  std::vector<const config::Namespace*> namespaces;
  std::vector<PodInput> pods;
  std::vector<ServiceInput> services;
  // Gateways (of any class; waypoints are those of class istio-waypoint).
  std::vector<const config::Gateway*> gateways;
  // Security policies, lowered to istio.security.Authorization (authorization.h).
  // Unlike pods and services, policies of every namespace count (the root
  // namespace need not be a listed Namespace).
  std::vector<const config::AuthorizationPolicy*> authorization_policies;
  std::vector<const config::PeerAuthentication*> peer_authentications;
  // Node name -> its locality; a node not listed has none. The local cluster
  // makes each node its own zone.
  std::map<std::string, NodeLocality> node_localities;
  std::vector<ServiceEntryInput> service_entries;
  // L7 routing (route_tables.h).
  std::vector<const config::HttpRoute*> http_routes;
  std::vector<const config::GrpcRoute*> grpc_routes;
  std::vector<const config::VirtualService*> virtual_services;
  std::vector<const config::DestinationRule*> destination_rules;
};

}  // namespace ambit::model
