// LabelEnrollmentPolicy: an EnrollmentPolicy that looks the pod up (through a
// callback the integrator provides over the cluster store) and applies
// DecideEnrollment to its labels. Unknown pods are not enrolled.
//
// Thread-safety: as thread-safe as the lookup callback (NodeAgent calls it
// under its own mutex, from its CNI thread or the caller of Reevaluate).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "inpod/enrollment.h"
#include "inpod/node_agent.h"

namespace ambit::inpod {

// What the store knows about a pod.
struct PodFacts {
  EnrollmentInput labels;       // pod labels/annotations, namespace labels, hostNetwork
  std::string service_account;  // "" = default
};

class LabelEnrollmentPolicy : public EnrollmentPolicy {
 public:
  // Returns the pod's facts, or nullopt if the store does not know the pod.
  using Lookup = std::function<std::optional<PodFacts>(const PodEvent& pod)>;

  explicit LabelEnrollmentPolicy(Lookup lookup) : lookup_(std::move(lookup)) {}

  bool ShouldEnroll(const PodEvent& pod) override;
  WorkloadInfo Describe(const PodEvent& pod) override;

 private:
  Lookup lookup_;
};

}  // namespace ambit::inpod
