// The settings a cluster was created with (<state>/cluster.json), written by
// `ambitctl cluster up` and read by ambitd. Value type; thread-compatible.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "cluster/cni.h"
#include "cluster/layout.h"
#include "core/duration.h"
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
  // Capture enrolled pods' DNS (UDP/TCP 53) to ztunnel's proxy on 15053
  // ("dnsCapture"; Istio's AMBIENT_DNS_CAPTURE, on by default). A pod's
  // ambient.istio.io/dns-capture annotation overrides it.
  bool dns_capture = true;
};

// The cluster's CA ("ca" in cluster.json; absent = these defaults).
struct CaSettings {
  // Lifetime of workload certificates (`cluster up --workload-cert-ttl`;
  // "workloadCertTtl" in cluster.json, e.g. "20s"): the CA's default and what
  // the cluster's ztunnels and waypoints request; renewed at half-life.
  std::chrono::seconds workload_cert_ttl = kDefaultWorkloadCertTtl;
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
  CaSettings ca;
  // The nameserver every pod's resolv.conf names and ztunnel forwards to
  // ("clusterDNS", kubelet's --cluster-dns). Nothing answers there unless a
  // DNS Service is given this ClusterIP; it is never auto-allocated.
  std::string cluster_dns = "10.96.0.2";
  PrometheusSettings prometheus;
};

std::string ClusterConfigToJson(const ClusterConfig& config);
// "" when |revision| can name a control-plane revision, else what is wrong.
std::string ValidateRevision(const std::string& revision);
Result<ClusterConfig> ClusterConfigFromJson(const std::string& text, const std::string& where);
Result<ClusterConfig> LoadClusterConfig(const ClusterLayout& layout);
Status SaveClusterConfig(const ClusterLayout& layout, const ClusterConfig& config);

}  // namespace ambit::cluster
