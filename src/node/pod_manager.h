// PodManager: the in-pod proxy lifecycle. The ZDS client tells it which pods
// are enrolled (AddPod with the pod's netns fd, DelPod); for each it starts a
// Pod (listeners 15001/15006/15008 inside the pod's namespace, every socket
// marked 0x539, SO_REUSEPORT) and leases the certificate of the pod's identity
// (shared by all pods of that identity). DelPod closes the listeners at once
// and gives open connections |drain_grace| to finish before aborting them.
//
// AddPod for a uid already served: same namespace (by inode) and same spec is
// a no-op; otherwise the old proxy is drained and a new one started.
//
// Thread-safety: all methods are thread-safe (the ZDS thread adds and
// deletes; the admin thread reads Pods()).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/unique_fd.h"
#include "net/worker_pool.h"
#include "node/pod.h"
#include "proxy/secret_manager.h"

namespace asio {
class io_context;
}

namespace ambit::node {

struct PodStatus {
  PodSpec spec;
  std::string identity;
  std::vector<std::string> listeners;
  std::size_t active_connections = 0;
  std::uint64_t total_connections = 0;
  bool certificate_ready = false;
  bool draining = false;
};

class PodManager {
 public:
  struct Options {
    std::string trust_domain = "cluster.local";
    PodPorts ports;
    std::uint32_t mark = net::kInpodMark;
    std::chrono::milliseconds drain_grace{5000};
    // Finds the service account of a pod the node agent sent without one
    // (e.g. from xDS by namespace/name); "" = unknown, "default" is used.
    std::function<std::string(const PodSpec&)> resolve_service_account;
    // Starts a pod's side service (the DNS proxy) once its listeners are
    // open; a failure fails AddPod. Unset: none.
    std::function<Result<std::unique_ptr<PodSideService>>(const Pod&)> side_service;
  };

  // |control| runs the drain timers (the httpd::ServiceLoop's context). Everything
  // passed in must outlive the manager.
  PodManager(net::WorkerPool& workers, proxy::SecretManager& secrets, PodTrafficHandler& handler,
             asio::io_context& control, Options options);
  ~PodManager();

  // Starts serving the pod; takes ownership of |netns|.
  Status AddPod(const PodSpec& spec, UniqueFd netns);
  // Stops serving the pod (drains). Unknown uids succeed.
  Status DelPod(const std::string& uid);

  // Stops every pod: listeners close now, connections get |grace| and are
  // then aborted. Blocks until no connection is left or grace + 1 s passed.
  // Returns the number of connections still open at return.
  std::size_t Shutdown(std::chrono::milliseconds grace);

  // Blocks until the pod's certificate is available or |timeout| passes.
  // False for an unknown uid or on timeout.
  bool WaitForCertificate(const std::string& uid, std::chrono::milliseconds timeout) const;

  std::vector<PodStatus> Pods() const;
  // Every pod served or still draining (a copy of the list: |fn| runs
  // without the manager's lock held).
  std::vector<std::shared_ptr<Pod>> LivePods() const;
  // Open connections of every pod (draining ones included) that described
  // themselves within |timeout| (ConnectionTracker::Describe), with their pod.
  struct PodConnections {
    PodSpec spec;
    std::vector<ConnectionRow> rows;
  };
  std::vector<PodConnections> Connections(std::chrono::milliseconds timeout) const;
  std::size_t pod_count() const;
  // Pods removed but with connections still draining.
  std::size_t draining_count() const;

 private:
  void Retire(std::shared_ptr<Pod> pod, std::chrono::milliseconds grace);

  net::WorkerPool& workers_;
  proxy::SecretManager& secrets_;
  PodTrafficHandler& handler_;
  asio::io_context& control_;
  Options options_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Pod>> pods_;       // by uid; guarded by mu_
  std::vector<std::weak_ptr<Pod>> retired_;                // guarded by mu_
};

}  // namespace ambit::node
