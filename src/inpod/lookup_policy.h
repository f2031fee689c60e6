// LookupEnrollmentPolicy: an EnrollmentPolicy that asks a callback, which the
// integrator provides over its store, for a decision about the pod. The rules
// themselves live with the control plane (ambitd: src/model/enrollment.h), so
// the node agent and the xDS model apply one copy of them. Unknown pods are
// not enrolled.
//
// Thread-safety: as thread-safe as the lookup callback (NodeAgent calls it
// under its own mutex, from its CNI thread or the caller of Reevaluate).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "inpod/node_agent.h"

namespace ambit::inpod {

// What the store decided about a pod.
struct PodDecision {
  bool enroll = false;
  std::string reason;           // why (for the debug log), e.g. "not ambient"
  std::string service_account;  // "" = default
  // The pod's own DNS capture setting (annotation ambient.istio.io/dns-capture),
  // when it has one; it overrides the node agent's default.
  std::optional<bool> dns_capture = std::nullopt;
};

class LookupEnrollmentPolicy : public EnrollmentPolicy {
 public:
  // Returns the decision, or nullopt if the store does not know the pod.
  using Lookup = std::function<std::optional<PodDecision>(const PodEvent& pod)>;

  explicit LookupEnrollmentPolicy(Lookup lookup) : lookup_(std::move(lookup)) {}

  bool ShouldEnroll(const PodEvent& pod) override;
  WorkloadInfo Describe(const PodEvent& pod) override;
  // The node defaults with the pod's dns_capture, when the decision has one.
  redirect::RedirectOptions Redirection(const PodEvent& pod,
                                        const redirect::RedirectOptions& node_defaults) override;

 private:
  Lookup lookup_;
};

}  // namespace ambit::inpod
