#include "state/workload_state.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <tuple>

#include "istio/security/authorization.pb.h"

namespace ambit::state {
namespace {

// Policy generations handed out by this process (0 is "nothing to enforce").
std::atomic<uint64_t> g_next_policy_generation{1};

// Whether |a| and |b| hold the same policy objects under the same keys.
bool SamePolicies(const WorkloadState::Contents& a, const WorkloadState::Contents& b) {
  if (a.policies.size() != b.policies.size()) return false;
  auto ia = a.policies.begin();
  for (auto ib = b.policies.begin(); ib != b.policies.end(); ++ia, ++ib) {
    if (ia->first != ib->first || ia->second != ib->second) return false;
  }
  return true;
}

// Whether authorization sees |a| and |b| the same way.
bool SamePolicyInputs(const Workload& a, const Workload& b) {
  return &a == &b || (a.ns == b.ns && a.authorization_policies == b.authorization_policies);
}

}  // namespace

void WorkloadState::TrackPolicyChanges(const WorkloadState* previous) {
  bool any_input = !contents_.policies.empty();
  for (const auto& [uid, workload] : contents_.workloads) {
    if (!workload->authorization_policies.empty()) any_input = true;
    const Workload* before = previous == nullptr ? nullptr : previous->FindWorkloadByUid(uid);
    if (before == nullptr || !SamePolicyInputs(*before, *workload)) {
      policy_changed_workloads_.push_back(workload->ns + "/" + workload->name);
    }
  }
  policies_changed_ = previous == nullptr || !SamePolicies(previous->contents_, contents_);
  if (previous != nullptr) {
    previous_policy_generation_ = previous->policy_generation_;
    for (const auto& [uid, workload] : previous->contents_.workloads) {
      // A workload without keys that is gone changes nothing: its address
      // falls back to its pod's namespace, the same decision.
      if (!workload->authorization_policies.empty() && FindWorkloadByUid(uid) == nullptr) {
        policy_changed_workloads_.push_back(workload->ns + "/" + workload->name);
      }
    }
  }
  std::sort(policy_changed_workloads_.begin(), policy_changed_workloads_.end());
  policy_changed_workloads_.erase(
      std::unique(policy_changed_workloads_.begin(), policy_changed_workloads_.end()),
      policy_changed_workloads_.end());
  const bool changed = policies_changed_ || !policy_changed_workloads_.empty();
  if (!any_input) {
    policy_generation_ = 0;
  } else if (previous != nullptr && !changed) {
    policy_generation_ = previous->policy_generation_;
  } else {
    policy_generation_ = g_next_policy_generation.fetch_add(1, std::memory_order_relaxed);
  }
}

void WorkloadState::ResolveWorkloadPolicies() {
  if (policy_index_.size() == 0) return;
  // Workloads listing the same keys (replicas of one deployment) share a set.
  auto by_value = [](const std::vector<std::string>* a, const std::vector<std::string>* b) {
    return *a < *b;
  };
  std::map<const std::vector<std::string>*, const authz::PolicySet*, decltype(by_value)> shared(
      by_value);
  workload_policies_.reserve(contents_.workloads.size());
  for (const auto& [uid, workload] : contents_.workloads) {
    WorkloadPolicies resolved;
    resolved.scoped = &policy_index_.ScopedPolicies(workload->ns);
    resolved.listed = &authz::PolicyIndex::EmptySet();
    const std::vector<std::string>& keys = workload->authorization_policies;
    if (!keys.empty()) {
      auto [it, inserted] = shared.try_emplace(&keys, nullptr);
      if (inserted) {
        authz::PolicySet set = policy_index_.ListedPolicies(keys);
        if (set.empty()) {
          it->second = &authz::PolicyIndex::EmptySet();
        } else {
          it->second = &listed_sets_.emplace_back(std::move(set));
        }
      }
      resolved.listed = it->second;
    }
    workload_policies_.emplace(workload.get(), resolved);
  }
}

const WorkloadState::WorkloadPolicies* WorkloadState::FindWorkloadPolicies(
    const Workload& workload) const {
  auto it = workload_policies_.find(&workload);
  return it == workload_policies_.end() ? nullptr : &it->second;
}

WorkloadState::WorkloadState(Contents contents, const WorkloadState* previous)
    : contents_(std::move(contents)),
      policy_index_(contents_.policies, previous == nullptr ? nullptr : &previous->policy_index_) {
  TrackPolicyChanges(previous);
  ResolveWorkloadPolicies();
  size_t memberships = 0;
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
      if (index.key.empty()) index.key = service_key;
      index.members.push_back(Member{workload.get(), &ports});
      ++memberships;
    }
  }
  // Locality profiles: what a client's rank of an endpoint depends on.
  const bool any_ranked = [&] {
    for (const auto& [key, service] : contents_.services) {
      const auto& lb = service->load_balancing;
      if (lb && (lb->mode == LbMode::kFailover || lb->mode == LbMode::kStrict)) return true;
    }
    return false;
  }();
  if (any_ranked) {
    using ProfileKey = std::tuple<std::string_view, std::string_view, std::string_view,
                                  std::string_view, std::string_view, std::string_view>;
    std::map<ProfileKey, uint32_t> seen;
    profile_of_.reserve(contents_.workloads.size());
    for (const auto& [uid, w] : contents_.workloads) {
      ProfileKey key{w->network, w->locality.region, w->locality.zone,
                     w->locality.subzone, w->node, w->cluster_id};
      auto [it, fresh] = seen.emplace(key, static_cast<uint32_t>(profiles_.size()));
      if (fresh) profiles_.push_back(w.get());
      profile_of_.emplace(w.get(), it->second);
    }
  }
  service_entries_.reserve(contents_.services.size());
  eligible_.reserve(memberships);  // exact for one port per service, all eligible
  for (const auto& [key, service] : contents_.services) {
    ServiceEntry& entry = service_entries_[service.get()];
    entry.service = service.get();
    auto index = endpoints_by_key_.find(service->Key());
    entry.index = index == endpoints_by_key_.end() ? nullptr : &index->second;
    entry.first_port = static_cast<uint32_t>(port_endpoints_.size());
    // The eligible endpoints of each service port, decided once per snapshot
    // with the same rules (and order) as CollectEndpoints.
    for (const PortMapping& mapping : service->ports) {
      if (FindPort(entry, mapping.service_port) != nullptr) continue;  // first mapping wins
      PortEndpoints port;
      port.service_port = mapping.service_port;
      port.first = static_cast<uint32_t>(eligible_.size());
      const auto& lb = service->load_balancing;
      const bool allow_unhealthy = lb && lb->allow_unhealthy;
      if (entry.index != nullptr) {
        for (const Member& m : entry.index->members) {
          if ((!m.workload->healthy && !allow_unhealthy) || !HasDestination(*m.workload)) continue;
          const uint16_t target = TargetPort(*m.ports, mapping);
          if (target != 0) eligible_.push_back(Eligible{m.workload, target});
        }
      }
      port.count = static_cast<uint32_t>(eligible_.size() - port.first);
      if (lb && (lb->mode == LbMode::kFailover || lb->mode == LbMode::kStrict)) RankPort(port, *lb);
      port_endpoints_.push_back(port);
      ++entry.port_count;
    }
    for (const ServiceVip& vip : service->vips) {
      // Two services claiming one VIP: the first by key wins.
      service_by_vip_.emplace(AddressKey(vip.network, vip.address), &entry);
    }
  }
  eligible_.shrink_to_fit();
  port_endpoints_.shrink_to_fit();
  ranked_.shrink_to_fit();
  ranked_eligible_.shrink_to_fit();
}

