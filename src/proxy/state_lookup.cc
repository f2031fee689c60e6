#include "proxy/state_lookup.h"

#include <array>
#include <cstring>

namespace ambit::proxy {

net::IpAddress IpFromPacked(std::string_view packed) {
  if (packed.size() == 4) {
    std::array<std::uint8_t, 4> b{};
    std::memcpy(b.data(), packed.data(), 4);
    return net::IpAddress::V4(b);
  }
  std::array<std::uint8_t, 16> b{};
  if (packed.size() == 16) std::memcpy(b.data(), packed.data(), 16);
  return net::IpAddress::V6(b);
}

std::string PackedFromIp(const net::IpAddress& ip) {
  const auto& bytes = ip.bytes();
  return std::string(reinterpret_cast<const char*>(bytes.data()), ip.is_v4() ? 4 : 16);
}

std::optional<hbone::WaypointRef> StateLookup::ToWaypointRef(
    const std::optional<state::GatewayRef>& gateway) {
  if (!gateway.has_value()) return std::nullopt;
  hbone::WaypointRef ref;
  ref.service_key = gateway->service_key;
  if (gateway->service_key.empty()) {
    if (gateway->address.size() != 4 && gateway->address.size() != 16) return std::nullopt;
    ref.address = IpFromPacked(gateway->address);
  }
  ref.hbone_port = gateway->hbone_mtls_port;
  return ref;
}

StateLookup::StateLookup(const state::StateStore& store, std::size_t worker_loops, std::string network)
    : store_(store), network_(std::move(network)) {
  for (std::size_t i = 0; i < worker_loops; ++i) {
    readers_.push_back(std::make_unique<state::StateReader>(store_));
  }
}

const state::WorkloadState& StateLookup::Current(
    std::shared_ptr<const state::WorkloadState>& hold) const {
  const int index = net::WorkerPool::CurrentIndex();
  if (index >= 0 && static_cast<std::size_t>(index) < readers_.size()) {
    return readers_[static_cast<std::size_t>(index)]->Get();
  }
  hold = store_.Snapshot();
  return *hold;
}

std::shared_ptr<const state::WorkloadState> StateLookup::Hold() const {
  const int index = net::WorkerPool::CurrentIndex();
  if (index >= 0 && static_cast<std::size_t>(index) < readers_.size()) {
    return readers_[static_cast<std::size_t>(index)]->Hold();
  }
  return store_.Snapshot();
}

hbone::WorkloadTarget StateLookup::ToTarget(const state::Workload& w, std::string_view packed_ip) {
  hbone::WorkloadTarget t{IpFromPacked(packed_ip), w.Identity(),
                          w.tunnel_protocol == state::TunnelProtocol::kHbone};
  if (packed_ip.empty()) t.hostname = w.hostname;
  return t;
}

std::optional<hbone::ServiceTarget> StateLookup::FindService(const net::SocketAddress& vip,
                                                            std::uint64_t pick) const {
  return FindServiceFor(vip, pick, std::nullopt);
}

std::optional<hbone::ServiceTarget> StateLookup::FindServiceFor(
    const net::SocketAddress& vip, std::uint64_t pick,
    const std::optional<net::IpAddress>& source) const {
  std::shared_ptr<const state::WorkloadState> hold;
  const state::WorkloadState& st = Current(hold);
  const std::string packed = PackedFromIp(vip.ip());
  const state::Service* svc = st.FindServiceByVip(network_, packed);
  if (svc == nullptr) return std::nullopt;
  hbone::ServiceTarget out;
  out.hostname = svc->hostname;
  // Only the endpoint |pick| selects (an index into the snapshot's list for
  // this service port, no vector per connection): the same choice
  // DecideRoute makes from a full list.
  // The client's workload matters only to a service with load balancing.
  const state::Workload* client = nullptr;
  if (source.has_value() && svc->load_balancing.has_value()) {
    client = st.FindWorkloadByAddress(network_, PackedFromIp(*source));
  }
  if (auto ep = st.PickServiceEndpoint(*svc, vip.port(), pick, client)) {
    out.endpoints.push_back(hbone::ServiceEndpoint{ToTarget(*ep->workload, ep->address), ep->target_port});
  }
  for (const auto& san : svc->subject_alt_names) {
    auto id = identity::SpiffeId::Parse(san);
    if (id.ok()) out.extra_sans.push_back(std::move(id).value());
  }
  out.waypoint = ToWaypointRef(svc->waypoint);
  out.waypoint_required = svc->waypoint_required;
  return out;
}

std::optional<hbone::WaypointTarget> StateLookup::FindWaypoint(const hbone::WaypointRef& ref) const {
  std::shared_ptr<const state::WorkloadState> hold;
  const state::WorkloadState& st = Current(hold);
  hbone::WaypointTarget out;
  out.hbone_port = ref.hbone_port;
  if (!ref.service_key.empty()) {
    const state::Service* svc = st.FindServiceByKey(ref.service_key);
    if (svc == nullptr) return std::nullopt;
    // The waypoint Service exposes its HBONE port (15008) to its pods.
    const std::uint16_t port = ref.hbone_port != 0 ? ref.hbone_port : hbone::kHbonePort;
    for (const auto& ep : st.Endpoints(*svc, port)) {
      out.pods.push_back(ToTarget(*ep.workload, ep.address));
    }
    for (const auto& san : svc->subject_alt_names) {
      auto id = identity::SpiffeId::Parse(san);
      if (id.ok()) out.extra_sans.push_back(std::move(id).value());
    }
    return out;
  }
  if (!ref.address.has_value()) return std::nullopt;
  const std::string packed = PackedFromIp(*ref.address);
  const state::Workload* w = st.FindWorkloadByAddress(network_, packed);
  if (w == nullptr) return std::nullopt;
  if (w->healthy) out.pods.push_back(ToTarget(*w, packed));
  return out;
}

std::optional<hbone::WorkloadTarget> StateLookup::FindWorkload(const net::IpAddress& ip) const {
  std::shared_ptr<const state::WorkloadState> hold;
  const state::WorkloadState& st = Current(hold);
  const std::string packed = PackedFromIp(ip);
  const state::Workload* w = st.FindWorkloadByAddress(network_, packed);
  if (w == nullptr) return std::nullopt;
  hbone::WorkloadTarget out = ToTarget(*w, packed);
  out.waypoint = ToWaypointRef(w->waypoint);
  out.waypoint_required = w->waypoint_required;
  return out;
}

}  // namespace ambit::proxy
