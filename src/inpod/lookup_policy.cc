#include "inpod/lookup_policy.h"

#include "core/log.h"

namespace ambit::inpod {

bool LookupEnrollmentPolicy::ShouldEnroll(const PodEvent& pod) {
  auto decision = lookup_(pod);
  if (!decision) {
    AMBIT_LOG_DEBUG("enrollment: pod {}/{} unknown to the store; not enrolled", pod.ns, pod.name);
    return false;
  }
  AMBIT_LOG_DEBUG("enrollment: pod {}/{}: {}", pod.ns, pod.name,
                  decision->enroll ? "enroll" : decision->reason);
  return decision->enroll;
}

WorkloadInfo LookupEnrollmentPolicy::Describe(const PodEvent& pod) {
  auto decision = lookup_(pod);
  std::string sa = decision && !decision->service_account.empty() ? decision->service_account : "default";
  return {pod.name, pod.ns, sa};
}

redirect::RedirectOptions LookupEnrollmentPolicy::Redirection(const PodEvent& pod,
                                                              const redirect::RedirectOptions& node_defaults) {
  redirect::RedirectOptions out = node_defaults;
  auto decision = lookup_(pod);
  if (decision && decision->dns_capture) out.dns_capture = *decision->dns_capture;
  return out;
}

}  // namespace ambit::inpod
