// `ambitctl exec` and `ambitctl logs`: reaching into a running pod.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace ambit::ctl {

struct PodRef {
  std::string ns;
  std::string name;
};

// "NS/POD" or "POD" (then |default_ns|).
Result<PodRef> ParsePodRef(const std::string& text, const std::string& default_ns);

// Runs |argv| inside the pod (its network namespace, hosts/resolv.conf, /tmp and
// hostname) with the terminal's stdio; returns the command's exit code (127 if it
// cannot be run, 128+N if killed by signal N).
Result<int> Exec(const std::string& cluster, const PodRef& pod,
                 const std::vector<std::string>& argv);

// Prints the container log (first container unless |container| is given);
// |follow| keeps printing what is appended until interrupted.
Status Logs(const std::string& cluster, const PodRef& pod, const std::string& container,
            bool follow);

}  // namespace ambit::ctl