int WorkloadState::Rank(const LoadBalancing& lb, const Workload& client, const Workload& endpoint) {
  // As ztunnel: count the scopes matched in order, stopping at the first
  // miss; with NETWORK first, a same-network endpoint ranks above every
  // other (+ the number of other scopes) and another network's endpoint is
  // ranked on the remaining scopes.
  const bool network_first = !lb.routing_preference.empty() &&
                             lb.routing_preference.front() == LbScope::kNetwork;
  int rank = 0;
  int adjust = 0;
  for (LbScope scope : lb.routing_preference) {
    bool match = false;
    switch (scope) {
      case LbScope::kRegion: match = client.locality.region == endpoint.locality.region; break;
      case LbScope::kZone: match = client.locality.zone == endpoint.locality.zone; break;
      case LbScope::kSubzone: match = client.locality.subzone == endpoint.locality.subzone; break;
      case LbScope::kNode: match = client.node == endpoint.node; break;
      case LbScope::kCluster: match = client.cluster_id == endpoint.cluster_id; break;
      case LbScope::kNetwork:
        match = client.network == endpoint.network;
        if (network_first) {
          if (!match) continue;
          adjust = static_cast<int>(lb.routing_preference.size()) - 1;
        }
        break;
    }
    if (!match) break;
    ++rank;
  }
  if (lb.mode == LbMode::kStrict && rank != static_cast<int>(lb.routing_preference.size())) {
    return -1;
  }
  return rank + adjust;
}

