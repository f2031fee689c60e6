// The ambient model: config + runtime status -> istio.workload.Address
// resources, keyed by xDS resource name (ztunnel proto/workload.proto, https://github.com/istio/ztunnel/blob/master/proto/workload.proto):
//  - nothing for namespaces the control plane does not manage
//    (meshConfig.discoverySelectors, istio.io/rev; enrollment.h);
//  - one Workload per pod that has an IP and is not finished (Succeeded/
//    Failed), named "<cluster_id>//Pod/<namespace>/<name>"; tunnel_protocol
//    HBONE when enrolled (enrollment.h), NONE otherwise; its services map lists
//    every Service of its namespace whose selector matches it, with each
//    service port's target port resolved against the pod's container ports
//    (a named targetPort the pod does not declare is left out);
//  - one Service per Kubernetes Service (not ExternalName), named
//    "<namespace>/<name>.<namespace>.svc.<domain_suffix>", with its VIP and
//    ports (target_port 0 when the targetPort is named: resolved per workload).
//  - waypoint bindings (waypoints.h): Service.waypoint for Services, and
//    Workload.waypoint for pods, as GatewayAddress{hostname, 15008}; with
//    MeshSettings::waypoint_fail_closed, the Extension
//    "ambit.io/waypoint-required" on those bound to a waypoint that an
//    AuthorizationPolicy targets (authorization.h);
//  - Workload.authorization_policies and the istio.security.Authorization
//    resources themselves (authorization.h), plus which proxy receives which
//    policy (policy_audience.h).
//  - Service.load_balancing from internalTrafficPolicy, trafficDistribution
//    (or Istio's networking.istio.io/traffic-distribution annotation) and
//    publishNotReadyAddresses, as istiod sets it; Workload.locality from the
//    pod's node (AmbientInput::node_localities).
// Only TCP ports are modelled (ztunnel proxies TCP).
//
// A pure function: the same input gives byte-identical resources, so the
// ResourceStore's content versions change only for what really changed (a
// change to one pod changes one Address).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "istio/security/authorization.pb.h"
#include "istio/workload/workload.pb.h"
#include "model/ambient_input.h"
#include "model/authorization.h"
#include "model/policy_audience.h"

namespace google::protobuf {
class Message;
}

namespace ambit::model {

struct AddressSet {
  std::map<std::string, istio::workload::Address> resources;  // by xDS name
  // Inputs that were skipped because they are malformed (e.g. an unparseable
  // pod IP), one line each naming the object. Not errors: the rest is built.
  std::vector<std::string> warnings;

  // name -> message view, the shape ResourceStore::SetAll takes. Borrows.
  std::map<std::string, const google::protobuf::Message*> MessageView() const;
};

struct AuthorizationSet {
  std::map<std::string, istio::security::Authorization> resources;  // by xDS name
  // What is not enforced as written, per policy (authorization.h).
  std::vector<PolicyWarning> warnings;

  std::map<std::string, const google::protobuf::Message*> MessageView() const;
};

// Everything one model pass publishes.
struct AmbientModel {
  AddressSet addresses;
  AuthorizationSet authorization;
  PolicyAudience audience;
};

AmbientModel BuildAmbientModel(const AmbientInput& input);
// BuildAmbientModel(input).addresses.
AddressSet BuildAddresses(const AmbientInput& input);

// Naming helpers (also used by ambitd's debug output and by tests).
std::string WorkloadUid(const MeshSettings& mesh, const std::string& ns, const std::string& pod);
std::string ServiceHostname(const MeshSettings& mesh, const std::string& ns, const std::string& name);

}  // namespace ambit::model
