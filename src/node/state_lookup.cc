#include "node/state_lookup.h"

#include <array>
#include <cstring>

namespace ambit::node {

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
  return hbone::WorkloadTarget{IpFromPacked(packed_ip), w.Identity(),
                               w.tunnel_protocol == state::TunnelProtocol::kHbone};
}

std::optional<hbone::ServiceTarget> StateLookup::FindService(const net::SocketAddress& vip) const {
  std::shared_ptr<const state::WorkloadState> hold;
  const state::WorkloadState& st = Current(hold);
  const std::string packed = PackedFromIp(vip.ip());
  const state::Service* svc = st.FindServiceByVip(network_, packed);
  if (svc == nullptr) return std::nullopt;
  hbone::ServiceTarget out;
  out.hostname = svc->hostname;
  for (const auto& ep : st.Endpoints(*svc, vip.port())) {
    out.endpoints.push_back(hbone::ServiceEndpoint{ToTarget(*ep.workload, ep.address), ep.target_port});
  }
  for (const auto& san : svc->subject_alt_names) {
    auto id = identity::SpiffeId::Parse(san);
    if (id.ok()) out.extra_sans.push_back(std::move(id).value());
  }
  return out;
}

std::optional<hbone::WorkloadTarget> StateLookup::FindWorkload(const net::IpAddress& ip) const {
  std::shared_ptr<const state::WorkloadState> hold;
  const state::WorkloadState& st = Current(hold);
  const std::string packed = PackedFromIp(ip);
  const state::Workload* w = st.FindWorkloadByAddress(network_, packed);
  if (w == nullptr) return std::nullopt;
  return ToTarget(*w, packed);
}

}  // namespace ambit::node
