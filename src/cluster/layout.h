// Where a local cluster keeps things: state directory, network namespace names,
// addresses. Pure value computations; thread-safe.
//
// A cluster named C with N nodes owns, and only owns:
//   /var/lib/ambit/C/                 state dir (AMBIT_STATE_ROOT overrides /var/lib/ambit)
//   /run/netns/ambit-C-fabric         the L2 fabric joining the nodes (bridge "fabric")
//   /run/netns/ambit-C-nodeK          node K (1..N): eth0 = 172.29.0.K/24, pods 10.244.K.0/24
//   /run/netns/ambit-C-pod-NS_NAME    one per pod
// Addresses exist only inside those namespaces, so clusters may reuse them.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace ambit::cluster {

inline constexpr std::string_view kDefaultCluster = "ambit";
inline constexpr int kMaxNodes = 50;

// Cluster names: 1-20 chars of [a-z0-9-], starting with a letter, not ending in '-'.
Status ValidateClusterName(std::string_view name);

class ClusterLayout {
 public:
  explicit ClusterLayout(std::string name);

  const std::string& name() const { return name_; }
  // /var/lib/ambit (or $AMBIT_STATE_ROOT).
  static std::string StateRoot();
  std::string StateDir() const;                        // <root>/<name>
  std::string SocketPath() const;                      // <state>/ambitd.sock
  std::string ClusterFile() const;                     // <state>/cluster.json
  std::string PidFile() const;                         // <state>/ambitd.pid
  std::string DaemonLog() const;                       // <state>/ambitd.log
  std::string StoreFile() const;                       // <state>/store.json
  std::string NodeDir(const std::string& node) const;  // <state>/nodes/<node>
  std::string PodsDir() const;                         // <state>/pods
  // <state>/pods/<ns>_<pod> (names longer than 120 characters together are
  // shortened with a hash, here and in PodNetnsName).
  std::string PodDir(const std::string& ns, const std::string& pod) const;
  std::string IpamDir(const std::string& node) const;  // <state>/cni/ipam/<node>

  // Every netns this cluster creates begins with this prefix ("ambit-<name>-").
  std::string NetnsPrefix() const;
  std::string FabricNetnsName() const;
  std::string NodeNetnsName(int index) const;  // index is 1-based
  std::string PodNetnsName(const std::string& ns, const std::string& pod) const;
  static std::string NetnsPath(const std::string& netns_name);  // /run/netns/<name>

  static std::string NodeName(int index);  // "node<index>"
  // Parses "node<K>" -> K, or 0 when |name| is not a node name.
  static int NodeIndex(std::string_view name);
  static std::string NodeIp(int index);      // 172.29.0.<index>
  static std::string PodCidr(int index);     // 10.244.<index>.0/24
  static std::string PodGateway(int index);  // 10.244.<index>.1

 private:
  std::string name_;
};

}  // namespace ambit::cluster
