// ambitd's monitoring endpoint: GET /metrics in the Prometheus text format on
// istiod's monitoring port, 15014
// (https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio).
//
// A local cluster's control plane runs on the machine, but its Prometheus and
// its proxies live in the cluster's network: like istiod's pod, ambitd listens
// inside the cluster, on node1's address (<node1 ip>:15014, a socket made in
// node1's network namespace), where Prometheus scrapes it (job "ambitd",
// docs/observability.md). Nothing listens in the machine's own namespace.
//
// What it reports: the xDS server's and the CA's families (registered by them
// in registry()) and the process's own (process_cpu_seconds_total,
// process_resident_memory_bytes, process_open_fds, process_start_time_seconds,
// as Prometheus client libraries name them).
//
// Thread-safety: registry() may be used from any thread; Start/Stop from the
// owner.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "metrics/registry.h"
#include "net/socket_address.h"

namespace ambit::control {

inline constexpr int kMonitoringPort = 15014;

class Monitoring {
 public:
  Monitoring();
  ~Monitoring();  // Stop()
  Monitoring(const Monitoring&) = delete;
  Monitoring& operator=(const Monitoring&) = delete;

  metrics::Registry& registry() { return registry_; }

  // Serves /metrics on |addr|, bound in the network namespace at |netns_path|
  // ("" = the calling thread's).
  Status Start(const std::string& netns_path, const net::SocketAddress& addr);
  // Where it listens (after Start).
  const net::SocketAddress& local_address() const;
  void Stop();

 private:
  struct Server;
  metrics::Registry registry_;
  std::unique_ptr<Server> server_;
};

// The process's own families, read from /proc/self at scrape time.
void AddProcessMetrics(metrics::Registry& registry);

}  // namespace ambit::control
