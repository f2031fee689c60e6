#include "inpod/label_policy.h"

#include "core/log.h"

namespace ambit::inpod {

bool LabelEnrollmentPolicy::ShouldEnroll(const PodEvent& pod) {
  auto facts = lookup_(pod);
  if (!facts) {
    AMBIT_LOG_DEBUG("enrollment: pod {}/{} unknown to the store; not enrolled", pod.ns, pod.name);
    return false;
  }
  Enrollment decision = DecideEnrollment(facts->labels);
  AMBIT_LOG_DEBUG("enrollment: pod {}/{}: {}", pod.ns, pod.name, ToString(decision));
  return decision == Enrollment::kEnroll;
}

WorkloadInfo LabelEnrollmentPolicy::Describe(const PodEvent& pod) {
  auto facts = lookup_(pod);
  std::string sa = facts && !facts->service_account.empty() ? facts->service_account : "default";
  return {pod.name, pod.ns, sa};
}

}  // namespace ambit::inpod
