// The node-level network of a local cluster: one netns per node joined by a
// per-cluster fabric netns (a bridge with one veth per node), routes between the
// nodes' pod CIDRs. Nothing is configured in the caller's namespace.
//
// Thread-compatible (shells out to `ip`/`sysctl`); run from one thread at a time
// per cluster.
#pragma once

#include <string>
#include <vector>

#include "cluster/layout.h"
#include "core/result.h"

namespace ambit::cluster {

struct NodeInfo {
  std::string name;        // node1..nodeN
  int index = 0;           // 1-based
  std::string ip;          // 172.29.0.<index>
  std::string pod_cidr;    // 10.244.<index>.0/24
  std::string netns_path;  // /run/netns/ambit-<cluster>-node<index>
};

// The nodes a cluster of |count| nodes has (pure).
std::vector<NodeInfo> DescribeNodes(const ClusterLayout& layout, int count);

// Creates whatever part of the fabric and the nodes is missing; a second call on a
// complete topology changes nothing. Routes to every other node's pod CIDR are
// (re)installed in every node.
Status EnsureTopology(const ClusterLayout& layout, int node_count);

// True if /run/netns/<name> exists.
bool NetnsExists(const std::string& netns_name);
// Creates /run/netns/<name> (no-op when it exists) with loopback up.
Status EnsureNetns(const std::string& netns_name);
// Removes /run/netns/<name> (no-op when it does not exist).
Status DeleteNetns(const std::string& netns_name);
// Names under /run/netns that start with |prefix|.
std::vector<std::string> ListNetns(const std::string& prefix);

}  // namespace ambit::cluster
