// Realizing one pod on the local machine: its network namespace (networked by
// the CNI chain run in its node's namespace), its name files, its scratch /tmp,
// and one supervisor per container. Everything a pod owns lives under its pod
// directory <state>/pods/<ns>_<name>/ (pod.json records what was made, so a
// restarted ambitd can adopt or undo it):
//   pod.json  hosts  resolv.conf  tmp/  containers/<c>.json[.log]  <c>.status  logs/<c>.log
//
// Thread-compatible: used by the reconciler thread only (Status() is also
// safe to call concurrently, it only reads files).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/cluster_config.h"
#include "cluster/cni.h"
#include "cluster/layout.h"
#include "cluster/supervisor.h"
#include "config/kube.h"
#include "core/result.h"

namespace ambit::control {

struct RealizedPod {
  std::string ns;
  std::string name;
  std::string uid;
  std::string node;
  std::string netns_path;
  std::string ip;
  std::string cni_result;
  std::vector<std::string> containers;
};

class PodRuntime {
 public:
  PodRuntime(cluster::ClusterLayout layout, cluster::ClusterConfig config, std::string self_exe);

  // Pods found on disk (from a previous ambitd or this one).
  std::vector<RealizedPod> LoadRealized() const;

  // Makes |pod| (scheduled: spec.nodeName set). On failure undoes what it made.
  Result<RealizedPod> Create(const config::Pod& pod);
  // Stops the containers and removes the network and every file of the pod.
  Status Destroy(const RealizedPod& pod);
  // Restarts supervisors that died although their container was not finished
  // (e.g. killed, or the machine rebooted). Returns how many were started.
  int EnsureSupervisors(const RealizedPod& pod);

  std::vector<cluster::ContainerStatus> ContainerStatuses(const RealizedPod& pod) const;
  // True if a socket in the network namespace of |pid_in_pod| listens on TCP
  // |port| (any address; asked of NETLINK_SOCK_DIAG, net/tcp_listeners.h).
  static bool Listening(pid_t pid_in_pod, int port);

  std::string PodDir(const RealizedPod& pod) const { return layout_.PodDir(pod.ns, pod.name); }
  std::string HostsFile(const RealizedPod& pod) const { return PodDir(pod) + "/hosts"; }
  std::string ResolvFile(const RealizedPod& pod) const { return PodDir(pod) + "/resolv.conf"; }
  std::string LogFile(const RealizedPod& pod, const std::string& container) const {
    return PodDir(pod) + "/logs/" + container + ".log";
  }

 private:
  Result<const cluster::CniChain*> ChainFor(const std::string& node);
  cluster::CniPod CniPodOf(const RealizedPod& pod) const;
  std::string SpecFile(const RealizedPod& pod, const std::string& container) const;
  std::string StatusFile(const RealizedPod& pod, const std::string& container) const;
  Status SavePodFile(const RealizedPod& pod) const;
  void KillOrphanedContainer(const RealizedPod& pod, pid_t pid) const;

  cluster::ClusterLayout layout_;
  cluster::ClusterConfig config_;
  std::string self_exe_;
  std::map<std::string, std::unique_ptr<cluster::CniChain>> chains_;  // by node
};

}  // namespace ambit::control
