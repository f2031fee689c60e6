// `ambitctl cluster up|down`: creating and removing a local cluster.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace ambit::ctl {

inline constexpr int kDefaultNodes = 2;

struct UpOptions {
  std::optional<int> nodes;               // default kDefaultNodes for a new cluster
  std::vector<std::string> cni_bin_dirs;  // empty = the default (/usr/lib/cni, /opt/cni/bin)
  std::vector<std::string> cni_chain;     // JSON plugin configs chained after bridge
  std::string redirect = "nftables";      // mesh redirect backend: nftables | iptables
  bool no_mesh = false;                   // no node agents, ambit-cni or ztunnels
  std::vector<std::string> ztunnel_args;  // appended to every ztunnel's argv (new cluster)
  std::string revision;                   // control-plane revision (new cluster); "" = default
  // A file applied once ambitd answers: Istio MeshConfig YAML (becomes the
  // mesh ConfigMap istio-system/istio, data.mesh) or ConfigMap manifests.
  std::string mesh_config;
  // Workload certificate lifetime as given ("20s", "24h"; empty = not given:
  // 24 h for a new cluster, unchanged for an existing one). Persisted in
  // cluster.json ("ca.workloadCertTtl"); an existing cluster with another
  // value is refused like the other settings.
  std::string workload_cert_ttl;
  // Run a Prometheus in the cluster (docs/observability.md). For an existing
  // cluster without one: turned on, and its ambitd restarted to start it.
  bool prometheus = false;
};

// The manifests `--mesh-config FILE` applies, from the file's |text|: the
// file itself when it holds ConfigMaps, else MeshConfig YAML wrapped in the
// mesh ConfigMap of |revision|. Bad input is an error naming FILE and the
// field. Pure.
Result<std::string> MeshConfigManifest(const std::string& file, const std::string& text,
                                       const std::string& revision);

// Creates the cluster (state dir, cluster.json) if it does not exist, starts its
// ambitd if it is not running, and waits until it answers. Idempotent; fails if
// the cluster exists with a different node count, CNI settings, ztunnel
// arguments or workload certificate TTL (each when given).
// |ambitd| is the binary to run. On failure a cluster this call created is
// removed again. With options.mesh_config the file is checked before anything
// is made and applied once ambitd answers (its warnings are printed).
Status ClusterUp(const std::string& cluster, const UpOptions& options, const std::string& ambitd);

// `cluster status`: what the cluster is made of and where to reach it
// (ambitd, nodes, mesh, Prometheus URL). Works while ambitd is down.
Result<std::string> ClusterStatus(const std::string& cluster);

// Removes everything of the cluster, whether or not its ambitd runs.
Status ClusterDown(const std::string& cluster);

// The ambitd binary next to the running ambitctl, else "ambitd" on PATH.
std::string FindAmbitd();

}  // namespace ambit::ctl