void WorkloadState::RankPort(PortEndpoints& port, const LoadBalancing& lb) {
  port.ranked = true;
  port.ranked_first = static_cast<uint32_t>(ranked_.size());
  std::vector<int> ranks(port.count);
  for (const Workload* client : profiles_) {
    int best = -1;
    for (uint32_t i = 0; i < port.count; ++i) {
      ranks[i] = Rank(lb, *client, *eligible_[port.first + i].workload);
      best = std::max(best, ranks[i]);
    }
    uint32_t chosen = 0;
    for (int r : ranks) chosen += r == best && best >= 0 ? 1 : 0;
    if (chosen == port.count) {
      ranked_.push_back(Range{port.first, port.count, false});  // all of them: share the list
      continue;
    }
    Range range{static_cast<uint32_t>(ranked_eligible_.size()), chosen, true};
    for (uint32_t i = 0; i < port.count; ++i) {
      if (best >= 0 && ranks[i] == best) ranked_eligible_.push_back(eligible_[port.first + i]);
    }
    ranked_.push_back(range);
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
  return it == service_by_vip_.end() ? nullptr : it->second->service;
}

uint16_t WorkloadState::TargetPort(const std::vector<PortMapping>& ports,
                                  const PortMapping& service_mapping) {
  // The workload's own mapping wins (a named targetPort resolves per pod),
  // then the service's numeric target port; otherwise this endpoint cannot
  // serve the port.
  for (const PortMapping& p : ports) {
    if (p.service_port == service_mapping.service_port && p.target_port != 0) {
      return p.target_port;
    }
  }
  return service_mapping.target_port;
}

const PortMapping* WorkloadState::FindMapping(const Service& service, uint16_t service_port) {
  for (const PortMapping& p : service.ports) {
    if (p.service_port == service_port) return &p;
  }
  return nullptr;
}

const WorkloadState::PortEndpoints* WorkloadState::FindPort(const ServiceEntry& entry,
                                                           uint16_t service_port) const {
  for (uint32_t i = entry.first_port; i < entry.first_port + entry.port_count; ++i) {
    if (port_endpoints_[i].service_port == service_port) return &port_endpoints_[i];
  }
  return nullptr;
}

std::vector<ServiceEndpoint> WorkloadState::CollectEndpoints(const ServiceIndex* index,
                                                             const PortMapping* mapping,
                                                             bool include_unhealthy) {
  std::vector<ServiceEndpoint> out;
  if (index == nullptr || mapping == nullptr) return out;
  for (const Member& m : index->members) {
    const Workload* w = m.workload;
    if ((!w->healthy && !include_unhealthy) || !HasDestination(*w)) continue;
    const uint16_t target = TargetPort(*m.ports, *mapping);
    if (target == 0) continue;
    out.push_back(ServiceEndpoint{w, FirstAddress(*w), target});
  }
  return out;
}

std::vector<ServiceEndpoint> WorkloadState::Endpoints(const Service& service,
                                                      uint16_t service_port,
                                                      bool include_unhealthy) const {
  auto it = service_entries_.find(&service);
  if (it == service_entries_.end()) {
    // A Service that is not from this snapshot: look it up by key.
    auto by_key = endpoints_by_key_.find(service.Key());
    return CollectEndpoints(by_key == endpoints_by_key_.end() ? nullptr : &by_key->second,
                            FindMapping(service, service_port), include_unhealthy);
  }
  const ServiceEntry& entry = it->second;
  if (include_unhealthy) {
    return CollectEndpoints(entry.index, FindMapping(service, service_port), true);
  }
  std::vector<ServiceEndpoint> out;
  if (const PortEndpoints* port = FindPort(entry, service_port)) {
    out.reserve(port->count);
    for (uint32_t i = port->first; i < port->first + port->count; ++i) {
      out.push_back(ToEndpoint(eligible_[i]));
    }
  }
  return out;
}

std::optional<ServiceEndpoint> WorkloadState::Pick(const ServiceEntry& entry,
                                                   uint16_t service_port,
                                                   uint64_t random,
                                                   const Workload* source) const {
  const PortEndpoints* port = FindPort(entry, service_port);
  if (port == nullptr || port->count == 0) return std::nullopt;
  if (port->ranked) {
    auto profile = source == nullptr ? profile_of_.end() : profile_of_.find(source);
    if (profile == profile_of_.end()) {
      // A client this snapshot does not know: no locality to prefer.
      if (entry.service->load_balancing->mode == LbMode::kStrict) return std::nullopt;
    } else {
      const Range& range = ranked_[port->ranked_first + profile->second];
      if (range.count == 0) return std::nullopt;
      const auto& list = range.own ? ranked_eligible_ : eligible_;
      return ToEndpoint(list[range.first + random % range.count]);
    }
  }
  return ToEndpoint(eligible_[port->first + random % port->count]);
}

std::optional<ServiceEndpoint> WorkloadState::PickServiceEndpoint(std::string_view network,
                                                                  std::string_view packed_vip,
                                                                  uint16_t service_port,
                                                                  uint64_t random,
                                                                  const Workload* source) const {
  auto it = service_by_vip_.find(AddressKey(network, packed_vip));
  if (it == service_by_vip_.end()) return std::nullopt;
  return Pick(*it->second, service_port, random, source);
}

std::optional<ServiceEndpoint> WorkloadState::PickServiceEndpoint(const Service& service,
                                                                  uint16_t service_port,
                                                                  uint64_t random,
                                                                  const Workload* source) const {
  auto it = service_entries_.find(&service);
  if (it != service_entries_.end()) return Pick(it->second, service_port, random, source);
  std::vector<ServiceEndpoint> endpoints = Endpoints(service, service_port);
  if (endpoints.empty()) return std::nullopt;
  return endpoints[random % endpoints.size()];
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
