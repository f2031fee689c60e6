// ambitd for a local cluster: makes sure the cluster's nodes exist, runs the
// controller, and serves gRPC on <state-dir>/ambitd.sock until SIGTERM/SIGINT.
//
// Other components (CA, xDS) register their grpc::Service objects with
// AddService() before Run(). Stopping ambitd leaves pods running; a new ambitd
// adopts them.
#pragma once

#include <memory>
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

  // Blocks until a termination signal. Must be called from the main thread
  // before any other thread was started (it blocks the signals process-wide).
  Status Run();

 private:
  cluster::ClusterLayout layout_;
  std::string self_exe_;
  std::vector<grpc::Service*> extra_services_;
};

}  // namespace ambit::control
