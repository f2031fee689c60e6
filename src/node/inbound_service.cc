#include "node/inbound_service.h"

namespace ambit::node {

const state::Service* GuessInboundService(const state::WorkloadState& state,
                                          const state::Workload& destination, std::uint16_t port,
                                          std::string_view forwarded_host) {
  if (!forwarded_host.empty()) {
    for (const auto& [key, mappings] : destination.services) {
      const state::Service* service = state.FindServiceByKey(key);
      if (service != nullptr && service->hostname == forwarded_host) return service;
    }
  }
  for (const auto& [key, mappings] : destination.services) {
    const state::Service* service = state.FindServiceByKey(key);
    if (service == nullptr) continue;
    for (const state::PortMapping& m : mappings) {
      std::uint16_t target = m.target_port;
      if (target == 0) {
        for (const state::PortMapping& sp : service->ports) {
          if (sp.service_port == m.service_port) target = sp.target_port;
        }
      }
      if (target == port) return service;
    }
  }
  return nullptr;
}

}  // namespace ambit::node
