// Admin: a proxy's three side servers (ztunnel's and the waypoint's), all on
// the ServiceLoop thread
// (https://istio.io/latest/docs/ambient/usage/troubleshoot-ztunnel/):
//   admin     (127.0.0.1:15000): /config_dump (JSON), /quitquitquit (POST), /
//   metrics   (:15020): /metrics and /stats/prometheus (Prometheus text: the
//                       metrics sources' texts, in the order they were added)
//   readiness (:15021): /healthz/ready, 200 once Readiness has no blockers,
//                       503 naming the pending blockers otherwise.
//
// /config_dump is one JSON object; each section is produced by a callback
// registered with AddDumpSection (workloads, services, certificates, pods,
// counters, ...). Callbacks run on the ServiceLoop thread and must be
// thread-safe with respect to the data path (they read snapshots or atomics).
//
// Thread-safety: configure (Add*) before Start; Start/Close from the owner.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "net/socket_address.h"
#include "httpd/http_server.h"
#include "proxy/readiness.h"
#include "httpd/service_loop.h"

namespace ambit::proxy {

class Admin {
 public:
  using DumpSection = std::function<void(nlohmann::json& out)>;
  using MetricsSource = std::function<std::string()>;

  struct Addresses {
    net::SocketAddress admin;
    net::SocketAddress metrics;
    net::SocketAddress readiness;
  };
  // 127.0.0.1:15000, 0.0.0.0:15020, 0.0.0.0:15021.
  static Addresses DefaultAddresses();

  Admin(httpd::ServiceLoop& loop, Readiness& readiness);
  ~Admin();

  // Adds the top-level key |name| to /config_dump, filled by |section|.
  void AddDumpSection(std::string name, DumpSection section);
  // Prometheus text appended to /metrics (must end with a newline).
  void AddMetricsSource(MetricsSource source);
  // Called (on the ServiceLoop thread) for POST /quitquitquit. May be set
  // at any time (thread-safe).
  void SetQuitHandler(std::function<void()> on_quit);

  // Binds and serves all three. Fails naming the address that could not be bound.
  Status Start(const Addresses& addresses);
  void Close();

  // Bound addresses (after Start; useful with port 0).
  const Addresses& bound() const { return bound_; }

  // The full /config_dump document as text (also for tests).
  std::string ConfigDump() const;
  std::string Metrics() const;

 private:
  httpd::HttpRoutes AdminRoutes();
  httpd::HttpRoutes MetricsRoutes();
  httpd::HttpRoutes ReadinessRoutes();

  httpd::ServiceLoop& loop_;
  Readiness& readiness_;
  std::vector<std::pair<std::string, DumpSection>> sections_;
  std::vector<MetricsSource> metrics_sources_;
  mutable std::mutex quit_mu_;
  std::function<void()> on_quit_;  // guarded by quit_mu_
  std::vector<std::shared_ptr<httpd::HttpServer>> servers_;
  Addresses bound_;
};

}  // namespace ambit::proxy
