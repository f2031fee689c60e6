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
      ServiceIndex& index = endpoints_by_key_[service_key];
      index.key = service_key;
      index.workloads.push_back(workload.get());
    }
  }
  for (const auto& [key, service] : contents_.services) {
    for (const ServiceVip& vip : service->vips) {
      service_by_vip_.emplace(AddressKey(vip.network, vip.address), service.get());
    }
    auto index = endpoints_by_key_.find(service->Key());
    endpoints_by_service_[service.get()] =
        index == endpoints_by_key_.end() ? nullptr : &index->second;
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

uint16_t WorkloadState::TargetPort(const Workload& w, const std::string& service_key,
                                  const PortMapping& service_mapping) {
  // The workload's own mapping wins (a named targetPort resolves per pod),
  // then the service's numeric target port; otherwise this endpoint cannot
  // serve the port.
  auto ports = w.services.find(service_key);
  if (ports != w.services.end()) {
    for (const PortMapping& p : ports->second) {
      if (p.service_port == service_mapping.service_port && p.target_port != 0) {
        return p.target_port;
      }
    }
  }
  return service_mapping.target_port;
}

const WorkloadState::ServiceIndex* WorkloadState::Candidates(const Service& service,
                                                            uint16_t service_port,
                                                            const PortMapping** mapping) const {
  *mapping = nullptr;
  for (const PortMapping& p : service.ports) {
    if (p.service_port == service_port) {
      *mapping = &p;
      break;
    }
  }
  if (*mapping == nullptr) return nullptr;
  auto it = endpoints_by_service_.find(&service);
  if (it != endpoints_by_service_.end()) return it->second;
  // A Service that is not from this snapshot: look it up by key (allocates).
  auto by_key = endpoints_by_key_.find(service.Key());
  return by_key == endpoints_by_key_.end() ? nullptr : &by_key->second;
}

std::vector<ServiceEndpoint> WorkloadState::Endpoints(const Service& service,
                                                      uint16_t service_port,
                                                      bool include_unhealthy) const {
  std::vector<ServiceEndpoint> out;
  const PortMapping* mapping = nullptr;
  const ServiceIndex* index = Candidates(service, service_port, &mapping);
  if (index == nullptr) return out;
  for (const Workload* w : index->workloads) {
    if ((!w->healthy && !include_unhealthy) || w->addresses.empty()) continue;
    uint16_t target = TargetPort(*w, index->key, *mapping);
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
  const PortMapping* mapping = nullptr;
  const ServiceIndex* index = Candidates(*service, service_port, &mapping);
  if (index == nullptr) return std::nullopt;
  // Two passes (count, then take the k-th) instead of building a vector.
  auto eligible = [&](const Workload* w, uint16_t* target) {
    if (!w->healthy || w->addresses.empty()) return false;
    *target = TargetPort(*w, index->key, *mapping);
    return *target != 0;
  };
  size_t count = 0;
  uint16_t target = 0;
  for (const Workload* w : index->workloads) count += eligible(w, &target) ? 1 : 0;
  if (count == 0) return std::nullopt;
  size_t k = random % count;
  for (const Workload* w : index->workloads) {
    if (!eligible(w, &target)) continue;
    if (k-- == 0) return ServiceEndpoint{w, w->addresses.front(), target};
  }
  return std::nullopt;  // unreachable: count > 0
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
