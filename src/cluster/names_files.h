// The per-pod name files: a hosts file mapping every Service to its ClusterIP
// under NAME.NS.svc.cluster.local and NAME.NS (plus the bare NAME for services in
// the pod's own namespace, since glibc does not apply the search list to the
// hosts file), and a resolv.conf with the Kubernetes search list. Pure functions.
#pragma once

#include <string>
#include <vector>

namespace ambit::cluster {

inline constexpr char kClusterDomain[] = "cluster.local";

struct ServiceAddress {
  std::string name;
  std::string ns;
  std::string vip;
};

std::string BuildHostsFile(const std::string& pod_name, const std::string& pod_namespace,
                           const std::string& pod_ip, std::vector<ServiceAddress> services);

// |nameserver| is the cluster DNS (ClusterConfig::cluster_dns). An enrolled
// pod's queries to it are captured by ztunnel's DNS proxy (docs/dns.md).
std::string BuildResolvConf(const std::string& pod_namespace, const std::string& nameserver);

}  // namespace ambit::cluster
