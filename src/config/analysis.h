// Config analysis in the manner of `istioctl analyze`: pure checks over a set
// of stored resources that find configuration which is valid on its own but
// does not do what it seems to (https://istio.io/latest/docs/reference/config/analysis/).
// Istio's codes where Istio has the check:
//   IST0101 ReferencedResourceNotFound: an istio.io/use-waypoint label naming
//           a Gateway that does not exist; a policy targetRef(s) naming a
//           Gateway, Service or ServiceEntry that does not exist.
//   IST0118 PortNameIsNotUnderNamingConvention: a Service port whose name does
//           not start with an Istio protocol and has no appProtocol.
//   IST0127 NoMatchingWorkloadsFound: an AuthorizationPolicy,
//           PeerAuthentication or RequestAuthentication selector that matches
//           no pod (any namespace when the policy is in the root namespace).
// Ambit's own, where Istio has none:
//   AMB0001 RevisionNotServed: a namespace or pod labelled istio.io/rev for a
//           revision this control plane does not serve.
//   AMB0002 AmbientNamespaceNotDiscovered: a namespace labelled
//           istio.io/dataplane-mode=ambient outside meshConfig.discoverySelectors.
//   AMB0003 TrustDomainMismatch: meshConfig.trustDomain differs from the CA's.
//
// Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/resource.h"

namespace ambit::config {

struct AnalysisContext {
  std::string revision = "default";         // the control plane's revision
  std::string ca_trust_domain;              // "" = do not compare
};

struct AnalysisMessage {
  std::string level;  // Error | Warning | Info
  std::string code;   // IST0127
  std::string name;   // NoMatchingWorkloadsFound
  ResourceKey resource;
  std::string message;
  // istioctl's shape: "Warning [IST0127] (AuthorizationPolicy ns/name) <message>".
  std::string ToString() const;
  friend bool operator==(const AnalysisMessage&, const AnalysisMessage&) = default;
};

// Every finding over |resources|, sorted by resource then code.
std::vector<AnalysisMessage> Analyze(const std::map<ResourceKey, Resource>& resources,
                                     const AnalysisContext& context);

}  // namespace ambit::config
