#include "cluster/layout.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace ambit::cluster {

Status ValidateClusterName(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidArgument,
                 "invalid cluster name '" + std::string(name) + "': " + why);
  };
  if (name.empty() || name.size() > 20) return bad("expected 1-20 characters");
  if (!(name[0] >= 'a' && name[0] <= 'z')) return bad("must start with a lowercase letter");
  if (name.back() == '-') return bad("must not end with '-'");
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return bad("only lowercase letters, digits and '-' are allowed");
    }
  }
  return Ok();
}

ClusterLayout::ClusterLayout(std::string name) : name_(std::move(name)) {}

std::string ClusterLayout::StateRoot() {
  const char* root = std::getenv("AMBIT_STATE_ROOT");
  return (root && *root) ? root : "/var/lib/ambit";
}
std::string ClusterLayout::StateDir() const { return StateRoot() + "/" + name_; }
std::string ClusterLayout::SocketPath() const { return StateDir() + "/ambitd.sock"; }
std::string ClusterLayout::ClusterFile() const { return StateDir() + "/cluster.json"; }
std::string ClusterLayout::PidFile() const { return StateDir() + "/ambitd.pid"; }
std::string ClusterLayout::DaemonLog() const { return StateDir() + "/ambitd.log"; }
std::string ClusterLayout::StoreFile() const { return StateDir() + "/store.json"; }
std::string ClusterLayout::NodeDir(const std::string& node) const {
  return StateDir() + "/nodes/" + node;
}
std::string ClusterLayout::PodsDir() const { return StateDir() + "/pods"; }
namespace {

// "<ns>_<pod>" ('_' cannot occur in Kubernetes names, so it is unambiguous),
// shortened with a hash when it would make file names too long.
std::string PodId(const std::string& ns, const std::string& pod) {
  std::string id = ns + "_" + pod;
  if (id.size() <= 120) return id;
  uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
  for (unsigned char c : id) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return id.substr(0, 100) + "-" + hex;
}

}  // namespace

std::string ClusterLayout::PodDir(const std::string& ns, const std::string& pod) const {
  return PodsDir() + "/" + PodId(ns, pod);
}
std::string ClusterLayout::IpamDir(const std::string& node) const {
  return StateDir() + "/cni/ipam/" + node;
}

std::string ClusterLayout::NetnsPrefix() const { return "ambit-" + name_ + "-"; }
std::string ClusterLayout::FabricNetnsName() const { return NetnsPrefix() + "fabric"; }
std::string ClusterLayout::NodeNetnsName(int index) const {
  return NetnsPrefix() + NodeName(index);
}
std::string ClusterLayout::PodNetnsName(const std::string& ns, const std::string& pod) const {
  return NetnsPrefix() + "pod-" + PodId(ns, pod);
}
std::string ClusterLayout::NetnsPath(const std::string& netns_name) {
  return "/run/netns/" + netns_name;
}

std::string ClusterLayout::NodeName(int index) { return "node" + std::to_string(index); }
int ClusterLayout::NodeIndex(std::string_view name) {
  if (name.size() < 5 || name.substr(0, 4) != "node") return 0;
  int v = 0;
  for (char c : name.substr(4)) {
    if (c < '0' || c > '9' || v > kMaxNodes) return 0;
    v = v * 10 + (c - '0');
  }
  if (name[4] == '0') return 0;
  return v;
}
std::string ClusterLayout::NodeIp(int index) { return "172.29.0." + std::to_string(index); }
std::string ClusterLayout::PodCidr(int index) {
  return "10.244." + std::to_string(index) + ".0/24";
}
std::string ClusterLayout::PodGateway(int index) {
  return "10.244." + std::to_string(index) + ".1";
}

}  // namespace ambit::cluster
