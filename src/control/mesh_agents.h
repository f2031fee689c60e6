// The mesh data plane of a local cluster, as ambitd runs it (docs/ztunnel.md,
// "Enrollment in the local cluster"). Per node:
//   - a ZdsServer on <state>/nodes/<node>/ztunnel.sock (ztunnel's ZDS peer),
//   - a NodeAgent on <state>/nodes/<node>/cni.sock (ambit-cni's peer), deciding
//     with the ambient model's enrollment rules (model/enrollment.h) over the
//     store and the mesh settings (MeshScope: discoverySelectors, revision),
//   - one ztunnel in the node's network namespace under a container supervisor
//     (`ambitd supervise`), so it survives ambitd and is restarted if it dies.
// Label and mesh config changes: every reconciler pass hands its view to a worker thread that
// calls NodeAgent::Reevaluate for each running pod, so pods join or leave the
// mesh within about a second of `ambitctl apply`, without a restart.
//
// Restarts: a new ambitd re-adopts the pods found on disk (their rules are
// re-adopted, not re-made) before ztunnel can reach the new ZDS socket: the
// socket is bound under a private name and renamed into place by Open(), so a
// reconnecting ztunnel receives a complete snapshot. Stopping ambitd leaves
// every enrolled pod's rules in place and ztunnel running with its pods.
//
// Thread-safety: Observe() may be called from any thread; the rest from the
// owner (ambitd's main thread).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cluster/cluster_config.h"
#include "cluster/layout.h"
#include "cluster/topology.h"
#include "core/result.h"

namespace ambit::control {

class MeshScope;
class Store;
struct RealizedPod;
struct RuntimeView;

// Appends ambit-cni (agentSocket = the node's cni.sock) to |settings|' chain
// and the directory of |self_exe| (where ambit-cni is built/installed next to
// ambitd) to its binary search path.
void AddMeshCniPlugin(const cluster::ClusterLayout& layout, const std::string& node,
                      const std::string& self_exe, cluster::CniSettings* settings);

// The command line of node |node|'s ztunnel: the binary next to |self_exe|,
// the cluster's endpoints and files for the node, --secret-ttl (the cluster's
// workload certificate TTL), then the cluster's
// mesh.ztunnel_args in order (later flags win where ztunnel allows repeats).
std::vector<std::string> ZtunnelArgv(const cluster::ClusterLayout& layout,
                                     const cluster::ClusterConfig& config,
                                     const cluster::NodeInfo& node, const std::string& self_exe);

class MeshAgents {
 public:
  // Starts the per-node ZDS servers and node agents (ZDS under a private
  // socket name until Open()) and re-evaluates |realized| (pods found on disk).
  // |store| and |scope| must outlive the object. ztunnel and ambit-cni are
  // looked up next to |self_exe|.
  static Result<std::unique_ptr<MeshAgents>> Start(cluster::ClusterLayout layout,
                                                   const cluster::ClusterConfig& config,
                                                   const Store* store, MeshScope* scope,
                                                   std::string self_exe,
                                                   const std::vector<RealizedPod>& realized);
  // Stops the worker; leaves rules, ZDS state in ztunnel and ztunnels running.
  ~MeshAgents();
  MeshAgents(const MeshAgents&) = delete;
  MeshAgents& operator=(const MeshAgents&) = delete;

  // Moves the ZDS sockets to the paths ztunnel dials, starts (or adopts) each
  // node's ztunnel supervisor and the worker thread. Call once ambitd serves
  // the CA and xDS.
  Status Open();

  // A new runtime view (reconciler thread): the worker re-evaluates its pods.
  void Observe(std::shared_ptr<const RuntimeView> view);

  struct Impl;

 private:
  explicit MeshAgents(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambit::control
