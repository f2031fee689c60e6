// WorkloadState: one immutable snapshot of everything ztunnel knows from
// discovery (workloads, services, authorization policies) with the lookups
// the route decision needs.
//
// Immutable after construction, hence safe to read from any number of threads
// without locking. Pointers and references returned by lookups stay valid for
// as long as the caller holds the std::shared_ptr<const WorkloadState> they
// came from (see StateStore). A new snapshot is built from the previous one's
// Contents plus a delta; unchanged entries are shared, not copied, and the
// indexes are rebuilt (O(n log n) per applied update).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "state/workload.h"

namespace istio::security {
class Authorization;
}

namespace ambit::state {

using Authorization = istio::security::Authorization;

// A chosen (or candidate) backend for a service port.
// Borrows from the snapshot it came from (like every lookup result).
struct ServiceEndpoint {
  const Workload* workload = nullptr;
  std::string_view address;  // packed IP: the workload's first address
  uint16_t target_port = 0;  // port to connect to on the workload
};

class WorkloadState {
 public:
  // The named resources, keyed by xDS resource name.
  struct Contents {
    std::map<std::string, std::shared_ptr<const Workload>, std::less<>> workloads;  // by uid
    std::map<std::string, std::shared_ptr<const Service>, std::less<>> services;    // by ns/hostname
    std::map<std::string, std::shared_ptr<const Authorization>, std::less<>> policies;  // ns/name
  };

  WorkloadState() = default;
  explicit WorkloadState(Contents contents);

  WorkloadState(const WorkloadState&) = delete;
  WorkloadState& operator=(const WorkloadState&) = delete;

  const Contents& contents() const { return contents_; }

  const Workload* FindWorkloadByUid(std::string_view uid) const;
  // |packed_ip|: 4 or 16 bytes. Host-network workloads are never found by IP.
  const Workload* FindWorkloadByAddress(std::string_view network, std::string_view packed_ip) const;

  // |key|: "namespace/hostname".
  const Service* FindServiceByKey(std::string_view key) const;
  const Service* FindServiceByVip(std::string_view network, std::string_view packed_ip) const;

  // Every endpoint of |service| that can serve |service_port|: workloads that
  // list the service, have an address and a known target port. Healthy ones
  // only unless |include_unhealthy|. Empty if the service has no such port.
  std::vector<ServiceEndpoint> Endpoints(const Service& service, uint16_t service_port,
                                         bool include_unhealthy = false) const;

  // Service VIP:port -> one healthy endpoint, chosen uniformly by |random|
  // (the caller supplies randomness so this stays a pure function). nullopt
  // when the VIP is not a known service, the port is not one of its ports, or
  // it has no healthy endpoint. Does not allocate (hot path).
  std::optional<ServiceEndpoint> PickServiceEndpoint(std::string_view network,
                                                     std::string_view packed_vip,
                                                     uint16_t service_port,
                                                     uint64_t random) const;

  // Policies that apply to workloads in |ns|: namespace-scoped ones of |ns| and
  // global ones (stored under the empty namespace). Selector-scoped policies are
  // listed by key in Workload::authorization_policies; see FindPolicy.
  std::vector<const Authorization*> NamespacePolicies(std::string_view ns) const;
  const Authorization* FindPolicy(std::string_view key) const;

  size_t workload_count() const { return contents_.workloads.size(); }
  size_t service_count() const { return contents_.services.size(); }
  size_t policy_count() const { return contents_.policies.size(); }

 private:
  static std::string AddressKey(std::string_view network, std::string_view packed_ip);
  // Per service of this snapshot: its key and the workloads that list it.
  struct ServiceIndex {
    std::string key;                          // "namespace/hostname"
    std::vector<const Workload*> workloads;   // ordered by uid
  };
  // The port |w| serves |service_mapping|'s service port on (0 = it cannot).
  static uint16_t TargetPort(const Workload& w, const std::string& service_key,
                             const PortMapping& service_mapping);
  // The index of |service| (null if it has no endpoints) and its mapping for
  // |service_port| (null if it has no such port).
  const ServiceIndex* Candidates(const Service& service, uint16_t service_port,
                                 const PortMapping** mapping) const;

  Contents contents_;
  // network + '/' + packed ip -> workload / service
  std::unordered_map<std::string, const Workload*> workload_by_address_;
  std::unordered_map<std::string, const Service*> service_by_vip_;
  // service key -> its index (workloads listing it, ordered by uid). Built
  // for every key any workload lists, whether or not the service is known.
  std::unordered_map<std::string, ServiceIndex> endpoints_by_key_;
  // Services of this snapshot -> their entry in endpoints_by_key_, null when
  // no workload lists them (no allocation on the lookup path).
  std::unordered_map<const Service*, const ServiceIndex*> endpoints_by_service_;
};

}  // namespace ambit::state
