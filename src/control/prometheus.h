// A Prometheus for a local cluster (`ambitctl cluster up --prometheus`,
// docs/observability.md): the Debian `prometheus` binary runs in node1's
// network namespace under a container supervisor (like the ztunnels, so it
// survives ambitd and is restarted if it dies), listening on 127.0.0.1:9090
// there, scraping every 5 s:
//   job "ztunnel":  every node's ztunnel at <node ip>:15020/metrics
//   job "waypoint": every running waypoint pod at <pod ip>:15020/metrics
//                   (a file_sd target file ambitd rewrites as pods change)
// with its TSDB under <state>/prometheus/data. ambitd forwards
// 127.0.0.1:<port> of the machine (its own namespace, a listening socket and
// nothing else) to it, so the UI and HTTP API are reachable while ambitd runs.
//
// Decisions are pure (PrometheusConfigYaml, WaypointTargetsJson); the agent
// does the I/O. Thread-safety: Observe() from any thread; the rest from the
// owner.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cluster/cluster_config.h"
#include "cluster/layout.h"
#include "cluster/topology.h"
#include "core/result.h"

namespace ambit::control {

struct StoreState;
struct RuntimeView;

inline constexpr int kPrometheusPort = 9090;  // 127.0.0.1 inside node1's netns
inline constexpr int kScrapeIntervalSeconds = 5;

// <state>/prometheus/prometheus.yml for |nodes|; |waypoint_file| is the
// file_sd target file of the waypoint job.
std::string PrometheusConfigYaml(const std::vector<cluster::NodeInfo>& nodes,
                                 const std::string& waypoint_file);

// The file_sd JSON of the running waypoint pods (label
// gateway.networking.k8s.io/gateway-name, phase Running, with an IP): one
// group per pod, target <ip>:15020, labels namespace, pod, gateway. Ordered by
// pod key, so unchanged input gives unchanged text.
std::string WaypointTargetsJson(const StoreState& state, const RuntimeView& view);

class PrometheusAgent {
 public:
  // Writes the config, then keeps (from a worker thread, once a second)
  // Prometheus supervised, the waypoint targets current and the forwarder
  // listening on 127.0.0.1:|settings.port|. |self_exe| is ambitd (for
  // `ambitd supervise`).
  static Result<std::unique_ptr<PrometheusAgent>> Start(cluster::ClusterLayout layout,
                                                        const cluster::ClusterConfig& config,
                                                        std::string self_exe);
  // Stops the worker and the forwarder; Prometheus keeps running (cluster
  // down removes it).
  ~PrometheusAgent();
  PrometheusAgent(const PrometheusAgent&) = delete;
  PrometheusAgent& operator=(const PrometheusAgent&) = delete;

  // A reconciler pass (any thread): the waypoint targets are recomputed.
  void Observe(const StoreState& state, const RuntimeView& view);

  struct Impl;

 private:
  explicit PrometheusAgent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambit::control
