#include "cluster/names_files.h"

#include <algorithm>
#include <tuple>

namespace ambit::cluster {

std::string BuildHostsFile(const std::string& pod_name, const std::string& pod_namespace,
                           const std::string& pod_ip, std::vector<ServiceAddress> services) {
  std::sort(services.begin(), services.end(), [](const auto& a, const auto& b) {
    return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
  });
  std::string out = "# Managed by ambitd: pod " + pod_namespace + "/" + pod_name + "\n";
  out += "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  if (!pod_ip.empty()) out += pod_ip + "\t" + pod_name + "\n";
  for (const auto& s : services) {
    if (s.vip.empty()) continue;
    out += s.vip + "\t" + s.name + "." + s.ns + ".svc." + kClusterDomain + " " + s.name + "." +
           s.ns + ".svc " + s.name + "." + s.ns;
    if (s.ns == pod_namespace) out += " " + s.name;
    out += "\n";
  }
  return out;
}

std::string BuildResolvConf(const std::string& pod_namespace, const std::string& nameserver) {
  return "# Managed by ambitd\nsearch " + pod_namespace + ".svc." + kClusterDomain + " svc." +
         kClusterDomain + " " + kClusterDomain + "\nnameserver " + nameserver +
         "\noptions ndots:5 timeout:1 attempts:1\n";
}

}  // namespace ambit::cluster
