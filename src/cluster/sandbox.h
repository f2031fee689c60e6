// A pod's sandbox as seen by its processes: the pod's network namespace, a
// private mount namespace in which the pod's hosts/resolv.conf files cover
// /etc/hosts and /etc/resolv.conf and the pod's scratch directory covers /tmp,
// sysfs of the pod's netns on /sys, and a UTS namespace whose hostname is the pod
// name. Both containers (via the supervisor) and `ambitctl exec` enter it, so
// they see the same names, files and addresses.
#pragma once

#include <string>

#include "core/result.h"

namespace ambit::cluster {

struct PodSandbox {
  std::string netns_path;
  std::string hosts_file;
  std::string resolv_file;
  std::string tmp_dir;
  std::string hostname;
};

// Moves the calling process into |sandbox|. Must be called in a single-threaded
// process (a forked child or a supervisor before it starts threads): unsharing a
// mount namespace is refused to multi-threaded processes.
Status EnterPodSandbox(const PodSandbox& sandbox);

}  // namespace ambit::cluster
