// Invoking a CNI plugin chain per the CNI spec (version 1.0.0).
//
// The chain is a conflist: "bridge" (with "host-local" IPAM) first, then any
// chained plugins (e.g. ambit-cni), each receiving the previous plugin's result as
// "prevResult". ADD runs the list in order; DEL runs it in reverse with the cached
// ADD result. Plugins run inside the node's network namespace, so the bridge and
// the host end of each pod's veth land there.
//
// Thread-compatible; host-local serializes IPAM itself with a lock file.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace ambit::cluster {

struct CniSettings {
  // Searched in order for plugin binaries (passed as CNI_PATH).
  std::vector<std::string> bin_dirs = {"/usr/lib/cni", "/opt/cni/bin"};
  // JSON objects (each with "type") appended to the chain after "bridge".
  std::vector<std::string> chained_plugins;
};

// One node's network: its pod CIDR, and where host-local keeps its leases.
struct CniNetwork {
  std::string name = "ambit";
  std::string bridge = "cni0";
  std::string subnet;    // 10.244.K.0/24
  std::string ipam_dir;  // host-local dataDir (inside the cluster's state dir)
};

struct CniPod {
  std::string container_id;  // unique per pod instance
  std::string netns_path;    // the pod's netns file
  std::string ifname = "eth0";
  std::string host_netns;  // the node's netns file; plugins run in it
  std::string pod_namespace;
  std::string pod_name;
};

struct CniResult {
  std::string ip;    // first IPv4 address without prefix length
  std::string json;  // the final result of the chain, as returned
};

class CniChain {
 public:
  static Result<CniChain> Create(const CniSettings& settings, const CniNetwork& network);

  // The conflist, for the record (written to the state dir).
  std::string ConfList() const;
  // The stdin of plugin |index| of the list with |prev_result| ("" = none).
  std::string PluginInput(size_t index, const std::string& prev_result) const;
  size_t size() const { return plugins_.size(); }

  Result<CniResult> Add(const CniPod& pod) const;
  // |cached_result| is the result Add returned ("" if unknown).
  Status Del(const CniPod& pod, const std::string& cached_result) const;

 private:
  CniChain() = default;
  Result<std::string> Invoke(size_t index, const std::string& command, const CniPod& pod,
                             const std::string& prev_result) const;

  CniSettings settings_;
  std::string name_;
  std::vector<std::string> plugins_;  // JSON objects
  std::vector<std::string> types_;
};

// Parses a CNI result, returning its first IPv4 address (no prefix).
Result<std::string> FirstIpv4(const std::string& result_json);

}  // namespace ambit::cluster
