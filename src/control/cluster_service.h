// The ambit.v1.ClusterService gRPC service (management API for ambitctl).
// Thread-safe: gRPC calls it from its own threads.
#pragma once

#include <memory>

#include "cluster/cluster_config.h"
#include "cluster/layout.h"
#include "config/analysis.h"

namespace grpc {
class Service;
}

namespace ambit::control {

class Controller;
class Reconciler;
class Store;

// Borrowed pointers must outlive the service.
std::unique_ptr<grpc::Service> MakeClusterService(const cluster::ClusterLayout& layout,
                                                  const cluster::ClusterConfig& config,
                                                  Store* store, Reconciler* reconciler,
                                                  Controller* controller,
                                                  const config::AnalysisContext& analysis);

}  // namespace ambit::control
