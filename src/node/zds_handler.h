// ZdsHandler: connects the ZDS client (src/inpod) to the PodManager. Each Add
// starts the pod's proxy and, by default, waits briefly for the pod's
// certificate before acknowledging, so an app that starts right after the
// CNI ADD returns finds its mTLS identity ready (a failed wait is logged, not
// an error: the certificate keeps being retried in the background).
//
// Thread-safety: called only from the ZDS client's thread.
#pragma once

#include <chrono>

#include "inpod/zds_session.h"
#include "node/pod_manager.h"

namespace ambit::node {

class ZdsHandler final : public inpod::WorkloadHandler {
 public:
  ZdsHandler(PodManager& pods, std::chrono::milliseconds cert_wait = std::chrono::seconds(2))
      : pods_(pods), cert_wait_(cert_wait) {}

  Status AddWorkload(const std::string& uid, const inpod::WorkloadInfo& info,
                     UniqueFd netns) override;
  Status DelWorkload(const std::string& uid) override;

 private:
  PodManager& pods_;
  std::chrono::milliseconds cert_wait_;
};

}  // namespace ambit::node
