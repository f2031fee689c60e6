#include "cluster/topology.h"

#include <dirent.h>
#include <sys/stat.h>

#include "cluster/subprocess.h"

namespace ambit::cluster {
namespace {

constexpr char kFabricBridge[] = "fabric";

Status Ip(const std::string& netns_name, std::vector<std::string> args) {
  std::vector<std::string> argv = {"ip", "-n", netns_name};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunChecked(argv);
  if (!r.ok()) return std::move(r).error();
  return Ok();
}

bool LinkExists(const std::string& netns_name, const std::string& link) {
  auto r = RunCommand({"ip", "-n", netns_name, "link", "show", "dev", link});
  return r.ok() && r->exit_code == 0;
}

// Frames bridged inside the fabric and node namespaces (the fabric bridge, each
// node's CNI bridge) skip the IP-layer netfilter hooks: the cluster keeps no
// rules there (Service DNAT and in-pod redirection live in the pods' own
// namespaces), and with br_netfilter on, every bridged packet of every path paid
// for a pass through those hooks (4-5 % of the node proxies' CPU in the
// new-connection profile, docs/performance.md). The keys exist only where the
// kernel has br_netfilter; `-e` skips them elsewhere.
Status DisableBridgeNetfilter(const std::string& netns_path, const std::string& netns_name) {
  CommandOptions in_ns;
  in_ns.netns = netns_path;
  auto r = RunChecked({"sysctl", "-q", "-e", "-w", "net.bridge.bridge-nf-call-iptables=0",
                       "net.bridge.bridge-nf-call-ip6tables=0", "net.bridge.bridge-nf-call-arptables=0"},
                      in_ns);
  if (!r.ok()) return std::move(r).error().WithContext("turning off bridge netfilter in " + netns_name);
  return Ok();
}

}  // namespace

std::vector<NodeInfo> DescribeNodes(const ClusterLayout& layout, int count) {
  std::vector<NodeInfo> nodes;
  for (int i = 1; i <= count; ++i) {
    nodes.push_back({ClusterLayout::NodeName(i), i, ClusterLayout::NodeIp(i),
                     ClusterLayout::PodCidr(i), ClusterLayout::NetnsPath(layout.NodeNetnsName(i))});
  }
  return nodes;
}

bool NetnsExists(const std::string& netns_name) {
  struct stat st {};
  return ::stat(ClusterLayout::NetnsPath(netns_name).c_str(), &st) == 0;
}

Status EnsureNetns(const std::string& netns_name) {
  if (!NetnsExists(netns_name)) {
    auto r = RunChecked({"ip", "netns", "add", netns_name});
    if (!r.ok()) return std::move(r).error().WithContext("creating network namespace");
  }
  return Ip(netns_name, {"link", "set", "lo", "up"});
}

Status DeleteNetns(const std::string& netns_name) {
  if (!NetnsExists(netns_name)) return Ok();
  auto r = RunChecked({"ip", "netns", "delete", netns_name});
  if (!r.ok()) return std::move(r).error().WithContext("removing network namespace");
  return Ok();
}

std::vector<std::string> ListNetns(const std::string& prefix) {
  std::vector<std::string> out;
  DIR* dir = ::opendir("/run/netns");
  if (!dir) return out;
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  ::closedir(dir);
  return out;
}

Status EnsureTopology(const ClusterLayout& layout, int node_count) {
  const std::string fabric = layout.FabricNetnsName();
  AMBIT_RETURN_IF_ERROR(EnsureNetns(fabric));
  if (!LinkExists(fabric, kFabricBridge)) {
    AMBIT_RETURN_IF_ERROR(Ip(fabric, {"link", "add", kFabricBridge, "type", "bridge"}));
  }
  AMBIT_RETURN_IF_ERROR(Ip(fabric, {"link", "set", kFabricBridge, "up"}));
  AMBIT_RETURN_IF_ERROR(DisableBridgeNetfilter(ClusterLayout::NetnsPath(fabric), fabric));

  auto nodes = DescribeNodes(layout, node_count);
  for (const auto& node : nodes) {
    const std::string ns = layout.NodeNetnsName(node.index);
    AMBIT_RETURN_IF_ERROR(EnsureNetns(ns));
    const std::string port = "n" + std::to_string(node.index);  // fabric side of the veth
    if (!LinkExists(fabric, port)) {
      // Both ends are created directly inside cluster namespaces.
      AMBIT_RETURN_IF_ERROR(
          Ip(fabric, {"link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns}));
    }
    AMBIT_RETURN_IF_ERROR(Ip(fabric, {"link", "set", port, "master", kFabricBridge, "up"}));
    AMBIT_RETURN_IF_ERROR(Ip(ns, {"addr", "replace", node.ip + "/24", "dev", "eth0"}));
    AMBIT_RETURN_IF_ERROR(Ip(ns, {"link", "set", "eth0", "up"}));
    CommandOptions in_node;
    in_node.netns = node.netns_path;
    auto fwd = RunChecked({"sysctl", "-q", "-w", "net.ipv4.ip_forward=1"}, in_node);
    if (!fwd.ok()) return std::move(fwd).error().WithContext("enabling forwarding in " + ns);
    AMBIT_RETURN_IF_ERROR(DisableBridgeNetfilter(node.netns_path, ns));
  }
  for (const auto& node : nodes) {
    const std::string ns = layout.NodeNetnsName(node.index);
    for (const auto& other : nodes) {
      if (other.index == node.index) continue;
      AMBIT_RETURN_IF_ERROR(
          Ip(ns, {"route", "replace", other.pod_cidr, "via", other.ip, "dev", "eth0"}));
    }
  }
  return Ok();
}

}  // namespace ambit::cluster
