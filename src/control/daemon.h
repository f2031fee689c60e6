// ambitd for a local cluster: makes sure the cluster's nodes exist, runs the
// controller, and serves gRPC on <state-dir>/ambitd.sock until SIGTERM/SIGINT.
//
// Other components (CA, xDS) register their grpc::Service objects with
// AddService() before Run(). Stopping ambitd leaves pods running; a new ambitd
// adopts them.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/cluster_config.h"
#include "cluster/layout.h"
#include "core/result.h"

namespace grpc {
class Service;
}

namespace ambit::control {

class Daemon {
 public:
  // |self_exe| is the ambitd binary (re-executed as `ambitd supervise SPEC`).
  Daemon(cluster::ClusterLayout layout, std::string self_exe);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Not owned; must outlive Run().
  void AddService(grpc::Service* service);

  // Overrides the cluster's workload certificate lifetime (cluster.json
  // "ca.workloadCertTtl") for this run: the CA's default, and what the
  // ztunnels and waypoints this run starts request. Not persisted.
  void SetWorkloadCertTtl(std::chrono::seconds ttl) { cert_ttl_override_ = ttl; }

  // Blocks until a termination signal. Must be called from the main thread
  // before any other thread was started (it blocks the signals process-wide).
  Status Run();

 private:
  cluster::ClusterLayout layout_;
  std::string self_exe_;
  std::vector<grpc::Service*> extra_services_;
  std::optional<std::chrono::seconds> cert_ttl_override_;
};

}  // namespace ambit::control
