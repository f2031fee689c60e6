#include "node/zds_handler.h"

#include "core/log.h"

namespace ambit::node {

Status ZdsHandler::AddWorkload(const std::string& uid, const inpod::WorkloadInfo& info,
                               UniqueFd netns) {
  PodSpec spec{uid, info.name, info.ns, info.service_account};
  AMBIT_RETURN_IF_ERROR(pods_.AddPod(spec, std::move(netns)));
  if (cert_wait_.count() > 0 && !pods_.WaitForCertificate(uid, cert_wait_)) {
    AMBIT_LOG_WARN("pod {}/{} enrolled without a certificate yet (still fetching)", info.ns,
                   info.name);
  }
  return Ok();
}

Status ZdsHandler::DelWorkload(const std::string& uid) { return pods_.DelPod(uid); }

}  // namespace ambit::node
