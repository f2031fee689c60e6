// The settings a cluster was created with (<state>/cluster.json), written by
// `ambitctl cluster up` and read by ambitd. Value type; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "cluster/cni.h"
#include "cluster/layout.h"
#include "core/result.h"

namespace ambit::cluster {

// The mesh data plane of the local cluster ("mesh" in cluster.json; absent =
// these defaults): per node a node agent in ambitd (ambit-cni chained last)
// and a supervised ztunnel in the node's namespace.
struct MeshSettings {
  bool enabled = true;
  std::string redirect = "nftables";  // in-pod redirect backend: nftables | iptables
  // Appended to every ztunnel's command line, in order (`cluster up
  // --ztunnel-arg`; "ztunnelArgs" in cluster.json), e.g. "--workers=1".
  std::vector<std::string> ztunnel_args;
  // The control-plane revision ambitd serves ("revision" in cluster.json;
  // `cluster up --revision`): it reads the mesh ConfigMap istio-system/istio
  // ("default") or istio-system/istio-<revision>, and leaves namespaces and
  // pods labelled istio.io/rev for another revision alone.
  std::string revision = "default";
};

// A Prometheus scraping every ztunnel and waypoint ("prometheus" in
// cluster.json; absent = off): runs in node1's namespace under a supervisor,
// reachable from the machine at 127.0.0.1:<port> through ambitd
// (docs/observability.md).
struct PrometheusSettings {
  bool enabled = false;
  int port = 0;  // 127.0.0.1 port on the machine, chosen free by `cluster up --prometheus`
};

struct ClusterConfig {
  std::string name;
  int node_count = 1;
  CniSettings cni;
  MeshSettings mesh;
  PrometheusSettings prometheus;
};

std::string ClusterConfigToJson(const ClusterConfig& config);
// "" when |revision| can name a control-plane revision, else what is wrong.
std::string ValidateRevision(const std::string& revision);
Result<ClusterConfig> ClusterConfigFromJson(const std::string& text, const std::string& where);
Result<ClusterConfig> LoadClusterConfig(const ClusterLayout& layout);
Status SaveClusterConfig(const ClusterLayout& layout, const ClusterConfig& config);

}  // namespace ambit::cluster
