// ProxyNode: who an xDS client is, and its wire form (envoy.config.core.v3.Node).
//
// ztunnel's node id is "ztunnel~<ip>~<pod>.<ns>~<ns>.svc.cluster.local" and
// its metadata carries NAME, NAMESPACE, INSTANCE_IPS, NODE_NAME, CLUSTER_ID
// and ENABLE_HBONE (https://github.com/istio/ztunnel/blob/master/src/xds/client.rs).
// Value type; thread-compatible.
#pragma once

#include <string>

#include "core/result.h"

namespace envoy::config::core::v3 {
class Node;
}

namespace ambit::xds {

struct ProxyNode {
  std::string ip;             // the proxy's own IP (INSTANCE_IPS)
  std::string pod_name;       // NAME
  std::string pod_namespace;  // NAMESPACE
  std::string node_name;      // NODE_NAME: the cluster node the proxy serves
  std::string cluster_id;     // CLUSTER_ID; also Node.cluster

  // "ztunnel~<ip>~<pod>.<ns>~<ns>.svc.cluster.local".
  std::string NodeId() const;
  void ToProto(envoy::config::core::v3::Node* out) const;
  // Reads the metadata keys above; the id is informational only. Fails
  // (InvalidArgument) when NODE_NAME is missing or not a string.
  static Result<ProxyNode> FromProto(const envoy::config::core::v3::Node& node);
};

}  // namespace ambit::xds
