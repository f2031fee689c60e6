// Runtime: the components every proxy process runs, built and stopped in one
// place so node::Ztunnel and waypoint::Waypoint are only the wiring of what
// differs:
//   - the discovery state (state::StateStore) fed by a delta xDS client
//     (xds::DeltaAdsClient) to config.xds_address;
//   - the certificate manager (SecretManager building TLS secrets) over a CA
//     client to config.ca_address with the node credential;
//   - N worker loops (net::WorkerPool) for the data plane;
//   - the metrics registry (metrics::Registry) with one cell per worker loop
//     and one for every other thread, served first on /metrics;
//   - the service loop with the admin, metrics and readiness servers (Admin),
//     readiness (Readiness, with the "xds" check), and the /config_dump
//     sections both proxies have: workloads, services, certificates, xds,
//     readiness;
//   - optionally the memory trimmer (MemoryTrimmer) on the service loop.
//
// Life cycle (from the owner's thread):
//   Create      builds everything, starts nothing; fails on bad config
//               (naming the flag), an unreadable credential or a bad address.
//   Start       service loop, then binds the three servers (a port conflict,
//               the likeliest failure, stops start-up before anything
//               connects anywhere), then certificates, workers, trimmer.
//   StartDiscovery  the xDS client: last, once the proxy's own components
//               that read the state are wired.
//   BeginDrain  readiness blocked with "draining".
//   StopDiscovery   the xDS client stops (the state stays as it was).
//   Stop        certificates, servers, trimmer, workers, service loop.
//               Idempotent; the destructor calls it.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <memory>

#include "core/result.h"
#include "proxy/config.h"
#include "xds/proxy_node.h"

namespace ambit::net {
class WorkerPool;
}
namespace ambit::state {
class StateStore;
}
namespace ambit::xds {
class DeltaAdsClient;
class ResourceHandler;
}

namespace ambit::httpd {
class ServiceLoop;
}
namespace ambit::metrics {
class Registry;
}

namespace ambit::proxy {

class Admin;
class Readiness;
class SecretManager;

class Runtime {
 public:
  struct Options {
    // The proxy's xDS node: pod_name and pod_namespace (ip, node_name and
    // cluster_id are taken from the config).
    xds::ProxyNode xds_node;
    // How often memory left by bursts and closed connections is given back
    // to the OS (MemoryTrimmer); 0 = never.
    std::chrono::milliseconds memory_trim_period{0};
    // xDS types beyond the workload state, each with its consumer
    // (DeltaAdsClientOptions::handlers), e.g. the waypoint's route tables.
    std::map<std::string, std::shared_ptr<xds::ResourceHandler>> xds_handlers;
  };

  static Result<std::unique_ptr<Runtime>> Create(const ProxyConfig& config, Options options);
  ~Runtime();  // Stop()
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  Status Start();
  void StartDiscovery();
  void BeginDrain();
  void StopDiscovery();
  void Stop();

  // The config as given, with ca_address defaulted to xds_address.
  const ProxyConfig& config() const;
  state::StateStore& store();
  Readiness& readiness();
  httpd::ServiceLoop& service();
  SecretManager& secrets();
  net::WorkerPool& workers();
  metrics::Registry& metrics();
  xds::DeltaAdsClient& xds();
  Admin& admin();
  const Admin& admin() const;

  struct Impl;

 private:
  explicit Runtime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambit::proxy
