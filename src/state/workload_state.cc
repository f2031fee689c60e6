#include "state/workload_state.h"

#include "istio/security/authorization.pb.h"

namespace ambit::state {

WorkloadState::WorkloadState(Contents contents) : contents_(std::move(contents)) {
  for (const auto& [uid, workload] : contents_.workloads) {
    if (!workload->host_network) {
      for (const std::string& ip : workload->addresses) {
        // Two workloads claiming one address: the first by uid wins, so the
        // answer is at least deterministic until the control plane settles.
        workload_by_address_.emplace(AddressKey(workload->network, ip), workload.get());
      }
    }
    for (const auto& [service_key, ports] : workload->services) {
      endpoints_by_service_[service_key].push_back(workload.get());
    }
  }
  for (const auto& [key, service] : contents_.services) {
    for (const ServiceVip& vip : service->vips) {
      service_by_vip_.emplace(AddressKey(vip.network, vip.address), service.get());
    }
  }
}

std::string WorkloadState::AddressKey(std::string_view network, std::string_view packed_ip) {
  std::string key;
  key.reserve(network.size() + 1 + packed_ip.size());
  key.append(network).push_back('/');
  key.append(packed_ip);
  return key;
}

const Workload* WorkloadState::FindWorkloadByUid(std::string_view uid) const {
  auto it = contents_.workloads.find(uid);
  return it == contents_.workloads.end() ? nullptr : it->second.get();
}

const Workload* WorkloadState::FindWorkloadByAddress(std::string_view network,
                                                     std::string_view packed_ip) const {
  auto it = workload_by_address_.find(AddressKey(network, packed_ip));
  return it == workload_by_address_.end() ? nullptr : it->second;
}

const Service* WorkloadState::FindServiceByKey(std::string_view key) const {
  auto it = contents_.services.find(key);
  return it == contents_.services.end() ? nullptr : it->second.get();
}

const Service* WorkloadState::FindServiceByVip(std::string_view network,
                                               std::string_view packed_ip) const {
  auto it = service_by_vip_.find(AddressKey(network, packed_ip));
  return it == service_by_vip_.end() ? nullptr : it->second;
}

std::vector<ServiceEndpoint> WorkloadState::Endpoints(const Service& service,
                                                      uint16_t service_port,
                                                      bool include_unhealthy) const {
  std::vector<ServiceEndpoint> out;
  const PortMapping* service_mapping = nullptr;
  for (const PortMapping& p : service.ports) {
    if (p.service_port == service_port) {
      service_mapping = &p;
      break;
    }
  }
  if (service_mapping == nullptr) return out;
  auto it = endpoints_by_service_.find(service.Key());
  if (it == endpoints_by_service_.end()) return out;
  for (const Workload* w : it->second) {
    if ((!w->healthy && !include_unhealthy) || w->addresses.empty()) continue;
    // The workload's own mapping wins (a named targetPort resolves per pod),
    // then the service's numeric target port; otherwise this endpoint cannot
    // serve the port.
    uint16_t target = 0;
    auto ports = w->services.find(service.Key());
    if (ports != w->services.end()) {
      for (const PortMapping& p : ports->second) {
        if (p.service_port == service_port && p.target_port != 0) {
          target = p.target_port;
          break;
        }
      }
    }
    if (target == 0) target = service_mapping->target_port;
    if (target == 0) continue;
    out.push_back(ServiceEndpoint{w, w->addresses.front(), target});
  }
  return out;
}

std::optional<ServiceEndpoint> WorkloadState::PickServiceEndpoint(std::string_view network,
                                                                  std::string_view packed_vip,
                                                                  uint16_t service_port,
                                                                  uint64_t random) const {
  const Service* service = FindServiceByVip(network, packed_vip);
  if (service == nullptr) return std::nullopt;
  std::vector<ServiceEndpoint> candidates = Endpoints(*service, service_port);
  if (candidates.empty()) return std::nullopt;
  return candidates[random % candidates.size()];
}

std::vector<const Authorization*> WorkloadState::NamespacePolicies(std::string_view ns) const {
  std::vector<const Authorization*> out;
  for (const auto& [key, policy] : contents_.policies) {
    if (policy->scope() == istio::security::GLOBAL ||
        (policy->scope() == istio::security::NAMESPACE && policy->namespace_() == ns)) {
      out.push_back(policy.get());
    }
  }
  return out;
}

const Authorization* WorkloadState::FindPolicy(std::string_view key) const {
  auto it = contents_.policies.find(key);
  return it == contents_.policies.end() ? nullptr : it->second.get();
}

}  // namespace ambit::state
