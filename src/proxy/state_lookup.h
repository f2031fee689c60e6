// StateLookup: the route decision's view (hbone::DestinationLookup) of the
// discovery state in a StateStore.
//
// Thread-safety: safe from every worker loop at once. On a worker thread it
// reads through that worker's own StateReader (no lock in the steady state);
// elsewhere it takes a snapshot from the store.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hbone/route.h"
#include "net/worker_pool.h"
#include "state/state_store.h"

namespace ambit::proxy {

class StateLookup final : public hbone::DestinationLookup {
 public:
  // |worker_loops|: size of the WorkerPool whose threads will call in.
  StateLookup(const state::StateStore& store, std::size_t worker_loops, std::string network = "");

  std::optional<hbone::ServiceTarget> FindService(const net::SocketAddress& vip,
                                                 std::uint64_t pick) const override;
  // With |source|: the endpoint is chosen by the service's load balancing for
  // the workload at |source| (state::WorkloadState::PickServiceEndpoint).
  std::optional<hbone::ServiceTarget> FindServiceFor(
      const net::SocketAddress& vip, std::uint64_t pick,
      const std::optional<net::IpAddress>& source) const override;
  std::optional<hbone::WorkloadTarget> FindWorkload(const net::IpAddress& ip) const override;
  // By hostname: the healthy endpoints of the waypoint Service on its HBONE
  // port; by address: the workload at that address if healthy.
  std::optional<hbone::WaypointTarget> FindWaypoint(const hbone::WaypointRef& ref) const override;

  // The current snapshot as seen by the calling worker (no lock on a worker
  // thread), kept alive by the returned pointer.
  std::shared_ptr<const state::WorkloadState> Hold() const;
  // The same without touching a reference count: on a worker thread the
  // snapshot stays valid until that worker's next call into this lookup;
  // elsewhere it is held in |hold|.
  const state::WorkloadState& Current(std::shared_ptr<const state::WorkloadState>& hold) const;
  const std::string& network() const { return network_; }

  // Conversions shared with telemetry; pure.
  static hbone::WorkloadTarget ToTarget(const state::Workload& workload, std::string_view packed_ip);
  // GatewayAddress -> WaypointRef (nullopt when absent or unusable).
  static std::optional<hbone::WaypointRef> ToWaypointRef(const std::optional<state::GatewayRef>& gateway);

 private:
  const state::StateStore& store_;
  std::string network_;
  // One reader per worker loop, each used only by its own thread.
  mutable std::vector<std::unique_ptr<state::StateReader>> readers_;
};

// "4 or 16 packed bytes" <-> IpAddress.
net::IpAddress IpFromPacked(std::string_view packed);
std::string PackedFromIp(const net::IpAddress& ip);

}  // namespace ambit::proxy
