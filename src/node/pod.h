// Pod: one enrolled pod as ztunnel serves it — its identity, its network
// namespace (and the socket factory that makes marked sockets there), the
// certificate lease for its identity, its three listeners and its live
// connections (https://istio.io/latest/docs/ambient/architecture/traffic-redirection/).
//
// Threading: immutable after Start except for the listeners and the tracker,
// which are thread-safe; shared by the accept handlers on every worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/netns.h"
#include "core/result.h"
#include "identity/spiffe_id.h"
#include "net/listener.h"
#include "net/socket_factory.h"
#include "net/socket_options.h"
#include "net/worker_pool.h"
#include "node/connection_tracker.h"
#include "proxy/secret_manager.h"

namespace ambit::node {

struct PodSpec {
  std::string uid;              // the node agent's id for the pod
  std::string name;
  std::string ns;
  std::string service_account;  // "" = "default"
  friend bool operator==(const PodSpec&, const PodSpec&) = default;
};

struct PodPorts {
  std::uint16_t outbound = 15001;
  std::uint16_t inbound_plaintext = 15006;
  std::uint16_t hbone = 15008;
  // Listeners bind this address inside the pod (the wildcard by default).
  net::IpAddress bind = net::IpAddress();
};

class Pod;

// Something a pod runs beside its three listeners (its DNS proxy): started
// after them, stopped when the pod stops accepting. Thread-safe Stop.
class PodSideService {
 public:
  virtual ~PodSideService() = default;
  virtual void Stop() = 0;
  // What it listens on, for the pods dump (e.g. "dns udp 127.0.0.1:15053").
  virtual std::vector<std::string> Describe() const = 0;
};

// Per-pod state a PodTrafficHandler attaches to a pod (e.g. its proxies),
// and what to do with a connection accepted on one of that pod's listeners.
// The pod's listeners call the object attached to that pod, so a handler's
// connections always reach its own per-pod state: no downcast from a base
// that another handler could have attached. The On* methods are called on
// the worker loop that owns |socket|; they must not block.
class PodTraffic {
 public:
  virtual ~PodTraffic() = default;
  virtual void OnOutbound(std::shared_ptr<Pod> pod, asio::ip::tcp::socket socket) = 0;
  virtual void OnInboundPlaintext(std::shared_ptr<Pod> pod, asio::ip::tcp::socket socket) = 0;
  virtual void OnHbone(std::shared_ptr<Pod> pod, asio::ip::tcp::socket socket) = 0;
  // Blocks the caller (never a worker loop) until no connection task of
  // this pod runs, woken by the last one's end; false if |deadline| passed
  // first. A handler that owns no tasks has none to wait for.
  virtual bool WaitIdle(std::chrono::steady_clock::time_point /*deadline*/) const { return true; }
};

// Makes the per-pod traffic state of each pod.
class PodTrafficHandler {
 public:
  virtual ~PodTrafficHandler() = default;
  // Called once per pod before its listeners open; the result is kept in the
  // pod (Pod::traffic()) and serves its listeners' connections. It must not
  // keep |pod| alive (no shared_ptr to it).
  virtual Result<std::unique_ptr<PodTraffic>> Attach(const Pod& pod) = 0;
};

class Pod : public std::enable_shared_from_this<Pod> {
 public:
  // Opens the pod's listeners inside |netns| through a NetnsSocketFactory that
  // marks every socket with |mark|: per port, one SO_REUSEPORT listening
  // socket per worker loop, accepted and served on that loop
  // (net::Listener, per_worker). Fails (closing whatever was opened)
  // naming the listener that could not be bound.
  static Result<std::shared_ptr<Pod>> Start(PodSpec spec, identity::SpiffeId identity,
                                            std::shared_ptr<const Netns> netns, std::uint32_t mark,
                                            proxy::CertLease lease, const PodPorts& ports,
                                            net::WorkerPool& workers, PodTrafficHandler& handler);

  const PodSpec& spec() const { return spec_; }
  const identity::SpiffeId& identity() const { return identity_; }
  const Netns& netns() const { return *netns_; }
  // Makes sockets inside the pod's namespace, marked.
  const std::shared_ptr<const net::SocketFactory>& sockets() const { return factory_; }
  PodTraffic& traffic() const { return *traffic_; }
  const proxy::CertLease& certificate() const { return lease_; }
  ConnectionTracker& connections() { return *tracker_; }
  // The tracker as a shared handle, for objects that may outlive the pod.
  const std::shared_ptr<ConnectionTracker>& tracker() const { return tracker_; }
  const ConnectionTracker& connections() const { return *tracker_; }
  std::vector<net::SocketAddress> listen_addresses() const;
  // Listening sockets over all ports (ports x worker loops).
  std::size_t listening_sockets() const;
  // Side services' descriptions (PodSideService::Describe), in order.
  std::vector<std::string> side_service_descriptions() const;
  // Adds a side service; only before the PodManager publishes the pod.
  void AddSideService(std::unique_ptr<PodSideService> service) {
    side_services_.push_back(std::move(service));
  }

  // Closes the listeners and refuses new connections; open ones continue
  // until AbortConnections(). Idempotent.
  void StopAccepting();
  void AbortConnections() { tracker_->AbortAll(); }

  Pod(PodSpec spec, identity::SpiffeId identity, std::shared_ptr<const Netns> netns,
      std::uint32_t mark, proxy::CertLease lease);

 private:
  PodSpec spec_;
  identity::SpiffeId identity_;
  std::shared_ptr<const Netns> netns_;
  std::shared_ptr<const net::SocketFactory> factory_;
  std::unique_ptr<PodTraffic> traffic_;
  proxy::CertLease lease_;
  std::shared_ptr<ConnectionTracker> tracker_ = ConnectionTracker::Create();
  std::vector<std::shared_ptr<net::Listener>> listeners_;
  std::vector<std::unique_ptr<PodSideService>> side_services_;
};

}  // namespace ambit::node
